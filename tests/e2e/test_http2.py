"""HTTP/2 on proxy listeners (Kong's `proxy_listen ... http2 ssl`): h2 over TLS by ALPN and h2c
with prior knowledge, each stream one request through the same router, plugins and upstream
path as HTTP/1.1. Real clients: curl --http2, nghttp, and python3-h2 (h2_client.py) for what
the others cannot show (many streams on one connection, flow control, resets)."""
import hashlib
import json
import re
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import Portico, eventually, free_port, wait_for_port
from h2_client import Client, DataFrame, INTERNAL_ERROR, NO_ERROR, RawClient
from test_tls import make_pki


def pattern(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]


class Backend:
    """An HTTP/1.1 service: /echo answers what it received (method, path, headers, body
    length and SHA-256, chunked bodies decoded), /big?n= sends n bytes, /chunked a chunked
    body, /slow waits, /cut promises more than it sends, /status/N answers N."""

    def __init__(self):
        self.seen = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            return body
                        body += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def send(self, status, body, headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304):
                    self.wfile.write(body)

            def handle_any(self):
                body = self.read_body()
                info = {"method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
                backend.seen.append(info)
                path = self.path.split("?")[0]
                if path.endswith("/big"):
                    n = int(self.path.split("n=")[1])
                    self.send(200, pattern(n), [("Content-Type", "application/octet-stream")])
                elif path.endswith("/chunked"):
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(5):
                        part = (b"part%d;" % i) * 1000
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                elif path.endswith("/slow"):
                    time.sleep(1.5)
                    self.send(200, b"slow done")
                elif path.endswith("/cut"):
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(b"x" * 1000)
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif "/status/" in path:
                    self.send(int(path.rsplit("/", 1)[1]), b"")
                elif path.endswith("/hop"):
                    self.send(200, b"hop", [("Connection", "X-Private"), ("X-Private", "secret"),
                                            ("Keep-Alive", "timeout=5"), ("X-Kept", "yes")])
                else:
                    self.send(200, json.dumps(info).encode(), [("Content-Type", "application/json"),
                                                               ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # a hundred streams open a hundred upstream connections at once
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def h2c_gateway(folder, backend, route_path, extra_args=()):
    """A gateway with one h2c listener and one route to `backend`: (portico, h2c port)."""
    path = folder / "kong.yml"
    path.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "api", "url": "http://127.0.0.1:%d" % backend.port,
         "routes": [{"paths": [route_path], "strip_path": False}]}]}))
    port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d http2" % port] + list(extra_args))
    wait_for_port(port)
    return portico, port


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("h2")
    pki = make_pki(folder)
    backend = Backend()
    cfg = {
        "_format_version": "3.0",
        "services": [{"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
            {"name": "api", "paths": ["/api"], "strip_path": False},
            {"name": "keyed", "paths": ["/keyed"], "strip_path": False, "plugins": [{"name": "key-auth"}]},
            {"name": "limited", "paths": ["/limited"], "strip_path": False, "plugins": [
                {"name": "rate-limiting", "config": {"minute": 3, "policy": "local"}}]},
        ]}],
        "consumers": [{"username": "alice", "keyauth_credentials": [{"key": "alice-key"}]}],
    }
    path = folder / "kong.yml"
    path.write_text(json.dumps(cfg))
    h2c_port, tls_port, h1_tls_port = free_port(), free_port(), free_port()
    log = folder / "access.log"
    portico = Portico(path, extra_args=[
        "--proxy-listen", "127.0.0.1:%d http2" % h2c_port,
        "--proxy-listen", "127.0.0.1:%d http2 ssl" % tls_port,
        "--proxy-listen", "127.0.0.1:%d ssl" % h1_tls_port,
        "--ssl-cert", str(pki["cert"]), "--ssl-cert-key", str(pki["key"]),
        "--access-log", str(log), "--access-log-format", "$server_protocol $request_method $uri $status"])
    for port in (h2c_port, tls_port, h1_tls_port):
        wait_for_port(port)
    yield {"portico": portico, "h2c": h2c_port, "tls": tls_port, "h1_tls": h1_tls_port, "pki": pki,
           "backend": backend, "log": log}
    portico.close()
    backend.close()


def curl(*args):
    return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=60)


