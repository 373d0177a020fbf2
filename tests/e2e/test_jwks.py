"""The jwt plugin with keys from an identity provider (jwks_uri): a real HTTP server in the
test process plays the provider. Key rotation, an unknown kid (refreshed once, rate-limited
against floods), the provider going down (cached keys keep working) and coming back, and
503 only while no keys were ever loaded."""
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import Portico, eventually, free_port
from recording_backend import RecordingBackend


class Provider:
    """Serves /jwks.json with the public keys it is given; `down` makes it drop connections."""

    def __init__(self):
        self.keys = {}  # kid -> (private key, alg)
        self.fetches = 0
        self.down = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                provider.fetches += 1
                if provider.down:
                    self.close_connection = True
                    return
                body = json.dumps({"keys": provider.jwks()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jwks(self):
        out = []
        for kid, (key, alg) in self.keys.items():
            cls = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
            jwk = json.loads(cls.to_jwk(key.public_key()))
            jwk.update({"kid": kid, "use": "sig"})
            if kid != "no-alg":
                jwk["alg"] = alg
            out.append(jwk)
        out.append({"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0"})  # never usable: skipped
        return out

    def token(self, kid, claims=None, key=None, alg=None):
        k, a = self.keys.get(kid, (key, alg))
        body = {"iss": "https://idp.test", "sub": "user-7", "exp": int(time.time()) + 300}
        body.update(claims or {})
        return jwt.encode(body, key or k, algorithm=alg or a, headers={"kid": kid})

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def setup(tmp_path):
    provider = Provider()
    provider.keys["k1"] = (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
    backend = RecordingBackend()
    dead = free_port()  # nothing listens there: a provider that was never reachable
    cfg = {
        "_format_version": "3.0",
        "consumers": [{"username": "user-7"}],
        "services": [{"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
            {"name": "idp", "paths": ["/idp"], "plugins": [{"name": "jwt", "config": {
                "jwks_uri": "http://127.0.0.1:%d/jwks.json" % provider.port,
                "jwks_refresh_interval": 60, "jwks_min_refresh_interval": 1, "jwks_timeout": 4,
                "issuer": "https://idp.test", "claims_to_verify": ["exp"],
                "claims_to_headers": {"sub": "X-User-ID"}}}]},
            {"name": "mapped", "paths": ["/mapped"], "plugins": [{"name": "jwt", "config": {
                "jwks_uri": "http://127.0.0.1:%d/jwks.json" % provider.port,
                "jwks_refresh_interval": 60, "jwks_min_refresh_interval": 1, "consumer_claim": "sub"}},
                {"name": "acl", "config": {"deny": ["blocked"]}}]},
            {"name": "never", "paths": ["/never"], "plugins": [{"name": "jwt", "config": {
                "jwks_uri": "http://127.0.0.1:%d/jwks.json" % dead, "jwks_timeout": 0.5}}]},
        ]}],
    }
    path = tmp_path / "kong.yml"
    path.write_text(json.dumps(cfg))
    portico = Portico(path)
    # The two provider routes hold two key sets (their timeouts differ), each fetched once at
    # start; the tests count the provider's fetches, so they begin after both have landed.
    assert eventually(lambda: counters(portico).get("jwt_jwks_refreshes", 0) >= 2)
    yield portico, provider, backend
    portico.close()
    backend.close()
    provider.close()


def call(portico, path, token):
    req = urllib.request.Request(portico.url(path), headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def counters(portico):
    with urllib.request.urlopen("http://127.0.0.1:%d/status" % portico.admin_port, timeout=5) as r:
        return json.load(r)["portico"]


def test_provider_keys_rotation_unknown_kid_outage_and_recovery(setup):
    portico, provider, backend = setup
    # Keys loaded at start: a token signed by the provider passes; the upstream sees the
    # verified subject and the key id as the credential, and no consumer.
    status, body = call(portico, "/idp", provider.token("k1"))
    assert status == 200, body
    seen = backend.last()["headers"]
    assert seen["x-user-id"] == "user-7"
    assert seen["x-credential-identifier"] == "k1"
    assert "x-consumer-username" not in seen

    # Rotation: the provider replaces k1 by k2. The first k2 token triggers one refresh and
    # passes without waiting for the schedule (once min_refresh_interval, 1 s, has passed since
    # the initial fetch: under load that fetch can land just before this point).
    time.sleep(1.1)
    provider.keys = {"k2": (ec.generate_private_key(ec.SECP256R1()), "ES256")}
    before = provider.fetches
    status, body = call(portico, "/idp", provider.token("k2"))
    assert status == 200, (body, provider.fetches - before, portico.logs()[-3000:])
    assert provider.fetches == before + 1
    # k1 is gone from the provider: its tokens are now refused.
    old_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert call(portico, "/idp", provider.token("k1", key=old_key, alg="RS256"))[0] == 401

    # A flood of made-up kids: every token 401, the provider asked at most once more
    # (min_refresh_interval is 1 s and the flood takes less).
    before = provider.fetches
    started = time.time()
    for i in range(30):
        status, body = call(portico, "/idp", provider.token("forged-%d" % i, key=old_key, alg="RS256"))
        assert status == 401
        assert "No key found" in body
    if time.time() - started < 1:
        assert provider.fetches - before <= 1
    assert "token with unknown kid '" in portico.logs()  # at most one such line per second

    # The provider goes down: keys already loaded keep working; an unknown kid is 401
    # (not 503), and the failed refresh is counted.
    provider.down = True
    time.sleep(1.1)  # past min_refresh_interval: the next unknown kid may refresh again
    failures = counters(portico).get("jwt_jwks_refresh_failures", 0)
    assert call(portico, "/idp", provider.token("k3", key=old_key, alg="RS256"))[0] == 401
    eventually(lambda: counters(portico).get("jwt_jwks_refresh_failures", 0) > failures)
    assert call(portico, "/idp", provider.token("k2"))[0] == 200
    assert "keeping the keys already loaded" in portico.logs()

    # Back up, with a new key k3: its tokens pass again.
    provider.keys["k3"] = (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
    provider.down = False
    time.sleep(1.1)
    assert call(portico, "/idp", provider.token("k3"))[0] == 200
    assert counters(portico)["jwt_jwks_refreshes"] >= 3


def test_provider_claims_are_still_checked(setup):
    portico, provider, backend = setup
    before = len(backend.requests)
    assert call(portico, "/idp", provider.token("k1", {"iss": "https://other.test"}))[0] == 401
    assert call(portico, "/idp", provider.token("k1", {"exp": int(time.time()) - 60}))[0] == 401
    # RSA key published without "alg": taken as RS256; an HS256 token naming it is refused.
    provider.keys["no-alg"] = provider.keys["k1"]
    time.sleep(1.1)
    assert call(portico, "/idp", provider.token("no-alg"))[0] == 200
    hs = jwt.encode({"iss": "https://idp.test", "exp": int(time.time()) + 60}, "secret", algorithm="HS256",
                    headers={"kid": "no-alg"})
    assert call(portico, "/idp", hs)[0] == 401
    # The provider's symmetric key is never accepted.
    hs = jwt.encode({"iss": "https://idp.test", "exp": int(time.time()) + 60}, "secret", algorithm="HS256",
                    headers={"kid": "symmetric"})
    assert call(portico, "/idp", hs)[0] == 401
    assert len(backend.requests) == before + 1


def test_consumer_claim_maps_the_token_to_a_consumer(setup):
    portico, provider, backend = setup
    status, body = call(portico, "/mapped", provider.token("k1"))
    assert status == 200, body
    assert backend.last()["headers"]["x-consumer-username"] == "user-7"
    status, body = call(portico, "/mapped", provider.token("k1", {"sub": "stranger"}))
    assert status == 401
    assert "No consumer found" in body


def test_503_while_no_keys_were_ever_loaded(setup):
    portico, provider, backend = setup
    before = len(backend.requests)
    status, body = call(portico, "/never", provider.token("k1"))
    assert status == 503
    assert json.loads(body) == {"message": "The identity provider's keys are not available"}
    assert len(backend.requests) == before
    assert counters(portico)["jwt_jwks_unavailable"] >= 1
    assert "no keys loaded yet" in portico.logs()


def test_key_sets_are_listed_with_their_last_refresh(setup):
    """GET /jwks (the dashboard's health view): each jwt entry with a jwks_uri, the keys it
    loaded and when, and why the last fetch failed."""
    portico, provider, _ = setup
    uri = "http://127.0.0.1:%d/jwks.json" % provider.port

    def listed():
        with urllib.request.urlopen(portico.admin("/jwks"), timeout=5) as r:
            return json.load(r)["data"]
    assert eventually(lambda: any(s["last_attempt"] for s in listed() if s["uri"] != uri))
    sets = listed()
    good = [s for s in sets if s["uri"] == uri]
    assert len(good) == 2  # /idp and /mapped: one entry each
    for s in good:
        assert {"kid": "k1", "alg": "RS256"} in s["keys"]
        assert s["last_refresh"] and s["last_error"] is None and s["plugin_id"]
    never = [s for s in sets if s["uri"] != uri]
    assert len(never) == 1 and never[0]["keys"] == [] and never[0]["last_refresh"] is None
    assert never[0]["last_error"], never[0]
