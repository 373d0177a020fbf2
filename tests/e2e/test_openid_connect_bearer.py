"""The openid-connect plugin's bearer mode against a certified OpenID Provider (oidc-provider 8,
tests/e2e/oidc_idp): JWT access tokens verified with the provider's keys (no call to it),
opaque tokens introspected (RFC 7662) and remembered no longer than they live, Kong's
requirements (scopes, audience), the token found in a header, the query or a form body and
hidden from the upstream, consumer mapping; every refusal a 401/403 with Kong's body and
nothing forwarded."""
import base64
import json
import time
import urllib.parse
import urllib.request

import pytest

from conftest import free_port
from oidc_browser import close_all, start_gateway, start_idp
from recording_backend import RecordingBackend

API = "https://api.example.test"


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def token(idp, client="api-client", scope="api:read", resource=None):
    """An access token from the provider's token endpoint (client credentials grant)."""
    form = {"grant_type": "client_credentials", "scope": scope}
    if resource:
        form["resource"] = resource
    auth = base64.b64encode(("%s:%s-secret" % (client, client)).encode()).decode()
    status, _, body = http("POST", "http://127.0.0.1:%d/token" % idp.port, urllib.parse.urlencode(form).encode(),
                           {"Authorization": "Basic " + auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    return json.loads(body)["access_token"]


def introspections(idp):
    return json.loads(http("GET", "http://127.0.0.1:%d/test/introspections" % idp.port)[2])["introspections"]


@pytest.fixture(scope="module")
def bearer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oidc-bearer")
    gw_port, dead_port = free_port(), free_port()
    gw = "http://127.0.0.1:%d" % gw_port
    idp = start_idp(tmp, gw)
    backend = RecordingBackend()
    base = {"issuer": idp.issuer, "client_id": ["portico"], "client_secret": ["portico-client-secret"],
            "auth_methods": ["bearer", "introspection"], "upstream_headers_claims": ["scope"],
            "upstream_headers_names": ["X-Token-Scope"]}

    def route(name, **config):
        return {"name": name, "paths": ["/" + name], "plugins": [{"name": "openid-connect", "config": dict(base, **config)}]}

    cfg = {"_format_version": "3.0",
           "consumers": [{"username": "api-client", "acls": [{"group": "partners"}]}, {"username": "api-short"}],
           "services": [{"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
               route("api"),
               route("write", scopes_required=["api:write"]),
               route("either", scopes_required=["api:admin", "api:read api:write"]),
               route("aud", audience_required=[API]),
               route("jwt-only", auth_methods=["bearer"]),
               route("consumer", consumer_claim=["client_id"]),
               # After openid-connect found the consumer, acl and rate limiting act per consumer.
               {"name": "partners", "paths": ["/partners"], "plugins": [
                   {"name": "openid-connect", "config": dict(base, consumer_claim=["client_id"])},
                   {"name": "acl", "config": {"allow": ["partners"]}},
                   {"name": "rate-limiting", "config": {"minute": 2, "limit_by": "consumer", "policy": "local"}}]},
               route("dead-introspection", introspection_endpoint="http://127.0.0.1:%d/introspect" % dead_port),
           ]}]}
    portico = start_gateway(tmp, gw, cfg)
    yield gw, idp, backend
    close_all(portico, backend, idp)


def refused(status, headers, body, code=401, error="invalid_token"):
    assert status == code, (status, body)
    assert json.loads(body) == {"message": "Unauthorized" if code == 401 else "Forbidden"}
    if error is None:  # a 403 for other than scopes: no invalid_token (RFC 6750 3.1 ties it to 401)
        assert "www-authenticate" not in headers
    else:
        assert 'error="%s"' % error in headers["www-authenticate"]


def test_an_opaque_token_is_introspected_once_then_remembered(bearer):
    gw, idp, backend = bearer
    t = token(idp)
    before = introspections(idp)
    for _ in range(3):
        status, _, body = http("GET", gw + "/api/orders", headers={"Authorization": "Bearer " + t})
        assert status == 200, body
    assert introspections(idp) == before + 1
    seen = backend.last()["headers"]
    assert seen["x-user-id"] == "api-client"  # a client's own token: no sub, its client_id
    assert seen["x-token-scope"] == "api:read"
    assert seen["authorization"] == "Bearer " + t  # upstream_access_token_header's default


def test_the_cache_never_outlives_the_token(bearer):
    gw, idp, backend = bearer
    t = token(idp, client="api-short")  # lives SHORT_TTL = 2 s
    assert http("GET", gw + "/api/x", headers={"Authorization": "Bearer " + t})[0] == 200
    time.sleep(3)
    before_count, before = backend.count(), introspections(idp)
    refused(*http("GET", gw + "/api/x", headers={"Authorization": "Bearer " + t}))
    assert introspections(idp) == before + 1  # asked again: the answer was not kept past exp
    assert backend.count() == before_count


def test_a_jwt_access_token_is_verified_with_the_providers_keys_without_calling_it(bearer):
    gw, idp, backend = bearer
    t = token(idp, resource=API)
    assert t.count(".") == 2
    before = introspections(idp)
    status, _, body = http("GET", gw + "/jwt-only/me", headers={"Authorization": "Bearer " + t})
    assert status == 200, body
    assert introspections(idp) == before
    assert backend.last()["headers"]["x-user-id"] == "api-client"  # RFC 9068: sub is the client


def test_forged_and_unknown_tokens_are_refused_and_nothing_is_forwarded(bearer):
    gw, idp, backend = bearer
    t = token(idp, resource=API)
    head, claims, sig = t.split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    forged_claims["sub"] = "admin"
    forged = head + "." + base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("=") + "." + sig
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').decode().rstrip("=")
    before = backend.count()
    refused(*http("GET", gw + "/jwt-only/x", headers={"Authorization": "Bearer " + forged}))
    refused(*http("GET", gw + "/jwt-only/x", headers={"Authorization": "Bearer " + none_head + "." + claims + "."}))
    refused(*http("GET", gw + "/jwt-only/x", headers={"Authorization": "Bearer " + token(idp)}))  # opaque, no introspection
    refused(*http("GET", gw + "/api/x", headers={"Authorization": "Bearer not-a-token-the-provider-issued"}))
    assert backend.count() == before


def test_what_is_not_a_token_never_reaches_the_provider_or_a_header(bearer):
    gw, idp, backend = bearer
    before_calls, before = introspections(idp), backend.count()
    for bad in ("x%0d%0aX-Consumer-Username:%20admin", "a%20b", "%22quoted%22"):
        refused(*http("GET", gw + "/api/x?access_token=" + bad))
    # Longer than 8 KiB (in a form body: no header or request line limit in the way).
    refused(*http("POST", gw + "/api/x", ("access_token=" + "t" * 9000).encode(),
                  {"Content-Type": "application/x-www-form-urlencoded"}))
    assert introspections(idp) == before_calls and backend.count() == before


def test_requirements_answer_403_with_kongs_body(bearer):
    gw, idp, backend = bearer
    read_only, read_write = token(idp), token(idp, scope="api:read api:write")
    before = backend.count()
    refused(*http("GET", gw + "/write/x", headers={"Authorization": "Bearer " + read_only}), code=403,
            error="insufficient_scope")
    refused(*http("GET", gw + "/either/x", headers={"Authorization": "Bearer " + read_only}), code=403,
            error="insufficient_scope")
    refused(*http("GET", gw + "/aud/x", headers={"Authorization": "Bearer " + read_write}), code=403,
            error=None)  # opaque: no aud
    assert backend.count() == before
    assert http("GET", gw + "/write/x", headers={"Authorization": "Bearer " + read_write})[0] == 200
    assert http("GET", gw + "/either/x", headers={"Authorization": "Bearer " + read_write})[0] == 200
    assert http("GET", gw + "/aud/x", headers={"Authorization": "Bearer " + token(idp, resource=API)})[0] == 200


def test_tokens_in_the_query_or_a_form_body_are_found_and_hidden_from_the_upstream(bearer):
    gw, idp, backend = bearer
    t = token(idp)
    status, _, body = http("GET", gw + "/api/list?page=2&access_token=" + urllib.parse.quote(t))
    assert status == 200, body
    assert backend.last()["path"] == "/list?page=2"
    form = urllib.parse.urlencode({"item": "book", "access_token": t}).encode()
    status, _, body = http("POST", gw + "/api/orders", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    assert backend.last()["body"] == "item=book"
    assert backend.last()["headers"]["x-user-id"] == "api-client"
    status, _, body = http("POST", gw + "/api/orders", json.dumps({"item": "pen", "access_token": t}).encode(),
                           {"Content-Type": "application/json"})
    assert status == 200, body
    assert json.loads(backend.last()["body"]) == {"item": "pen"}
    before = backend.count()
    status, headers, body = http("POST", gw + "/api/orders", b"item=book", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"}
    assert backend.count() == before


def test_the_consumer_is_found_by_a_claim(bearer):
    gw, idp, backend = bearer
    status, _, body = http("GET", gw + "/consumer/x", headers={"Authorization": "Bearer " + token(idp)})
    assert status == 200, body
    assert backend.last()["headers"]["x-consumer-username"] == "api-client"


def test_an_unreachable_introspection_endpoint_answers_502(bearer):
    gw, idp, backend = bearer
    before = backend.count()
    status, _, body = http("GET", gw + "/dead-introspection/x", headers={"Authorization": "Bearer " + token(idp)})
    assert status == 502 and json.loads(body) == {"message": "The identity provider could not be reached"}
    assert backend.count() == before


def test_acl_and_rate_limiting_act_on_the_consumer_the_token_maps_to(bearer):
    gw, idp, backend = bearer
    partner, other = token(idp), token(idp, client="api-short")
    # api-short's consumer is not in the allowed group: acl refuses it.
    status, _, body = http("GET", gw + "/partners/x", headers={"Authorization": "Bearer " + other})
    assert status == 403, body
    if time.time() % 60 > 55:  # the minute's window must not turn over between the requests
        time.sleep(60.5 - time.time() % 60)
    statuses = [http("GET", gw + "/partners/x", headers={"Authorization": "Bearer " + partner})[0] for _ in range(3)]
    assert statuses == [200, 200, 429], statuses  # minute: 2, counted for the consumer
    seen = backend.last()["headers"]
    assert seen["x-consumer-username"] == "api-client" and seen["x-consumer-groups"] == "partners"
    # Another token of the same client is the same consumer: still limited.
    status, headers, _ = http("GET", gw + "/partners/x", headers={"Authorization": "Bearer " + token(idp)})
    assert status == 429 and headers["x-ratelimit-remaining-minute"] == "0"
