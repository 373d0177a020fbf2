"""gRPC proxying (services and routes with Kong's `grpc`/`grpcs` protocols) with real gRPC on
both ends: python3-grpcio clients, and a python3-grpcio service (grpc_backend.py, stubs made
from tests/e2e/protos/greeter.proto at test time). Every kind of call, statuses and trailers,
deadlines, the gateway's own answers as gRPC statuses (auth, rate limits, no target), Kong's
protocol checks, TLS to the service, multiplexing, and a service killed mid-stream."""
import json
import queue
import socket
import subprocess
import threading
import time
from concurrent import futures

import grpc
import pytest

from conftest import Portico, assert_check_refuses, eventually, free_port, wait_for_port
from grpc_backend import GrpcBackend, greeter
from test_tls import make_pki

pb2, pb2_grpc = greeter()


def route(name, protocols=("grpc",), headers=None, plugins=()):
    r = {"name": name, "protocols": list(protocols), "paths": ["/portico.test.Greeter/"], "plugins": list(plugins)}
    if headers:
        r["headers"] = headers
    return r


def grpc_gateway(folder, cfg):
    """A gateway on `cfg` with an h2c listener, and a gRPC channel to it: (portico, h2c port,
    channel, stub)."""
    path = folder / "kong.yml"
    path.write_text(json.dumps(cfg))
    h2c = free_port()
    gw = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d http2" % h2c])
    wait_for_port(h2c)
    channel = grpc.insecure_channel("127.0.0.1:%d" % h2c)
    return gw, h2c, channel, pb2_grpc.GreeterStub(channel)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grpc")
    pki = make_pki(folder)
    backend = GrpcBackend(free_port(), name="plain")
    tls_backend = GrpcBackend(free_port(), name="tls", tls=(pki["cert"], pki["key"]))
    closed_port = free_port()  # nothing listens there
    cfg = {
        "_format_version": "3.0",
        "upstreams": [{"name": "nobody"}],  # no targets at all
        "consumers": [{"username": "mobile", "keyauth_credentials": [{"key": "secret-key"}]}],
        "services": [
            {"name": "greeter", "url": "grpc://127.0.0.1:%d" % backend.port, "routes": [
                route("greeter"),
                route("authenticated", headers={"x-route": ["auth"]}, plugins=[{"name": "key-auth"}]),
                route("limited", headers={"x-route": ["limited"]},
                      plugins=[{"name": "rate-limiting", "config": {"minute": 3, "policy": "local"}}]),
                route("tls-only", protocols=("grpcs",), headers={"x-route": ["tls-only"]}),
                # The service never sees the client's deadline here: only the gateway can end the call.
                route("gateway-deadline", headers={"x-route": ["gateway-deadline"]},
                      plugins=[{"name": "request-transformer", "config": {"remove": {"headers": ["grpc-timeout"]}}}]),
            ]},
            {"name": "impatient", "url": "grpc://127.0.0.1:%d" % backend.port, "read_timeout": 700,
             "routes": [route("impatient", headers={"x-route": ["impatient"]})]},
            {"name": "secure", "url": "grpcs://localhost:%d" % tls_backend.port,
             "routes": [route("secure", headers={"x-route": ["secure"]})]},
            {"name": "refused", "url": "grpc://127.0.0.1:%d" % closed_port, "retries": 0,
             "routes": [route("refused", headers={"x-route": ["refused"]})]},
            {"name": "no-target", "host": "nobody", "protocol": "grpc",
             "routes": [route("no-target", headers={"x-route": ["no-target"]})]},
        ],
    }
    gw, h2c, channel, stub = grpc_gateway(folder, cfg)
    yield {"gw": gw, "h2c": h2c, "stub": stub, "backend": backend, "folder": folder}
    channel.close()
    gw.close()
    backend.close()
    tls_backend.close()


