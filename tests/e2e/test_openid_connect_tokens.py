"""What a login at the gateway gives API clients (openid-connect's login_action and Portico's
issue_jwt), against the test OpenID Provider (oidc-provider 8): the callback answering the
tokens as JSON, Portico's own short JWT signed with the configured key (checked here with
PyJWT, an independent implementation) and accepted back as a bearer token, the redirect with
the tokens in its fragment; forged and expired internal tokens refused. And the gateway
authenticating to the provider with client assertions (private_key_jwt from a client_jwk,
client_secret_jwt), which the provider checks."""
import base64
import json
import time
import urllib.parse

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import free_port
from oidc_browser import Browser, close_all, start_gateway, start_idp, to_callback
from recording_backend import RecordingBackend

ISSUER = "https://gateway.example.test"


def b64(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def rsa_jwk(key, kid):
    """The key as JWKs: (private, public)."""
    priv, pub = key.private_numbers(), key.public_key().public_numbers()
    public = {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64(pub.n), "e": b64(pub.e)}
    private = dict(public, d=b64(priv.d), p=b64(priv.p), q=b64(priv.q), dp=b64(priv.dmp1), dq=b64(priv.dmq1),
                   qi=b64(priv.iqmp))
    return private, public


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oidc-tokens")
    gw = "http://127.0.0.1:%d" % free_port()
    client_key, client_public = rsa_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "gateway-2026")
    idp = start_idp(tmp, gw, callbacks=("/api-callback", "/spa-callback", "/pk-callback", "/sj-callback"),
                    extra_env={"PKJWT_JWK": json.dumps(client_public)})
    backend = RecordingBackend()
    key = ec.generate_private_key(ec.SECP256R1())
    issue_jwt = {"algorithm": "ES256", "private_key": pem(key), "key_id": "portico-1", "issuer": ISSUER,
                 "audience": ["orders"], "ttl": 60, "claims": {"sub": "sub", "email": "email", "groups": "groups"}}
    common = {"issuer": idp.issuer, "client_id": ["portico"], "client_secret": ["portico-client-secret"],
              "scopes": ["openid", "email", "groups"], "session_secret": "x" * 32}
    api = dict(common, redirect_uri=[gw + "/api-callback"], login_action="response", issue_jwt=issue_jwt)
    spa = dict(common, redirect_uri=[gw + "/spa-callback"], login_action="redirect",
               login_redirect_uri=[gw + "/spa/home"], login_tokens=["id_token", "access_token"])
    # Another route's entry with the same issue_jwt key accepts the tokens too (a bearer-only API).
    orders = dict(common, auth_methods=["bearer"], issue_jwt=issue_jwt, upstream_headers_claims=["email"],
                  upstream_headers_names=["X-User-Email"])
    pk = dict(common, client_id=["portico-pkjwt"], client_secret=None, client_auth=["private_key_jwt"],
              client_jwk=[client_key], redirect_uri=[gw + "/pk-callback"], login_action="response",
              login_tokens=["access_token"])
    pk_introspection = dict(pk, auth_methods=["introspection"], redirect_uri=None, login_action="upstream",
                            introspection_endpoint_auth_method="private_key_jwt")
    sj = dict(common, client_id=["portico-sjwt"], client_secret=["a client secret long enough for HS256 signatures"],
              client_auth=["client_secret_jwt"], redirect_uri=[gw + "/sj-callback"], login_action="response")
    cfg = {"_format_version": "3.0", "services": [{"name": "app", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
        {"name": "pk", "paths": ["/pk", "/pk-callback"], "plugins": [{"name": "openid-connect", "config": pk}]},
        {"name": "pk-api", "paths": ["/pk-api"], "plugins": [{"name": "openid-connect", "config": pk_introspection}]},
        {"name": "sj", "paths": ["/sj", "/sj-callback"], "plugins": [{"name": "openid-connect", "config": sj}]},
        {"name": "api", "paths": ["/api-login", "/api-callback"], "plugins": [{"name": "openid-connect", "config": api}]},
        {"name": "spa", "paths": ["/spa", "/spa-callback"], "plugins": [{"name": "openid-connect", "config": spa}]},
        {"name": "orders", "paths": ["/orders"], "plugins": [{"name": "openid-connect", "config": orders}]},
        {"name": "billing", "paths": ["/billing"], "plugins": [{"name": "openid-connect", "config": dict(
            orders, issue_jwt=dict(issue_jwt, audience=["billing"]))}]},
    ]}]}
    portico = start_gateway(tmp, gw, cfg)
    yield gw, idp, backend, key
    close_all(portico, backend, idp)


def api_login(gw, user="alice"):
    browser = Browser()
    status, headers, body, _ = browser.get(to_callback(browser, gw, "/api-login/start", user))
    assert status == 200, body
    assert headers["content-type"].startswith("application/json") and headers["cache-control"] == "no-store"
    return json.loads(body)


