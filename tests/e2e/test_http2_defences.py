"""HTTP/2 defences, each against a hostile client written with python3-h2's frame and HPACK
libraries (h2_client.RawClient): rapid reset (CVE-2023-44487), CONTINUATION flood, HPACK bomb,
zero-window stall, SETTINGS flood, PING flood, oversized headers. Each attack ends with the
right GOAWAY (or, for oversized headers, a 431 on the stream), and the gateway's only worker
keeps answering another client meanwhile."""
import json
import threading
import time
import urllib.request

import pytest

from h2_client import (ENHANCE_YOUR_CALM, PROTOCOL_ERROR, Client, ContinuationFrame, DataFrame, HeadersFrame,
                       PingFrame, RawClient, RstStreamFrame, SettingsFrame)
from test_http2 import Backend, h2c_gateway

CANCEL = 0x8


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backend = Backend()
    # One worker: the attack and the well-behaved client share it.
    portico, port = h2c_gateway(tmp_path_factory.mktemp("h2defences"), backend, "/api",
                                ["--workers", "1", "--client-body-timeout", "1500"])
    yield {"portico": portico, "port": port, "backend": backend}
    portico.close()
    backend.close()


class Bystander:
    """An HTTP/1.1 client on the same worker during an attack: the slowest answer it got."""

    def __init__(self, portico):
        self.url = portico.url("/api/bystander")
        self.worst = 0.0
        self.failures = []
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            start = time.time()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    r.read()
                self.count += 1
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.failures.append(repr(e))
            self.worst = max(self.worst, time.time() - start)
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join()
        assert not self.failures, self.failures
        assert self.count > 0
        # The bar: the worker never stalled for a second while under attack.
        assert self.worst < 1.0, "a request took %.3f s during the attack" % self.worst


def goaway_after(raw, timeout=15):
    frames = raw.frames_until_close(timeout=timeout)
    goaway = raw.goaway_of(frames)
    assert goaway is not None, [type(f).__name__ for f in frames]
    return goaway, frames


def abuse_counter(env):
    with urllib.request.urlopen(env["portico"].admin("/status"), timeout=5) as r:
        return json.loads(r.read())["portico"]["http2_abuse_closed"]


def test_rapid_reset_is_stopped_with_enhance_your_calm(env):
    before_seen = len(env["backend"].seen)
    before = abuse_counter(env)
    bystander = Bystander(env["portico"])
    raw = RawClient(env["port"])
    batch = b""
    for i in range(4000):
        sid = 2 * i + 1
        batch += raw.request_headers(sid, "/api/slow").serialize() + RstStreamFrame(sid, error_code=CANCEL).serialize()
    try:
        raw.send(batch)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the gateway hung up part way through: what it should do
    goaway, _ = goaway_after(raw)
    assert goaway.error_code == ENHANCE_YOUR_CALM
    bystander.stop()
    # Cancelled requests did not all go upstream (at most the concurrency limit at a time).
    time.sleep(2)
    assert len(env["backend"].seen) - before_seen - bystander.count < 300
    assert abuse_counter(env) == before + 1


def test_continuation_flood_is_refused(env):
    raw = RawClient(env["port"])
    frames = [raw.request_headers(1, "/api/x", end_headers=False)]
    frames += [ContinuationFrame(1, raw.headers_block([("x-c%d" % i, "v")])) for i in range(1000)]
    try:
        raw.send(*frames)
    except (BrokenPipeError, ConnectionResetError):
        pass
    goaway, _ = goaway_after(raw)
    assert goaway.error_code in (ENHANCE_YOUR_CALM, PROTOCOL_ERROR), goaway.error_code
    # Empty CONTINUATION frames that never end the block: the same.
    raw = RawClient(env["port"])
    try:
        raw.send(raw.request_headers(1, "/api/x", end_headers=False), *[ContinuationFrame(1, b"") for _ in range(1000)])
    except (BrokenPipeError, ConnectionResetError):
        pass
    goaway, _ = goaway_after(raw)
    assert goaway.error_code in (ENHANCE_YOUR_CALM, PROTOCOL_ERROR), goaway.error_code