def call_code(fn, *args, **kwargs):
    """(status code, details, trailing metadata as a dict) of a call expected to fail."""
    with pytest.raises(grpc.RpcError) as failure:
        fn(*args, **kwargs)
    e = failure.value
    return e.code(), e.details(), dict(e.trailing_metadata() or ())


def test_unary_call_reaches_the_service_with_forwarding_metadata(env):
    reply = env["stub"].SayHello(pb2.HelloRequest(name="portico"), timeout=10)
    assert reply.message == "Hello, portico" and reply.served_by == "plain"
    assert reply.metadata["x-forwarded-for"] == "127.0.0.1"
    assert reply.metadata["via"] == "1.1 portico"
    assert "x-portico-request-id" in reply.metadata


def test_server_streaming_relays_every_message_under_flow_control(env):
    # 40 messages of 256 KiB: 10 MiB, many times the HTTP/2 windows on either side.
    replies = list(env["stub"].StreamHellos(pb2.HelloRequest(name="s", count=40, payload_bytes=256 * 1024), timeout=60))
    assert [r.message for r in replies] == ["Hello #%d, s" % i for i in range(40)]
    assert all(len(r.padding) == 256 * 1024 for r in replies)


def test_client_streaming(env):
    names = ["n%d" % i for i in range(50)]
    reply = env["stub"].CollectHellos(iter([pb2.HelloRequest(name=n) for n in names]), timeout=10)
    assert reply.message == "Hello, " + " and ".join(names)


def test_bidirectional_streaming_is_interactive(env):
    # The client sends its next message only after the answer to the previous one: the
    # request body must flow while the answer is relayed.
    outbox = queue.Queue()

    def requests():
        while (name := outbox.get()) is not None:
            yield pb2.HelloRequest(name=name)

    outbox.put("m0")
    got = []
    for reply in env["stub"].Chat(requests(), timeout=10):
        got.append(reply.message)
        outbox.put("m%d" % len(got) if len(got) < 5 else None)
    assert got == ["Hi, m%d" % i for i in range(5)]


def test_service_status_message_and_trailing_metadata_pass_through(env):
    code, details, trailers = call_code(env["stub"].Fail, pb2.FailRequest(code=5, message="no such greeting"), timeout=10)
    assert code == grpc.StatusCode.NOT_FOUND and details == "no such greeting"
    assert trailers["failure-detail"] == "asked-for"
    assert "content-length" not in trailers  # (the HTTP/1.1 framing of a trailers-only answer stays inside)


def test_service_read_timeout_is_deadline_exceeded(env):
    started = time.monotonic()
    code, details, _ = call_code(env["stub"].SayHello, pb2.HelloRequest(name="slow", delay_ms=3000), timeout=10,
                                 metadata=[("x-route", "impatient")])
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and details == "The upstream server is timing out"
    assert time.monotonic() - started < 2.5


def grpc_frame(message):
    data = message.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


def raw_h2_call(port, path, body, headers):
    """One gRPC call with python3-h2 (no client-side deadline of its own): (headers, data,
    trailers) as received."""
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", "localhost"), (":path", path),
                          ("content-type", "application/grpc"), ("te", "trailers")] + headers)
    conn.send_data(1, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    got_headers, data, trailers = {}, b"", {}
    ended = False
    while not ended:
        chunk = sock.recv(65536)
        if not chunk:
            break
        for event in conn.receive_data(chunk):
            if isinstance(event, h2.events.ResponseReceived):
                got_headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h2.events.DataReceived):
                data += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, 1)
            elif isinstance(event, h2.events.TrailersReceived):
                trailers = {k.decode(): v.decode() for k, v in event.headers}
            if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended = True
        sock.sendall(conn.data_to_send())
    sock.close()
    return got_headers, data, trailers


