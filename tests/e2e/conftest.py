"""Shared fixtures for end-to-end tests: the built portico binary, the demo backends,
free loopback ports. Every process a test starts is stopped by its pid at the end."""
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
import urllib.error
import urllib.request

import pytest

SOURCE_DIR = Path(os.environ.get("PORTICO_SOURCE_DIR", Path(__file__).resolve().parents[2]))
PORTICO_BIN = os.environ.get("PORTICO_BIN", str(SOURCE_DIR / "build" / "release" / "portico"))
BACKENDS = SOURCE_DIR / "examples" / "backends" / "demo_services.py"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=15.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited early with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d did not open" % port)


def eventually(pred, timeout=10.0):
    """Polls pred() until it is true or `timeout` seconds pass; returns its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def stop(proc, sig=signal.SIGTERM, timeout=15):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Backends:
    def __init__(self):
        # A port found free can be taken by another socket (an outgoing connection's source
        # port, say) before the backends bind it: start again on new ports when that happens.
        for attempt in range(3):
            self.ports = {name: free_port() for name in
                          ["users", "users-v2", "orders", "products", "notifications", "payments"]}
            spec = ",".join("%s=%d" % kv for kv in self.ports.items())
            self.proc = subprocess.Popen(["/usr/bin/python3", str(BACKENDS), "--ports", spec],
                                         stdout=subprocess.DEVNULL)
            try:
                for port in self.ports.values():
                    wait_for_port(port, proc=self.proc)
                return
            except RuntimeError:
                stop(self.proc)
                if attempt == 2:
                    raise


@pytest.fixture
def backends():
    b = Backends()
    yield b
    stop(b.proc)


def start_named_backend(ip, port, name, describe=None):
    """An HTTP server on ip:port answering every GET with JSON {"backend": name, ...} plus what
    describe(handler) returns (e.g. the path and headers it saw). Stop it with .shutdown()."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import json
    import threading

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            answer = {"backend": name}
            if describe is not None:
                answer.update(describe(self))
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((ip, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def demo_config(backends, name="kong.yml"):
    """examples/NAME (kong.yml, bff.yml) with the demo ports replaced by this test's ports."""
    text = (SOURCE_DIR / "examples" / name).read_text()
    defaults = {"users": 9101, "users-v2": 9102, "orders": 9103, "products": 9104,
                "notifications": 9105, "payments": 9106}
    for name, port in defaults.items():
        text = text.replace("127.0.0.1:%d" % port, "127.0.0.1:%d" % backends.ports[name])
    return text


class Portico:
    """A gateway on free loopback ports: DB-less with `config_path`, or on the embedded store
    in `data_dir` when config_path is None."""

    def __init__(self, config_path, extra_args=(), env=None, data_dir=None):
        self.config_path = config_path
        self.data_dir = data_dir
        # One log per gateway: nodes started on the same configuration (a cluster test) must not
        # write over each other's output, which is what a failure's diagnosis needs.
        base = str(config_path if config_path is not None else data_dir)
        self.log_path = base + ".log"
        for n in itertools.count(2):
            if not os.path.exists(self.log_path):
                break
            self.log_path = "%s.%d.log" % (base, n)
        for attempt in range(3):  # new ports if one found free was taken meanwhile
            self.port = free_port()
            self.admin_port = free_port()
            self.log = open(self.log_path, "w")
            source = ["-c", str(config_path)] if config_path is not None else ["--data-dir", str(data_dir)]
            args = [PORTICO_BIN, "run", *source,
                    "--proxy-listen", "127.0.0.1:%d" % self.port,
                    "--admin-listen", "127.0.0.1:%d" % self.admin_port,
                    "--workers", "2"] + list(extra_args)
            if "--access-log" not in extra_args:
                args += ["--access-log", "off"]
            full_env = dict(os.environ)
            full_env.update(env or {})
            self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
            try:
                wait_for_port(self.port, proc=self.proc)
                # The proxy port opens before the admin listener binds: a gateway that then
                # fails to start (its admin port taken meanwhile) must not pass for a running one.
                self._wait_until_started()
                return
            except RuntimeError:
                stop(self.proc)
                self.log.close()
                if attempt == 2 or "cannot listen" not in Path(self.log_path).read_text():
                    raise

    def _wait_until_started(self, timeout=15.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("process exited early with %s" % self.proc.returncode)
            if " started: " in Path(self.log_path).read_text(errors="replace"):
                return
            time.sleep(0.02)
        raise RuntimeError("gateway did not report it started")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def admin(self, path):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)

    def logs(self):
        self.log.flush()
        return Path(self.log_path).read_text()

    def close(self):
        stop(self.proc)
        self.log.close()


@pytest.fixture
def start_portico():
    started = []

    def start(config_path, extra_args=(), env=None, data_dir=None):
        p = Portico(config_path, extra_args, env, data_dir)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


def http_get(url, headers=None):
    """(status, headers dict, body bytes) of a GET; error statuses are answers, not exceptions."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def curl(*args):
    """Runs curl and returns (status_code, headers_text, body)."""
    out = subprocess.run(["curl", "-s", "-S", "-i", "--max-time", "20", *args],
                         capture_output=True, check=True).stdout.decode()
    head, _, body = out.partition("\r\n\r\n")
    while head.startswith("HTTP/1.1 100"):
        head, _, body = body.partition("\r\n\r\n")
    status = int(head.split(" ", 2)[1])
    return status, head, body


def proxy_request(portico, path, headers=None):
    """(status, response headers, JSON body) of a GET through the proxy."""
    import json
    import urllib.error
    import urllib.request
    req = urllib.request.Request(portico.url(path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"null")


def assert_check_refuses(config_path, field_path, reason):
    """`portico check -c config_path` fails, and its first error line on `field_path` (such as
    "plugins[0].config.status_code") contains `reason`."""
    r = subprocess.run([PORTICO_BIN, "check", "-c", str(config_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if field_path + ": " in line]
    assert lines and reason in lines[0], r.stderr


def assert_plugin_config_refused(tmp_path, plugin, config, field, reason):
    """A service with plugin `plugin` configured as `config` is refused at load, naming
    `config.<field>` with `reason`."""
    import json
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "s", "url": "http://127.0.0.1:9", "plugins": [{"name": plugin, "config": config}]}]}))
    assert_check_refuses(path, "plugins[0].config." + field, reason)


def json_call(url, method="GET", body=None, timeout=10):
    """An HTTP call with a JSON body: (status, decoded answer, None when empty; the raw bytes
    when it is not JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, text = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def status_of(url):
    """The status of a GET of `url`; None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def admin_json(portico, method, path, body=None):
    """An Admin API call with a JSON body: (status, decoded answer or None)."""
    return json_call(portico.admin(path), method, body)


class Reply:
    """An answer as a test reads it: status, headers, raw body (.json parses it), time taken."""

    def __init__(self, status, headers, raw, elapsed):
        self.status, self.headers, self.raw, self.elapsed = status, headers, raw, elapsed

    @property
    def json(self):
        return json.loads(self.raw)

    def __repr__(self):
        return "<%d %s %r>" % (self.status, dict(self.headers), self.raw[:800])


def call(portico, path, headers=None, method="GET", body=None, timeout=10):
    """One request to the gateway's proxy port; error statuses are answers too."""
    req = urllib.request.Request(portico.url(path), data=body, method=method, headers=dict(headers or {}))
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Reply(r.status, r.headers, r.read(), time.monotonic() - start)
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read(), time.monotonic() - start)
