"""WebSocket through the gateway, as Kong proxies it on http/https routes: the handshake runs
the access phase (key-auth refuses, rate limiting counts, identity is forwarded), then the
upstream's 101 turns the connection into a tunnel relaying frames both ways: text and binary
echo, large frames, close codes both ways, a client that vanishes, the service's read timeout
ending a silent tunnel, over plain HTTP and TLS. Both ends are python3-websockets."""
import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest
import websockets

from conftest import Portico, admin_json, free_port, stop, wait_for_port
from ws_backend import Backend


@pytest.fixture(scope="module")
def backend():
    return Backend()


@pytest.fixture(scope="module")
def gateway(backend, tmp_path_factory):
    folder = tmp_path_factory.mktemp("websocket")
    path = folder / "kong.yml"
    path.write_text(json.dumps({
        "_format_version": "3.0",
        "services": [
            {"name": "ws", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
                {"name": "open", "paths": ["/ws"]},
                {"name": "guarded", "paths": ["/guarded"], "plugins": [{"name": "key-auth"}]},
                {"name": "decorated", "paths": ["/decorated"], "plugins": [
                    {"name": "response-transformer", "config": {"add": {"headers": ["X-Handshake:seen"]}}}]},
                {"name": "limited", "paths": ["/limited"], "plugins": [
                    {"name": "rate-limiting", "config": {"minute": 2, "policy": "local"}}]},
            ]},
            {"name": "slow", "url": "http://127.0.0.1:%d" % backend.port, "read_timeout": 700,
             "routes": [{"name": "slow", "paths": ["/slow"], "strip_path": False}]},
            # Kong Enterprise's WebSocket protocols, on the service and on routes.
            {"name": "ws-service", "url": "ws://127.0.0.1:%d" % backend.port, "routes": [
                {"name": "ws-only", "paths": ["/only-ws"], "protocols": ["ws", "wss"]},
                {"name": "wss-only", "paths": ["/only-wss"], "protocols": ["wss"]},
                {"name": "wss-redirect", "paths": ["/wss-redirect"], "protocols": ["wss"],
                 "https_redirect_status_code": 308},
            ]},
        ],
        "consumers": [{"username": "alice", "keyauth_credentials": [{"key": "alice-key"}]}],
    }))
    tls_port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % tls_port])
    wait_for_port(tls_port)
    portico.tls_port = tls_port
    yield portico
    portico.close()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def insecure_tls():
    """A client TLS context for the gateway's self-signed listener certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def ws_url(gateway, path):
    return "ws://127.0.0.1:%d%s" % (gateway.port, path)


def test_echo_text_and_binary(gateway, backend):
    async def go():
        async with websockets.connect(ws_url(gateway, "/ws/echo"), ping_interval=None) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01binary")
            assert await ws.recv() == b"\x00\x01binary"
            for i in range(50):  # many small frames on one tunnel
                await ws.send("m%d" % i)
                assert await ws.recv() == "m%d" % i
    run(go())
    headers = {k.lower(): v for k, v in backend.seen[-1].items()}
    assert headers["upgrade"].lower() == "websocket"
    assert "x-forwarded-for" in headers and headers["host"] == "127.0.0.1:%d" % backend.port


@pytest.mark.parametrize("size", [70_000, 1 << 20, 8 << 20])
def test_large_frames_both_ways(gateway, size):
    payload = bytes(range(256)) * (size // 256)

    async def go():
        async with websockets.connect(ws_url(gateway, "/ws/echo"), max_size=None, ping_interval=None) as ws:
            await ws.send(payload)
            assert await ws.recv() == payload
    run(go())


def test_close_codes_pass_both_ways(gateway, backend):
    async def server_closes():
        async with websockets.connect(ws_url(gateway, "/ws/bye"), ping_interval=None) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.code == 4001 and closed.value.reason == "bye"
    run(server_closes())

    async def client_closes():
        ws = await websockets.connect(ws_url(gateway, "/ws/echo"), ping_interval=None)
        await ws.send("x")
        await ws.recv()
        await ws.close(4002, "done")
        assert ws.close_code == 4002  # the server's echo of the close frame came back
    run(client_closes())
    deadline = time.time() + 5
    while 4002 not in backend.closes and time.time() < deadline:
        time.sleep(0.05)
    assert 4002 in backend.closes


def test_a_client_that_vanishes(gateway, backend):
    before = len(backend.closes)
    raw = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    raw.sendall(b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = raw.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"upgrade: websocket" in head.lower() and b"connection: upgrade" in head.lower()
    raw.close()  # no close frame: the tunnel ends and the service sees its connection go
    deadline = time.time() + 5
    while len(backend.closes) == before and time.time() < deadline:
        time.sleep(0.05)
    assert len(backend.closes) > before
    test_echo_text_and_binary(gateway, backend)  # the gateway goes on


def test_auth_is_checked_at_the_handshake(gateway, backend):
    async def refused():
        with pytest.raises(websockets.InvalidStatusCode) as denied:
            await websockets.connect(ws_url(gateway, "/guarded/echo"), ping_interval=None)
        assert denied.value.status_code == 401
    run(refused())

    async def allowed():
        async with websockets.connect(ws_url(gateway, "/guarded/echo"), ping_interval=None,
                                      extra_headers={"apikey": "alice-key"}) as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
    run(allowed())
    headers = {k.lower(): v for k, v in backend.seen[-1].items()}
    assert headers["x-consumer-username"] == "alice"


def test_plugins_header_phase_runs_on_the_101(gateway):
    # As Kong's header_filter: response plugins' headers, the request id and latency fields.
    async def go():
        async with websockets.connect(ws_url(gateway, "/decorated/echo"), ping_interval=None) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            return {k.lower(): v for k, v in ws.response_headers.items()}
    headers = run(go())
    assert headers["x-handshake"] == "seen"
    assert headers["connection"].lower() == "upgrade" and headers["upgrade"].lower() == "websocket"
    assert "x-portico-upstream-latency" in headers and "sec-websocket-accept" in headers
    assert "content-length" not in headers and "transfer-encoding" not in headers


def test_rate_limits_count_handshakes(gateway):
    async def connect_once():
        try:
            async with websockets.connect(ws_url(gateway, "/limited/echo"), ping_interval=None) as ws:
                await ws.send("x")
                await ws.recv()
                return 101
        except websockets.InvalidStatusCode as e:
            return e.status_code
    statuses = [run(connect_once()) for _ in range(3)]
    assert statuses == [101, 101, 429]


def test_the_services_read_timeout_ends_a_silent_tunnel(gateway):
    async def go():
        async with websockets.connect(ws_url(gateway, "/slow/silent"), ping_interval=None) as ws:
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return time.monotonic() - started
    elapsed = run(go())
    assert 0.5 < elapsed < 5, elapsed


def test_a_talking_client_keeps_the_tunnel_alive(gateway):
    # The service sends nothing for 2 s (> its 700 ms read_timeout) while the client talks.
    async def go():
        async with websockets.connect(ws_url(gateway, "/slow/sink"), ping_interval=None) as ws:
            for i in range(10):
                await ws.send("m%d" % i)
                await asyncio.sleep(0.2)
            await ws.send("done")
            return await ws.recv()
    assert run(go()) == "10"


def test_over_tls(gateway):
    ctx = insecure_tls()

    async def go():
        async with websockets.connect("wss://127.0.0.1:%d/ws/echo" % gateway.tls_port, ssl=ctx,
                                      max_size=None, ping_interval=None) as ws:
            await ws.send("secure")
            assert await ws.recv() == "secure"
            big = b"z" * (2 << 20)
            await ws.send(big)
            assert await ws.recv() == big
    run(go())


def test_the_services_last_frames_reach_a_tls_client(gateway):
    # The service sends 1 MiB and closes at once: the frames and the close code arrive over
    # TLS (the end of the service's side is passed on as a half-close, not a reset).
    ctx = insecure_tls()

    async def go():
        async with websockets.connect("wss://127.0.0.1:%d/ws/farewell" % gateway.tls_port, ssl=ctx,
                                      max_size=None, ping_interval=None) as ws:
            last = await ws.recv()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            return len(last), closed.value.code
    for _ in range(5):
        assert run(go()) == (1 << 20, 4003)


def test_an_upgrade_the_service_declines_is_an_ordinary_answer(gateway):
    # Plain HTTP to a websockets server: it answers 426 Upgrade Required, relayed as it is.
    raw = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    raw.sendall(b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := raw.recv(65536):
        data += chunk
    raw.close()
    assert data.split(b" ", 2)[1] in (b"426", b"400"), data[:200]


def raw_request(port, request, tls=False):
    """One answer (head and content-length body) to a request sent as bytes."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls:
        raw = insecure_tls().wrap_socket(raw, server_hostname="localhost")
    raw.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + body_length(data):
        chunk = raw.recv(65536)
        if not chunk:
            break
        data += chunk
    raw.close()
    return data