def test_grpc_timeout_is_honoured_by_the_gateway(env):
    # A client whose deadline the gateway enforces itself (python3-h2 has none): 400 ms. The
    # route removes grpc-timeout before the service, whose own deadline would otherwise race the
    # gateway's ("Deadline Exceeded" from grpcio).
    started = time.monotonic()
    headers, _, _ = raw_h2_call(env["h2c"], "/portico.test.Greeter/SayHello",
                                grpc_frame(pb2.HelloRequest(name="slow", delay_ms=3000)),
                                [("grpc-timeout", "400m"), ("x-route", "gateway-deadline")])
    assert headers["grpc-status"] == "4" and headers["grpc-message"] == "The upstream server is timing out"
    assert 0.35 < time.monotonic() - started < 2.0


def test_a_normal_call_ends_with_status_trailers(env):
    headers, data, trailers = raw_h2_call(env["h2c"], "/portico.test.Greeter/SayHello",
                                          grpc_frame(pb2.HelloRequest(name="raw")), [])
    assert headers[":status"] == "200" and headers["content-type"] == "application/grpc"
    assert trailers["grpc-status"] == "0"
    reply = pb2.HelloReply.FromString(data[5:])
    assert reply.message == "Hello, raw"


def test_auth_plugin_answers_unauthenticated(env):
    code, details, _ = call_code(env["stub"].SayHello, pb2.HelloRequest(name="x"), timeout=10,
                                 metadata=[("x-route", "auth")])
    assert code == grpc.StatusCode.UNAUTHENTICATED and details == "No API key found in request"
    reply = env["stub"].SayHello(pb2.HelloRequest(name="x"), timeout=10,
                                 metadata=[("x-route", "auth"), ("apikey", "secret-key")])
    assert reply.message == "Hello, x" and reply.metadata["x-consumer-username"] == "mobile"


def test_rate_limiting_answers_resource_exhausted(env):
    md = [("x-route", "limited")]
    for _ in range(3):
        env["stub"].SayHello(pb2.HelloRequest(name="x"), timeout=10, metadata=md)
    code, details, _ = call_code(env["stub"].SayHello, pb2.HelloRequest(name="x"), timeout=10, metadata=md)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and details == "API rate limit exceeded"


def test_unreachable_service_and_no_target_are_unavailable(env):
    for which in ("refused", "no-target"):
        code, _, _ = call_code(env["stub"].SayHello, pb2.HelloRequest(name="x"), timeout=10, metadata=[("x-route", which)])
        assert code == grpc.StatusCode.UNAVAILABLE, which


def test_grpcs_service_over_tls_with_alpn_h2(env):
    reply = env["stub"].SayHello(pb2.HelloRequest(name="tls"), timeout=10, metadata=[("x-route", "secure")])
    assert reply.message == "Hello, tls" and reply.served_by == "tls"


def test_kongs_protocol_checks_on_grpc_routes(env):
    base = "http://127.0.0.1:%d/portico.test.Greeter/SayHello" % env["h2c"]
    # Not gRPC at all: 415 (JSON, as any error to a non-gRPC request).
    out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-w", "\n%{http_code}", base],
                         capture_output=True, text=True, timeout=30).stdout
    body, status = out.rsplit("\n", 1)
    assert status == "415" and json.loads(body)["message"] == "Non-gRPC request matched gRPC route"
    # gRPC over HTTP/1.1: 426.
    port = env["gw"].port  # the plain HTTP/1.1 listener
    out = subprocess.run(["curl", "-s", "-i", "-H", "content-type: application/grpc", "-d", "x",
                          "http://127.0.0.1:%d/portico.test.Greeter/SayHello" % port],
                         capture_output=True, text=True, timeout=30).stdout
    assert out.startswith("HTTP/1.1 426") and "Please use HTTP2 protocol" in out and "Upgrade: HTTP/2" in out
    # A grpcs-only route in plain text: grpc-status 1.
    code, details, _ = call_code(env["stub"].SayHello, pb2.HelloRequest(name="x"), timeout=10,
                                 metadata=[("x-route", "tls-only")])
    assert code == grpc.StatusCode.CANCELLED and details == "gRPC request matched gRPCs route"


