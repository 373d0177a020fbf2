"""The jwt plugin against tokens made by an independent implementation (Debian's
python3-jwt with python3-cryptography): every algorithm Portico supports, the claims
checks, identity and claim headers as a real upstream sees them, and a suite of hostile
or broken tokens that must each get 401 without the upstream seeing a single request."""
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from recording_backend import RecordingBackend

ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
              "ES256", "ES384", "ES512", "EdDSA"]


def pem_public(private_key):
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    k = {"rsa": rsa_key, "other_rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
         "ES256": ec.generate_private_key(ec.SECP256R1()), "ES384": ec.generate_private_key(ec.SECP384R1()),
         "ES512": ec.generate_private_key(ec.SECP521R1()), "EdDSA": ed25519.Ed25519PrivateKey.generate()}
    for alg in ALGORITHMS:
        if alg.startswith("HS"):
            # Longer than the hash block for HS256 (64) and HS384 (128): the key is hashed first.
            k[alg] = "secret-for-%s-" % alg + {"HS256": "x" * 70, "HS384": "y" * 150, "HS512": "z" * 20}[alg]
        elif alg[:2] in ("RS", "PS"):
            k[alg] = rsa_key
    return k


def verifying_material(keys, alg):
    return keys[alg] if alg.startswith("HS") else pem_public(keys[alg])


def config_text(keys, backend_port):
    consumers = []
    for alg in ALGORITHMS:
        secret = {"key": "iss-" + alg, "algorithm": alg}
        if alg.startswith("HS"):
            secret["secret"] = keys[alg]
        else:
            secret["rsa_public_key"] = pem_public(keys[alg])
        consumers.append({"username": "user-" + alg, "jwt_secrets": [secret]})
    consumers.append({"username": "idp-user", "jwt_secrets": [
        {"key": "idp-key-1", "algorithm": "RS256", "rsa_public_key": pem_public(keys["rsa"])}]})
    cfg = {
        "_format_version": "3.0",
        "services": [{"name": "api", "url": "http://127.0.0.1:%d" % backend_port, "routes": [
            {"name": "jwt", "paths": ["/jwt"], "plugins": [{"name": "jwt", "config": {
                "claims_to_verify": ["exp", "nbf"], "claims_to_headers": {"sub": "X-User-ID"},
                "cookie_names": ["session"]}}]},
            {"name": "strict", "paths": ["/strict"], "plugins": [{"name": "jwt", "config": {
                "key_claim_name": "kid", "issuer": "https://idp.test", "audiences": ["portico-api"],
                "required_claims": ["sub"], "claims_to_verify": ["exp"], "leeway": 5,
                "maximum_expiration": 3600}}]},
        ]}],
        "consumers": consumers,
    }
    return json.dumps(cfg, indent=1)


@pytest.fixture(scope="module")
def gateway(keys, tmp_path_factory):
    from conftest import Portico
    backend = RecordingBackend()
    path = tmp_path_factory.mktemp("jwt") / "kong.yml"
    path.write_text(config_text(keys, backend.port))
    portico = Portico(path)
    yield portico, backend
    portico.close()
    backend.close()


def call(portico, path, token=None, headers=None):
    req = urllib.request.Request(portico.url(path), headers=dict(headers or {}))
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def now():
    return int(time.time())


def b64(data):
    return base64.urlsafe_b64encode(data if isinstance(data, bytes) else data.encode()).rstrip(b"=").decode()


def hs_token(header_json, payload_json, secret):
    """A token from raw JSON text (to write what libraries refuse to: duplicates, odd algs)."""
    signing_input = b64(header_json) + "." + b64(payload_json)
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_every_algorithm_from_an_independent_implementation(gateway, keys, alg):
    portico, backend = gateway
    token = jwt.encode({"iss": "iss-" + alg, "sub": "user-42", "exp": now() + 60, "nbf": now() - 5},
                       keys[alg], algorithm=alg)
    before = backend.count()
    status, _, body = call(portico, "/jwt", token, {"X-User-ID": "forged", "X-Consumer-Username": "forged"})
    assert status == 200, body
    assert backend.count() == before + 1
    seen = backend.last()["headers"]
    assert seen["x-consumer-username"] == "user-" + alg
    assert seen["x-credential-identifier"] == "iss-" + alg
    assert seen["x-user-id"] == "user-42"
    assert backend.last()["header_counts"]["x-user-id"] == 1
    assert "x-anonymous-consumer" not in seen


def test_token_in_query_and_cookie(gateway, keys):
    portico, backend = gateway
    token = jwt.encode({"iss": "iss-HS256", "exp": now() + 60, "nbf": now()}, keys["HS256"], algorithm="HS256")
    assert call(portico, "/jwt?jwt=" + token)[0] == 200
    assert call(portico, "/jwt", headers={"Cookie": "a=b; session=" + token})[0] == 200


