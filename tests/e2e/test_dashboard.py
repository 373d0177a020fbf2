"""The dashboard (/dashboard/ on the admin listener): its files and their security headers over
plain HTTP, then the real thing in headless Chromium (Debian's chromium, driven by
tests/e2e/dashboard/drive.mjs with puppeteer-core) while the test sends traffic: the overview
shows it per route within seconds, with no console error, in light and dark, at 1280x800 and on
a phone-sized screen. Screenshots of each view are kept in build/test-artifacts/dashboard/."""
import json
import os
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, Portico, free_port, http_get, json_call, start_named_backend

CHROMIUM = "/usr/bin/chromium"
DRIVER_DIR = Path(__file__).resolve().parent / "dashboard"
ARTIFACTS = Path(os.environ.get("PORTICO_ARTIFACTS", SOURCE_DIR / "build" / "test-artifacts")) / "dashboard"
TOKEN = "a-dashboard-test-token"


def gateway_config(tmp, backend_port):
    cfg = {"_format_version": "3.0", "services": [
        {"name": "orders", "url": "http://127.0.0.1:%d" % backend_port,
         "routes": [{"name": "orders-route", "paths": ["/orders"]}]},
        {"name": "users", "url": "http://127.0.0.1:%d" % backend_port,
         "routes": [{"name": "users-route", "paths": ["/users"]}]},
        {"name": "broken", "url": "http://127.0.0.1:%d" % free_port(), "connect_timeout": 200, "retries": 0,
         "routes": [{"name": "broken-route", "paths": ["/broken"]}]},
    ]}
    path = tmp / "kong.json"
    path.write_text(json.dumps(cfg))
    return path


class Traffic:
    """Requests sent in the background until stopped: many to /orders, fewer to /users, some
    to /broken (502s) and to a path no route matches."""

    def __init__(self, gateway):
        self.gateway, self.done, self.sent = gateway, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        paths = ["/orders"] * 6 + ["/users"] * 2 + ["/broken", "/nowhere"]
        while not self.done.is_set():
            for p in paths:
                http_get(self.gateway.url(p))
                self.sent += 1
            self.done.wait(0.05)

    def stop(self):
        self.done.set()
        self.thread.join()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard")
    backend = start_named_backend("127.0.0.1", free_port(), "orders")
    config = gateway_config(tmp, backend.server_address[1])
    open_gateway = Portico(config)
    token_gateway = Portico(config, ["--admin-token", TOKEN])
    yield open_gateway, token_gateway
    open_gateway.close()
    token_gateway.close()
    backend.shutdown()


def raw(url, method="GET", headers=None, body=None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_files_are_served_with_a_policy_that_allows_this_origin_only(site):
    gw, _ = site
    status, headers, body = raw(gw.admin("/dashboard/"))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="app.js">' in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    for name, ctype in [("app.js", "text/javascript"), ("style.css", "text/css"),
                        ("vendor/uPlot.min.js", "text/javascript"), ("favicon.svg", "image/svg+xml")]:
        status, headers, body = raw(gw.admin("/dashboard/" + name))
        assert status == 200 and headers["Content-Type"].startswith(ctype) and len(body) > 100, name
    status, headers, _ = raw(gw.admin("/dashboard/favicon.svg"))
    etag = headers["ETag"]
    assert raw(gw.admin("/dashboard/favicon.svg"), headers={"If-None-Match": etag})[0] == 304
    assert raw(gw.admin("/dashboard/nothing.js"))[0] == 404
    assert raw(gw.admin("/dashboard/../status"))[0] in (400, 404)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(gw.admin("/dashboard"), timeout=10)
        assert False, "no redirect"
    except urllib.error.HTTPError as e:
        assert e.code == 301 and e.headers["Location"] == "/dashboard/"


