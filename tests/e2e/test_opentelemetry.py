"""Kong's opentelemetry plugin with a real gateway and a real instrumented service: a Node.js
backend using the official OpenTelemetry JS SDK (tests/e2e/otel_backend, pinned versions)
continues the gateway's trace from the W3C traceparent it receives; both export over OTLP/HTTP
protobuf to a test collector (otlp_collector.py, its own protobuf reader), and the tests follow
one request through both: the service's span is a child of the gateway's upstream-try span."""
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Portico, eventually, free_port, http_get as get, wait_for_port, stop
from otlp_collector import Collector

BACKEND_DIR = Path(__file__).parent / "otel_backend"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@pytest.fixture(scope="module")
def collector():
    c = Collector()
    yield c
    c.close()


@pytest.fixture(scope="module")
def node_backend(collector, tmp_path_factory):
    if not (BACKEND_DIR / "node_modules" / "@opentelemetry" / "sdk-trace-node").is_dir():
        pytest.fail("tests/e2e/otel_backend/node_modules is missing: run scripts/setup-deps.sh (npm ci)")
    port = free_port()
    log = open(tmp_path_factory.mktemp("node") / "backend.log", "w")
    proc = subprocess.Popen(["node", str(BACKEND_DIR / "server.js"), str(port), collector.url],
                            stdout=log, stderr=subprocess.STDOUT, cwd=str(BACKEND_DIR))
    wait_for_port(port, proc=proc)
    yield port
    stop(proc)
    log.close()


def otel(endpoint, **config):
    return {"name": "opentelemetry", "config": dict({"traces_endpoint": endpoint}, **config)}


def dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: connections are refused
    return port


