"""Access log formats (--access-log-format: presets and nginx's log_format language) and request
ids (X-Portico-Request-Id to the service, on every answer, and in the log), with a real gateway,
real HTTP clients and a recording backend."""
import json
import subprocess
import time

import pytest

from conftest import PORTICO_BIN, Portico, curl, eventually, free_port
from recording_backend import RecordingBackend

CLASSIC = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
           '"$http_referer" "$http_user_agent" rt=$request_time uct="$upstream_connect_time"')


@pytest.fixture(scope="module")
def backend():
    b = RecordingBackend()
    yield b
    b.close()


def write_config(tmp_path, services):
    path = tmp_path / "kong.json"
    path.write_text(json.dumps({"_format_version": "3.0", **services}))
    return path


def simple_config(tmp_path, backend):
    return write_config(tmp_path, {"services": [
        {"name": "api", "url": "http://127.0.0.1:%d" % backend.port,
         "routes": [{"name": "everything", "paths": ["/"]}]}]})


def log_lines(path, count, timeout=5):
    """The first `count` lines of the log, once the workers' 1 s flush wrote them."""
    assert eventually(lambda: path.exists() and len(path.read_text().splitlines()) >= count, timeout=timeout), \
        path.read_text() if path.exists() else "no log file"
    return path.read_text().splitlines()


def test_the_classic_gateway_line_is_one_flag_away(tmp_path, backend):
    log = tmp_path / "access.log"
    p = Portico(simple_config(tmp_path, backend), ["--access-log", str(log), "--access-log-format", CLASSIC])
    try:
        status, _, body = curl("-A", "classic-agent/1.0", "-e", "https://ref.example/page", p.url("/classic?x=1"))
        assert status == 200
        (line,) = log_lines(log, 1)
        prefix, _, rest = line.partition(" [")
        assert prefix == "127.0.0.1 - -"
        stamp, _, rest = rest.partition("] ")
        time.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z")  # nginx's $time_local
        request, status_size, referer, agent, timings = (
            rest.split('"')[1], rest.split('"')[2], rest.split('"')[3], rest.split('"')[5], rest.split('"')[6:])
        assert request == "GET /classic?x=1 HTTP/1.1"
        assert status_size.split() == ["200", str(len(body))]
        assert referer == "https://ref.example/page" and agent == "classic-agent/1.0"
        rt = rest.split(" rt=")[1].split(" ")[0]
        uct = rest.split('uct="')[1].rstrip('"')
        assert float(rt) >= 0 and float(uct) >= 0, line
        assert float(uct) <= float(rt)
    finally:
        p.close()


def test_json_lines_parse_and_carry_the_request_id_the_client_and_the_service_saw(tmp_path, backend):
    log = tmp_path / "access.log"
    p = Portico(simple_config(tmp_path, backend), ["--access-log", str(log), "--access-log-format", "json"])
    try:
        # A client's own copy of the header is not what the service gets: the gateway's id is.
        status, head, _ = curl("-H", "X-Portico-Request-Id: spoofed", "-A", 'agent "quoted"\\x', p.url("/json"))
        assert status == 200
        answered = [l.split(":", 1)[1].strip() for l in head.split("\r\n")
                    if l.lower().startswith("x-portico-request-id:")]
        assert len(answered) == 1 and len(answered[0]) == 32 and int(answered[0], 16) >= 0
        upstream = backend.last()
        assert upstream["headers"]["x-portico-request-id"] == answered[0]
        assert upstream["header_counts"]["x-portico-request-id"] == 1
        (line,) = log_lines(log, 1)
        entry = json.loads(line)
        assert entry["request_id"] == answered[0]
        assert entry["user_agent"] == 'agent "quoted"\\x'
        assert entry["method"] == "GET" and entry["uri"] == "/json" and entry["status"] == 200
        assert entry["route"] == "everything" and entry["service"] == "api"
        assert entry["upstream_addr"] == "127.0.0.1:%d" % backend.port and entry["upstream_status"] == "200"
        assert float(entry["upstream_header_time"]) <= float(entry["upstream_response_time"]) <= entry["request_time"] + 0.001
    finally:
        p.close()


