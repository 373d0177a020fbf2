"""Kong's file-log and http-log plugins with a real gateway: Kong's serialized record per
request, written to a file by the file's own thread and delivered to a real HTTP endpoint in
batches, with retries while the endpoint fails, drops counted when it is down, and the proxy's
answers never waiting for either."""
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import http_get as get, Portico, eventually, free_port
from recording_backend import RecordingBackend


class LogEndpoint:
    """Receives http-log deliveries; answers 500 to the first `failures` of them."""

    def __init__(self, failures=0):
        self.bodies, self.attempts, self.failures = [], 0, failures
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with endpoint.lock:
                    endpoint.attempts += 1
                    fail = endpoint.attempts <= endpoint.failures
                    if not fail:
                        endpoint.bodies.append((dict(self.headers), body))
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def records(self):
        with self.lock:
            out = []
            for _, body in self.bodies:
                parsed = json.loads(body)
                out.extend(parsed if isinstance(parsed, list) else [parsed])
            return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start(tmp_path, backend, plugins, extra=(), routes_plugins=None):
    cfg = tmp_path / "kong.json"
    cfg.write_text(json.dumps({
        "_format_version": "3.0",
        "services": [{"name": "users-svc", "url": "http://127.0.0.1:%d/base" % backend.port,
                      "routes": [{"name": "users", "paths": ["/users"], "plugins": routes_plugins or []}]}],
        "consumers": [{"username": "alice", "keyauth_credentials": [{"key": "alice-key"}]}],
        "plugins": plugins}))
    return Portico(cfg, list(extra))


@pytest.fixture(scope="module")
def backend():
    b = RecordingBackend()
    yield b
    b.close()


def test_file_log_writes_kongs_record_per_request(tmp_path, backend):
    log = tmp_path / "requests.log"
    p = start(tmp_path, backend, [{"name": "file-log", "config": {"path": str(log)}}],
              routes_plugins=[{"name": "key-auth"}])
    try:
        status, headers, _ = get(p.url("/users/7?expand=orders&flag&tag=a&tag=b"),
                                 {"apikey": "alice-key", "X-Trace": "t1"})
        assert status == 200
        assert get(p.url("/users/8"))[0] == 401
        assert eventually(lambda: log.exists() and len(log.read_text().splitlines()) == 2, timeout=5)
        ok, denied = [json.loads(line) for line in log.read_text().splitlines()]
        req = ok["request"]
        assert req["method"] == "GET" and req["uri"] == "/users/7?expand=orders&flag&tag=a&tag=b"
        assert req["querystring"] == {"expand": "orders", "flag": True, "tag": ["a", "b"]}
        assert req["headers"]["x-trace"] == "t1" and req["headers"]["apikey"] == "alice-key"
        assert req["id"] == headers["X-Portico-Request-Id"] and req["size"] > 0
        assert ok["upstream_uri"] == "/base/7?expand=orders&flag&tag=a&tag=b"
        assert ok["upstream_status"] == "200"
        assert ok["response"]["status"] == 200 and ok["response"]["size"] > 0
        assert ok["response"]["headers"]["content-type"] == "application/json"
        assert ok["response"]["headers"]["x-portico-request-id"] == req["id"]
        assert set(ok["latencies"]) == {"kong", "proxy", "request", "receive"} and ok["latencies"]["proxy"] >= 0
        assert ok["tries"][0]["ip"] == "127.0.0.1" and ok["tries"][0]["port"] == backend.port
        assert ok["route"]["name"] == "users" and ok["service"]["name"] == "users-svc"
        assert ok["consumer"]["username"] == "alice"
        assert ok["authenticated_entity"]["consumer_id"] == ok["consumer"]["id"]
        assert ok["client_ip"] == "127.0.0.1" and ok["source"] == "upstream"
        assert abs(ok["started_at"] / 1000 - time.time()) < 30
        # Answered by key-auth: Kong's source "kong", no tries, the 401's own headers.
        assert denied["response"]["status"] == 401 and denied["source"] == "kong"
        assert "tries" not in denied and denied["latencies"]["proxy"] == -1
        assert denied["response"]["headers"]["www-authenticate"].startswith("Key")
    finally:
        p.close()


def test_file_log_follows_a_rotated_file(tmp_path, backend):
    log = tmp_path / "requests.log"
    p = start(tmp_path, backend, [{"name": "file-log", "config": {"path": str(log)}}])
    try:
        assert get(p.url("/users/before"))[0] == 200
        assert eventually(lambda: log.exists() and "/users/before" in log.read_text(), timeout=5)
        os.rename(log, tmp_path / "requests.log.1")  # logrotate's move, no signal
        assert get(p.url("/users/after"))[0] == 200
        assert eventually(lambda: log.exists() and "/users/after" in log.read_text(), timeout=5)
        assert "/users/after" not in (tmp_path / "requests.log.1").read_text()
    finally:
        p.close()