def test_the_callback_answers_the_tokens_and_portico_s_own_jwt(site):
    gw, idp, backend, key = site
    answer = api_login(gw)
    assert set(answer) == {"id_token", "token", "token_type", "expires_in"}
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 60
    header = pyjwt.get_unverified_header(answer["token"])
    assert header["alg"] == "ES256" and header["kid"] == "portico-1"
    claims = pyjwt.decode(answer["token"], key.public_key(), algorithms=["ES256"], audience="orders", issuer=ISSUER)
    assert claims["sub"] == "alice" and claims["email"] == "alice@example.test" and claims["groups"] == ["admins"]
    assert claims["exp"] - claims["iat"] == 60 and len(claims["jti"]) >= 32
    # The ID token is the provider's, for our client.
    id_claims = pyjwt.decode(answer["id_token"], options={"verify_signature": False})
    assert id_claims["iss"] == idp.issuer and id_claims["aud"] == "portico" and id_claims["sub"] == "alice"


def test_portico_s_jwt_is_accepted_back_as_a_bearer_token(site):
    gw, idp, backend, key = site
    token = api_login(gw, "bob")["token"]
    for path in ("/orders/1", "/api-login/orders"):
        browser = Browser()  # no session cookie: the token alone
        status, _, body, _ = browser.get(gw + path, headers={"Authorization": "Bearer " + token})
        assert status == 200, (path, body)
        assert backend.last()["headers"]["x-user-id"] == "bob"
    assert backend.last()["headers"]["authorization"] == "Bearer " + token
    status, _, _, _ = Browser().get(gw + "/orders/1", headers={"Authorization": "Bearer " + token})
    assert backend.last()["headers"]["x-user-email"] == "bob@example.test"
    # The same key on an entry minting for another audience: not a token for it.
    status, _, body, _ = Browser().get(gw + "/billing/1", headers={"Authorization": "Bearer " + token})
    assert status == 401, body


def test_tokens_signed_with_the_key_are_standard_and_others_are_refused(site):
    gw, idp, backend, key = site
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "carol", "aud": "orders", "iat": now, "exp": now + 30}
    minted_elsewhere = pyjwt.encode(claims, key, algorithm="ES256", headers={"kid": "portico-1"})
    status, _, body, _ = Browser().get(gw + "/orders/2", headers={"Authorization": "Bearer " + minted_elsewhere})
    assert status == 200, body
    assert backend.last()["headers"]["x-user-id"] == "carol"
    before = backend.count()
    expired = pyjwt.encode(dict(claims, iat=now - 120, exp=now - 60), key, algorithm="ES256", headers={"kid": "portico-1"})
    other_key = pyjwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "portico-1"})
    other_issuer = pyjwt.encode(dict(claims, iss="https://elsewhere.test"), key, algorithm="ES256", headers={"kid": "portico-1"})
    for bad in (expired, other_key, other_issuer, minted_elsewhere[:-4] + "AAAA"):
        status, headers, body, _ = Browser().get(gw + "/orders/3", headers={"Authorization": "Bearer " + bad})
        assert status == 401 and json.loads(body) == {"message": "Unauthorized"}, body
        assert 'error="invalid_token"' in headers["www-authenticate"]
    assert backend.count() == before


def test_login_action_redirect_puts_the_tokens_in_the_fragment(site):
    gw, idp, backend, key = site
    browser = Browser()
    status, headers, _, _ = browser.get(to_callback(browser, gw, "/spa/start"))
    assert status == 302
    location = urllib.parse.urlsplit(headers["location"])
    assert location.path == "/spa/home" and location.query == ""
    tokens = dict(urllib.parse.parse_qsl(location.fragment))
    assert set(tokens) == {"id_token", "access_token"}
    assert pyjwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"] == "alice"
    assert "session" in browser.cookies["127.0.0.1"]  # and the browser has its session too


def test_private_key_jwt_and_client_secret_jwt_authenticate_the_gateway(site):
    gw, idp, backend, key = site
    for start in ("/pk/start", "/sj/start"):
        browser = Browser()
        status, _, body, _ = browser.get(to_callback(browser, gw, start))
        assert status == 200, (start, body)  # the provider accepted the code exchange's client assertion
        assert json.loads(body).get("access_token" if start == "/pk/start" else "id_token")


def test_introspection_with_private_key_jwt(site):
    gw, idp, backend, key = site
    auth = base64.b64encode(b"api-client:api-client-secret").decode()
    status, _, body, _ = Browser().request("POST", "http://127.0.0.1:%d/token" % idp.port,
                                           body="grant_type=client_credentials&scope=api%3Aread",
                                           headers={"Authorization": "Basic " + auth})
    assert status == 200, body
    token = json.loads(body)["access_token"]
    status, _, body, _ = Browser().get(gw + "/pk-api/x", headers={"Authorization": "Bearer " + token})
    assert status == 200, body
    assert backend.last()["headers"]["x-user-id"] == "api-client"
