"""The prometheus plugin and GET /metrics, with a real gateway, real HTTP clients, Debian's
promtool checking the exposition and a real Prometheus 2.42 server scraping the gateway and
answering PromQL over its HTTP API."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from conftest import http_get as get, Portico, eventually, free_port, stop, wait_for_port
from recording_backend import RecordingBackend

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
KONG_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000]
UPSTREAM_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000]


def kong_config(backend_port):
    return {
        "_format_version": "3.0",
        "services": [
            {"name": "users-svc", "url": "http://127.0.0.1:%d" % backend_port,
             "routes": [{"name": "users", "paths": ["/users"]}]},
            {"name": "orders-svc", "url": "http://127.0.0.1:%d" % backend_port,
             "routes": [{"name": "orders", "paths": ["/orders"],
                         "plugins": [{"name": "key-auth"}]}]},
        ],
        "upstreams": [{"name": "pool", "targets": [{"target": "127.0.0.1:%d" % backend_port}]}],
        "consumers": [{"username": "alice", "keyauth_credentials": [{"key": "alice-key"}]}],
        "plugins": [{"name": "prometheus", "config": {
            "per_consumer": True, "status_code_metrics": True, "latency_metrics": True,
            "bandwidth_metrics": True, "upstream_health_metrics": True}}],
    }


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(all_samples, name, **labels):
    want = set(labels.items())
    found = [v for (n, ls), v in all_samples.items() if n == name and want <= set(ls)]
    assert len(found) == 1, (name, labels, found)
    return found[0]


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    """One gateway (2 workers, so series from both shards are merged) and known traffic."""
    tmp = tmp_path_factory.mktemp("prometheus")
    backend = RecordingBackend()
    cfg = tmp / "kong.json"
    cfg.write_text(json.dumps(kong_config(backend.port)))
    status_port = free_port()
    p = Portico(cfg, ["--status-listen", "127.0.0.1:%d" % status_port, "--admin-token", "s3cret"])
    p.status_port = status_port
    for _ in range(7):
        assert get(p.url("/users"))[0] == 200
    for _ in range(3):
        assert get(p.url("/orders"), {"apikey": "alice-key"})[0] == 200
    for _ in range(2):
        assert get(p.url("/orders"))[0] == 401
    assert get(p.url("/nowhere"))[0] == 404  # no route: not recorded (Kong's rule)
    yield p
    p.close()
    backend.close()


def scrape(p):
    status, headers, body = get(p.admin("/metrics"), {"Kong-Admin-Token": "s3cret"})
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return body.decode()


def test_requests_per_route_code_source_and_consumer(traffic):
    s = samples(scrape(traffic))
    assert value(s, "kong_http_requests_total", route="users", code="200", source="service",
                 service="users-svc", workspace="default", consumer="") == 7
    assert value(s, "kong_http_requests_total", route="orders", code="200", source="service", consumer="alice") == 3
    assert value(s, "kong_http_requests_total", route="orders", code="401", source="kong", consumer="") == 2
    assert not [k for k in s if k[0] == "kong_http_requests_total" and ("code", "404") in k[1]]


def test_latency_histograms_have_kongs_buckets_and_counts(traffic):
    text = scrape(traffic)
    s = samples(text)
    for name, bounds in (("kong_request_latency_ms", UPSTREAM_BUCKETS), ("kong_upstream_latency_ms", UPSTREAM_BUCKETS),
                         ("kong_kong_latency_ms", KONG_BUCKETS)):
        les = re.findall(r'^%s_bucket\{service="users-svc",route="users",workspace="default",le="([^"]+)"\}' % name,
                         text, re.M)
        assert les == [str(b) for b in bounds] + ["+Inf"], (name, les)
        cumulative = [value(s, name + "_bucket", route="users", le=le) for le in les]
        assert cumulative == sorted(cumulative)
        assert cumulative[-1] == value(s, name + "_count", route="users") == 7
        assert value(s, name + "_sum", route="users") >= 0
    # The 401s never reached a service: a request latency and Kong's, no upstream latency.
    assert value(s, "kong_request_latency_ms_count", route="orders") == 5
    assert value(s, "kong_upstream_latency_ms_count", route="orders") == 3


def test_bandwidth_counts_both_directions(traffic):
    s = samples(scrape(traffic))
    egress = value(s, "kong_bandwidth_bytes", route="users", direction="egress", consumer="")
    ingress = value(s, "kong_bandwidth_bytes", route="users", direction="ingress", consumer="")
    body = len(json.dumps({"ok": True}))
    assert egress >= 7 * (body + len("HTTP/1.1 200 OK\r\n\r\n"))
    assert ingress >= 7 * len("GET /users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")


def test_node_metrics_and_portico_counters(traffic):
    s = samples(scrape(traffic))
    assert value(s, "kong_datastore_reachable") == 1
    assert value(s, "kong_nginx_connections_total", state="accepted") >= 13
    assert value(s, "kong_nginx_requests_total") >= 13
    assert value(s, "kong_node_info") == 1
    assert value(s, "kong_upstream_target_health", upstream="pool", state="healthchecks_off") == 1
    assert value(s, "kong_upstream_target_health", upstream="pool", state="healthy") == 0
    assert value(s, "portico_responses_4xx_total") >= 3
    assert value(s, "portico_config_activations_total") >= 1
    assert value(s, "portico_metrics_series_overflow_total") == 0


# Kong's own names break promtool's naming lint (a counter without _total, gauges with it,
# "ms" units); they are kept as Kong publishes them, or its Grafana dashboard would not work.
KONG_NAMES_PROMTOOL_LINTS = {"kong_bandwidth_bytes", "kong_kong_latency_ms", "kong_request_latency_ms",
                             "kong_upstream_latency_ms", "kong_nginx_connections_total", "kong_nginx_requests_total"}


def test_promtool_accepts_the_exposition(traffic):
    out = subprocess.run([PROMTOOL, "check", "metrics"], input=scrape(traffic), capture_output=True, text=True,
                         timeout=30)
    # 0: clean; 3: lint remarks only (1 would be an exposition promtool cannot parse).
    assert out.returncode in (0, 3), out.stdout + out.stderr
    remarks = [l for l in (out.stdout + out.stderr).splitlines() if l.strip()]
    assert {r.split(" ")[0] for r in remarks} <= KONG_NAMES_PROMTOOL_LINTS, remarks


def test_status_listener_serves_metrics_and_readiness_only(traffic):
    base = "http://127.0.0.1:%d" % traffic.status_port
    status, headers, body = get(base + "/metrics")  # no admin token on the status API (Kong's)
    assert status == 200 and b"kong_http_requests_total" in body
    assert get(base + "/status")[0] == 200
    status, _, body = get(base + "/status/ready")
    assert status == 200 and json.loads(body) == {"message": "ready"}
    assert get(base + "/services")[0] == 404
    assert get(base + "/config")[0] == 404
    assert get(traffic.admin("/metrics"))[0] == 401  # the admin listener keeps its token


def test_series_cap_drops_and_counts(tmp_path):
    backend = RecordingBackend()
    cfg = tmp_path / "kong.json"
    cfg.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "s", "url": "http://127.0.0.1:%d" % backend.port,
         "routes": [{"name": "r%d" % i, "paths": ["/r%d" % i]} for i in range(5)]}],
        "plugins": [{"name": "prometheus", "config": {"status_code_metrics": True}}]}))
    p = Portico(cfg, ["--metrics-max-series", "2", "--workers", "1"])
    try:
        for i in range(5):
            assert get(p.url("/r%d" % i))[0] == 200
        # (a request is counted in its log phase, just after its answer went out: the last one
        # may not be counted yet when the client has its answer)
        def metrics():
            return samples(get(p.admin("/metrics"))[2].decode())
        assert eventually(lambda: value(metrics(), "portico_metrics_series_overflow_total") == 3)
        routes = {dict(ls)["route"] for (n, ls) in metrics() if n == "kong_http_requests_total"}
        assert routes == {"r0", "r1"}
    finally:
        p.close()
        backend.close()


@pytest.fixture(scope="module")
def prometheus(traffic, tmp_path_factory):
    """A real Prometheus scraping the gateway's status listener every second; yields a
    function that runs a PromQL query and returns its result list (None on an error)."""
    tmp = tmp_path_factory.mktemp("prometheus-server")
    port = free_port()
    (tmp / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: portico\n"
        "    metrics_path: /metrics\n"
        "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % traffic.status_port)
    proc = subprocess.Popen([PROMETHEUS, "--config.file=%s" % (tmp / "prometheus.yml"),
                             "--storage.tsdb.path=%s" % (tmp / "data"),
                             "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "prometheus.log", "w"))

    def query(promql):
        status, _, body = get("http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(promql)))
        return json.loads(body)["data"]["result"] if status == 200 else None

    try:
        wait_for_port(port, proc=proc, timeout=60)
        yield query
    finally:
        stop(proc)


def test_a_real_prometheus_scrapes_the_traffic_per_route(prometheus):
    def per_route():
        result = prometheus('sum by (route) (kong_http_requests_total{job="portico"})')
        return None if result is None else {r["metric"]["route"]: float(r["value"][1]) for r in result}

    assert eventually(lambda: per_route() == {"users": 7.0, "orders": 5.0}, timeout=30), per_route()
    assert prometheus('up{job="portico"}')[0]["value"][1] == "1"


# The queries of Kong's official Grafana dashboard (kong-official.json, Kong 3.x), with its
# variables ($instance, $service, $route, $upstream) at "All" (.*): each must find series, so
# every panel has data. Left out: the panels on kong_memory_lua_shared_dict_* and
# kong_memory_workers_lua_vms_bytes (OpenResty's memory, which Portico does not have).
ALL = {"$instance": ".*", "$service": ".*", "$route": ".*", "$upstream": ".*"}
DASHBOARD_QUERIES = [
    # variables
    'count by (service) ({__name__=~"kong_http_requests_total|kong_kong_latency_ms_bucket"})',
    'count by (route) ({__name__=~"kong_http_requests_total|kong_kong_latency_ms_bucket"})',
    'count by (instance) (kong_nginx_connections_total)',
    'count by (upstream) (kong_upstream_target_health)',
    # connections
    'sum(kong_nginx_connections_total{state=~"active|reading|writing|waiting", instance=~"$instance"}) by (state)',
    'sum(kong_nginx_connections_total{state="total", instance=~"$instance"})',
    'sum(kong_nginx_connections_total{state="handled", instance=~"$instance"})',
    'sum(kong_nginx_connections_total{state="accepted", instance=~"$instance"})',
    # request rate
    'sum(rate(kong_http_requests_total{instance=~"$instance"}[1m]))',
    'sum(rate(kong_http_requests_total{service=~"$service", route=~"$route", instance=~"$instance"}[1m])) by (service)',
    'sum(rate(kong_http_requests_total{service=~"$service", route=~"$route", instance=~"$instance"}[1m])) by (route,code)',
] + [
    # latencies: all, per service, per route, for each of the three histograms
    'histogram_quantile(0.99, sum(rate(%s_bucket{%s}[1m])) by (%s))' % (family, selector, by)
    for family in ("kong_kong_latency_ms", "kong_request_latency_ms", "kong_upstream_latency_ms")
    for selector, by in (('instance=~"$instance"', "le"),
                         ('service=~"$service",route=~"$route",instance=~"$instance"', "service,le"),
                         ('service=~"$service",route=~"$route",instance=~"$instance"', "route,le"))
] + [
    # bandwidth
    'sum(irate(kong_bandwidth_bytes{instance=~"$instance"}[1m])) by (type)',
    'sum(irate(kong_bandwidth_bytes{direction="egress", service=~"$service",route=~"$route",instance=~"$instance"}[1m])) by (route)',
    'sum(irate(kong_bandwidth_bytes{direction="ingress", service=~"$service"}[1m])) by (service)',
    # upstream health: the heatmap and the state table
    'sum(kong_upstream_target_health{state="healthy",upstream=~"$upstream"}) by (upstream,target,address) * -1'
    ' + sum(kong_upstream_target_health{state=~"(unhealthy|dns_error)",upstream=~"$upstream"}) by (upstream,target,address)',
    'sum(label_replace(label_replace(label_replace(kong_upstream_target_health{upstream=~"$upstream"},'
    ' "state_value", "1", "state", "healthy"), "state_value", "0", "state", "healthchecks_off"),'
    ' "state_value", "-1", "state", "(dns_error|unhealthy)")) by (upstream, target, address, state, state_value) > 0',
]


def test_kongs_grafana_dashboard_queries_find_the_gateways_series(prometheus):
    def resolve(q):
        for variable, value in ALL.items():
            q = q.replace(variable, value)
        return q

    def without_series():
        return [q for q in DASHBOARD_QUERIES if not prometheus(resolve(q))]

    # rate() and irate() need two scrapes in their window: a few seconds after the first.
    eventually(lambda: not without_series(), timeout=30)
    assert without_series() == []
    services = {r["metric"]["service"] for r in prometheus(resolve(DASHBOARD_QUERIES[0]))}
    assert {"users-svc", "orders-svc"} <= services


def test_portico_families_of_rate_limiting_cache_and_breakers(tmp_path):
    backend = RecordingBackend()
    dead = free_port()
    cfg = tmp_path / "kong.json"
    cfg.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
            {"name": "limited", "paths": ["/limited"],
             "plugins": [{"name": "rate-limiting", "config": {"minute": 2, "policy": "local"}}]},
            {"name": "cached", "paths": ["/cached"],
             "plugins": [{"name": "proxy-cache", "config": {"strategy": "memory", "content_type": ["application/json"]}}]}]},
        {"name": "flaky", "url": "http://127.0.0.1:%d" % dead, "retries": 0,
         "routes": [{"name": "flaky", "paths": ["/flaky"]}],
         "plugins": [{"name": "circuit-breaker", "config": {"max_failures": 2, "open_timeout": 60}}]}]}))
    p = Portico(cfg, ["--workers", "1"])
    try:
        assert [get(p.url("/limited"))[0] for _ in range(3)] == [200, 200, 429]
        assert [get(p.url("/cached"))[1].get("X-Cache-Status") for _ in range(2)] == ["Miss", "Hit"]
        assert [get(p.url("/flaky"))[0] for _ in range(3)] == [502, 502, 503]  # the third: breaker open
        s = samples(get(p.admin("/metrics"))[2].decode())
        assert value(s, "portico_rate_limiting_decisions_total", route="limited", decision="allowed") == 2
        assert value(s, "portico_rate_limiting_decisions_total", route="limited", decision="limited") == 1
        assert value(s, "portico_proxy_cache_responses_total", route="cached", cache_status="Miss") == 1
        assert value(s, "portico_proxy_cache_responses_total", route="cached", cache_status="Hit") == 1
        assert value(s, "portico_circuit_breaker_state", scope="service 'flaky'", state="open") == 1
        assert value(s, "portico_circuit_breaker_state", scope="service 'flaky'", state="closed") == 0
        assert value(s, "portico_circuit_opened_total") == 1
    finally:
        p.close()
        backend.close()