@pytest.fixture(scope="module")
def gateway(collector, node_backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("otel")
    fast = {"queue": {"max_batch_size": 200, "max_coalescing_delay": 0.1}}
    backend = "http://127.0.0.1:%d" % node_backend
    cfg = tmp / "kong.json"
    cfg.write_text(json.dumps({
        "_format_version": "3.0",
        "services": [
            {"name": "node", "url": backend, "routes": [
                {"name": "traced", "paths": ["/traced"], "plugins": [
                    otel(collector.url, sampling_rate=1, http_response_header_for_traceid="X-Trace-Id", **fast)]},
                {"name": "half", "paths": ["/half"], "plugins": [otel(collector.url, sampling_rate=0.5, **fast)]},
                {"name": "json", "paths": ["/json"], "plugins": [
                    otel(collector.url, sampling_rate=1, headers={"Content-Type": "application/json"}, **fast)]},
                {"name": "locked", "paths": ["/locked"], "plugins": [
                    {"name": "key-auth"}, otel(collector.url, sampling_rate=1, **fast)]},
                {"name": "b3", "paths": ["/b3"], "plugins": [
                    otel(collector.url, sampling_rate=1, propagation={"extract": ["b3", "w3c"],
                                                                      "inject": ["preserve", "w3c"],
                                                                      "default_format": "w3c"}, **fast)]},
            ]},
            {"name": "flaky", "host": "flaky-upstream", "retries": 5, "routes": [
                {"name": "retried", "paths": ["/retried"], "plugins": [otel(collector.url, sampling_rate=1, **fast)]}]},
        ],
        "routes": [{"name": "composed", "paths": ["/composed"], "plugins": [
            {"name": "aggregate", "config": {"backends": [
                {"name": "first", "service": "node", "path": "/first"},
                {"name": "second", "service": "node", "path": "/second"}]}},
            otel(collector.url, sampling_rate=1, **fast)]}],
        "upstreams": [{"name": "flaky-upstream", "targets": [
            {"target": "127.0.0.1:%d" % dead_port()}, {"target": "127.0.0.1:%d" % node_backend}]}],
        "consumers": [{"username": "alice", "keyauth_credentials": [{"key": "alice-key"}]}],
    }))
    p = Portico(cfg)
    yield p
    p.close()


def by_name(spans, name):
    return [s for s in spans if s["name"] == name]


def one(spans, name):
    found = by_name(spans, name)
    assert len(found) == 1, (name, [s["name"] for s in spans])
    return found[0]


def wait_trace(collector, trace_id, names):
    """The trace's spans once every name in `names` arrived (a name may repeat)."""
    def complete():
        got = [s["name"] for s in collector.trace(trace_id)]
        return all(got.count(n) >= names.count(n) for n in set(names))
    assert eventually(complete, timeout=10), [s["name"] for s in collector.trace(trace_id)]
    return collector.trace(trace_id)


def test_service_span_is_a_child_of_the_gateways_upstream_span(gateway, collector):
    status, headers, body = get(gateway.url("/traced/orders?x=1"),
                                {"traceparent": "00-%s-%s-01" % (CALLER_TRACE, CALLER_SPAN), "tracestate": "vendor=abc"})
    assert status == 200
    # The trace id is on the answer (http_response_header_for_traceid) and went upstream, with
    # the caller's tracestate.
    assert headers["X-Trace-Id"] == CALLER_TRACE
    sent = json.loads(body)["headers"]["traceparent"]
    assert sent.startswith("00-%s-" % CALLER_TRACE) and sent.endswith("-01")
    assert json.loads(body)["headers"]["tracestate"] == "vendor=abc"

    spans = wait_trace(collector, CALLER_TRACE, ["kong", "kong.access", "kong.balancer", "backend GET"])
    root, access, attempt = one(spans, "kong"), one(spans, "kong.access"), one(spans, "kong.balancer")
    service = one(spans, "backend GET")
    # The gateway's root continues the caller's span; its children hang under it.
    assert root["parent_span_id"] == CALLER_SPAN and root["kind"] == 2
    assert access["parent_span_id"] == root["span_id"] and attempt["parent_span_id"] == root["span_id"]
    assert attempt["kind"] == 3 and attempt["status"] == 0
    # The Node SDK's span is the child of the gateway's upstream try, in the same trace.
    assert service["parent_span_id"] == attempt["span_id"] == sent.split("-")[2]
    assert service["resource"]["service.name"] == "node-backend"
    # Kong's attributes and types, Kong's scope; Portico's resource.
    a = root["attributes"]
    assert a["http.method"] == "GET" and a["http.status_code"] == 200 and isinstance(a["http.status_code"], int)
    assert a["http.url"] == "http://127.0.0.1/traced/orders?x=1" and a["http.host"] == "127.0.0.1"
    assert a["http.route"] == "/traced" and a["http.flavor"] == "1.1" and a["http.scheme"] == "http"
    assert a["net.peer.ip"] == "127.0.0.1" and a["http.client_ip"] == "127.0.0.1"
    assert a["kong.request.id"] == headers["X-Portico-Request-Id"]
    assert attempt["attributes"]["net.peer.ip"] == "127.0.0.1"
    assert attempt["attributes"]["try_count"] == 1.0 and isinstance(attempt["attributes"]["net.peer.port"], float)
    assert root["scope"] == {"name": "kong-internal", "version": "0.1.0"}
    assert root["trace_state"] == attempt["trace_state"] == "vendor=abc"
    assert root["resource"]["service.name"] == "portico" and root["resource"]["service.instance.id"]
    # Times nest: the request contains the access phase and the try.
    assert root["start"] <= access["start"] <= access["end"] <= attempt["start"] <= attempt["end"] <= root["end"]
    assert abs(root["start"] / 1e9 - time.time()) < 60


def test_a_request_without_a_trace_starts_one(gateway, collector):
    status, headers, body = get(gateway.url("/traced/new"))
    assert status == 200
    trace = headers["X-Trace-Id"]
    assert len(trace) == 32 and trace != CALLER_TRACE
    spans = wait_trace(collector, trace, ["kong", "kong.balancer", "backend GET"])
    assert one(spans, "kong")["parent_span_id"] == ""
    assert one(spans, "backend GET")["parent_span_id"] == one(spans, "kong.balancer")["span_id"]


def test_sampling_follows_kongs_ratio_on_the_trace_id(gateway, collector):
    # Kong's spec examples at rate 0.5: the first trace is sampled, the second never is.
    sampled, unsampled = "92a54b3e1a7c4f2da9e44b8a6f3e1dab", "4bf92f3577b34da6a3ce929d0e0e4736"
    for trace in (sampled, unsampled):
        status, _, body = get(gateway.url("/half"), {"traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})
        assert status == 200
        flags = json.loads(body)["headers"]["traceparent"].split("-")[3]
        assert flags == ("01" if trace == sampled else "00")
    wait_trace(collector, sampled, ["kong", "backend GET"])
    time.sleep(0.5)  # the unsampled request's spans, had any been made, would have arrived by now
    # Neither the gateway nor the service (parent-based sampling in the SDK) exported it.
    assert collector.trace(unsampled) == []
    # A caller that says "not sampled" is followed, whatever the ratio says.
    status, _, body = get(gateway.url("/traced"), {"traceparent": "00-%s-%s-00" % ("1" * 32, CALLER_SPAN)})
    assert json.loads(body)["headers"]["traceparent"].endswith("-00")
    time.sleep(0.5)
    assert collector.trace("1" * 32) == []


def test_otlp_json_when_the_headers_ask_for_it(gateway, collector):
    trace = "5" * 32
    get(gateway.url("/json"), {"traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})
    spans = wait_trace(collector, trace, ["kong", "kong.balancer", "backend GET"])
    assert one(spans, "kong")["attributes"]["http.status_code"] == 200
    with collector.lock:
        assert any(h.get("Content-Type") == "application/json" for _, h, _ in collector.posts)
        assert any(h.get("Content-Type") == "application/x-protobuf" for _, h, _ in collector.posts)


def test_b3_context_is_preserved_and_w3c_added(gateway, collector):
    trace, span = "a" * 32, "b" * 16
    status, _, body = get(gateway.url("/b3"), {"x-b3-traceid": trace, "x-b3-spanid": span, "x-b3-sampled": "1"})
    sent = json.loads(body)["headers"]
    assert sent["x-b3-traceid"] == trace and sent["x-b3-sampled"] == "1"
    assert sent["traceparent"].startswith("00-%s-%s-" % (trace, sent["x-b3-spanid"]))
    spans = wait_trace(collector, trace, ["kong", "kong.balancer", "backend GET"])
    assert one(spans, "kong")["parent_span_id"] == span
    assert one(spans, "kong.balancer")["span_id"] == sent["x-b3-spanid"]


def test_every_upstream_try_is_a_span_and_the_service_continues_the_last(gateway, collector):
    # Round robin over a dead target and the Node service: some requests fail over.
    traces = []
    for i in range(6):
        trace = "%032x" % (0xc0ffee00 + i)
        status, _, _ = get(gateway.url("/retried"), {"traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})
        assert status == 200
        traces.append(trace)
    retried = 0
    for trace in traces:
        spans = wait_trace(collector, trace, ["kong", "kong.balancer", "backend GET"])
        tries = sorted(by_name(spans, "kong.balancer"), key=lambda s: s["attributes"]["try_count"])
        *failed, last = tries
        for f in failed:
            assert f["status"] == 2 and f["attributes"]["http.status_code"] == 502, f
        assert last["status"] == 0
        assert one(spans, "backend GET")["parent_span_id"] == last["span_id"]
        retried += bool(failed)
    assert retried >= 2


def test_aggregate_backend_calls_are_spans_the_services_continue(gateway, collector):
    trace = "d" * 32
    status, _, body = get(gateway.url("/composed"), {"traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})
    assert status == 200, body
    spans = wait_trace(collector, trace, ["kong", "kong.internal.request", "kong.internal.request",
                                          "backend GET", "backend GET"])
    root = one(spans, "kong")
    calls = {s["attributes"]["http.url"].rsplit("/", 1)[1]: s for s in by_name(spans, "kong.internal.request")}
    assert set(calls) == {"first", "second"}
    for call in calls.values():
        assert call["parent_span_id"] == root["span_id"] and call["kind"] == 3
        assert call["attributes"]["http.status_code"] == 200 and call["attributes"]["http.method"] == "GET"
    services = {s["attributes"]["http.target"]: s for s in by_name(spans, "backend GET")}
    assert services["/first"]["parent_span_id"] == calls["first"]["span_id"]
    assert services["/second"]["parent_span_id"] == calls["second"]["span_id"]
    assert by_name(spans, "kong.balancer") == []  # the route has no service of its own


def test_a_request_refused_before_the_plugin_runs_is_still_traced(gateway, collector):
    trace = "e" * 32
    status, _, _ = get(gateway.url("/locked"), {"traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})
    assert status == 401
    spans = wait_trace(collector, trace, ["kong"])
    root = one(spans, "kong")
    assert root["parent_span_id"] == CALLER_SPAN and root["attributes"]["http.status_code"] == 401
    assert by_name(spans, "kong.balancer") == []


def test_a_failing_collector_gets_the_batch_again(node_backend, tmp_path):
    failing = Collector(failures=2)
    cfg = tmp_path / "kong.json"
    cfg.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "node", "url": "http://127.0.0.1:%d" % node_backend, "routes": [{"paths": ["/"]}]}],
        "plugins": [otel(failing.url, sampling_rate=1, queue={"max_coalescing_delay": 0.1, "initial_retry_delay": 0.05})]}))
    p = Portico(cfg)
    try:
        trace = "f" * 32
        assert get(p.url("/x"), {"traceparent": "00-%s-%s-01" % (trace, CALLER_SPAN)})[0] == 200
        assert eventually(lambda: len(by_name(failing.trace(trace), "kong")) == 1, timeout=10)

        def status():
            return json.loads(get(p.admin("/status"))[2])["portico"]
        # The sender counts a batch once the collector's answer is read, which can be just after
        # the collector has recorded it; the request's spans may also have gone in two batches.
        assert eventually(lambda: status()["opentelemetry_spans_sent"] >= 3, timeout=10), status()
        assert status()["opentelemetry_export_failures"] == 2
    finally:
        p.close()
        failing.close()


def test_spans_for_a_dead_collector_are_dropped_and_counted(node_backend, tmp_path):
    cfg = tmp_path / "kong.json"
    cfg.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "node", "url": "http://127.0.0.1:%d" % node_backend, "routes": [{"paths": ["/"]}]}],
        "plugins": [otel("http://127.0.0.1:%d/v1/traces" % dead_port(), sampling_rate=1,
                         queue={"max_coalescing_delay": 0.05, "initial_retry_delay": 0.05, "max_retry_time": 0.3})]}))
    p = Portico(cfg)
    try:
        started = time.monotonic()
        for i in range(5):
            assert get(p.url("/x%d" % i))[0] == 200
        assert time.monotonic() - started < 2  # the answers never wait for the exporter

        def counters():
            return json.loads(get(p.admin("/status"))[2])["portico"]
        # Three spans a request (kong, kong.access, kong.balancer), all given up on.
        assert eventually(lambda: counters()["opentelemetry_spans_dropped"] == 15, timeout=10), counters()
        assert counters()["opentelemetry_spans_sent"] == 0 and counters()["opentelemetry_export_failures"] >= 1
    finally:
        p.close()


@pytest.mark.parametrize("config, message", [
    ({}, "at least one of these fields must be non-empty: 'traces_endpoint', 'logs_endpoint'"),
    ({"traces_endpoint": "collector:4318"}, "missing host in url"),
    ({"logs_endpoint": "http://127.0.0.1:4318/v1/logs"}, "OTLP logs are not supported by Portico"),
    ({"traces_endpoint": "http://c/v1/traces", "sampling_rate": 2}, "sampling_rate"),
    ({"traces_endpoint": "http://c/v1/traces", "propagation": {"inject": ["zipkin"], "default_format": "w3c"}},
     "expected one of"),
    ({"traces_endpoint": "http://c/v1/traces", "header_type": "instana"}, "instana format is not supported"),
])
def test_a_bad_config_is_refused_naming_the_field(tmp_path, config, message):
    cfg = tmp_path / "kong.yml"
    cfg.write_text("_format_version: '3.0'\nplugins:\n- name: opentelemetry\n  config: %s\n" % json.dumps(config))
    out = subprocess.run([os.environ.get("PORTICO_BIN", "build/test/portico"), "check", "-c", str(cfg)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert message in out.stdout + out.stderr, out.stdout + out.stderr
