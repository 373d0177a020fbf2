"""The proxy-cache plugin through a running gateway (2 workers, memory strategy).

One gateway and one recording backend (plus a second, stoppable one for stale-if-error) serve
the whole module. The backend's behaviour is chosen by a path segment (`/rules/cookie` answers
with Set-Cookie, `/cc/fresh` with `Cache-Control: max-age=60`...; anything else is a plain JSON
answer) and it counts the requests it receives per path, so every test can tell whether an
answer came from the cache (the backend saw nothing) or from upstream. Each answer body holds a
per-request serial number: a Hit repeats the first body, a Miss has a new one.

Covered: Miss / Hit / expiry; the cache key (query order, vary_query_params, vary_headers,
ignore_uri_case, consumers); what is never stored; the client's Cache-Control; HEAD and
conditional requests from the cache; the response's Vary; coalescing of concurrent misses;
stale-if-error and stale-while-revalidate; the Admin API's purges; the store's memory bound.
"""
import http.client
import itertools
import json
import re
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from conftest import Portico
from tracking_server import TrackingServer

MAX_BODY = 1024          # max_body_size of the /rules route
SLOW_SECONDS = 0.5       # how long the backend's /slow answers take
LAST_MODIFIED = "Tue, 01 Dec 2026 10:00:00 GMT"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# --- the backend -----------------------------------------------------------------------------