def test_file_log_config_mistakes_are_refused(tmp_path, backend):
    import subprocess
    from conftest import PORTICO_BIN
    cfg = tmp_path / "kong.yml"
    cfg.write_text("_format_version: '3.0'\nplugins:\n  - name: file-log\n    config:\n      path: 'bad*name'\n"
                   "  - name: file-log\n    config:\n      path: /tmp/x.log\n      custom_fields_by_lua:\n        a: return 1\n")
    out = subprocess.run([PORTICO_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "config.path: not a valid filename" in out.stdout + out.stderr
    assert "config.custom_fields_by_lua: Lua code is not supported by Portico" in out.stdout + out.stderr


def test_http_log_delivers_batches_as_json_arrays(tmp_path, backend):
    endpoint = LogEndpoint()
    p = start(tmp_path, backend, [{"name": "http-log", "config": {
        "http_endpoint": "http://127.0.0.1:%d/logs" % endpoint.port,
        "headers": {"X-Log-Source": "portico"},
        "queue": {"max_batch_size": 5, "max_coalescing_delay": 0.2}}}])
    try:
        for i in range(12):
            assert get(p.url("/users/%d" % i))[0] == 200
        assert eventually(lambda: len(endpoint.records()) == 12, timeout=10), len(endpoint.records())
        uris = sorted(r["request"]["uri"] for r in endpoint.records())
        assert uris == sorted("/users/%d" % i for i in range(12))
        with endpoint.lock:
            sizes = [len(json.loads(b)) for _, b in endpoint.bodies]
            headers = endpoint.bodies[0][0]
        assert max(sizes) <= 5 and sum(sizes) == 12
        assert headers["X-Log-Source"] == "portico" and headers["Content-Type"] == "application/json"
    finally:
        p.close()
        endpoint.close()


def test_http_log_retries_a_failing_endpoint(tmp_path, backend):
    endpoint = LogEndpoint(failures=3)
    p = start(tmp_path, backend, [{"name": "http-log", "config": {
        "http_endpoint": "http://127.0.0.1:%d/logs" % endpoint.port,
        "queue": {"initial_retry_delay": 0.05, "max_retry_delay": 0.2}}}])
    try:
        assert get(p.url("/users/retried"))[0] == 200
        assert eventually(lambda: len(endpoint.records()) == 1, timeout=10)
        assert endpoint.attempts == 4  # three 500s, then delivered
        assert endpoint.records()[0]["request"]["uri"] == "/users/retried"
    finally:
        p.close()
        endpoint.close()


def test_a_dead_endpoint_costs_log_records_never_requests(tmp_path, backend):
    """The endpoint accepts connections and never answers; the queue is small. Requests keep
    their usual latency, the records beyond the queue are dropped and counted."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(1000)
    port = blackhole.getsockname()[1]
    p = start(tmp_path, backend, [{"name": "http-log", "config": {
        "http_endpoint": "http://127.0.0.1:%d/logs" % port, "timeout": 60000,
        "queue": {"max_entries": 10, "max_retry_time": 120}}}])
    try:
        slowest = 0
        for i in range(60):
            t0 = time.monotonic()
            assert get(p.url("/users/%d" % i))[0] == 200
            slowest = max(slowest, time.monotonic() - t0)
        assert slowest < 1.0, slowest

        def dropped():
            body = json.loads(get(p.admin("/status"))[2])
            return body["portico"].get("http_log_entries_dropped", 0)
        # One record is held by the stuck delivery, ten wait in the queue: the rest are dropped.
        assert eventually(lambda: dropped() >= 60 - 11, timeout=10), dropped()
    finally:
        p.close()
        blackhole.close()


def test_http_log_config_follows_kong(tmp_path):
    import subprocess
    from conftest import PORTICO_BIN
    cfg = tmp_path / "kong.yml"
    cfg.write_text("_format_version: '3.0'\nplugins:\n"
                   "  - name: http-log\n    config:\n      http_endpoint: 'http://u:p@127.0.0.1:9/x'\n"
                   "      headers:\n        Authorization: Bearer x\n        Host: other\n"
                   "  - name: http-log\n    config:\n      method: GET\n")
    out = subprocess.run([PORTICO_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    assert out.returncode == 1
    assert "cannot contain 'Host' header" in text
    assert "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed" in text
    assert "config.http_endpoint: required field missing" in text
    assert "config.method" in text