def test_the_token_guards_the_data_not_the_files(site):
    _, gw = site
    assert raw(gw.admin("/dashboard/"))[0] == 200
    assert raw(gw.admin("/dashboard/app.js"))[0] == 200
    assert raw(gw.admin("/dashboard/api/top"))[0] == 401
    # Public means the dashboard's own files only: nothing else is reached without the token.
    assert raw(gw.admin("/dashboards"))[0] == 401
    assert raw(gw.admin("/dashboard/../services"))[0] in (400, 404)
    assert raw(gw.admin("/dashboard/api/../../services"))[0] == 401
    status, _, body = raw(gw.admin("/dashboard/api/info"), headers={"Kong-Admin-Token": TOKEN})
    info = json.loads(body)
    assert status == 200 and info["database"]["strategy"] == "off" and "-c " in info["read_only"]
    status, _, body = raw(gw.admin("/dashboard/api/traffic?seconds=0"), headers={"Kong-Admin-Token": TOKEN})
    assert status == 400 and b"between 1 and 900" in body


def test_writes_from_another_sites_page_are_refused(site):
    gw, _ = site
    form = b"name=evil&url=http://127.0.0.1:9"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}
    status, _, body = raw(gw.admin("/services"), "POST", headers, form)
    assert status == 403 and b"another site" in body
    status, _, _ = raw(gw.admin("/services"), "POST", {"Content-Type": "application/x-www-form-urlencoded",
                                                       "Sec-Fetch-Site": "cross-site"}, form)
    assert status == 403
    # Same origin (the dashboard itself) and no Origin (curl): the Admin API answers as usual
    # (here 405: this gateway is DB-less).
    same = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1:%d" % gw.admin_port}
    assert raw(gw.admin("/services"), "POST", same, form)[0] == 405
    assert json_call(gw.admin("/services"), "POST", {"name": "x", "url": "http://127.0.0.1:9"})[0] == 405


def test_a_browser_must_not_reach_a_tokenless_admin_api_by_a_name(site):
    """DNS rebinding: a site points its own name at 127.0.0.1, and its page is then "same
    origin" with the Admin API. Without a token, browsers are answered by address only."""
    gw, token_gw = site
    browser = {"Sec-Fetch-Site": "same-origin", "Host": "rebound.example:%d" % gw.admin_port}
    status, _, body = raw(gw.admin("/dashboard/api/info"), headers=browser)
    assert status == 403 and b"DNS rebinding" in body
    assert raw(gw.admin("/status"), headers={"Host": "rebound.example"})[0] == 200  # curl by a name: answered
    browser["Host"] = "localhost:%d" % gw.admin_port
    assert raw(gw.admin("/dashboard/api/info"), headers=browser)[0] == 200
    # With a token, the name is harmless (the rebound page has no token): the token decides.
    browser = {"Sec-Fetch-Site": "same-origin", "Host": "rebound.example:%d" % token_gw.admin_port}
    assert raw(token_gw.admin("/dashboard/api/info"), headers=browser)[0] == 401


def drive(scenario, admin_url, **args):
    if not os.path.exists(CHROMIUM):
        pytest.skip("%s is missing (Debian package chromium; scripts/setup-deps.sh installs it)" % CHROMIUM)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["node", str(DRIVER_DIR / "drive.mjs"), scenario, admin_url, str(ARTIFACTS), json.dumps(args)],
                          cwd=DRIVER_DIR, capture_output=True, text=True, timeout=150, start_new_session=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, "driver printed nothing: %s %s" % (proc.stdout, proc.stderr)
    report = json.loads(lines[-1])
    assert "error" not in report, report
    return report


def assert_clean(report, allowed_http=()):
    """No uncaught exception, failed request or console error; `allowed_http` lists answers the
    scenario expects ("401 http://.../dashboard/api/"), whose console lines Chromium adds too
    ("Failed to load resource: ... status of 401")."""
    assert report["page_errors"] == [], report
    assert report["failed_requests"] == [], report
    unexpected = [e for e in report["http_errors"] if not any(a in e for a in allowed_http)]
    assert unexpected == [], report
    statuses = {a.split()[0] for a in allowed_http}
    console = [e for e in report["console_errors"] if not any("status of %s" % s in e for s in statuses)]
    assert console == [], report