def test_hpack_bomb_is_stopped_before_it_expands(env):
    bystander = Bystander(env["portico"])
    raw = RawClient(env["port"])
    # One 4000-byte field goes into the dynamic table; then 16,000 one-byte references to it
    # (index 62, the newest entry) would expand to 64 MB.
    block = raw.headers_block([(":method", "GET"), (":scheme", "http"), (":authority", "localhost"),
                               (":path", "/api/x"), ("x-bomb", "a" * 4000)])
    refs = b"\xbe" * 16000
    try:
        raw.send(HeadersFrame(1, block, flags=["END_STREAM"]), ContinuationFrame(1, refs[:8000]),
                 ContinuationFrame(1, refs[8000:], flags=["END_HEADERS"]))
    except (BrokenPipeError, ConnectionResetError):
        pass
    goaway, _ = goaway_after(raw)
    assert goaway.error_code == ENHANCE_YOUR_CALM
    bystander.stop()


@pytest.mark.parametrize("kind", ["ping", "settings"])
def test_control_frame_floods_are_stopped(env, kind):
    bystander = Bystander(env["portico"])
    raw = RawClient(env["port"])
    if kind == "ping":
        flood = [PingFrame(0, opaque_data=b"12345678") for _ in range(5000)]
    else:
        flood = [SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65535}) for _ in range(5000)]
    try:
        raw.send(*flood)
    except (BrokenPipeError, ConnectionResetError):
        pass
    goaway, frames = goaway_after(raw)
    assert goaway.error_code == ENHANCE_YOUR_CALM
    acks = [f for f in frames if isinstance(f, (PingFrame, SettingsFrame)) and "ACK" in f.flags]
    # At most the budget's worth was answered (how many went out before the GOAWAY depends on
    # how the flood was read), then no more.
    assert len(acks) <= 1100
    bystander.stop()


def test_a_few_pings_and_settings_are_fine(env):
    client = Client(env["port"])
    for i in range(50):
        client.conn.ping(b"abcdefgh")
        client.conn.update_settings({4: 65535 + i})  # SETTINGS_INITIAL_WINDOW_SIZE
        client.flush()
    assert client.get("/api/x").status == 200
    assert client.goaway is None
    client.close()


def test_zero_window_stall_ends_with_goaway(env):
    bystander = Bystander(env["portico"])
    # The client's stream window is 0 and it never opens it: the response cannot be sent.
    raw = RawClient(env["port"], settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0})
    start = time.time()
    raw.send(raw.request_headers(1, "/api/big?n=1000000"))
    goaway, frames = goaway_after(raw, timeout=15)
    took = time.time() - start
    assert goaway.error_code == ENHANCE_YOUR_CALM
    assert any(isinstance(f, HeadersFrame) for f in frames)  # the head went (it is not flow-controlled)
    assert not any(isinstance(f, DataFrame) and f.data for f in frames)
    assert 1.4 <= took <= 6, took  # --client-body-timeout 1500: found within two timeouts
    bystander.stop()


def test_a_stream_held_while_others_flow_is_only_reset(env):
    # Stream 1's window stays shut; the connection keeps serving other streams, then stream 1
    # alone is reset when its write timeout passes.
    client = Client(env["port"], settings={4: 0})  # SETTINGS_INITIAL_WINDOW_SIZE = 0
    held = client.request("GET", "/api/big?n=1000000")
    client.handle = _opening_windows_except(client, held)
    deadline = time.time() + 8
    while client.responses[held].reset is None and time.time() < deadline:
        sid = client.request("GET", "/api/x")
        client.wait([sid], timeout=5)
        time.sleep(0.1)
    assert client.responses[held].reset is not None
    assert client.goaway is None
    assert client.get("/api/after").status == 200
    client.close()


def _opening_windows_except(client, held):
    """An event handler that opens the window of every stream but `held`."""
    original = client.handle

    def handle(event):
        original(event)
        sid = getattr(event, "stream_id", None)
        if sid and sid != held and hasattr(event, "headers") and event.__class__.__name__ == "ResponseReceived":
            client.conn.increment_flow_control_window(1 << 20, stream_id=sid)
            client.flush()
    return handle


def test_oversized_headers_get_431_and_the_connection_stays(env):
    client = Client(env["port"])
    r = client.get("/api/x", [("x-h%d" % i, "v") for i in range(150)])  # more fields than --max-headers
    assert r.status == 431 and json.loads(r.body)["message"] == "too many header fields"
    r = client.get("/api/x", [("x-big", "v" * 60000)])  # one field larger than --max-header-size
    assert r.status == 431 and json.loads(r.body)["message"] == "request header fields too large"
    assert client.get("/api/after").status == 200 and client.goaway is None
    client.close()
