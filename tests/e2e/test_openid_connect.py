"""The openid-connect plugin against a certified OpenID Provider (oidc-provider 8, Node.js,
tests/e2e/oidc_idp) on loopback: the whole authorization code flow with PKCE driven as a
browser would (cookies kept per host, redirects followed by hand), the session cookie on API
calls with the identity forwarded upstream, refresh, logout, and the security refusals (state,
replay, tampered cookies, open redirects, cross-site logout), nothing forwarded when refused."""
import json
import threading
import urllib.parse

import pytest

from conftest import free_port
from oidc_browser import Browser, close_all, login, login_plugin, start_gateway, start_idp, to_callback
from recording_backend import RecordingBackend


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oidc")
    gw_port = free_port()
    gw = "http://127.0.0.1:%d" % gw_port
    idp = start_idp(tmp, gw, access_ttl=300)
    issuer = idp.issuer
    backend = RecordingBackend()
    plugin = login_plugin(issuer, gw)
    cfg = {"_format_version": "3.0", "services": [{
        "name": "app", "url": "http://127.0.0.1:%d" % backend.port,
        "routes": [{"name": "app", "paths": ["/app", "/callback", "/logout"], "plugins": [plugin]},
                   {"name": "fresh", "paths": ["/fresh"],
                    "plugins": [dict(plugin, config=dict(plugin["config"], leeway=3600))]},
                   {"name": "nopkce", "paths": ["/nopkce"],
                    "plugins": [dict(plugin, config=dict(plugin["config"], require_proof_key_for_code_exchange=False))]},
                   {"name": "admins", "paths": ["/admins"],
                    "plugins": [dict(plugin, config=dict(plugin["config"], groups_required=["admins"]))]},
                   {"name": "bye", "paths": ["/bye"]}]}]}
    portico = start_gateway(tmp, gw, cfg)
    yield portico, backend, gw, issuer
    close_all(portico, backend, idp)


def test_login_flow_then_api_calls_carry_the_verified_identity(gateway):
    portico, backend, gw, issuer = gateway
    browser = Browser()
    location, auth, q = browser.start_login(gw + "/app/orders?page=2")
    assert auth.netloc == urllib.parse.urlsplit(issuer).netloc and auth.path == "/auth"
    assert q["response_type"] == ["code"] and q["client_id"] == ["portico"]
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
    assert len(q["state"][0]) == 43 and len(q["nonce"][0]) == 43
    assert "authorization" in browser.cookies["127.0.0.1"]
    before = len(backend.requests)
    callback = browser.login_at_provider(location, "alice", gw)
    status, headers, _, _ = browser.get(callback)
    assert status == 302 and headers["location"] == "/app/orders?page=2"  # back where the login started
    assert "session" in browser.cookies["127.0.0.1"] and "authorization" not in browser.cookies["127.0.0.1"]
    assert len(backend.requests) == before  # the callback itself goes nowhere
    status, _, body, _ = browser.get(gw + "/app/orders?page=2")
    assert status == 200, body
    seen = backend.last()["headers"]
    assert seen["x-user-id"] == "alice"
    assert seen["x-user-email"] == "alice@example.test"
    assert json.loads(seen["x-user-groups"]) == ["admins"]
    assert seen["authorization"].startswith("Bearer ")
    assert "session=" not in seen.get("cookie", "")


def test_client_copies_of_identity_headers_never_reach_the_upstream(gateway):
    portico, backend, gw, _ = gateway
    browser = Browser()
    login(browser, gw, "bob")
    status, _, _, _ = browser.get(gw + "/app/me", headers={"X-User-ID": "alice", "X-User-Email": "alice@example.test"})
    assert status == 200
    seen = backend.last()["headers"]
    assert seen["x-user-id"] == "bob" and seen["x-user-email"] == "bob@example.test"
    assert backend.last()["header_counts"].get("x-user-id", 1) == 1


def test_without_a_session_api_calls_are_refused_and_nothing_is_forwarded(gateway):
    portico, backend, gw, _ = gateway
    browser = Browser()
    before = len(backend.requests)
    status, headers, body, _ = browser.request("POST", gw + "/app/orders", body="x=1")
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"}
    assert headers["www-authenticate"].startswith("Bearer")
    assert len(backend.requests) == before


