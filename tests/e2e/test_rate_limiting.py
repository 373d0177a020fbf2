"""The rate-limiting plugin through a running gateway (2 workers): Kong's documented
configuration, its headers and 429, limit_by, and exactness under 500 concurrent clients for
every algorithm."""
import re
import subprocess
import time

import pytest

from conftest import Portico, proxy_request as get

CONFIG = """
_format_version: "3.0"
services:
- name: users
  url: http://127.0.0.1:{users}/users
  routes:
  - name: users
    paths: [/users]
  - name: by-header
    paths: [/by-header]
    plugins:
    - name: rate-limiting
      config:
        second: 3
        limit_by: header
        header_name: X-Client
        hide_client_headers: true
        error_code: 503
        error_message: Slow down
  - name: throttled
    paths: [/throttled]
    plugins:
    - name: request-throttling
      config: {{concurrency: 2, queue_size: 2, queue_timeout: 1500, limit_by: ip}}
    - name: rate-limiting
      config: {{second: 100, limit_by: ip}}
  - name: impatient
    paths: [/impatient]
    plugins:
    - name: request-throttling
      config: {{concurrency: 1, queue_size: 5, queue_timeout: 200, limit_by: ip, error_code: 503}}
{exact_routes}
plugins:
- name: rate-limiting
  service: users
  config:
    second: 5
    hour: 10000
    policy: local
"""

EXACT_LIMIT = 2000
ALGORITHMS = ["fixed-window", "sliding-window", "sliding-log", "token-bucket"]


def exact_routes():
    out = []
    for algorithm in ALGORITHMS:
        out.append("""  - name: exact-{a}
    paths: [/exact-{a}]
    plugins:
    - name: rate-limiting
      config: {{day: {limit}, limit_by: ip, algorithm: {a}, local_max_keys: 10000}}""".format(a=algorithm, limit=EXACT_LIMIT))
    return "\n".join(out)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    from conftest import Backends, stop
    backends = Backends()
    cfg = tmp_path_factory.mktemp("ratelimit") / "kong.yml"
    cfg.write_text(CONFIG.format(users=backends.ports["users"], exact_routes=exact_routes()))
    gw = Portico(cfg)
    yield gw
    gw.close()
    stop(backends.proc)



def start_of_a_second():
    """Waits for a fresh second, so that a short burst stays inside one `second` window."""
    time.sleep(1.0 - (time.time() % 1.0) + 0.01)


def test_kongs_documented_configuration_counts_down_then_refuses(gateway):
    start_of_a_second()
    answers = [get(gateway, "/users/1") for _ in range(7)]
    assert [a[0] for a in answers] == [200] * 5 + [429] * 2
    assert [a[1]["X-RateLimit-Remaining-Second"] for a in answers] == ["4", "3", "2", "1", "0", "0", "0"]
    assert all(a[1]["X-RateLimit-Limit-Second"] == "5" and a[1]["X-RateLimit-Limit-Hour"] == "10000" for a in answers)
    # RateLimit-* name the window closest to its limit: the second's.
    assert answers[0][1]["RateLimit-Limit"] == "5" and answers[0][1]["RateLimit-Remaining"] == "4"
    assert answers[0][1]["RateLimit-Reset"] == "1"
    status, headers, body = answers[5]
    assert body == {"message": "API rate limit exceeded"}
    assert headers["Retry-After"] == "1" and headers["RateLimit-Remaining"] == "0"
    assert headers["Content-Type"].startswith("application/json")
    # Refused requests do not count in the hour.
    hour_left = int(answers[4][1]["X-RateLimit-Remaining-Hour"])
    assert int(answers[6][1]["X-RateLimit-Remaining-Hour"]) == hour_left
    assert "Retry-After" not in answers[0][1]
    # The next second admits again.
    start_of_a_second()
    assert get(gateway, "/users/1")[0] == 200