def body_length(data):
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name == "content-length":
            return int(value)
    return 0


HANDSHAKE = (b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


def test_ws_and_wss_routes_take_websocket_handshakes(gateway):
    async def go(url, **kwargs):
        async with websockets.connect(url, ping_interval=None, **kwargs) as ws:
            await ws.send("over " + url.split(":")[0])
            return await ws.recv()
    # A ws/wss route on a ws:// service: plain text and TLS.
    assert run(go(ws_url(gateway, "/only-ws/echo"))) == "over ws"
    assert run(go("wss://127.0.0.1:%d/only-ws/echo" % gateway.tls_port, ssl=insecure_tls())) == "over wss"
    assert run(go("wss://127.0.0.1:%d/only-wss/echo" % gateway.tls_port, ssl=insecure_tls())) == "over wss"


def test_a_ws_route_refuses_what_is_not_a_websocket_handshake(gateway):
    for port, tls in ((gateway.port, False), (gateway.tls_port, True)):
        data = raw_request(port, b"GET /only-ws/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tls)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 426 "), head
        assert b"\r\nUpgrade: websocket" in head
        assert json.loads(body)["message"] == "This route only accepts WebSocket connections"


def test_a_wss_route_refuses_a_plain_text_handshake(gateway):
    # As an https-only route answers plain HTTP: https_redirect_status_code, 426 by default.
    head = raw_request(gateway.port, HANDSHAKE % b"/only-wss/echo").partition(b"\r\n\r\n")[0]
    assert head.startswith(b"HTTP/1.1 426 "), head
    head = raw_request(gateway.port, HANDSHAKE % b"/wss-redirect/echo").partition(b"\r\n\r\n")[0]
    assert head.startswith(b"HTTP/1.1 308 "), head
    assert b"\r\nLocation: https://x/wss-redirect/echo" in head


def active_connections(portico):
    status, body = admin_json(portico, "GET", "/status")
    assert status == 200
    return body["server"]["connections_active"]


def test_a_service_killed_under_many_open_tunnels(tmp_path):
    # 200 tunnels exchanging messages; the service process is killed (SIGKILL) in the middle,
    # three times in one run: every client sees its tunnel close, none hangs, the gateway
    # stays up and serves new tunnels once the service is back.
    port = free_port()
    script = os.path.join(os.path.dirname(__file__), "ws_echo_server.py")

    def start_service():
        proc = subprocess.Popen([sys.executable, script, str(port)])
        wait_for_port(port, proc=proc)
        return proc

    path = tmp_path / "kong.yml"
    path.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "ws", "url": "http://127.0.0.1:%d" % port, "routes": [{"name": "ws", "paths": ["/ws"]}]}]}))
    portico = Portico(path)
    service = start_service()
    try:
        for round_number in range(3):
            async def one_client(i):
                try:
                    async with websockets.connect(ws_url(portico, "/ws/%d" % i), ping_interval=None,
                                                  open_timeout=10) as ws:
                        for n in range(1000):
                            await ws.send("c%d-%d" % (i, n))
                            assert await ws.recv() == "c%d-%d" % (i, n)
                            await asyncio.sleep(0.01)
                    return "finished"
                except websockets.ConnectionClosed:
                    return "closed"

            async def storm():
                clients = [asyncio.ensure_future(one_client(i)) for i in range(200)]
                await asyncio.sleep(1.0)
                service.send_signal(signal.SIGKILL)
                return await asyncio.wait_for(asyncio.gather(*clients), 20)

            outcomes = asyncio.run(storm())
            assert outcomes.count("closed") == 200, (round_number, outcomes[:5])
            service.wait(5)
            assert portico.proc.poll() is None, portico.logs()[-2000:]
            service = start_service()

            async def fresh():
                async with websockets.connect(ws_url(portico, "/ws/again"), ping_interval=None) as ws:
                    await ws.send("back")
                    return await ws.recv()
            assert asyncio.run(asyncio.wait_for(fresh(), 10)) == "back"
        # Nothing held on to: every tunnel's client connection is gone from the gateway.
        deadline = time.time() + 10
        while time.time() < deadline and active_connections(portico) > 0:
            time.sleep(0.1)
        assert active_connections(portico) == 0
    finally:
        stop(service)
        portico.close()