def test_strict_route_accepts_a_well_formed_token(gateway, keys):
    portico, _ = gateway
    token = jwt.encode({"iss": "https://idp.test", "aud": ["other", "portico-api"], "sub": "u1", "exp": now() + 600},
                       keys["rsa"], algorithm="RS256", headers={"kid": "idp-key-1"})
    status, _, body = call(portico, "/strict", token)
    assert status == 200, body


def test_no_token_gets_the_bearer_challenge(gateway):
    portico, backend = gateway
    before = backend.count()
    status, headers, body = call(portico, "/jwt")
    assert status == 401
    assert json.loads(body) == {"message": "Unauthorized"}
    assert headers["WWW-Authenticate"] == "Bearer"
    assert backend.count() == before


def hostile_tokens(keys):
    """(name, path, token or (token, extra headers), expected message fragment)."""
    hs = keys["HS256"]
    ok_claims = {"iss": "iss-HS256", "sub": "s", "exp": now() + 60, "nbf": now() - 5}
    good = jwt.encode(ok_claims, hs, algorithm="HS256")
    h, p, s = good.split(".")
    rs_claims = dict(ok_claims, iss="iss-RS256")
    rs_good = jwt.encode(rs_claims, keys["rsa"], algorithm="RS256")
    strict_ok = {"iss": "https://idp.test", "aud": "portico-api", "sub": "u", "exp": now() + 600}
    rsa_pem = pem_public(keys["rsa"])

    def unsigned(alg):
        return b64(json.dumps({"alg": alg, "typ": "JWT"})) + "." + b64(json.dumps(rs_claims)) + "."

    def strict(claims, key=None, alg="RS256"):
        return jwt.encode(claims, key or keys["rsa"], algorithm=alg, headers={"kid": "idp-key-1"})

    es_der = jwt.encode(dict(ok_claims, iss="iss-ES256"), keys["ES256"], algorithm="ES256")
    es_h, es_p, _ = es_der.split(".")
    der_sig = keys["ES256"].sign((es_h + "." + es_p).encode(), ec.ECDSA(__import__(
        "cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()))
    return [
        ("alg none", "/jwt", unsigned("none"), "Invalid algorithm"),
        ("alg None", "/jwt", unsigned("None"), "Invalid algorithm"),
        ("alg NONE", "/jwt", unsigned("NONE"), "Invalid algorithm"),
        ("alg nOnE", "/jwt", unsigned("nOnE"), "Invalid algorithm"),
        ("alg none with a signature", "/jwt", unsigned("none") + b64(b"x" * 32), "Invalid algorithm"),
        ("HS256 keyed with the RS256 consumer's public key",
         "/jwt", hs_token(json.dumps({"alg": "HS256"}), json.dumps(rs_claims), rsa_pem), "Invalid algorithm"),
        ("RS256 token for an HS256 consumer", "/jwt",
         jwt.encode(ok_claims, keys["rsa"], algorithm="RS256"), "Invalid algorithm"),
        ("RS256 consumer, PS256 token with the same key", "/jwt",
         jwt.encode(rs_claims, keys["rsa"], algorithm="PS256"), "Invalid algorithm"),
        ("tampered payload", "/jwt", h + "." + b64(json.dumps(dict(ok_claims, sub="admin"))) + "." + s,
         "Invalid signature"),
        ("tampered header", "/jwt", b64(json.dumps({"alg": "HS256", "typ": "JWT", "x": 1})) + "." + p + "." + s,
         "Invalid signature"),
        ("signed by another RSA key", "/jwt", jwt.encode(rs_claims, keys["other_rsa"], algorithm="RS256"),
         "Invalid signature"),
        ("jku pointing at the attacker's keys", "/jwt",
         jwt.encode(rs_claims, keys["other_rsa"], algorithm="RS256", headers={"jku": "http://127.0.0.1:1/keys"}),
         "Invalid signature"),
        ("embedded jwk of the attacker", "/jwt",
         jwt.encode(rs_claims, keys["other_rsa"], algorithm="RS256", headers={"jwk": json.loads(
             jwt.algorithms.RSAAlgorithm.to_jwk(keys["other_rsa"].public_key()))}), "Invalid signature"),
        ("ES256 signature in DER instead of R||S", "/jwt", es_h + "." + es_p + "." + b64(der_sig), "Invalid signature"),
        ("empty signature", "/jwt", h + "." + p + ".", "Invalid signature"),
        ("expired", "/jwt", jwt.encode(dict(ok_claims, exp=now() - 10), hs, algorithm="HS256"), "token expired"),
        ("not yet valid", "/jwt", jwt.encode(dict(ok_claims, nbf=now() + 600), hs, algorithm="HS256"),
         "token not valid yet"),
        ("exp as a string", "/jwt", jwt.encode(dict(ok_claims, exp=str(now() + 60)), hs, algorithm="HS256"),
         "must be a number"),
        ("wrong issuer", "/strict", strict(dict(strict_ok, iss="https://evil.test")), "expected issuer"),
        ("wrong audience", "/strict", strict(dict(strict_ok, aud="someone-else")), "accepted audience"),
        ("missing required sub", "/strict", strict({k: v for k, v in strict_ok.items() if k != "sub"}), "missing"),
        ("expiry beyond maximum_expiration", "/strict", strict(dict(strict_ok, exp=now() + 86400)), "maximum"),
        ("two segments", "/jwt", h + "." + p, "Bad token"),
        ("four segments", "/jwt", good + ".e30", "Bad token"),
        ("padded base64", "/jwt", h + "." + p + "==." + s, "Bad token"),
        ("standard base64 alphabet", "/jwt", h + "." + p.replace("-", "+").replace("_", "/") + "+." + s, "Bad token"),
        ("header is not JSON", "/jwt", b64("{alg:HS256}") + "." + p + "." + s, "Bad token"),
        ("payload is an array", "/jwt", hs_token('{"alg":"HS256"}', '["iss-HS256"]', hs), "Bad token"),
        ("duplicate iss in payload", "/jwt",
         hs_token('{"alg":"HS256"}', '{"iss":"iss-HS256","sub":"a","iss":"iss-HS256"}', hs), "duplicate"),
        ("duplicate alg in header", "/jwt",
         hs_token('{"alg":"none","alg":"HS256"}', json.dumps(ok_claims), hs), "duplicate"),
        ("duplicate hidden by an escape", "/jwt",
         hs_token('{"alg":"HS256"}', '{"iss":"iss-HS256","\\u0069ss":"x"}', hs), "duplicate"),
        ("crit header", "/jwt", jwt.encode(ok_claims, hs, algorithm="HS256", headers={"crit": ["exp"]}), "critical"),
        ("oversized", "/jwt", jwt.encode(dict(ok_claims, pad="x" * 9000), hs, algorithm="HS256"), "too large"),
        ("unknown issuer", "/jwt", jwt.encode(dict(ok_claims, iss="nobody"), hs, algorithm="HS256"),
         "No credentials found"),
        ("no iss", "/jwt", jwt.encode({"sub": "s", "exp": now() + 60, "nbf": now()}, hs, algorithm="HS256"),
         "No mandatory 'iss'"),
        ("CRLF in a forwarded claim", "/jwt", jwt.encode(dict(ok_claims, sub="a\r\nX-Admin: 1"), hs, algorithm="HS256"),
         "cannot be sent in a header"),
        ("two different tokens", "/jwt?jwt=" + rs_good, good, "Multiple tokens provided"),
        ("garbage", "/jwt", "not-a-token", "Bad token"),
    ]


def test_hostile_tokens_get_401_and_never_reach_the_upstream(gateway, keys):
    portico, backend = gateway
    cases = hostile_tokens(keys)
    assert len(cases) >= 25
    for name, path, token, expected in cases:
        before = backend.count()
        status, headers, body = call(portico, path, token)
        assert status == 401, "%s: got %d %s" % (name, status, body)
        assert expected in body, "%s: %s" % (name, body)
        assert headers.get("WWW-Authenticate", "").startswith("Bearer"), name
        assert backend.count() == before, "%s reached the upstream" % name


def status_counters(portico):
    with urllib.request.urlopen("http://127.0.0.1:%d/status" % portico.admin_port, timeout=5) as r:
        return json.load(r)["portico"]


def test_repeated_rs256_token_is_verified_once(gateway, keys):
    portico, _ = gateway
    token = jwt.encode({"iss": "iss-RS256", "exp": now() + 60, "nbf": now()}, keys["rsa"], algorithm="RS256")
    before = status_counters(portico).get("jwt_verification_cache_hits", 0)
    for _ in range(20):
        assert call(portico, "/jwt", token)[0] == 200
    hits = status_counters(portico)["jwt_verification_cache_hits"] - before
    assert hits >= 18  # the first request on each of the 2 workers verifies; the rest are hits
    # A different signature over the same claims is not a cache hit: it is verified (and fails).
    h, p, s = token.split(".")
    forged = h + "." + p + "." + s[:-4] + ("AAAA" if not s.endswith("AAAA") else "BBBB")
    assert call(portico, "/jwt", forged)[0] == 401
