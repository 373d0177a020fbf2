"""The openid-connect plugin's login in a real browser: headless Chromium (Debian's chromium,
driven over the DevTools protocol by tests/e2e/oidc_idp/browser_login.mjs with puppeteer-core)
opens a page behind the gateway, is sent to the test OpenID Provider (oidc-provider 8, with its
own login and consent pages), logs in, consents, comes back through the gateway's callback to
the page where it started, and calls the API with the cookies it keeps: the upstream gets the
verified identity, the browser's cookie store shows what the plugin set. A session cookie
changed in the browser sends it to the provider again, never to the upstream."""
import json
import os
import signal
import subprocess
import urllib.parse

import pytest

from conftest import free_port
from oidc_browser import IDP_DIR, close_all, login_plugin, start_gateway, start_idp
from recording_backend import RecordingBackend

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("%s is missing (Debian package chromium; scripts/setup-deps.sh installs it)" % CHROMIUM,
                allow_module_level=True)

SCRIPT = IDP_DIR / "browser_login.mjs"
START = "/app/orders?page=2"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oidc-browser")
    gw = "http://127.0.0.1:%d" % free_port()
    idp = start_idp(tmp, gw, consent=True)
    backend = RecordingBackend()
    plugin = login_plugin(idp.issuer, gw)
    cfg = {"_format_version": "3.0", "services": [{
        "name": "app", "url": "http://127.0.0.1:%d" % backend.port,
        "routes": [{"name": "app", "paths": ["/app", "/callback", "/logout"], "plugins": [plugin]},
                   {"name": "bye", "paths": ["/bye"]}]}]}
    portico = start_gateway(tmp, gw, cfg)
    yield portico, backend, gw, idp
    close_all(portico, backend, idp)