def test_limit_by_header_with_custom_error_and_hidden_headers(gateway):
    start_of_a_second()
    statuses = [get(gateway, "/by-header/1", {"X-Client": "a"})[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 503]
    status, headers, body = get(gateway, "/by-header/1", {"X-Client": "a"})
    assert status == 503 and body == {"message": "Slow down"}
    assert not [h for h in headers if h.lower().startswith(("x-ratelimit", "ratelimit", "retry-after"))], dict(headers)
    # Another header value is another counter; no header falls back to the client's address.
    assert get(gateway, "/by-header/1", {"X-Client": "b"})[0] == 200
    assert get(gateway, "/by-header/1")[0] == 200


def statuses_under_load(gw, path, connections=500, requests=3 * EXACT_LIMIT):
    """h2load (HTTP/1.1) sends exactly `requests` requests over `connections` clients on two
    threads and waits for every answer: {"2xx": n, "4xx": n, ...}. A run cut off at a duration
    (wrk -d) would drop the answers still in flight, admitted ones included, whereas a counted
    run accounts for each request the limiter saw."""
    out = subprocess.run(["h2load", "--h1", "-t2", "-c%d" % connections, "-n%d" % requests, gw.url(path)],
                         capture_output=True, text=True, timeout=300).stdout
    # h2load's "failed" counts 4xx answers as well; "errored" and "timeout" are the lost requests.
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, \d+ failed, "
                     r"(\d+) errored, (\d+) timeout", out)
    assert done and (int(done.group(1)), done.group(2), done.group(3)) == (requests, "0", "0"), out
    return {k: int(n) for n, k in re.findall(r"(\d+) (\dxx)", out.split("status codes:")[1].splitlines()[0])}


def admitted_under_load(gw, path, connections=500, requests=3 * EXACT_LIMIT):
    """(requests the rate limiter let through, requests answered). Only a 4xx (these routes'
    429) is the limiter's refusal: a 5xx from an upstream overwhelmed by the load still went
    through the limiter."""
    counts = statuses_under_load(gw, path, connections, requests)
    assert counts["3xx"] == 0, counts
    return counts["2xx"] + counts["5xx"], sum(counts.values())


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_exactly_the_limit_is_admitted_by_500_concurrent_clients(gateway, algorithm):
    # A day window: a burst of seconds never crosses it, except at midnight UTC (waited out).
    while time.gmtime().tm_hour == 23 and time.gmtime().tm_min == 59 and time.gmtime().tm_sec >= 50:
        time.sleep(1)
    # Three times the limit: it is reached, then refused many times.
    admitted, total = admitted_under_load(gateway, "/exact-%s/1" % algorithm)
    assert total == 3 * EXACT_LIMIT
    assert admitted == EXACT_LIMIT, (admitted, total)


def concurrently(gw, path, n):
    """n requests at once; their (status, body, seconds taken), in completion order."""
    import threading
    results, lock = [], threading.Lock()

    def one():
        started = time.monotonic()
        status, _, body = get(gw, path)
        with lock:
            results.append((status, body, time.monotonic() - started))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_throttling_admits_the_concurrency_queues_then_refuses(gateway):
    results = concurrently(gateway, "/throttled/slow?ms=400", 8)
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] * 4 + [429] * 4, results  # 2 at once, 2 after waiting their turn
    refused = [r for r in results if r[0] == 429]
    # Refused at once: sooner than one upstream answer (400 ms), let alone the queue's 1.5 s.
    assert all(r[1] == {"message": "Too many concurrent requests"} and r[2] < 0.4 for r in refused), refused
    waited = sorted(r[2] for r in results if r[0] == 200)
    assert waited[-1] >= 0.75, waited  # the queued two ran after the first two
    # Every slot came back: the next requests pass at once, rate limited as well.
    status, headers, _ = get(gateway, "/throttled/slow?ms=1")
    assert status == 200 and headers["X-RateLimit-Limit-Second"] == "100"


def test_a_queued_request_is_refused_after_queue_timeout(gateway):
    results = concurrently(gateway, "/impatient/slow?ms=700", 3)
    assert sorted(r[0] for r in results) == [200, 503, 503], results
    timed_out = [r[2] for r in results if r[0] == 503]
    assert all(0.15 <= t < 0.6 for t in timed_out), timed_out  # queue_timeout is 200 ms
    assert get(gateway, "/impatient/slow?ms=1")[0] == 200