def both(env):
    """(port, CA or None) for h2c and for h2 over TLS."""
    return [(env["h2c"], None), (env["tls"], env["pki"]["ca"])]


def test_curl_speaks_h2_over_tls_by_alpn_and_h2c_with_prior_knowledge(env):
    tls = curl("--http2", "--cacert", str(env["pki"]["ca"]), "-w", "\n%{http_version} %{http_code}",
               "https://localhost:%d/api/hello?x=1" % env["tls"])
    assert tls.returncode == 0, tls.stderr
    body, _, tail = tls.stdout.rpartition(b"\n")
    assert tail == b"2 200"
    seen = json.loads(body)
    assert seen["path"] == "/api/hello?x=1" and seen["method"] == "GET"
    assert seen["headers"]["x-forwarded-host"] == "localhost"  # :authority became Host
    assert seen["headers"]["x-forwarded-port"] == str(env["tls"])
    assert seen["headers"]["x-forwarded-proto"] == "https"
    h2c = curl("--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", "http://127.0.0.1:%d/api/x" % env["h2c"])
    assert h2c.returncode == 0, h2c.stderr
    assert h2c.stdout.endswith(b"\n2 200")
    assert json.loads(h2c.stdout.rpartition(b"\n")[0])["headers"]["x-forwarded-proto"] == "http"


def test_alpn_offers_h2_first_only_where_the_listener_has_the_flag(env):
    import ssl
    for port, offered, chosen in [(env["tls"], ["h2", "http/1.1"], "h2"), (env["tls"], ["http/1.1"], "http/1.1"),
                                  (env["h1_tls"], ["h2", "http/1.1"], "http/1.1")]:
        ctx = ssl.create_default_context(cafile=str(env["pki"]["ca"]))
        ctx.set_alpn_protocols(offered)
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                assert s.selected_alpn_protocol() == chosen, (port, offered)


def test_http11_still_works_on_both_http2_listeners(env):
    plain = curl("--http1.1", "-w", "\n%{http_version}", "http://127.0.0.1:%d/api/one" % env["h2c"])
    assert plain.stdout.endswith(b"\n1.1")
    tls = curl("--http1.1", "--cacert", str(env["pki"]["ca"]), "-w", "\n%{http_version}",
               "https://localhost:%d/api/one" % env["tls"])
    assert tls.stdout.endswith(b"\n1.1")
    # curl's h2c Upgrade is not taken (as nginx and Kong): the answer is HTTP/1.1.
    upgrade = curl("--http2", "-w", "\n%{http_version} %{http_code}", "http://127.0.0.1:%d/api/up" % env["h2c"])
    assert upgrade.stdout.endswith(b"\n1.1 200")


