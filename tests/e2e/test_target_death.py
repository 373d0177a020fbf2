"""A target's death under load reaches no client, and a retry budget stops a retry storm.

Three nginx targets (single-process, so SIGKILL really kills the server), Portico with a
Kong configuration (`retries: 5`), wrk at high concurrency. During each run, targets are
SIGKILLed and restarted one after the other, many times; every response must be a 2xx and
wrk must see no socket error. Then every target answers 503 and the opt-in retry budget
must hold upstream attempts to requests x (1 + percent) + reserve.
"""
import json
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import free_port, stop, wait_for_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MIN_REQUESTS_PER_RUN = 200_000
MIN_KILLS_PER_RUN = 6

NGINX_CONF = """worker_processes 1;
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log {access_log};
  keepalive_requests 10000000;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location = /health {{ return 200 'ok'; }}
    location / {{
      default_type application/json;
      return {status} '{{"target":{port}}}';
    }}
  }}
}}
"""


class NginxTarget:
    """One nginx target on a fixed port; kill() is a real SIGKILL, start() brings it back."""

    def __init__(self, tmp_path, index, status=200, log_requests=False):
        self.port = free_port()
        self.dir = tmp_path / ("target%d" % index)
        self.dir.mkdir()
        self.access_log = self.dir / "access.log"
        conf = NGINX_CONF.format(dir=self.dir, port=self.port, status=status,
                                 access_log=self.access_log if log_requests else "off")
        (self.dir / "nginx.conf").write_text(conf)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([NGINX, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                                      "-e", str(self.dir / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def requests_logged(self):
        with open(self.access_log) as f:
            return sum(1 for _ in f)

    def close(self):
        stop(self.proc)


@pytest.fixture
def targets(tmp_path):
    made = []

    def make(count, **kwargs):
        for i in range(count):
            made.append(NginxTarget(tmp_path, len(made), **kwargs))
        return made[-count:]

    yield make
    for t in made:
        t.close()


def kong_config(targets, service_extra="", upstream_extra=""):
    lines = ["_format_version: \"3.0\"",
             "services:",
             "- name: products",
             "  host: products-upstream",
             "  retries: 5",
             service_extra,
             "  routes:",
             "  - name: products",
             "    paths: [/products]",
             "upstreams:",
             "- name: products-upstream",
             upstream_extra,
             "  targets:"]
    lines += ["  - target: 127.0.0.1:%d" % t.port for t in targets]
    return "\n".join(line for line in lines if line) + "\n"


HEALTHCHECKS = """  healthchecks:
    passive:
      unhealthy:
        tcp_failures: 1
    active:
      http_path: /health
      healthy:
        interval: 0.5
        successes: 1
      unhealthy:
        interval: 0.5
        tcp_failures: 1"""

BUDGET = "  retry_budget_percent: 20"


def status(admin_port):
    with urllib.request.urlopen("http://127.0.0.1:%d/status" % admin_port, timeout=5) as r:
        return json.load(r)


def wrk_args(url, connections, seconds):
    return ["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "10s", url]


def requests_in(out):
    return int(re.search(r"(\d+) requests in", out).group(1))


def run_wrk(url, connections, seconds):
    out = subprocess.run(wrk_args(url, connections, seconds), capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    return requests_in(out), out


def run_wrk_until(url, connections, admin_port, requests, also=lambda: True, limit_seconds=120):
    """Sustained wrk load until Portico has counted `requests` (plus a margin for the ones
    in flight) and `also()` holds, then SIGINT, on which wrk stops and prints its summary.
    Returns (requests wrk completed, wrk's output)."""
    start = status(admin_port)["server"]["total_requests"]
    wrk = subprocess.Popen(wrk_args(url, connections, limit_seconds), stdout=subprocess.PIPE, text=True)
    deadline = time.time() + limit_seconds
    while wrk.poll() is None and time.time() < deadline:
        if status(admin_port)["server"]["total_requests"] - start >= requests + 2 * connections and also():
            wrk.send_signal(signal.SIGINT)
            break
        time.sleep(0.2)
    out, _ = wrk.communicate(timeout=60)
    return requests_in(out), out


def kill_and_restart_repeatedly(targets, stop_event, kills, period=1.0, down_for=0.7):
    """Kills target 0, 1, 2, 0, ... every `period` seconds, each restarted `down_for` later;
    kills[0] counts the kills."""
    i = 0
    time.sleep(period)
    while not stop_event.is_set():
        t = targets[i % len(targets)]
        t.kill()
        kills[0] += 1
        stop_event.wait(down_for)
        t.start()
        i += 1
        stop_event.wait(period)


@pytest.mark.parametrize("variant,service_extra,upstream_extra", [
    ("kong-defaults", "", ""),                    # no health checks, no budget: Kong's plain config
    ("budget", BUDGET, ""),                       # a dead target stays in rotation: retried, never refused
    ("budget-and-healthchecks", BUDGET, HEALTHCHECKS),
])
def test_killed_targets_reach_no_client(variant, service_extra, upstream_extra, targets, start_portico, tmp_path):
    pool = targets(3)
    cfg = tmp_path / "kong.yml"
    cfg.write_text(kong_config(pool, service_extra, upstream_extra))
    p = start_portico(cfg)
    url = p.url("/products/101")
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", url], capture_output=True, timeout=30)  # warm-up

    for connections in (16, 64):
        before = status(p.admin_port)["portico"]
        stop_event = threading.Event()
        kills = [0]
        killer = threading.Thread(target=kill_and_restart_repeatedly, args=(pool, stop_event, kills))
        killer.start()
        total, out = run_wrk_until(url, connections, p.admin_port, MIN_REQUESTS_PER_RUN,
                                   also=lambda: kills[0] >= MIN_KILLS_PER_RUN)
        stop_event.set()
        killer.join()
        after = status(p.admin_port)["portico"]
        retries = after["upstream_retries"] - before["upstream_retries"]
        refused = after["retry_budget_exhausted"] - before["retry_budget_exhausted"]
        print("%s c=%d: %d requests, %d target kills, %d retries, %d budget refusals"
              % (variant, connections, total, kills[0], retries, refused))
        assert total >= MIN_REQUESTS_PER_RUN, out
        assert kills[0] >= MIN_KILLS_PER_RUN, kills
        assert retries > 0, "no request was retried: the kills did not happen under load"
        assert "Socket errors" not in out, out
        assert "Non-2xx" not in out, out
        assert refused == 0


def test_budget_stops_a_retry_storm(targets, start_portico, tmp_path):
    """Every target answers 503 (retried on, as configured): without a budget each request
    costs 1 + retries attempts; with it, attempts stay within requests x 1.2 + reserve."""
    pool = targets(3, status=503, log_requests=True)
    common = "  retry_on_statuses: [503]\n  retry_backoff_base: 0"

    def attempts():
        return sum(t.requests_logged() for t in pool)

    # Control: no budget, so every request is tried 6 times.
    cfg = tmp_path / "storm.yml"
    cfg.write_text(kong_config(pool, common))
    p = start_portico(cfg)
    unbudgeted_requests, out = run_wrk(p.url("/products/1"), 16, 2)
    p.close()
    assert unbudgeted_requests > 100, out
    unbudgeted = attempts()
    # wrk counts the requests it saw answered; the 16 in flight when it stopped add theirs.
    assert unbudgeted_requests * 6 <= unbudgeted <= (unbudgeted_requests + 16) * 6, (unbudgeted, unbudgeted_requests)

    for t in pool:
        t.access_log.write_text("")
        t.kill()
        t.start()
    cfg.write_text(kong_config(pool, common + "\n  retry_budget_percent: 20\n  retry_budget_min_per_second: 10"))
    p = start_portico(cfg)
    total, out = run_wrk(p.url("/products/1"), 16, 5)
    s = status(p.admin_port)
    p.close()
    requests = s["server"]["total_requests"]
    budgeted = attempts()
    reserve = 10 * 10
    workers = 2  # racing workers may each overdraw the last token once
    print("storm without budget: %d requests, %d upstream attempts" % (unbudgeted_requests, unbudgeted))
    print("storm with budget: %d requests, %d upstream attempts (bound %d), %d budget refusals"
          % (requests, budgeted, requests * 1.2 + reserve + workers, s["portico"]["retry_budget_exhausted"]))
    assert requests >= total > 1000, out
    assert budgeted >= requests
    assert budgeted <= requests * 1.2 + reserve + workers, (budgeted, requests)
    assert s["portico"]["retry_budget_exhausted"] > 0
