"""The cost of a full login at the gateway (openid-connect, authorization code flow with PKCE)
against the test OpenID Provider (oidc-provider 8 on Node.js, tests/e2e/oidc_idp), on loopback:
N logins one after the other, each by a new scripted browser (GET /app -> 302 to the provider,
the provider's login form, its redirect back, the callback -> 302 with the session cookie,
then one API call with the session).

Reported: the gateway's CPU per login (user + sys of the Portico process from /proc, over all
N logins: the redirect, the callback with its code exchange, ID token verification (RS256) and
sealed cookies, and the API call), the wall time of the gateway's two login answers (the
callback includes the provider's token endpoint), and of the whole login including the
provider's pages.

  python3 bench/oidc_login.py BINARY [LOGINS]
"""
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["PORTICO_BIN"] = sys.argv[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import free_port  # noqa: E402
from oidc_browser import Browser, login_plugin, start_gateway, start_idp  # noqa: E402

LOGINS = int(sys.argv[2]) if len(sys.argv) > 2 else 200


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def cpu_seconds(pid):
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def timed(fn, *args, **kw):
    start = time.perf_counter()
    result = fn(*args, **kw)
    return result, (time.perf_counter() - start) * 1000


def one_login(gw, wall):
    browser = Browser()
    t0 = time.perf_counter()
    (status, headers, _, _), start_ms = timed(browser.get, gw + "/app/orders")
    assert status == 302, status
    callback = browser.login_at_provider(headers["location"], "alice", gw)
    (status, _, body, _), callback_ms = timed(browser.get, callback)
    assert status == 302, (status, body)
    status, _, _, _ = browser.get(gw + "/app/orders")
    assert status == 200, status
    wall["start"].append(start_ms)
    wall["callback"].append(callback_ms)
    wall["login"].append((time.perf_counter() - t0) * 1000)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        gw = "http://127.0.0.1:%d" % free_port()
        idp = start_idp(tmp, gw)
        upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        threading.Thread(target=upstream.serve_forever, daemon=True).start()
        cfg = {"_format_version": "3.0", "services": [{
            "name": "app", "url": "http://127.0.0.1:%d" % upstream.server_address[1],
            "routes": [{"name": "app", "paths": ["/app", "/callback", "/logout"], "plugins": [login_plugin(idp.issuer, gw)]}]}]}
        portico = start_gateway(tmp, gw, cfg)
        try:
            wall = {"start": [], "callback": [], "login": []}
            for _ in range(5):  # warm-up: discovery and keys fetched, connections made
                one_login(gw, {"start": [], "callback": [], "login": []})
            cpu_before = cpu_seconds(portico.proc.pid)
            for _ in range(LOGINS):
                one_login(gw, wall)
            cpu = cpu_seconds(portico.proc.pid) - cpu_before
        finally:
            portico.close()
            upstream.shutdown()
            idp.close()
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]
    print("logins: %d; gateway CPU per login (user+sys, redirect + callback + one API call): %.0f us" % (LOGINS, cpu / LOGINS * 1e6))
    for name, label in (("start", "GET /app -> 302 to the provider"), ("callback", "callback (code exchange, ID token, session cookie)"),
                        ("login", "whole login with the provider's pages, then the API call")):
        xs = wall[name]
        print("%s: p50 %.2f ms, p90 %.2f ms, max %.2f ms" % (label, statistics.median(xs), q(xs, 0.9), max(xs)))


if __name__ == "__main__":
    main()