def browse(site, user, api_path, *options, timeout=60):
    """Runs browser_login.mjs (its own process group, so that a hung run takes its Chromium with
    it) and returns what it printed, decoded."""
    portico, _, gw, idp = site
    proc = subprocess.Popen(["node", str(SCRIPT), gw + START, user, gw + api_path, *options], cwd=IDP_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # puppeteer closes the browser on SIGTERM
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        pytest.fail("browser_login.mjs did not finish in %d s\n%s\n%s" % (timeout, out, err))
    lines = out.strip().splitlines()
    seen = json.loads(lines[-1]) if lines else None
    assert proc.returncode == 0 and seen and seen["ok"], "%s\n%s\nportico:\n%s\nidp:\n%s" % (
        out, err, portico.logs()[-3000:], idp.logs()[-3000:])
    return seen


def on(url, origin):
    return urllib.parse.urlsplit(url).netloc == urllib.parse.urlsplit(origin).netloc


def test_login_and_consent_in_chromium_then_the_api_call_carries_the_identity(site):
    portico, backend, gw, idp = site
    before = backend.count()
    seen = browse(site, "alice", "/app/api/profile?fields=all", "--app-cookie=theme=dark")

    # The provider's own pages: its login form, then its consent page.
    assert on(seen["login_page"], idp.issuer) and "/interaction/" in seen["login_page"]
    assert seen["consent_shown"]
    hops = [(h["method"], h["url"], h["status"]) for h in seen["hops"][:seen["hops_before_api"]]]
    assert hops[0] == ("GET", gw + START, 302), hops
    assert hops[1][1].startswith(idp.issuer + "/auth?"), hops
    posts = [h[1] for h in hops if h[0] == "POST"]
    assert len(posts) == 2 and all(on(u, idp.issuer) for u in posts), hops  # the login and consent forms
    callbacks = [h for h in hops if h[1].startswith(gw + "/callback?")]
    assert len(callbacks) == 1 and callbacks[0][2] == 302, hops
    # Back on the page where the login started, served by the upstream.
    assert seen["landed"]["url"] == gw + START and seen["landed"]["status"] == 200
    assert json.loads(seen["landed"]["body"]) == {"ok": True}
    assert hops[-1] == ("GET", gw + START, 200)

    # The cookies the browser keeps for the gateway: the session, HttpOnly and SameSite=Lax
    # (not Secure: plain http here); the pre-login cookie is gone.
    cookies = {c["name"]: c for c in seen["cookies"]}
    assert set(cookies) == {"session"}, cookies
    assert cookies["session"]["httpOnly"] is True and cookies["session"]["sameSite"] == "Lax"
    assert cookies["session"]["path"] == "/" and cookies["session"]["secure"] is False
    assert cookies["session"]["domain"] == "127.0.0.1"  # host-only

    # The API call in the same browser reaches the upstream with the verified identity.
    api = seen["api"]
    assert api["final_url"] == gw + "/app/api/profile?fields=all" and api["status"] == 200 and not api["redirect_chain"]
    assert json.loads(api["body"]) == {"ok": True}
    upstream = backend.requests[before:]
    assert [r["path"] for r in upstream] == ["/orders?page=2", "/api/profile?fields=all"], upstream
    for r in upstream:
        h = r["headers"]
        assert h["x-user-id"] == "alice" and r["header_counts"]["x-user-id"] == 1
        assert h["x-user-email"] == "alice@example.test"
        assert json.loads(h["x-user-groups"]) == ["admins"]
        # The provider's access token as configured, never the plugin's cookies.
        assert h["authorization"].startswith("Bearer ") and len(h["authorization"]) > 20
        assert "session=" not in h.get("cookie", "") and "authorization=" not in h.get("cookie", "")
    assert upstream[-1]["headers"]["cookie"] == "theme=dark"  # the application's own cookie stays
    assert {c["name"] for c in seen["cookies_after_api"]} == {"session", "theme"}

    # No errors on the gateway's pages (the browser's own /favicon.ico request is no route: 404).
    gateway_errors = [e for e in seen["console_errors"]
                      if e["url"] and on(e["url"], gw) and not e["url"].endswith("/favicon.ico")]
    assert not gateway_errors, seen["console_errors"]


def test_a_tampered_session_cookie_sends_the_browser_to_the_provider_not_upstream(site):
    portico, backend, gw, idp = site
    before = backend.count()
    seen = browse(site, "bob", "/app/api/secret", "--tamper-session", "--forget-provider")
    assert seen["tampered"] and seen["consent_shown"]
    assert backend.count() == before + 1  # the landing page only
    assert backend.last()["headers"]["x-user-id"] == "bob"
    api = seen["api"]
    # Refused as a session: a new login at the provider, whose login page is shown (its own
    # session was forgotten); the upstream saw nothing.
    assert api["redirect_chain"][0] == gw + "/app/api/secret"
    assert api["redirect_chain"][1].startswith(idp.issuer + "/auth?")
    assert on(api["final_url"], idp.issuer) and "/interaction/" in api["final_url"] and api["status"] == 200
    assert "Sign-in" in api["body"]
    # The altered cookie is cleared; a new login is under way (its pre-login cookie).
    assert {c["name"] for c in seen["cookies_after_api"]} == {"authorization"}


def test_a_tampered_session_cookie_with_the_provider_still_logged_in_logs_in_again(site):
    portico, backend, gw, idp = site
    before = backend.count()
    seen = browse(site, "bob", "/app/api/secret", "--tamper-session")
    api = seen["api"]
    # Through the provider (which knows the user and the grant: no page) and the callback, then
    # on to the API with a new session: not with the tampered one.
    chain = api["redirect_chain"]
    assert chain[0] == gw + "/app/api/secret" and chain[1].startswith(idp.issuer + "/auth?"), chain
    assert any(u.startswith(gw + "/callback?") for u in chain), chain
    assert api["final_url"] == gw + "/app/api/secret" and api["status"] == 200
    upstream = backend.requests[before:]
    assert [r["path"] for r in upstream] == ["/orders?page=2", "/api/secret"]
    assert upstream[-1]["headers"]["x-user-id"] == "bob"
    cookies = {c["name"]: c for c in seen["cookies_after_api"]}
    assert set(cookies) == {"session"} and cookies["session"]["httpOnly"] and cookies["session"]["sameSite"] == "Lax"