def test_calls_are_multiplexed_over_few_connections(env):
    stub = env["stub"]
    with futures.ThreadPoolExecutor(max_workers=64) as pool:
        replies = list(pool.map(lambda i: stub.SayHello(pb2.HelloRequest(name="c%d" % i, delay_ms=50), timeout=30),
                                range(300)))
    assert sorted(r.message for r in replies) == sorted("Hello, c%d" % i for i in range(300))
    # One connection per worker at most (two workers), however many calls ran at once.
    out = subprocess.run(["ss", "-Htn", "state", "established", "dst", "127.0.0.1:%d" % env["backend"].port],
                         capture_output=True, text=True, timeout=10).stdout
    assert 1 <= len(out.strip().splitlines()) <= 2, out


def test_service_killed_mid_stream_then_back(tmp_path):
    port = free_port()
    backend = GrpcBackend(port, name="mortal")
    gw, _, channel, stub = grpc_gateway(tmp_path, {"_format_version": "3.0", "services": [
        {"name": "mortal", "url": "grpc://127.0.0.1:%d" % port, "retries": 0, "routes": [route("mortal")]}]})
    try:
        stream = stub.StreamHellos(pb2.HelloRequest(name="k", count=100, interval_ms=100), timeout=30)
        assert next(stream).message == "Hello #0, k"
        backend.close()  # SIGKILL: the connection to the gateway is reset mid-stream
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as failure:
            for _ in stream:
                pass
        assert failure.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE)
        assert time.monotonic() - started < 5
        # Nothing listens: a new call is UNAVAILABLE at once.
        with pytest.raises(grpc.RpcError) as failure:
            stub.SayHello(pb2.HelloRequest(name="x"), timeout=10)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        # Back on the same port: calls work again (the dead connection is not reused).
        backend = GrpcBackend(port, name="reborn")
        assert stub.SayHello(pb2.HelloRequest(name="y"), timeout=10).served_by == "reborn"
    finally:
        channel.close()
        gw.close()
        backend.close()


@pytest.mark.parametrize("service,routes,field,reason", [
    ({"url": "grpc://127.0.0.1:50051/some/path"}, [], "services[0].path", "value must be null"),
    ({"url": "grpcs://127.0.0.1:50051", "tls_verify": True}, [], "services[0].tls_verify", "value must be null"),
    ({"url": "grpc://127.0.0.1:50051"}, [{"protocols": ["grpc"], "paths": ["/a"], "strip_path": True}],
     "services[0].routes[0].strip_path", "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"),
    ({"url": "grpc://127.0.0.1:50051"}, [{"protocols": ["grpc"], "paths": ["/a"], "methods": ["POST"]}],
     "services[0].routes[0].methods", "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"),
    ({"url": "grpc://127.0.0.1:50051"}, [{"protocols": ["grpc", "http"], "paths": ["/a"]}],
     "services[0].routes[0].protocols", "these sets are mutually exclusive: ('http', 'https'), ('grpc', 'grpcs')"),
    ({"url": "http://127.0.0.1:50051", "grpc_retry_on": ["unavailable"]}, [], "services[0].grpc_retry_on",
     "only for services whose protocol is 'grpc' or 'grpcs'"),
    ({"url": "grpc://127.0.0.1:50051", "grpc_retry_on": ["aborted"]}, [], "services[0].grpc_retry_on[0]",
     "expected one of: cancelled, deadline-exceeded, internal, resource-exhausted, unavailable"),
    ({"url": "grpc://127.0.0.1:50051"}, [{"protocols": ["grpc"], "methods": []}],
     "services[0].routes[0]", "must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'"),
])
def test_kongs_grpc_entity_rules_are_enforced(tmp_path, service, routes, field, reason):
    service = dict(service, name="s", routes=routes)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"_format_version": "3.0", "services": [service]}))
    assert_check_refuses(path, field, reason)


def health_of(gw, upstream):
    import urllib.request
    with urllib.request.urlopen(gw.admin("/upstreams/%s/health" % upstream), timeout=5) as r:
        return {t["target"]: t["health"] for t in json.load(r)["data"]}


