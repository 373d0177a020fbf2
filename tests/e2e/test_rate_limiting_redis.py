"""The rate-limiting plugin's redis policy against a real redis-server started here: two
Portico nodes share exact limits, Kong's flat redis_* fields work, and Redis going away (killed,
or stopped so that commands time out) neither crashes nor hangs the gateway, follows
fault_tolerant, and heals without a restart."""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import Backends, Portico, eventually, free_port, proxy_request as get, stop, wait_for_port
from test_rate_limiting import ALGORITHMS, admitted_under_load

EXACT_LIMIT = 2000

CONFIG = """
_format_version: "3.0"
services:
- name: users
  url: http://127.0.0.1:{users}/users
  routes:
{routes}
"""


def route(name, config):
    return """  - name: {n}
    paths: [/{n}]
    plugins:
    - name: rate-limiting
      config: {c}""".format(n=name, c=json.dumps(config))


class Redis:
    """redis-server on a free loopback port, without persistence."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--protected-mode", "no"], stdout=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            stop(self.proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two Portico nodes with one configuration and one redis-server."""
    backends = Backends()
    redis = Redis()
    server = {"host": "127.0.0.1", "port": redis.port, "timeout": 300}
    routes = [route("exact-" + a, {"day": EXACT_LIMIT, "limit_by": "ip", "algorithm": a, "policy": "redis",
                                   "redis": server}) for a in ALGORITHMS]
    # Kong's older flat fields, as its documentation shows them.
    routes.append(route("flat", {"second": 5, "hour": 10000, "policy": "redis", "redis_host": "127.0.0.1",
                                 "redis_port": redis.port, "redis_timeout": 300}))
    routes.append(route("tolerant", {"hour": 1000000, "policy": "redis", "redis": server}))
    routes.append(route("strict", {"hour": 1000000, "policy": "redis", "redis": server, "fault_tolerant": False}))
    cfg = tmp_path_factory.mktemp("redis-ratelimit") / "kong.yml"
    cfg.write_text(CONFIG.format(users=backends.ports["users"], routes="\n".join(routes)))
    nodes = [Portico(cfg), Portico(cfg)]
    yield nodes, redis
    for n in nodes:
        n.close()
    redis.close()
    stop(backends.proc)



@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_two_nodes_admit_exactly_the_limit_together(cluster, algorithm):
    nodes, _ = cluster
    while time.gmtime().tm_hour == 23 and time.gmtime().tm_min == 59 and time.gmtime().tm_sec >= 50:
        time.sleep(1)
    results = [None, None]

    def load(i):
        results[i] = admitted_under_load(nodes[i], "/exact-%s/1" % algorithm, connections=250)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    admitted = results[0][0] + results[1][0]
    assert results[0][0] > 0 and results[1][0] > 0, results  # both nodes took part
    assert admitted == EXACT_LIMIT, results


def test_kongs_flat_redis_fields_and_headers(cluster):
    nodes, _ = cluster
    time.sleep(1.0 - (time.time() % 1.0) + 0.01)
    answers = [get(nodes[i % 2], "/flat/1") for i in range(7)]  # alternating nodes, one count
    assert [a[0] for a in answers] == [200] * 5 + [429] * 2
    assert [a[1]["X-RateLimit-Remaining-Second"] for a in answers] == ["4", "3", "2", "1", "0", "0", "0"]
    assert answers[5][2] == {"message": "API rate limit exceeded"} and answers[5][1]["Retry-After"] == "1"


def redis_failures(gw):
    with urllib.request.urlopen(gw.admin("/status"), timeout=10) as r:
        return json.loads(r.read())["portico"].get("rate_limiting_redis_failures", 0)


def test_redis_killed_under_load_then_back(cluster):
    nodes, redis = cluster
    gw = nodes[0]
    assert "X-RateLimit-Limit-Hour" in get(gw, "/tolerant/1")[1]
    before = redis_failures(gw)
    wrk = subprocess.Popen(["wrk", "-t2", "-c64", "-d6s", "--timeout", "5s", gw.url("/tolerant/1")],
                           stdout=subprocess.PIPE, text=True)
    time.sleep(1.5)
    redis.kill()
    time.sleep(1.0)
    # Down: the tolerant route passes without headers, the strict one answers Kong's 500.
    status, headers, _ = get(gw, "/tolerant/1")
    assert status == 200 and "X-RateLimit-Limit-Hour" not in headers
    status, _, body = get(gw, "/strict/1")
    assert status == 500 and body == {"message": "An unexpected error occurred"}
    assert redis_failures(gw) > before
    redis.start()
    out, _ = wrk.communicate(timeout=30)
    assert "Socket errors" not in out and "Non-2xx" not in out, out
    # Back: within the reconnect backoff (at most 5 s), limits and headers again, no restart.
    assert eventually(lambda: "X-RateLimit-Limit-Hour" in get(gw, "/tolerant/1")[1], timeout=8.0)
    assert get(gw, "/strict/1")[0] == 200
    assert gw.proc.poll() is None and nodes[1].proc.poll() is None


def test_a_stuck_redis_times_out_and_heals(cluster):
    nodes, redis = cluster
    gw = nodes[1]
    assert get(gw, "/strict/1")[0] == 200
    os.kill(redis.proc.pid, signal.SIGSTOP)  # accepts nothing, answers nothing
    try:
        started = time.monotonic()
        status, _, _ = get(gw, "/strict/1")
        waited = time.monotonic() - started
        assert status == 500 and waited < 2.0, (status, waited)  # redis.timeout is 300 ms
        status, headers, _ = get(gw, "/tolerant/1")
        assert status == 200 and "X-RateLimit-Limit-Hour" not in headers
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)
    assert eventually(lambda: get(gw, "/strict/1")[0] == 200, timeout=8.0)
