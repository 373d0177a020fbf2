"""Writes the benchmark's authentication config (bench/run.sh "authentication plugins")
and the tokens wrk sends: one consumer with an API key, an HS256 jwt secret and an acl
group, one with an RS256 key; tokens valid for a day. Uses Debian's python3-jwt."""
import argparse
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

parser = argparse.ArgumentParser()
parser.add_argument("--backend", type=int, required=True)
parser.add_argument("--config", required=True)
parser.add_argument("--tokens", required=True)
args = parser.parse_args()

secret = "bench-secret-0123456789abcdef0123456789abcdef"
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()
exp = int(time.time()) + 86400
hs = jwt.encode({"iss": "bench-hs", "sub": "bench", "exp": exp}, secret, algorithm="HS256")
rs = jwt.encode({"iss": "bench-rs", "sub": "bench", "exp": exp}, key, algorithm="RS256")
pem_yaml = "\n".join("        " + line for line in pem.strip().splitlines())

with open(args.config, "w") as f:
    f.write(f"""_format_version: "3.0"
services:
- name: backend
  url: http://127.0.0.1:{args.backend}
  routes:
  - name: auth
    paths: [/auth]
    plugins:
    - name: key-auth
    - name: jwt
      config: {{claims_to_verify: [exp]}}
    - name: acl
      config: {{allow: [bench]}}
  - name: auth-nocache
    paths: [/auth-nocache]
    plugins:
    - name: key-auth
    - name: jwt
      config: {{claims_to_verify: [exp], verification_cache_size: 0}}
    - name: acl
      config: {{allow: [bench]}}
  - name: rs256
    paths: [/rs256]
    plugins:
    - name: jwt
      config: {{claims_to_verify: [exp]}}
  - name: rs256-nocache
    paths: [/rs256-nocache]
    plugins:
    - name: jwt
      config: {{claims_to_verify: [exp], verification_cache_size: 0}}
consumers:
- username: bench
  keyauth_credentials:
  - key: bench-key
  jwt_secrets:
  - key: bench-hs
    algorithm: HS256
    secret: {secret}
  acls:
  - group: bench
- username: bench-rs
  jwt_secrets:
  - key: bench-rs
    algorithm: RS256
    rsa_public_key: |
{pem_yaml}
""")
with open(args.tokens, "w") as f:
    f.write(f"BENCH_KEY=bench-key\nHS256_TOKEN={hs}\nRS256_TOKEN={rs}\n")
