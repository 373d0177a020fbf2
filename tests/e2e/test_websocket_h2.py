"""WebSocket over HTTP/2 (RFC 8441): an extended CONNECT (":protocol: websocket") on an h2c or
h2-over-TLS connection becomes an HTTP/1.1 WebSocket handshake to a python3-websockets service;
its 101 becomes the client's 200, and the stream's DATA carry the frames both ways while the
connection's other streams go on. The client is python3-h2 with WebSocket frames written by
hand (no HTTP/2 WebSocket client is packaged)."""
import json
import os
import struct
import time

import pytest

from conftest import Portico, eventually, free_port, wait_for_port
from h2_client import CANCEL, Client
from test_tls import make_pki
from ws_backend import Backend

ENABLE_CONNECT_PROTOCOL = 0x8
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8


def frame(opcode, payload, mask=True):
    """One final WebSocket frame; a client's frames are masked (RFC 6455 5.3)."""
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = bytes([0x80 | opcode, bit | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, bit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big") if n else b""
    return head + key + masked


def parse_frame(data):
    """(opcode, payload, bytes used) of the first whole unmasked frame in `data`, or None."""
    if len(data) < 2:
        return None
    opcode, n, at = data[0] & 0x0F, data[1] & 0x7F, 2
    if n == 126:
        if len(data) < 4:
            return None
        n, at = struct.unpack("!H", data[2:4])[0], 4
    elif n == 127:
        if len(data) < 10:
            return None
        n, at = struct.unpack("!Q", data[2:10])[0], 10
    if len(data) < at + n:
        return None
    return opcode, bytes(data[at:at + n]), at + n


class H2WebSocket:
    """One WebSocket as a stream of an HTTP/2 connection (python3-h2)."""

    def __init__(self, client, path, headers=(), protocol="websocket"):
        self.client = client
        self.sid = client.request("CONNECT", path, [(":protocol", protocol), ("sec-websocket-version", "13")]
                                  + list(headers), end=False)
        self.response = client.responses[self.sid]
        deadline = time.time() + 10
        while self.response.headers is None and self.response.reset is None:
            assert time.time() < deadline, "no answer to the extended CONNECT"
            client.read_some(deadline - time.time())

    @property
    def status(self):
        return self.response.status

    def send(self, opcode, payload):
        self.client.send_body(self.sid, frame(opcode, payload), end=False)

    def recv(self, timeout=10):
        """The next whole frame from the service: (opcode, payload)."""
        deadline = time.time() + timeout
        while True:
            parsed = parse_frame(self.response.body)
            if parsed is not None:
                opcode, payload, used = parsed
                del self.response.body[:used]
                return opcode, payload
            if self.response.ended or self.response.reset is not None:
                raise EOFError("the stream ended (reset: %s)" % self.response.reset)
            assert time.time() < deadline, "no frame from the service"
            self.client.read_some(deadline - time.time())

    def wait_end(self, timeout=10):
        deadline = time.time() + timeout
        while not (self.response.ended or self.response.reset is not None):
            assert time.time() < deadline, "the stream did not end"
            self.client.read_some(deadline - time.time())


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ws-h2")
    pki = make_pki(folder)
    backend = Backend()
    ws_url = "http://127.0.0.1:%d" % backend.port
    path = folder / "kong.yml"
    path.write_text(json.dumps({
        "_format_version": "3.0",
        "services": [
            {"name": "ws", "url": ws_url, "routes": [
                {"name": "open", "paths": ["/ws"]},
                {"name": "guarded", "paths": ["/guarded"], "plugins": [{"name": "key-auth"}]},
                {"name": "ws-only", "paths": ["/only-ws"], "protocols": ["ws", "wss"]},
            ]},
            {"name": "slow", "url": ws_url, "read_timeout": 700,
             "routes": [{"name": "slow", "paths": ["/slow"], "strip_path": False}]},
        ],
        "consumers": [{"username": "alice", "keyauth_credentials": [{"key": "alice-key"}]}],
    }))
    h2c, tls = free_port(), free_port()
    portico = Portico(path, extra_args=[
        "--proxy-listen", "127.0.0.1:%d http2" % h2c, "--proxy-listen", "127.0.0.1:%d http2 ssl" % tls,
        "--ssl-cert", str(pki["cert"]), "--ssl-cert-key", str(pki["key"])])
    wait_for_port(h2c)
    wait_for_port(tls)
    yield {"portico": portico, "h2c": h2c, "tls": tls, "ca": pki["ca"], "backend": backend}
    portico.close()


def client(env, kind):
    return Client(env["tls"], tls_ca=env["ca"]) if kind == "tls" else Client(env["h2c"])


@pytest.mark.parametrize("kind", ["h2c", "tls"])
def test_echo_over_http2(env, kind):
    c = client(env, kind)
    ws = H2WebSocket(c, "/ws/echo")
    assert c.server_settings.get(ENABLE_CONNECT_PROTOCOL) == 1  # (RFC 8441 3)
    assert ws.status == 200
    assert "sec-websocket-accept" not in ws.response.headers
    ws.send(TEXT, b"hello")
    assert ws.recv() == (TEXT, b"hello")
    ws.send(BINARY, b"\x00\x01binary")
    assert ws.recv() == (BINARY, b"\x00\x01binary")
    for i in range(30):
        ws.send(TEXT, b"m%d" % i)
        assert ws.recv() == (TEXT, b"m%d" % i)
    seen = {k.lower(): v for k, v in env["backend"].seen[-1].items()}
    # The service got an HTTP/1.1 handshake with a key of the gateway's (16 bytes in base64).
    assert seen["upgrade"].lower() == "websocket" and len(seen["sec-websocket-key"]) == 24
    assert seen["sec-websocket-version"] == "13"
    c.close()


@pytest.mark.parametrize("size", [70_000, 1 << 20, 8 << 20])
def test_large_frames_both_ways_under_flow_control(env, size):
    c = client(env, "h2c")
    ws = H2WebSocket(c, "/ws/echo")
    payload = os.urandom(size)
    ws.send(BINARY, payload)
    assert ws.recv(timeout=30) == (BINARY, payload)
    c.close()


def test_other_streams_go_on_while_a_tunnel_is_open(env):
    c = client(env, "h2c")
    tunnels = [H2WebSocket(c, "/ws/echo") for _ in range(3)]
    # An ordinary request on the same connection: the service (a WebSocket server) answers
    # it 426, relayed as an ordinary answer.
    plain = c.get("/ws/echo")
    assert plain.status in (400, 426) and plain.ended
    for i, ws in enumerate(tunnels):
        ws.send(TEXT, b"t%d" % i)
    for i, ws in enumerate(tunnels):
        assert ws.recv() == (TEXT, b"t%d" % i)
    c.close()


def test_close_codes_pass_both_ways(env):
    backend = env["backend"]
    c = client(env, "h2c")
    ws = H2WebSocket(c, "/ws/bye")
    opcode, payload = ws.recv()
    assert opcode == CLOSE and struct.unpack("!H", payload[:2])[0] == 4001 and payload[2:] == b"bye"
    ws.send(CLOSE, payload[:2])  # the closing handshake's answer
    ws.wait_end()
    assert ws.response.ended and ws.response.reset is None  # END_STREAM, not a reset

    ws = H2WebSocket(c, "/ws/echo")
    ws.send(CLOSE, struct.pack("!H", 4000) + b"client done")
    opcode, payload = ws.recv()
    assert opcode == CLOSE and struct.unpack("!H", payload[:2])[0] == 4000
    eventually(lambda: 4000 in backend.closes)
    c.close()


def test_the_services_last_frames_arrive_before_the_end(env):
    c = client(env, "tls")
    ws = H2WebSocket(c, "/ws/farewell")
    opcode, payload = ws.recv(timeout=20)
    assert opcode == BINARY and len(payload) == 1 << 20
    opcode, payload = ws.recv()
    assert opcode == CLOSE and struct.unpack("!H", payload[:2])[0] == 4003
    c.close()


def test_a_client_that_resets_its_stream_or_vanishes(env):
    backend = env["backend"]
    c = client(env, "h2c")
    ws = H2WebSocket(c, "/ws/echo")
    ws.send(TEXT, b"x")
    assert ws.recv() == (TEXT, b"x")
    before = len(backend.closes)
    c.conn.reset_stream(ws.sid, CANCEL)
    c.flush()
    eventually(lambda: len(backend.closes) > before)  # the service's connection was closed
    # The connection is still good for the next tunnel.
    ws = H2WebSocket(c, "/ws/echo")
    ws.send(TEXT, b"y")
    assert ws.recv() == (TEXT, b"y")
    before = len(backend.closes)
    c.sock.close()  # vanishes with the tunnel open
    eventually(lambda: len(backend.closes) > before)


def test_auth_is_checked_at_the_handshake(env):
    backend = env["backend"]
    c = client(env, "h2c")
    before = len(backend.seen)
    ws = H2WebSocket(c, "/guarded/echo")
    assert ws.status == 401
    ws.wait_end()
    assert json.loads(bytes(ws.response.body))["message"] == "No API key found in request"
    assert len(backend.seen) == before  # nothing reached the service
    ws = H2WebSocket(c, "/guarded/echo", headers=[("apikey", "alice-key")])
    assert ws.status == 200
    ws.send(TEXT, b"in")
    assert ws.recv() == (TEXT, b"in")
    c.close()


def test_a_ws_only_route_takes_extended_connect_and_refuses_a_plain_request(env):
    c = client(env, "tls")
    ws = H2WebSocket(c, "/only-ws/echo")
    assert ws.status == 200
    ws.send(TEXT, b"ws route")
    assert ws.recv() == (TEXT, b"ws route")
    plain = c.get("/only-ws/echo")
    assert plain.status == 426
    assert json.loads(bytes(plain.body))["message"] == "This route only accepts WebSocket connections"
    c.close()


def test_a_service_that_answers_the_upgrade_with_200_is_a_bad_gateway(env):
    # Over HTTP/2 a 200 would open the tunnel: the gateway answers 502 instead.
    c = client(env, "h2c")
    ws = H2WebSocket(c, "/ws/plain200")
    assert ws.status == 502
    ws.wait_end()
    assert "without switching protocols" in json.loads(bytes(ws.response.body))["message"]
    c.close()


def test_another_protocol_is_not_implemented(env):
    c = client(env, "h2c")
    ws = H2WebSocket(c, "/ws/echo", protocol="webtransport")
    assert ws.status == 501
    c.close()


def test_the_services_read_timeout_ends_a_silent_tunnel(env):
    c = client(env, "h2c")
    ws = H2WebSocket(c, "/slow/silent")
    assert ws.status == 200
    started = time.time()
    ws.wait_end(timeout=10)
    assert ws.response.reset == CANCEL
    assert 0.5 < time.time() - started < 5
    assert c.get("/slow/echo").status in (400, 426)  # the connection goes on
    c.close()