class Backend:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose answer depends on the path's segments
    (see `answer`). Counts requests per path (without the query); `fail` makes /flaky answer
    503. close() also cuts the keep-alive connections the gateway holds to it."""

    KINDS = {"cookie", "vary-star", "no-store", "private", "public", "fresh", "partial", "big",
             "big-chunked", "cut", "etag", "vary-lang", "slow", "flaky", "kib", "revalidate"}

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = Counter()
        self.headers = {}  # path -> the headers of its last request
        self.serial = itertools.count(1)
        self.fail = threading.Event()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the head and the body are two writes

            def log_message(self, *args):
                pass

            def do_GET(self):
                backend.answer(self)

            do_HEAD = do_GET

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                backend.answer(self)

        self.server = TrackingServer(Handler)
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, path):
        with self.lock:
            return self.counts[path]

    def answer(self, h):
        path, _, query = h.path.partition("?")
        with self.lock:
            self.counts[path] += 1
            self.headers[path] = {k.lower(): v for k, v in h.headers.items()}
            n = next(self.serial)
        segments = [s.lower() for s in path.split("/")]
        kind = next((s for s in segments if s in self.KINDS), "plain")
        if kind == "slow":
            time.sleep(SLOW_SECONDS)
        status, headers = 200, {"Content-Type": "application/json"}
        fields = {"path": path, "query": query, "n": n,
                  "consumer": h.headers.get("X-Consumer-Username"),
                  "lang": h.headers.get("Accept-Language")}
        if kind == "cookie":
            headers["Set-Cookie"] = "session=%d" % n
        elif kind == "vary-star":
            headers["Vary"] = "*"
        elif kind == "no-store":
            headers["Cache-Control"] = "no-store"
        elif kind == "private":
            headers["Cache-Control"] = "private, max-age=60"
        elif kind == "public":
            headers["Cache-Control"] = "public, max-age=60"
        elif kind == "fresh":
            headers["Cache-Control"] = "max-age=60"
        elif kind == "revalidate":
            headers["Cache-Control"] = "max-age=1, must-revalidate"
        elif kind == "partial":
            status = 206
        elif kind in ("big", "big-chunked"):
            fields["pad"] = "b" * (4 * MAX_BODY)
        elif kind == "kib":
            fields["pad"] = "k" * 1000
        elif kind == "etag":
            headers["ETag"] = '"v1"'
            headers["Last-Modified"] = LAST_MODIFIED
        elif kind == "vary-lang":
            headers["Vary"] = "Accept-Language"
        elif kind == "flaky" and self.fail.is_set():
            status = 503
        body = json.dumps(fields).encode()
        if kind == "partial":
            headers["Content-Range"] = "bytes 0-%d/%d" % (len(body) - 1, len(body) * 2)
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        if kind == "big-chunked":
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            if h.command != "HEAD":
                for i in range(0, len(body), 500):
                    piece = body[i:i + 500]
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                h.wfile.write(b"0\r\n\r\n")
            return
        if kind == "cut":  # promises more than it sends, then closes
            h.send_header("Content-Length", str(len(body) + 1000))
            h.end_headers()
            h.wfile.write(body)
            h.wfile.flush()
            h.close_connection = True
            return
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def close(self):
        self.server.close()


# --- the gateway's configuration ---------------------------------------------------------------

def route(name, paths, plugins=None, **cache):
    """A route (strip_path false) with a proxy-cache entry built from `cache` over the defaults."""
    config = {"strategy": "memory", "content_type": ["application/json"], "response_code": [200]}
    config.update(cache)
    entries = list(plugins or []) + [{"name": "proxy-cache", "config": config}]
    lines = ["  - name: %s" % name, "    paths: %s" % json.dumps(paths), "    strip_path: false",
             "    plugins:"]
    lines += ["    - %s" % json.dumps(e) for e in entries]
    return "\n".join(lines)


def kong_yml(port, port2):
    routes = [
        route("basic", ["/plain"]),
        route("short", ["/short"], cache_ttl=1),
        route("vary-query", ["/vq"], vary_query_params=["a"]),
        route("vary-headers", ["/vh"], vary_headers=["X-Tenant"]),
        route("ignore-case", ["/ci/plain", "/ci/Plain"], ignore_uri_case=True),
        route("keep-case", ["/cs/plain", "/cs/Plain"]),
        route("members", ["/members"], plugins=[{"name": "key-auth"}]),
        route("rules", ["/rules"], response_code=[200, 206], max_body_size=MAX_BODY),
        route("cache-control", ["/cc"], cache_control=True),
        route("coalesce", ["/coalesce"], coalesce_timeout=5000),
        route("stale-if-error", ["/sie"], cache_ttl=1, stale_if_error=30),
        route("swr", ["/swr"], cache_ttl=1, stale_while_revalidate=30),
        route("products", ["/products"]),
        route("quiet", ["/quiet"], response_headers={"age": False, "X-Cache-Status": False, "X-Cache-Key": False}),
        route("post", ["/post"], request_method=["GET", "POST"]),
        route("small", ["/small"], memory={"dictionary_name": "small", "max_bytes": 262144}),
    ]
    return "\n".join([
        '_format_version: "3.0"',
        "services:",
        "- name: main",
        "  url: http://127.0.0.1:%d" % port,
        "  routes:",
        *routes,
        "- name: doomed",  # its backend is stopped by a test
        "  url: http://127.0.0.1:%d" % port2,
        "  routes:",
        route("stale-if-down", ["/sie-down"], cache_ttl=1, stale_if_error=30),
        "consumers:",
        "- username: alice",
        "  keyauth_credentials:",
        "  - key: alice-key",
        "- username: bob",
        "  keyauth_credentials:",
        "  - key: bob-key",
        "",
    ])


@pytest.fixture(scope="module")
def backend():
    b = Backend()
    yield b
    b.close()


@pytest.fixture(scope="module")
def backend2():
    b = Backend()
    yield b
    b.close()


@pytest.fixture(scope="module")
def gw(tmp_path_factory, backend, backend2):
    cfg = tmp_path_factory.mktemp("proxy-cache") / "kong.yml"
    cfg.write_text(kong_yml(backend.port, backend2.port))
    gateway = Portico(cfg)
    yield gateway
    gateway.close()


# --- clients -----------------------------------------------------------------------------------

class Answer:
    def __init__(self, status, headers, body, complete=True, seconds=0.0):
        self.status, self.headers, self.body, self.complete, self.seconds = status, headers, body, complete, seconds
        self.finished = time.monotonic()
        self.cache = headers.get("X-Cache-Status")
        self.key = headers.get("X-Cache-Key")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Answer(%d, %s, %r%s)" % (self.status, dict(self.headers), self.body[:300],
                                         "" if self.complete else ", cut short")


def fetch(gw, path, method="GET", headers=None, port=None, conn=None):
    """One request to the proxy (or `port`); a body cut short is returned with complete=False."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port or gw.port, timeout=20)
    started = time.monotonic()
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        complete = True
        try:
            body = r.read()
        except http.client.IncompleteRead as e:
            body, complete = e.partial, False
        return Answer(r.status, r.headers, body, complete, time.monotonic() - started)
    finally:
        if own:
            conn.close()


