"""The openid-connect plugin with a plain OAuth 2.0 provider that has no discovery and no ID
token (GitHub's shape: authorize, a token endpoint answering JSON when asked, a /user endpoint
naming the user "id" and "login"), played by a small server in the test process:
`using_pseudo_issuer`, the user from user info, consumer mapping by its login."""
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import free_port
from recording_backend import RecordingBackend
from oidc_browser import SECRET, Browser, close_all, login, start_gateway, to_callback


class GitHubLike:
    """Authorize answers at once (the user is logged in there); the token endpoint checks the
    client's credentials, the code, the redirect_uri and the PKCE verifier when a challenge was
    sent; /user needs the access token."""

    def __init__(self, user):
        self.codes = {}  # code -> (redirect_uri, challenge)
        self.tokens = {}
        self.user = user
        self.token_requests = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def send(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                if u.path == "/login/oauth/authorize":
                    code = "code-%d" % len(provider.codes)
                    provider.codes[code] = (q.get("redirect_uri"), q.get("code_challenge"))
                    target = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif u.path == "/user":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if token not in provider.tokens:
                        return self.send(401, {"message": "Bad credentials"})
                    self.send(200, provider.user)
                else:
                    self.send(404, {"message": "Not Found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                provider.token_requests.append({"form": form, "accept": self.headers.get("Accept")})
                if form.get("client_id") != "gh-client" or form.get("client_secret") != "gh-secret":
                    return self.send(200, {"error": "incorrect_client_credentials"})  # GitHub: errors with a 200
                code = provider.codes.pop(form.get("code"), None)
                if code is None or code[0] != form.get("redirect_uri"):
                    return self.send(200, {"error": "bad_verification_code"})
                token = "gho_%d" % len(provider.tokens)
                provider.tokens[token] = True
                self.send(200, {"access_token": token, "token_type": "bearer", "scope": "read:user"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oauth2")
    github = GitHubLike({"id": 583231, "login": "octocat", "name": "The Octocat"})
    backend = RecordingBackend()
    gw_port = free_port()
    gw = "http://127.0.0.1:%d" % gw_port
    base = "http://127.0.0.1:%d" % github.port
    config = {
        "issuer": "https://github.com", "using_pseudo_issuer": True,
        "authorization_endpoint": base + "/login/oauth/authorize",
        "token_endpoint": base + "/login/oauth/access_token",
        "userinfo_endpoint": base + "/user", "userinfo_subject_claim": "id",
        "client_id": ["gh-client"], "client_secret": ["gh-secret"], "client_auth": ["client_secret_post"],
        "redirect_uri": [gw + "/auth/github"], "scopes": ["read:user"],
        "session_secret": SECRET, "consumer_claim": ["login"], "consumer_by": ["username"],
        "upstream_headers_claims": ["login"], "upstream_headers_names": ["X-GitHub-Login"]}
    cfg = {"_format_version": "3.0",
           "consumers": [{"username": "octocat", "custom_id": "gh-583231"}, {"username": "guest"}],
           "services": [{"name": "app", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
               {"name": "app", "paths": ["/app", "/auth/github"],
                "plugins": [{"name": "openid-connect", "config": config}]},
               {"name": "public", "paths": ["/public"],
                "plugins": [{"name": "openid-connect", "config": dict(config, anonymous="guest")}]}]}]}
    portico = start_gateway(tmp, gw, cfg)
    yield portico, backend, github, gw
    close_all(portico, backend, github)


def test_github_like_login_maps_the_user_and_the_consumer(plain):
    portico, backend, github, gw = plain
    browser = Browser()
    location, auth, q = browser.start_login(gw + "/app/repos")
    assert auth.path == "/login/oauth/authorize" and q["scope"] == ["read:user"] and "nonce" not in q
    assert "code_challenge" not in q  # no discovery to say the provider takes PKCE
    callback = browser.login_at_provider(location, "octocat", gw)  # redirects at once
    status, headers, body, _ = browser.get(callback)
    assert status == 302 and headers["location"] == "/app/repos", body
    sent = github.token_requests[-1]
    assert sent["accept"] == "application/json" and sent["form"]["grant_type"] == "authorization_code"
    status, _, _, _ = browser.get(gw + "/app/repos")
    assert status == 200
    seen = backend.last()["headers"]
    assert seen["x-user-id"] == "583231"
    assert seen["x-github-login"] == "octocat"
    assert seen["x-consumer-username"] == "octocat" and seen["x-consumer-custom-id"] == "gh-583231"
    assert seen["authorization"].startswith("Bearer gho_")


def test_a_provider_refusing_the_code_refuses_the_login(plain):
    portico, backend, github, gw = plain
    browser = Browser()
    callback = to_callback(browser, gw, "/app/x", "octocat")
    github.codes.clear()  # the code expired at the provider
    before = len(backend.requests)
    status, _, body, _ = browser.get(callback)
    assert status == 401 and "refused the authorization code" in body
    assert len(backend.requests) == before


def test_with_anonymous_no_login_is_forced_and_a_session_still_counts(plain):
    portico, backend, github, gw = plain
    browser = Browser()
    status, _, _, _ = browser.get(gw + "/public/x", headers={"X-User-ID": "forged"})
    assert status == 200
    seen = backend.last()["headers"]
    assert seen["x-anonymous-consumer"] == "true" and seen["x-consumer-username"] == "guest"
    assert "x-user-id" not in seen
    # After a login on /app, the same session is the user on /public too.
    login(browser, gw, "octocat", start="/app/x")
    assert browser.get(gw + "/public/x")[0] == 200
    seen = backend.last()["headers"]
    assert seen["x-user-id"] == "583231" and seen["x-consumer-username"] == "octocat"
    assert "x-anonymous-consumer" not in seen