def test_overview_shows_the_traffic_per_route_live(site):
    gw, _ = site
    traffic = Traffic(gw)
    try:
        report = drive("overview", "http://127.0.0.1:%d" % gw.admin_port, route="orders-route")
    finally:
        traffic.stop()
    assert_clean(report)
    assert traffic.sent > 0
    assert report["top_routes"][0] == "orders-route", report
    assert set(report["top_routes"]) >= {"orders-route", "users-route", "broken-route"}, report
    assert report["error_routes"] == ["broken-route"], report
    assert float(report["rps_card"].replace(",", "")) > 0
    assert report["charts"] >= 3
    assert report["tab_order"][0] == "Skip to content"
    assert report["route_view"]["hash"] == "#/overview/route%3Aorders-route"
    assert "orders-route" in report["route_view"]["heading"]
    assert report["dark_background"] == "rgb(18, 20, 23)"
    assert report["phone_overflows"] is False
    for name in ["overview", "overview-route", "overview-dark", "overview-phone"]:
        assert (ARTIFACTS / (name + ".png")).stat().st_size > 5000, name


def test_the_dashboard_asks_for_the_admin_token_when_one_is_set(site):
    _, gw = site
    traffic = Traffic(gw)
    try:
        report = drive("overview", "http://127.0.0.1:%d" % gw.admin_port, route="orders-route", token=TOKEN)
    finally:
        traffic.stop()
    assert report["asked_for_token"] is True
    assert_clean(report, allowed_http=("401 http://127.0.0.1:%d/dashboard/api/" % gw.admin_port,))
    assert "orders-route" in report["top_routes"]


def test_entities_forms_create_a_service_and_route_that_answer(tmp_path):
    """On the embedded store: a bad value shows the Admin API's message next to its field; the
    corrected service, then a route made through the forms, answer on the proxy at once."""
    backend = start_named_backend("127.0.0.1", free_port(), "shop")
    gw = Portico(None, data_dir=tmp_path / "data")
    try:
        report = drive("entities", "http://127.0.0.1:%d" % gw.admin_port, service="web-shop", route="shop-route",
                       path="/shop", url="http://127.0.0.1:%d" % backend.server_address[1])
        assert_clean(report, allowed_http=("400 http://127.0.0.1:%d/services" % gw.admin_port,))
        assert "32767" in report["field_error"], report  # Kong's bounds for retries
        assert "(revision " in report["config_version"], report  # with a store, its revision
        assert report["focused_after_error"] == "f-retries"
        assert report["service_hash"].startswith("#/entities/services/")
        assert report["route_created"].startswith("#/entities/routes/")
        assert report["rows_after_search"] == 0 and report["rows"] == 1
        assert report["edit_prefilled"] == "2" and report["edited"] is True
        status, service = json_call(gw.admin("/services/web-shop"))
        assert status == 200 and service["retries"] == 3
        # The rate-limiting plugin made through its form (minute: 2) guards the new route.
        assert [http_get(gw.url("/shop"))[0] for _ in range(3)] == [200, 200, 429]
        status, _, body = http_get(gw.url("/shop"))
        assert status == 429
        # Deleted from its page: the route answers again.
        report = drive("remove", "http://127.0.0.1:%d" % gw.admin_port, hash=report["plugin_page"])
        assert_clean(report)
        assert report["after"] == "#/entities/plugins"
        status, _, body = http_get(gw.url("/shop"))
        assert status == 200 and json.loads(body)["backend"] == "shop"
        # The tag filter: two more services, one tagged.
        for name, tags in [("tagged", ["team-a", "public"]), ("untagged", [])]:
            assert json_call(gw.admin("/services"), "POST", {"name": name, "url": "http://127.0.0.1:9", "tags": tags})[0] == 201
        report = drive("tags", "http://127.0.0.1:%d" % gw.admin_port, tags="team-a", expect=1)
        assert_clean(report)
        assert sorted(report["all"]) == ["tagged", "untagged", "web-shop"] and report["tagged"] == ["tagged"]
    finally:
        gw.close()
        backend.shutdown()


