"""What the openid-connect plugin's tests share: a scripted browser (cookies per host, redirects
followed by hand), the login through a provider with it, and the test OpenID Provider
(oidc-provider 8, tests/e2e/oidc_idp) started on loopback."""
import http.client
import json
import os
import re
import subprocess
import urllib.parse
from pathlib import Path

from conftest import Portico, free_port, stop, wait_for_port

IDP_DIR = Path(__file__).resolve().parent / "oidc_idp"
SECRET = "a session secret of at least thirty-two characters"


class Browser:
    """Cookies per host (host-only, as the plugin and the provider set them), redirects
    followed by hand so each hop can be looked at."""

    def __init__(self):
        self.cookies = {}  # host -> {name: value}

    def request(self, method, url, body=None, headers=None):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
        h = dict(headers or {})
        jar = self.cookies.get(u.hostname, {})
        if jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in jar.items())
        if body is not None:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        target = u.path + ("?" + u.query if u.query else "")
        conn.request(method, target or "/", body=body, headers=h)
        r = conn.getresponse()
        data = r.read().decode("utf-8", "replace")
        for name, value in r.getheaders():
            if name.lower() != "set-cookie":
                continue
            pair = value.split(";", 1)[0]
            cname, _, cvalue = pair.partition("=")
            if "max-age=0" in value.lower() or cvalue == "":
                self.cookies.setdefault(u.hostname, {}).pop(cname.strip(), None)
            else:
                self.cookies.setdefault(u.hostname, {})[cname.strip()] = cvalue
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data, r.getheaders()

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def follow(self, url, until=None, max_hops=12):
        """GETs `url` and follows redirects; stops at a page, or before a redirect to the
        origin `until` (scheme://host:port, the gateway)."""
        stop_at = urllib.parse.urlsplit(until).netloc if until else None
        for _ in range(max_hops):
            status, headers, body, _ = self.get(url)
            if status not in (301, 302, 303, 307) or "location" not in headers:
                return url, status, headers, body
            nxt = urllib.parse.urljoin(url, headers["location"])
            if stop_at and urllib.parse.urlsplit(nxt).netloc == stop_at:
                return nxt, status, headers, body
            url = nxt
        raise AssertionError("too many redirects")

    def start_login(self, url):
        """GETs a page behind the login: returns the provider's authorization URL it redirects
        to, split, and its query arguments (lists, as parse_qs gives them)."""
        status, headers, _, _ = self.get(url)
        assert status == 302, status
        auth = urllib.parse.urlsplit(headers["location"])
        return headers["location"], auth, urllib.parse.parse_qs(auth.query)

    def login_at_provider(self, auth_url, user, gw):
        """From the provider's authorization URL to its redirect back to the gateway `gw`
        (returns that URL, the callback). A provider that knows the user already (or needs no
        login, as a GitHub-like one here) redirects at once; else its login form is filled."""
        back = urllib.parse.urlsplit(gw).netloc
        url, status, _, page = self.follow(auth_url, until=gw)
        if status in (301, 302, 303) and urllib.parse.urlsplit(url).netloc == back:
            return url
        action = re.search(r'action="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"prompt": "login", "login": user, "password": "any"})
        status, headers, _, _ = self.request("POST", urllib.parse.urljoin(url, action), body=form)
        assert status in (302, 303), status
        url, status, _, _ = self.follow(urllib.parse.urljoin(url, headers["location"]), until=gw)
        assert urllib.parse.urlsplit(url).netloc == back, (url, status)
        return url


def to_callback(browser, gw, start, user="alice"):
    """A GET of gw+start starts a login (302 to the provider), then the login there: returns the
    callback URL the provider sends the browser back to (not requested yet)."""
    status, headers, _, _ = browser.get(gw + start)
    assert status == 302, status
    return browser.login_at_provider(headers["location"], user, gw)


def login(browser, gw, user="alice", start="/app/orders?page=2"):
    """The browser's whole login: returns the gateway's answer to the callback
    (status, headers, body, raw headers)."""
    return browser.get(to_callback(browser, gw, start, user))


class IdP:
    """The test OpenID Provider (tests/e2e/oidc_idp/idp.mjs, Node.js) on loopback: its client
    `portico` redirects to `gw` + each of `callbacks` and after logout to `gw`/bye."""

    def __init__(self, tmp, gw, consent=False, access_ttl=300, callbacks=("/callback",), extra_env=None):
        self.log_path = Path(tmp) / "idp.log"
        for attempt in range(3):  # a port found free can be taken before node binds it
            self.port = free_port()
            self.issuer = "http://localhost:%d" % self.port
            env = dict(os.environ, ISSUER=self.issuer, PORT=str(self.port), REDIRECT_URI=",".join(gw + c for c in callbacks),
                       POST_LOGOUT_REDIRECT_URI=gw + "/bye", ACCESS_TTL=str(access_ttl),
                       CONSENT="1" if consent else "0", **(extra_env or {}))
            self.log = open(self.log_path, "w")
            self.proc = subprocess.Popen(["node", str(IDP_DIR / "idp.mjs")], cwd=IDP_DIR, env=env,
                                         stdout=self.log, stderr=subprocess.STDOUT)
            try:
                wait_for_port(self.port, proc=self.proc)
                return
            except RuntimeError:
                stop(self.proc)
                self.log.close()
                if attempt == 2 or "EADDRINUSE" not in self.log_path.read_text():
                    raise

    def logs(self):
        self.log.flush()
        return self.log_path.read_text()

    def close(self):
        stop(self.proc)
        self.log.close()


def start_idp(tmp, gw, consent=False, access_ttl=300, callbacks=("/callback",), extra_env=None):
    """Starts the test provider for a gateway at `gw` (http://127.0.0.1:PORT); .issuer is its
    issuer (http://localhost:ITS_PORT: another site than the gateway, as in real life), .close()
    stops it."""
    return IdP(tmp, gw, consent=consent, access_ttl=access_ttl, callbacks=callbacks, extra_env=extra_env)


def login_plugin(issuer, gw):
    """The openid-connect entry of the login tests: client `portico` of the test provider, the
    callback and logout on the gateway `gw`, the email and groups claims as headers."""
    return {"name": "openid-connect", "config": {
        "issuer": issuer, "client_id": ["portico"], "client_secret": ["portico-client-secret"],
        "redirect_uri": [gw + "/callback"], "scopes": ["openid", "email", "profile", "groups", "offline_access"],
        "session_secret": SECRET, "logout_uri_suffix": "/logout", "logout_redirect_uri": [gw + "/bye"],
        "upstream_headers_claims": ["email", "groups"], "upstream_headers_names": ["X-User-Email", "X-User-Groups"],
    }}


def start_gateway(tmp, gw, cfg):
    """Portico listening on the gateway `gw` (http://127.0.0.1:PORT), DB-less with the
    declarative configuration `cfg` (a dict)."""
    path = Path(tmp) / "kong.yml"
    path.write_text(json.dumps(cfg))
    return Portico(path, extra_args=["--proxy-listen", urllib.parse.urlsplit(gw).netloc])


def close_all(*parts):
    """Stops what a fixture started (gateways, backends, providers), in order."""
    for part in parts:
        part.close()