def test_nghttp_fetches_many_resources_on_one_connection(env):
    urls = ["https://localhost:%d/api/n%d" % (env["tls"], i) for i in range(20)]
    out = subprocess.run(["nghttp", "-n", "-s", "--no-verify-peer"] + urls, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # One line of statistics per resource, each 200.
    assert len(re.findall(r"\s200\s", out.stdout)) == 20, out.stdout
    out = subprocess.run(["nghttp", "-nv", "http://127.0.0.1:%d/api/v" % env["h2c"]], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):128" in out.stdout
    assert ":status: 200" in out.stdout


@pytest.mark.parametrize("kind", ["h2c", "tls"])
def test_a_hundred_concurrent_streams_on_one_connection(env, kind):
    port, ca = both(env)[0 if kind == "h2c" else 1]
    client = Client(port, ca)
    sids = [client.request("GET", "/api/s%d" % i) for i in range(100)]
    responses = client.wait(sids, timeout=30)
    for i, r in enumerate(responses):
        assert r.status == 200 and r.ended
        assert json.loads(r.body)["path"] == "/api/s%d" % i
    client.close()


@pytest.mark.parametrize("kind", ["h2c", "tls"])
def test_bodies_both_ways_with_and_without_content_length(env, kind):
    port, ca = both(env)[0 if kind == "h2c" else 1]
    client = Client(port, ca)
    body = pattern(3 * 1024 * 1024 + 7)
    digest = hashlib.sha256(body).hexdigest()
    # With content-length: sent upstream as is.
    sid = client.request("POST", "/api/upload", [("content-length", str(len(body)))], body=body)
    r = client.wait([sid], timeout=60)[0]
    seen = json.loads(r.body)
    assert r.status == 200 and seen["length"] == len(body) and seen["sha256"] == digest
    assert seen["headers"]["content-length"] == str(len(body))
    # Without: the gateway sends it chunked (HTTP/1.1's way for a body of unknown length).
    sid = client.request("PUT", "/api/upload", body=body)
    r = client.wait([sid], timeout=60)[0]
    seen = json.loads(r.body)
    assert seen["length"] == len(body) and seen["sha256"] == digest and seen["method"] == "PUT"
    assert seen["headers"]["transfer-encoding"] == "chunked"
    # A large download, flow-controlled by the client's 64 KiB window.
    r = client.get("/api/big?n=%d" % (5 * 1024 * 1024))
    assert r.status == 200 and bytes(r.body) == pattern(5 * 1024 * 1024)
    assert r.headers["content-length"] == str(5 * 1024 * 1024)
    # A chunked answer becomes DATA frames (no transfer-encoding in HTTP/2).
    r = client.get("/api/chunked")
    assert r.status == 200 and "transfer-encoding" not in r.headers
    assert bytes(r.body) == b"".join((b"part%d;" % i) * 1000 for i in range(5))
    client.close()


def test_fields_are_translated_both_ways(env):
    client = Client(env["h2c"])
    r = client.get("/api/fields", [("cookie", "a=1"), ("cookie", "b=2"), ("x-custom", "v"), ("te", "trailers")])
    seen = json.loads(r.body)["headers"]
    assert seen["cookie"] == "a=1; b=2"  # RFC 9113 8.2.3
    assert seen["x-custom"] == "v" and "te" not in seen
    assert seen["x-forwarded-host"] == "localhost"
    assert r.headers["content-type"] == "application/json"
    # Connection-specific fields never go out over HTTP/2 (and the fields Connection names).
    r = client.get("/api/hop")
    assert r.status == 200 and r.headers["x-kept"] == "yes"
    for name in ("connection", "keep-alive", "x-private", "transfer-encoding"):
        assert name not in r.headers
    # HEAD and body-less statuses end with the HEADERS frame.
    sid = client.request("HEAD", "/api/big?n=100")
    r = client.wait([sid])[0]
    assert r.status == 200 and r.headers["content-length"] == "100" and r.body == b""
    for status in (204, 304, 404):
        r = client.get("/api/status/%d" % status)
        assert r.status == status and r.body == b""
    client.close()
    # A Host that contradicts :authority is malformed (RFC 9113 8.3.1).
    client = Client(env["h2c"], validate=False)
    r = client.get("/api/fields", [("host", "evil.example")])
    assert r.status == 400 and json.loads(r.body)["message"] == "Host header does not match :authority"
    client.close()


def test_plugins_run_on_every_stream(env):
    client = Client(env["tls"], env["pki"]["ca"])
    r = client.get("/keyed/x")
    assert r.status == 401 and "message" in json.loads(r.body)
    r = client.get("/keyed/x", [("apikey", "alice-key")])
    assert r.status == 200 and json.loads(r.body)["headers"]["x-consumer-username"] == "alice"
    sids = [client.request("GET", "/limited/x") for _ in range(5)]
    statuses = sorted(r.status for r in client.wait(sids))
    assert statuses == [200, 200, 200, 429, 429]
    r = client.get("/limited/x")
    assert r.headers["x-ratelimit-limit-minute"] == "3" and r.status == 429
    r = client.get("/nowhere")
    assert r.status == 404 and json.loads(r.body)["message"] == "no Route matched with those values"
    client.close()


def test_the_access_log_says_http2(env):
    client = Client(env["h2c"])
    client.get("/api/logged")
    client.close()
    assert eventually(lambda: "HTTP/2.0 GET /api/logged 200" in env["log"].read_text())


def test_oversized_headers_are_answered_431_and_the_connection_goes_on(env):
    client = Client(env["h2c"])
    r = client.get("/api/x", [("x-big%d" % i, "v" * 4000) for i in range(10)])
    assert r.status == 431 and json.loads(r.body)["message"] == "request header fields too large"
    assert client.get("/api/after").status == 200
    client.close()


def test_an_upstream_that_fails_mid_body_resets_the_stream_only(env):
    client = Client(env["h2c"])
    sid = client.request("GET", "/api/cut")
    r = client.wait([sid], timeout=30)[0]
    assert r.status == 200 and r.reset == INTERNAL_ERROR and len(r.body) < 100000
    assert client.get("/api/after").status == 200
    assert client.goaway is None
    client.close()


def test_a_stream_reset_by_the_client_leaves_the_others(env):
    client = Client(env["h2c"])
    slow = client.request("GET", "/api/slow")
    fast = client.request("GET", "/api/fast")
    client.conn.reset_stream(slow)
    client.flush()
    r = client.wait([fast])[0]
    assert r.status == 200
    time.sleep(2)  # the slow one's upstream answers meanwhile, to a stream that is gone
    assert client.get("/api/again").status == 200
    assert client.goaway is None  # the reset ended that stream, not the connection
    client.close()


def test_a_response_sent_before_the_whole_request_body_ends_with_rst_no_error(env):
    # 401 from key-auth: the request body is never read; the client is told to stop sending it.
    client = Client(env["h2c"])
    sid = client.request("POST", "/keyed/x", body=b"x" * 1000, end=False)
    r = client.wait([sid])[0]
    assert r.status == 401 and r.ended
    deadline = time.time() + 5
    while r.reset is None and time.time() < deadline:
        client.read_some(1)
    assert r.reset == NO_ERROR
    assert client.get("/api/after").status == 200
    client.close()


def test_expect_100_continue_gets_an_interim_response(env):
    client = Client(env["h2c"])
    sid = client.request("POST", "/api/expect", [("expect", "100-continue"), ("content-length", "5")], end=False)
    deadline = time.time() + 10
    while not client.responses[sid].interim and time.time() < deadline:
        client.read_some(1)
    assert client.responses[sid].interim[0][":status"] == "100"
    client.send_body(sid, b"hello")
    r = client.wait([sid])[0]
    assert r.status == 200 and json.loads(r.body)["length"] == 5
    client.close()


def test_settings_follow_the_flags(tmp_path):
    path = tmp_path / "kong.yml"
    path.write_text('_format_version: "3.0"\n')
    port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d http2" % port,
                                        "--http2-max-concurrent-streams", "7", "--http2-initial-window-size", "131072",
                                        "--http2-max-frame-size", "32768", "--max-header-size", "16384"])
    try:
        wait_for_port(port)
        client = Client(port)
        client.read_some(5)
        assert client.server_settings[3] == 7          # MAX_CONCURRENT_STREAMS
        assert client.server_settings[4] == 131072     # INITIAL_WINDOW_SIZE
        assert client.server_settings[5] == 32768      # MAX_FRAME_SIZE
        assert client.server_settings[6] == 16384      # MAX_HEADER_LIST_SIZE
        client.close()
    finally:
        portico.close()