def test_health_shows_a_killed_target_limits_and_the_cache(tmp_path):
    alive = start_named_backend("127.0.0.1", free_port(), "alive")
    doomed = start_named_backend("127.0.0.1", free_port(), "doomed")
    alive_port, doomed_port = alive.server_address[1], doomed.server_address[1]
    checks = {"active": {"http_path": "/", "healthy": {"interval": 1, "successes": 1},
                         "unhealthy": {"interval": 1, "tcp_failures": 1, "http_failures": 1, "timeouts": 1}}}
    cfg = {"_format_version": "3.0",
           "upstreams": [{"name": "shop-upstream", "healthchecks": checks,
                          "targets": [{"target": "127.0.0.1:%d" % alive_port}, {"target": "127.0.0.1:%d" % doomed_port}]}],
           "services": [
               {"name": "shop", "host": "shop-upstream", "routes": [{"name": "shop-route", "paths": ["/shop"]}],
                "plugins": [{"name": "circuit-breaker", "config": {"max_failures": 5, "open_timeout": 60}}]},
               {"name": "limited", "url": "http://127.0.0.1:%d" % alive_port,
                "routes": [{"name": "limited-route", "paths": ["/limited"],
                            "plugins": [{"name": "rate-limiting", "config": {"minute": 3}}]}]},
               {"name": "cached", "url": "http://127.0.0.1:%d" % alive_port,
                "routes": [{"name": "cached-route", "paths": ["/cached"],
                            "plugins": [{"name": "proxy-cache", "config": {"strategy": "memory",
                                                                           "content_type": ["application/json"]}}]}]}]}
    path = tmp_path / "kong.json"
    path.write_text(json.dumps(cfg))
    gw = Portico(path)
    try:
        statuses = [http_get(gw.url("/limited"))[0] for _ in range(6)]
        assert statuses.count(429) == 3, statuses
        assert [http_get(gw.url("/cached"))[1].get("X-Cache-Status") for _ in range(3)] == ["Miss", "Hit", "Hit"]
        doomed.shutdown()
        doomed.server_close()
        report = drive("health", "http://127.0.0.1:%d" % gw.admin_port, unhealthy="127.0.0.1:%d" % doomed_port,
                       limited_route="limited-route", cached_route="cached-route")
        assert_clean(report)
        assert dict(report["targets"]) == {"127.0.0.1:%d" % alive_port: "HEALTHY",
                                           "127.0.0.1:%d" % doomed_port: "UNHEALTHY"}, report
        assert report["ratelimit"][1:4] == ["3", "3", "50.0 %"], report
        assert report["cache"][1:3] == ["2", "1"] and report["cache"][4] == "66.7 %", report
        assert "closed" in report["breakers"], report
        assert "DB-less" in report["cluster"], report
        assert report["purged"] is True and report["phone_overflows"] is False
        assert http_get(gw.url("/cached"))[1].get("X-Cache-Status") == "Miss"  # the purge button emptied it
    finally:
        gw.close()
        alive.shutdown()


def test_db_less_mode_is_read_only_and_says_why(site):
    gw, _ = site
    report = drive("readonly", "http://127.0.0.1:%d" % gw.admin_port)
    assert_clean(report)
    assert "declarative file" in report["banner"] and "-c " in report["banner"]
    assert set(report["routes"]) == {"orders-route", "users-route", "broken-route"}
    assert report["new_button"] is False and report["edit_button"] is False
    status, body = json_call(gw.admin("/clustering/nodes"))
    assert status == 400 and "PostgreSQL" in body["message"]