def test_state_mismatch_replayed_code_and_missing_pre_login_cookie_are_refused(gateway):
    portico, backend, gw, _ = gateway
    browser = Browser()
    callback = to_callback(browser, gw, "/app/x")
    parts = urllib.parse.urlsplit(callback)
    q = dict(urllib.parse.parse_qsl(parts.query))
    saved = dict(browser.cookies["127.0.0.1"])
    # Another state than the one sealed in the pre-login cookie.
    forged = dict(q, state="A" * 43)
    status, _, body, _ = browser.get(gw + "/callback?" + urllib.parse.urlencode(forged))
    assert status == 401 and "State mismatch" in body
    # A callback without the pre-login cookie (another browser: login CSRF).
    stranger = Browser()
    status, _, body, _ = stranger.get(callback)
    assert status == 401 and "No login in progress" in body
    # The real callback works once; the same code again (cookie restored) is refused by the provider.
    browser.cookies["127.0.0.1"] = dict(saved)
    status, _, _, _ = browser.get(callback)
    assert status == 302
    replay = Browser()
    replay.cookies["127.0.0.1"] = dict(saved)
    status, _, body, _ = replay.get(callback)
    assert status == 401 and "refused the authorization code" in body


def test_a_code_injected_into_another_login_fails_its_pkce_verifier(gateway):
    """Code injection (RFC 9700 4.5): an attacker's authorization code placed in a victim's
    callback with the victim's own state passes the state check; the code was issued for the
    attacker's PKCE challenge, so the provider refuses it with the victim's verifier."""
    portico, backend, gw, _ = gateway
    attacker, victim = Browser(), Browser()
    stolen = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(to_callback(attacker, gw, "/app/a", "bob")).query))
    victims_own = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(to_callback(victim, gw, "/app/v", "alice")).query))
    before = backend.count()
    injected = {"code": stolen["code"], "state": victims_own["state"], "iss": victims_own.get("iss", "")}
    status, _, body, _ = victim.get(gw + "/callback?" + urllib.parse.urlencode({k: v for k, v in injected.items() if v}))
    assert status == 401 and "refused the authorization code" in body, body
    assert "session" not in victim.cookies.get("127.0.0.1", {})
    assert backend.count() == before


def test_required_groups_apply_to_sessions_too(gateway):
    """groups_required (Kong's) on a login route: checked against the session's claims (the ID
    token's), a 403 with Kong's body for a user without the group, nothing forwarded."""
    portico, backend, gw, _ = gateway
    alice, bob = Browser(), Browser()
    login(alice, gw, "alice")  # groups: [admins]
    login(bob, gw, "bob")      # groups: [users]
    status, _, _, _ = alice.get(gw + "/admins/panel")
    assert status == 200 and backend.last()["headers"]["x-user-id"] == "alice"
    before = backend.count()
    status, _, body, _ = bob.get(gw + "/admins/panel")
    assert status == 403 and json.loads(body) == {"message": "Forbidden"}
    assert backend.count() == before


def test_a_login_without_a_pkce_verifier_is_refused(gateway):
    """An entry that sends no PKCE challenge (require_proof_key_for_code_exchange: false) to a
    provider that requires PKCE: the provider refuses the authorization request, and the
    callback carrying its error is a 401 with nothing forwarded."""
    portico, backend, gw, issuer = gateway
    browser = Browser()
    status, headers, _, _ = browser.get(gw + "/nopkce/x")
    assert status == 302 and "code_challenge" not in headers["location"]
    before = backend.count()
    back, status, _, _ = browser.follow(headers["location"], until=gw)
    assert urllib.parse.urlsplit(back).path == "/callback" and "error=" in back, back
    status, _, body, _ = browser.get(back)
    assert status == 401 and "refused the login" in body, body
    assert backend.count() == before


def test_tampered_or_foreign_session_cookies_are_not_accepted(gateway):
    portico, backend, gw, _ = gateway
    browser = Browser()
    login(browser, gw)
    good = browser.cookies["127.0.0.1"]["session"]
    for bad in (good[:-2] + ("AA" if good[-2:] != "AA" else "BB"), good[:40], "x" * 200):
        b = Browser()
        b.cookies["127.0.0.1"] = {"session": bad}
        status, headers, _, _ = b.get(gw + "/app/x")
        assert status == 302 and "/auth?" in headers["location"]  # a new login, not the session
        status, _, _, _ = b.request("DELETE", gw + "/app/x")
        assert status == 401


