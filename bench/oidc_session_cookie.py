#!/usr/bin/env python3
"""Mints an openid-connect session cookie value the way the plugin seals one
(crypto/sealed_box.cpp: HKDF-SHA256 keys per purpose, AES-256-GCM, base64url), for the
benchmark's session route: requests carrying it are validated like a logged-in browser's.
Usage: oidc_session_cookie.py SECRET [SUBJECT]"""
import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT = b"portico sealed box v1"
PURPOSE = b"openid-connect session"


def derive(secret, use, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=SALT, info=PURPOSE + b"\0" + use).derive(secret)


def seal(secret, plaintext):
    key_id = derive(secret, b"key id", 4)
    key = derive(secret, b"encryption", 32)
    header = b"\x01" + key_id + os.urandom(12)
    sealed = AESGCM(key).encrypt(header[5:], plaintext, header + PURPOSE)
    return base64.urlsafe_b64encode(header + sealed).rstrip(b"=").decode()


def main():
    secret = sys.argv[1].encode()
    subject = sys.argv[2] if len(sys.argv) > 2 else "bench-user"
    now = time.time()
    session = {"sub": subject, "claims": {"sub": subject, "email": subject + "@example.test"},
               "at": "bench-access-token", "at_exp": 0, "rt": "", "idt": "",
               "created": now, "renewed": now, "seen": now}
    print(seal(secret, json.dumps(session, separators=(",", ":")).encode()))


if __name__ == "__main__":
    main()