@pytest.mark.parametrize("tls", [False, True])
def test_active_health_checks_speak_grpc_health(tmp_path, tls):
    pki = make_pki(tmp_path) if tls else None
    ports = [free_port(), free_port()]
    files = [tmp_path / "a.health", tmp_path / "b.health"]
    backends = [GrpcBackend(port, name=name, health_file=f, tls=(pki["cert"], pki["key"]) if tls else None)
                for port, name, f in zip(ports, ["a", "b"], files)]
    a, b = ["127.0.0.1:%d" % p for p in ports]
    cfg = {"_format_version": "3.0",
           "upstreams": [{"name": "pool", "targets": [{"target": a}, {"target": b}], "healthchecks": {"active": {
               "type": "grpcs" if tls else "grpc", "timeout": 1, "https_verify_certificate": False,
               "healthy": {"interval": 0.2, "successes": 1},
               "unhealthy": {"interval": 0.2, "http_failures": 1, "tcp_failures": 1, "timeouts": 1}}}}],
           "services": [{"name": "pool", "host": "pool", "protocol": "grpcs" if tls else "grpc",
                         "routes": [route("pool")]}]}
    gw, _, channel, stub = grpc_gateway(tmp_path, cfg)
    served = lambda n: {stub.SayHello(pb2.HelloRequest(name="h"), timeout=10).served_by for _ in range(n)}
    try:
        assert eventually(lambda: health_of(gw, "pool") == {a: "HEALTHY", b: "HEALTHY"})
        files[1].write_text("NOT_SERVING")
        assert eventually(lambda: health_of(gw, "pool")[b] == "UNHEALTHY")
        assert served(20) == {"a"}
        files[1].write_text("SERVING")
        assert eventually(lambda: health_of(gw, "pool")[b] == "HEALTHY")
        assert eventually(lambda: served(20) == {"a", "b"})
        backends[0].close()  # a dead target: its probes fail at the connection
        assert eventually(lambda: health_of(gw, "pool")[a] == "UNHEALTHY")
        assert served(20) == {"b"}
    finally:
        channel.close()
        gw.close()
        for backend in backends:
            backend.close()


def test_unavailable_answers_are_retried_only_when_configured(tmp_path):
    ports = [free_port(), free_port()]
    backends = [GrpcBackend(ports[0], name="leaving", unavailable=True), GrpcBackend(ports[1], name="staying")]
    targets = [{"target": "127.0.0.1:%d" % p} for p in ports]
    cfg = {"_format_version": "3.0",
           "upstreams": [{"name": "pool", "targets": targets}],
           "services": [
               {"name": "retrying", "host": "pool", "protocol": "grpc", "retries": 2, "grpc_retry_on": ["unavailable"],
                "routes": [route("retrying", headers={"x-route": ["retrying"]})]},
               {"name": "plain", "host": "pool", "protocol": "grpc", "routes": [route("plain")]}]}
    gw, _, channel, stub = grpc_gateway(tmp_path, cfg)
    try:
        # Declared idempotent: every call ends on the target that answers (its body sent again).
        replies = [stub.SayHello(pb2.HelloRequest(name="r%d" % i), timeout=10, metadata=[("x-route", "retrying")])
                   for i in range(20)]
        assert [r.message for r in replies] == ["Hello, r%d" % i for i in range(20)]
        assert {r.served_by for r in replies} == {"staying"}
        # Not declared: the service's UNAVAILABLE reaches the client (round robin: half the calls).
        outcomes = []
        for _ in range(20):
            try:
                outcomes.append(stub.SayHello(pb2.HelloRequest(name="p"), timeout=10).served_by)
            except grpc.RpcError as e:
                outcomes.append((e.code(), e.details()))
        assert outcomes.count("staying") == 10
        assert outcomes.count((grpc.StatusCode.UNAVAILABLE, "leaving is going away")) == 10
    finally:
        channel.close()
        gw.close()
        for backend in backends:
            backend.close()