def test_an_idle_connection_gets_goaway_and_draining_finishes_streams(tmp_path):
    backend = Backend()
    portico, port = h2c_gateway(tmp_path, backend, "/api", ["--keepalive-timeout", "1000"])
    try:
        idle = Client(port)
        assert idle.get("/api/x").status == 200
        deadline = time.time() + 10
        while idle.goaway is None and time.time() < deadline and idle.read_some(10):
            pass
        assert idle.goaway is not None and idle.goaway[0] == NO_ERROR
        # SIGTERM while a stream is served: GOAWAY NO_ERROR naming it, and it still completes.
        # (Raw frames: python3-h2 stops reading at a GOAWAY.)
        busy = RawClient(port)
        busy.send(busy.request_headers(1, "/api/slow"))
        time.sleep(0.3)
        portico.proc.send_signal(signal.SIGTERM)
        frames = busy.frames_until_close(timeout=20)
        goaway = busy.goaway_of(frames)
        assert goaway is not None and goaway.error_code == NO_ERROR and goaway.last_stream_id == 1
        data = b"".join(f.data for f in frames if isinstance(f, DataFrame) and f.stream_id == 1)
        assert data == b"slow done"
        assert any("END_STREAM" in f.flags for f in frames if isinstance(f, DataFrame) and f.stream_id == 1)
        assert portico.proc.wait(timeout=20) == 0
    finally:
        portico.close()
        backend.close()