def test_only_same_site_paths_are_returned_to(gateway):
    portico, backend, gw, _ = gateway
    # The return path is the request's own target (a path on this site, sealed in the
    # pre-login cookie): nothing a client puts in the query or the callback can change it.
    browser = Browser()
    callback = to_callback(browser, gw, "/app/x?next=https://evil.example.com/&return_to=//evil.example.com")
    evil = callback + "&return_to=https%3A%2F%2Fevil.example.com%2F"
    status, headers, _, _ = browser.get(evil)
    assert status == 302
    assert headers["location"] == "/app/x?next=https://evil.example.com/&return_to=//evil.example.com"


def test_logout_clears_the_session_and_goes_through_the_provider(gateway):
    portico, backend, gw, issuer = gateway
    browser = Browser()
    login(browser, gw)
    assert browser.get(gw + "/app/x")[0] == 200
    # A cross-site logout (a form on another site) is refused and the session stays.
    status, _, body, _ = browser.request("POST", gw + "/app/logout", body="",
                                         headers={"Origin": "https://evil.example.com", "Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert browser.get(gw + "/app/x")[0] == 200
    status, headers, _, _ = browser.request("POST", gw + "/app/logout", body="", headers={"Origin": gw})
    assert status == 302
    end = urllib.parse.urlsplit(headers["location"])
    q = urllib.parse.parse_qs(end.query)
    assert end.path == "/session/end" and q["post_logout_redirect_uri"] == [gw + "/bye"] and q["id_token_hint"]
    assert "session" not in browser.cookies["127.0.0.1"]
    status, headers, _, _ = browser.get(gw + "/app/x")
    assert status == 302 and "/auth?" in headers["location"]


def test_concurrent_requests_of_one_session_refresh_once(gateway):
    """The provider rotates refresh tokens and revokes the grant when a retired one comes back:
    eight requests at once with one session cookie (a page loading its resources) must make
    one refresh, all be served, and leave a session that goes on working."""
    portico, backend, gw, _ = gateway
    browser = Browser()
    login(browser, gw)
    jar = dict(browser.cookies["127.0.0.1"])
    results = []

    def fetch():
        b = Browser()
        b.cookies["127.0.0.1"] = dict(jar)
        status, _, _, _ = b.get(gw + "/fresh/asset")
        results.append((status, b.cookies["127.0.0.1"].get("session")))

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * 8, results
    new_cookies = {c for _, c in results}
    assert len(new_cookies) >= 1 and jar["session"] not in new_cookies
    tokens = {r["headers"]["authorization"] for r in backend.requests[-8:]}
    assert len(tokens) == 1, tokens  # one refresh: every request went up with its answer
    # The grant is intact: the refreshed session refreshes again.
    browser.cookies["127.0.0.1"]["session"] = results[-1][1]
    assert browser.get(gw + "/fresh/next")[0] == 200
    assert backend.last()["headers"]["authorization"] not in tokens


def test_an_expired_access_token_is_refreshed_with_the_refresh_token(gateway):
    portico, backend, gw, _ = gateway
    browser = Browser()
    login(browser, gw)
    assert browser.get(gw + "/app/x")[0] == 200
    first = backend.last()["headers"]["authorization"]
    assert browser.get(gw + "/app/x")[0] == 200
    assert backend.last()["headers"]["authorization"] == first  # not due: the same token
    # /fresh's entry has a leeway longer than the provider's access tokens live (300 s): every
    # token is due there, and each call refreshes it with the session's refresh token.
    cookie_before = browser.cookies["127.0.0.1"]["session"]
    status, headers, _, raw = browser.get(gw + "/fresh/x")
    assert status == 200
    second = backend.last()["headers"]["authorization"]
    assert second.startswith("Bearer ") and second != first
    assert backend.last()["headers"]["x-user-id"] == "alice"
    assert browser.cookies["127.0.0.1"]["session"] != cookie_before  # the new tokens sealed in
    assert browser.get(gw + "/fresh/x")[0] == 200
    assert backend.last()["headers"]["authorization"] not in (first, second)
    # And the session refreshed on /fresh still serves /app, with the latest token.
    latest = backend.last()["headers"]["authorization"]
    assert browser.get(gw + "/app/x")[0] == 200
    assert backend.last()["headers"]["authorization"] == latest
