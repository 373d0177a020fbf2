"""Shared by bench/cluster.py and bench/hybrid.py: Admin API calls and the time a write takes to
be served by every node that proxies."""
import json
import statistics
import threading
import time
import urllib.error
import urllib.request


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status


def ok(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except (urllib.error.HTTPError, OSError):
        return False


def propagation(routes_url, watched, prefix, writes, timeout=60):
    """For each of `writes` new routes POSTed to `routes_url` (a service's /routes), seconds until
    every node in `watched` serves it (each polled every ~1 ms by a thread of its own); the
    slowest node's time per write."""
    slowest = []
    for i in range(writes):
        path = "/%s-%d" % (prefix, i)
        seen = [None] * len(watched)
        start = time.perf_counter()

        def watch(k):
            while not ok(watched[k].url(path)) and time.perf_counter() - start < timeout:
                time.sleep(0.001)
            seen[k] = time.perf_counter() - start

        threads = [threading.Thread(target=watch, args=(k,)) for k in range(len(watched))]
        post(routes_url, {"paths": [path]})
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        slowest.append(max(seen))
    return slowest


def summary(values):
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
    return "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d writes)" % (statistics.median(ms), p99, ms[-1], len(ms))