def test_a_streamed_body_leaves_the_request_head_intact_for_the_log(tmp_path, backend):
    """A body far larger than the read buffer is streamed through it; the head's fields must
    still be the client's when the line is written (they are kept before the body is read)."""
    log = tmp_path / "access.log"
    p = Portico(simple_config(tmp_path, backend),
                ["--access-log", str(log), "--access-log-format", '"$request" $http_user_agent $http_x_tag $status'])
    try:
        body = tmp_path / "body"
        body.write_bytes(b"z" * (1 << 20))
        status, _, _ = curl("-X", "POST", "--data-binary", "@%s" % body, "-A", "uploader/2",
                            "-H", "X-Tag: big-one", p.url("/upload/item"))
        assert status == 200
        (line,) = log_lines(log, 1)
        assert line == '"POST /upload/item HTTP/1.1" uploader/2 big-one 200'
    finally:
        p.close()


def test_every_try_is_logged_as_nginx_lists_them(tmp_path, backend):
    dead = free_port()  # nothing listens: the connection is refused
    cfg = write_config(tmp_path, {
        "upstreams": [{"name": "pair", "algorithm": "round-robin",
                       "targets": [{"target": "127.0.0.1:%d" % dead}, {"target": "127.0.0.1:%d" % backend.port}]}],
        "services": [{"name": "api", "host": "pair", "retries": 3, "routes": [{"paths": ["/"]}]}]})
    log = tmp_path / "access.log"
    p = Portico(cfg, ["--access-log", str(log), "--workers", "1", "--access-log-format",
                      "$status|$upstream_addr|$upstream_status|$upstream_connect_time"])
    try:
        for _ in range(4):
            assert curl(p.url("/tries"))[0] == 200
        lines = log_lines(log, 4)
        retried = [l for l in lines if ", " in l]
        assert retried, lines  # round robin: some request met the dead target first
        for line in retried:
            status, addrs, statuses, connects = line.split("|")
            assert status == "200"
            assert addrs == "127.0.0.1:%d, 127.0.0.1:%d" % (dead, backend.port), line
            assert statuses == "502, 200", line
            assert connects.split(", ")[0] == "-" and float(connects.split(", ")[1]) >= 0, line
    finally:
        p.close()


def test_portico_own_answers_carry_the_request_id(tmp_path, backend):
    log = tmp_path / "access.log"
    p = Portico(write_config(tmp_path, {"services": [
        {"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [{"paths": ["/known"]}]}]}),
        ["--access-log", str(log), "--access-log-format", "$status $request_id $route"])
    try:
        status, head, body = curl(p.url("/unknown"))
        assert status == 404 and "no Route matched" in body
        ids = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("x-portico-request-id:")]
        assert len(ids) == 1
        (line,) = log_lines(log, 1)
        assert line == "404 %s -" % ids[0]
    finally:
        p.close()


def test_request_id_headers_can_be_renamed_or_turned_off(tmp_path, backend):
    cfg = simple_config(tmp_path, backend)
    p = Portico(cfg, ["--request-id-header", "X-Request-ID", "--request-id-downstream", "off"])
    try:
        status, head, _ = curl(p.url("/renamed"))
        assert status == 200 and "x-request-id" not in head.lower() and "x-portico-request-id" not in head.lower()
        assert len(backend.last()["headers"]["x-request-id"]) == 32
    finally:
        p.close()
    p = Portico(cfg, ["--request-id-header", "off"])
    try:
        status, head, _ = curl("-H", "X-Portico-Request-Id: from-client", p.url("/off"))
        assert status == 200 and "request-id" not in head.lower()
        # With no header of its own the gateway forwards the client's field like any other.
        assert backend.last()["headers"]["x-portico-request-id"] == "from-client"
    finally:
        p.close()


@pytest.mark.parametrize("fmt, named", [
    ("$remote_addr $reqest_time", "'$reqest_time'"),
    ("${status", "'${'"),
    ("escape=xml $status", "'xml'"),
])
def test_a_format_mistake_stops_the_start_naming_it(tmp_path, backend, fmt, named):
    out = subprocess.run([PORTICO_BIN, "run", "-c", str(simple_config(tmp_path, backend)), "--proxy-listen",
                          "127.0.0.1:%d" % free_port(), "--admin-listen", "off", "--access-log", str(tmp_path / "a.log"),
                          "--access-log-format", fmt], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "--access-log-format" in out.stderr and named in out.stderr, out.stderr


def test_a_bad_request_id_header_name_is_refused(tmp_path, backend):
    out = subprocess.run([PORTICO_BIN, "run", "-c", str(simple_config(tmp_path, backend)), "--proxy-listen",
                          "127.0.0.1:%d" % free_port(), "--admin-listen", "off", "--request-id-header", "X Bad"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "--request-id-header" in out.stderr