def admin(gw, method, path):
    """(status, JSON body or None) of an Admin API call."""
    a = fetch(gw, path, method=method, port=gw.admin_port)
    return a.status, (json.loads(a.body) if a.body.strip() else None)


def twice(gw, path, headers=None):
    return fetch(gw, path, headers=headers), fetch(gw, path, headers=headers)


def concurrently(n, fn):
    """fn(i) for i in range(n), all released at once from n threads; the results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


# --- 1. Miss, Hit, expiry ----------------------------------------------------------------------

def test_miss_then_hit(gw, backend):
    first, second = twice(gw, "/plain/one")
    assert (first.status, first.cache) == (200, "Miss"), first
    assert (second.status, second.cache) == (200, "Hit"), second
    assert HEX64.match(first.key or ""), first
    assert second.key == first.key
    assert second.headers.get("Age") is not None and int(second.headers["Age"]) >= 0, second
    assert second.body == first.body
    assert second.headers["Content-Type"] == "application/json"
    assert backend.count("/plain/one") == 1


def test_diagnostic_headers_turned_off_unless_kong_debug(gw, backend):
    first, second = twice(gw, "/quiet/plain")
    assert backend.count("/quiet/plain") == 1 and second.body == first.body  # still cached
    for answer in (first, second):
        assert not {"Age", "X-Cache-Status", "X-Cache-Key"} & set(answer.headers.keys()), answer
    debug = fetch(gw, "/quiet/plain", headers={"Kong-Debug": "1"})
    assert debug.cache == "Hit" and HEX64.match(debug.key or "") and debug.headers.get("Age") is not None, debug


def test_entry_expires_after_cache_ttl(gw, backend):
    first, second = twice(gw, "/short/x")
    assert (first.cache, second.cache) == ("Miss", "Hit"), (first, second)
    time.sleep(2.1)
    third = fetch(gw, "/short/x")
    assert third.cache == "Miss", third
    assert third.json()["n"] != first.json()["n"]
    assert backend.count("/short/x") == 2


# --- 2. The key --------------------------------------------------------------------------------

def test_query_order_does_not_matter_but_values_do(gw, backend):
    first = fetch(gw, "/plain/q?a=1&b=2")
    reordered = fetch(gw, "/plain/q?b=2&a=1")
    assert first.cache == "Miss" and reordered.cache == "Hit", (first, reordered)
    assert reordered.key == first.key and reordered.body == first.body
    other = fetch(gw, "/plain/q?a=1&b=3")
    assert other.cache == "Miss" and other.key != first.key, other
    assert backend.count("/plain/q") == 2


def test_an_encoded_query_cannot_take_another_querys_entry(gw, backend):
    # Decoded, `?id%3D42` is an argument named "id=42": it must not fill the entry of `?id=42`.
    poison = fetch(gw, "/plain/poison?id%3D42")
    assert poison.cache == "Miss", poison
    real = fetch(gw, "/plain/poison?id=42")
    assert real.cache == "Miss" and real.key != poison.key, real
    assert json.loads(real.body)["query"] == "id=42"


def test_vary_query_params_ignores_other_arguments(gw, backend):
    first = fetch(gw, "/vq/x?a=1")
    extra = fetch(gw, "/vq/x?a=1&b=7")
    assert first.cache == "Miss" and extra.cache == "Hit", (first, extra)
    assert extra.body == first.body
    assert fetch(gw, "/vq/x?a=2").cache == "Miss"
    assert backend.count("/vq/x") == 2


def test_vary_headers_separates_tenants(gw, backend):
    a1 = fetch(gw, "/vh/x", headers={"X-Tenant": "a"})
    b1 = fetch(gw, "/vh/x", headers={"X-Tenant": "b"})
    a2 = fetch(gw, "/vh/x", headers={"X-Tenant": "a"})
    b2 = fetch(gw, "/vh/x", headers={"X-Tenant": "b"})
    assert [a.cache for a in (a1, b1, a2, b2)] == ["Miss", "Miss", "Hit", "Hit"], (a1, b1, a2, b2)
    assert a1.key != b1.key
    assert a2.body == a1.body and b2.body == b1.body and a1.body != b1.body
    assert backend.count("/vh/x") == 2


def test_ignore_uri_case_shares_an_entry(gw, backend):
    upper = fetch(gw, "/ci/Plain/X")
    lower = fetch(gw, "/ci/plain/x")
    assert upper.cache == "Miss" and lower.cache == "Hit", (upper, lower)
    assert lower.key == upper.key and lower.body == upper.body
    assert backend.count("/ci/Plain/X") + backend.count("/ci/plain/x") == 1


def test_without_ignore_uri_case_the_case_matters(gw, backend):
    upper = fetch(gw, "/cs/Plain/X")
    lower = fetch(gw, "/cs/plain/x")
    assert upper.cache == "Miss" and lower.cache == "Miss", (upper, lower)
    assert lower.key != upper.key
    assert backend.count("/cs/Plain/X") == 1 and backend.count("/cs/plain/x") == 1


def test_consumers_never_share_an_entry(gw, backend):
    alice1 = fetch(gw, "/members/x", headers={"apikey": "alice-key"})
    alice2 = fetch(gw, "/members/x", headers={"apikey": "alice-key"})
    bob = fetch(gw, "/members/x", headers={"apikey": "bob-key"})
    assert alice1.status == alice2.status == bob.status == 200, (alice1, alice2, bob)
    assert (alice1.cache, alice2.cache) == ("Miss", "Hit"), (alice1, alice2)
    assert alice1.json()["consumer"] == "alice" and alice2.json()["consumer"] == "alice"
    assert bob.cache != "Hit" and bob.json()["consumer"] == "bob", bob
    assert bob.key != alice1.key
    assert fetch(gw, "/members/x", headers={"apikey": "bob-key"}).json()["consumer"] == "bob"
    # Unauthenticated: key-auth's 401, never a cached answer.
    anonymous = fetch(gw, "/members/x")
    assert anonymous.status == 401 and anonymous.cache is None, anonymous
    assert backend.count("/members/x") == 2


# --- 3. Never stored ---------------------------------------------------------------------------

NOT_STORED_AT_THE_HEAD = [
    ("/rules/cookie", {}),
    ("/rules/vary-star", {}),
    ("/rules/no-store", {}),                               # cache_control: false
    ("/cc/no-store", {}),                                  # cache_control: true
    ("/cc/private", {}),
    ("/rules/private", {}),                                # private: never, even with cache_control false
    ("/rules/plain/authz", {"Authorization": "Bearer t"}),
    ("/rules/partial", {}),                                # response_code includes 206
    ("/rules/big", {}),                                    # Content-Length > max_body_size
]


@pytest.mark.parametrize("path,headers", NOT_STORED_AT_THE_HEAD, ids=[p for p, _ in NOT_STORED_AT_THE_HEAD])
def test_never_stored_and_bypassed(gw, backend, path, headers):
    first, second = twice(gw, path, headers)
    assert first.status == second.status, (first, second)
    assert first.cache == "Bypass" and second.cache == "Bypass", (first, second)
    assert second.body != first.body  # a new answer from upstream
    assert backend.count(path) == 2


def test_a_request_with_a_body_is_neither_answered_nor_stored(gw, backend):
    # The key does not cover the body: a POST with one never shares an entry.
    first = fetch(gw, "/post/plain/search", method="POST", headers={"Content-Length": "0"})
    assert first.cache == "Miss", first  # without a body, a POST is cacheable here
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    conn.request("POST", "/post/plain/search", body=b'{"q":"alice-private"}', headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200 and r.headers["X-Cache-Status"] == "Bypass", (r.status, dict(r.headers))
    assert body != first.body
    conn.close()
    assert backend.count("/post/plain/search") == 2


def test_the_rules_route_stores_an_ordinary_answer(gw, backend):
    # The control for the cases above: what bypasses there is the rule, not the route.
    first, second = twice(gw, "/rules/plain/control")
    assert (first.cache, second.cache) == ("Miss", "Hit"), (first, second)
    assert backend.count("/rules/plain/control") == 1


def test_authorization_with_public_response_is_stored(gw, backend):
    first, second = twice(gw, "/rules/public", {"Authorization": "Bearer t"})
    assert (first.cache, second.cache) == ("Miss", "Hit"), (first, second)
    assert second.body == first.body
    assert backend.count("/rules/public") == 1


def test_chunked_body_over_max_body_size_is_not_stored(gw, backend):
    first, second = twice(gw, "/rules/big-chunked")
    assert first.status == 200 and first.complete and len(first.body) > MAX_BODY, first
    assert second.cache != "Hit" and second.body != first.body, second
    assert backend.count("/rules/big-chunked") == 2


def test_body_cut_short_is_not_stored(gw, backend):
    first = fetch(gw, "/rules/cut")
    assert not first.complete, first  # the client sees the cut too
    second = fetch(gw, "/rules/cut")
    assert second.cache != "Hit", second
    assert backend.count("/rules/cut") == 2


# --- 4. The client's Cache-Control (cache_control: true) ----------------------------------------

def test_request_no_cache_refreshes_and_stores(gw, backend):
    first = fetch(gw, "/cc/fresh/nc")
    assert first.cache == "Miss", first
    refreshed = fetch(gw, "/cc/fresh/nc", headers={"Cache-Control": "no-cache"})
    assert refreshed.cache == "Refresh", refreshed
    assert refreshed.json()["n"] != first.json()["n"]
    after = fetch(gw, "/cc/fresh/nc")
    assert after.cache == "Hit" and after.body == refreshed.body, after
    assert backend.count("/cc/fresh/nc") == 2


def test_request_no_store_bypasses_and_stores_nothing(gw, backend):
    first = fetch(gw, "/cc/fresh/ns", headers={"Cache-Control": "no-store"})
    assert first.status == 200 and first.cache == "Bypass", first
    second = fetch(gw, "/cc/fresh/ns")
    assert second.cache == "Miss", second
    assert backend.count("/cc/fresh/ns") == 2


def test_only_if_cached_on_an_uncached_path_is_504(gw, backend):
    a = fetch(gw, "/cc/fresh/oic", headers={"Cache-Control": "only-if-cached"})
    assert a.status == 504, a
    assert backend.count("/cc/fresh/oic") == 0


# --- 5, 6, 7. HEAD, conditional requests, Vary -------------------------------------------------

def test_head_is_answered_from_the_get_entry(gw, backend):
    get = fetch(gw, "/plain/head")
    head = fetch(gw, "/plain/head", method="HEAD")
    assert head.status == 200 and head.cache == "Hit", head
    assert head.body == b""
    assert head.headers.get("Content-Length") == str(len(get.body)), head
    assert backend.count("/plain/head") == 1


def test_if_none_match_and_if_modified_since_from_the_cache(gw, backend):
    first = fetch(gw, "/plain/etag")
    assert first.status == 200 and first.headers.get("ETag") == '"v1"', first
    match = fetch(gw, "/plain/etag", headers={"If-None-Match": '"v1"'})
    assert match.status == 304 and match.body == b"" and match.cache == "Hit", match
    other = fetch(gw, "/plain/etag", headers={"If-None-Match": '"other"'})
    assert other.status == 200 and other.body == first.body and other.cache == "Hit", other
    since = fetch(gw, "/plain/etag", headers={"If-Modified-Since": LAST_MODIFIED})
    assert since.status == 304 and since.body == b"" and since.cache == "Hit", since
    assert backend.count("/plain/etag") == 1


def test_response_vary_keeps_languages_apart(gw, backend):
    en1 = fetch(gw, "/plain/vary-lang", headers={"Accept-Language": "en"})
    en2 = fetch(gw, "/plain/vary-lang", headers={"Accept-Language": "en"})
    assert en1.json()["lang"] == "en" and en2.cache == "Hit" and en2.body == en1.body, (en1, en2)
    fr = fetch(gw, "/plain/vary-lang", headers={"Accept-Language": "fr"})
    assert fr.status == 200 and fr.cache != "Hit", fr
    assert fr.json()["lang"] == "fr", fr
    assert fetch(gw, "/plain/vary-lang", headers={"Accept-Language": "en"}).json()["lang"] == "en"


# --- 8. Coalescing -----------------------------------------------------------------------------

def test_concurrent_misses_are_coalesced(gw, backend):
    answers = concurrently(100, lambda i: fetch(gw, "/coalesce/slow/1"))
    assert all(a is not None and a.status == 200 for a in answers), [a for a in answers if a is None or a.status != 200][:3]
    assert len({a.body for a in answers}) == 1
    assert backend.count("/coalesce/slow/1") == 1
    statuses = Counter(a.cache for a in answers)
    assert statuses == {"Miss": 1, "Hit": 99}, statuses


# --- 9, 10. Stale answers ----------------------------------------------------------------------

def test_stale_if_error_on_a_503(gw, backend):
    first = fetch(gw, "/sie/flaky")
    assert first.cache == "Miss", first
    time.sleep(1.2)
    backend.fail.set()
    try:
        stale = fetch(gw, "/sie/flaky")
    finally:
        backend.fail.clear()
    assert backend.count("/sie/flaky") == 2  # it did ask upstream
    assert stale.status == 200 and stale.cache == "Stale", stale
    assert stale.body == first.body


def test_stale_if_error_with_the_upstream_down(gw, backend2):
    first = fetch(gw, "/sie-down/x")
    assert first.status == 200 and first.cache == "Miss", first
    backend2.close()
    time.sleep(1.2)
    stale = fetch(gw, "/sie-down/x")
    assert stale.status == 200 and stale.cache == "Stale", stale
    assert stale.body == first.body


def test_stale_while_revalidate(gw, backend):
    first = fetch(gw, "/swr/slow/1")
    assert first.cache == "Miss", first
    time.sleep(1.2)
    answers = concurrently(10, lambda i: fetch(gw, "/swr/slow/1"))
    statuses = Counter(a.cache for a in answers)
    assert statuses == {"Refresh": 1, "Stale": 9}, (statuses, answers)
    assert backend.count("/swr/slow/1") == 2
    refresh = next(a for a in answers if a.cache == "Refresh")
    stale = [a for a in answers if a.cache == "Stale"]
    assert all(a.status == 200 and a.body == first.body for a in stale)
    # The stale answers do not wait for the refresh: all are done well before it is.
    assert refresh.seconds >= SLOW_SECONDS * 0.9, refresh.seconds
    assert max(a.finished for a in stale) < refresh.finished - SLOW_SECONDS / 2, \
        ([round(a.seconds, 3) for a in stale], round(refresh.seconds, 3))
    after = fetch(gw, "/swr/slow/1")
    assert after.cache == "Hit" and after.body == refresh.body, after


def test_must_revalidate_is_never_served_stale(gw, backend):
    first = fetch(gw, "/swr/revalidate")
    assert first.cache == "Miss", first
    time.sleep(1.2)
    second = fetch(gw, "/swr/revalidate")
    assert second.cache == "Refresh" and second.body != first.body, second


def test_a_fill_does_not_forward_the_clients_conditions(gw, backend):
    # The fetch is for the cache: a 304 or a 206 from upstream could not be stored.
    a = fetch(gw, "/plain/conditional", headers={"If-None-Match": '"x"', "Range": "bytes=0-3"})
    assert a.status == 200 and a.cache == "Miss", a
    seen = backend.headers["/plain/conditional"]
    assert "if-none-match" not in seen and "range" not in seen, seen
    assert fetch(gw, "/plain/conditional").cache == "Hit"


# --- 11. Purges (Admin API) --------------------------------------------------------------------

def cached(gw, path, method="GET"):
    """Fills the cache for `path` (two requests, the second a Hit) and returns its key."""
    fetch(gw, path)
    hit = fetch(gw, path, method=method)
    assert hit.cache == "Hit", hit
    return hit.key


def test_admin_delete_by_key(gw):
    key = cached(gw, "/plain/purge-key")
    assert admin(gw, "DELETE", "/proxy-cache/" + key)[0] == 204
    assert admin(gw, "DELETE", "/proxy-cache/" + key)[0] == 404  # gone
    again = fetch(gw, "/plain/purge-key")
    assert again.cache == "Miss" and again.key == key, again


def test_admin_get_by_key(gw):
    key = cached(gw, "/plain/show")
    body = fetch(gw, "/plain/show").body
    status, entry = admin(gw, "GET", "/proxy-cache/" + key)
    assert status == 200, entry
    assert entry["status"] == 200
    assert entry["body"] == body.decode()
    assert entry["headers"]["Content-Type"] == "application/json", entry["headers"]
    assert admin(gw, "GET", "/proxy-cache/" + "0" * 64)[0] == 404


def plugin_id(gw, route_name):
    """The id of the proxy-cache entry on `route_name`, from GET /plugins."""
    status, listed = admin(gw, "GET", "/plugins")
    assert status == 200, listed
    _, routes = admin(gw, "GET", "/routes/" + route_name)
    for p in listed["data"]:
        if p["name"] == "proxy-cache" and (p.get("route") or {}).get("id") == routes["id"]:
            return p["id"]
    raise AssertionError("no proxy-cache plugin on route %s in %s" % (route_name, listed))


def test_admin_by_plugin_and_key(gw):
    key = cached(gw, "/plain/by-plugin")
    pid = plugin_id(gw, "basic")
    status, entry = admin(gw, "GET", "/proxy-cache/%s/caches/%s" % (pid, key))
    assert status == 200 and entry["status"] == 200, entry
    assert json.loads(entry["body"])["path"] == "/plain/by-plugin"
    assert admin(gw, "DELETE", "/proxy-cache/%s/caches/%s" % (pid, key))[0] == 204
    assert admin(gw, "GET", "/proxy-cache/%s/caches/%s" % (pid, key))[0] == 404
    assert fetch(gw, "/plain/by-plugin").cache == "Miss"


def test_admin_delete_all(gw):
    cached(gw, "/plain/all-1")
    cached(gw, "/products/all-2")
    assert admin(gw, "DELETE", "/proxy-cache")[0] == 204
    assert fetch(gw, "/plain/all-1").cache == "Miss"
    assert fetch(gw, "/products/all-2").cache == "Miss"


def curl_purge(gw, path):
    out = subprocess.run(["curl", "-s", "-X", "POST", "http://127.0.0.1:%d/cache/purge/%s" % (gw.admin_port, path)],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    return json.loads(out)


def test_purge_by_path_removes_every_variant(gw):
    assert admin(gw, "DELETE", "/proxy-cache")[0] == 204  # counts below are of this test's entries
    cached(gw, "/products/42?v=1")
    cached(gw, "/products/42?v=2")
    cached(gw, "/products/42", method="HEAD")  # a HEAD answered from the GET's entry
    cached(gw, "/products/43")
    answer = curl_purge(gw, "products/42")
    assert answer["purged"] == 3, answer
    for path in ("/products/42?v=1", "/products/42?v=2", "/products/42"):
        assert fetch(gw, path).cache == "Miss", path
    assert fetch(gw, "/products/43").cache == "Hit"


def test_purge_of_a_one_segment_path_and_of_everything(gw):
    assert admin(gw, "DELETE", "/proxy-cache")[0] == 204
    cached(gw, "/products")
    cached(gw, "/products/7")
    assert curl_purge(gw, "products")["purged"] == 1
    assert fetch(gw, "/products").cache == "Miss"
    assert fetch(gw, "/products/7").cache == "Hit"
    answer = curl_purge(gw, "*")  # every path
    assert answer["purged"] >= 2 and answer["prefix"] is True, answer
    assert fetch(gw, "/products/7").cache == "Miss"


@pytest.mark.parametrize("purge", ["products/4?prefix=true", "products/4*"])
def test_purge_by_prefix(gw, purge):
    assert admin(gw, "DELETE", "/proxy-cache")[0] == 204
    for path in ("/products/42", "/products/43", "/products/5"):
        cached(gw, path)
    answer = curl_purge(gw, purge)
    assert answer["purged"] == 2, answer
    assert fetch(gw, "/products/42").cache == "Miss"
    assert fetch(gw, "/products/43").cache == "Miss"
    assert fetch(gw, "/products/5").cache == "Hit"


# --- 12. The memory bound ----------------------------------------------------------------------

def test_memory_bound_evicts(gw):
    local = threading.local()

    def one(i):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
        return fetch(gw, "/small/kib?i=%d" % i, conn=local.conn).status

    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(one, range(3000)))
    assert statuses == {200: 3000}, statuses
    status, stats = admin(gw, "GET", "/proxy-cache")
    assert status == 200, stats
    small = [d for d in stats["data"] if d["dictionary_name"] == "small"]
    assert len(small) == 1, stats
    small = small[0]
    assert small["max_bytes"] == 262144
    assert 0 < small["bytes"] <= small["max_bytes"], small
    assert small["entries"] > 0 and small["evictions"] > 0, small
    assert small["entries"] < 3000, small
    assert fetch(gw, "/plain/still-up").status == 200
