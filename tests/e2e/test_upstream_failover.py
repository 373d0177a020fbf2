"""Fault injection with real processes: three product backends behind one upstream,
wrk load, one backend killed (SIGKILL) and restarted."""
import json
import re
import signal
import subprocess
import threading
import time
import urllib.request

from conftest import BACKENDS, eventually, free_port, stop, wait_for_port


def start_backend(port):
    proc = subprocess.Popen(["/usr/bin/python3", str(BACKENDS), "--ports", "products=%d" % port],
                            stdout=subprocess.DEVNULL)
    wait_for_port(port, proc=proc)
    return proc


def target_health(admin_port, port):
    with urllib.request.urlopen("http://127.0.0.1:%d/upstreams/products/health" % admin_port, timeout=5) as r:
        body = json.load(r)
    for t in body["data"]:
        if t["target"] == "127.0.0.1:%d" % port:
            return t["health"]
    return None


CONFIG = """_format_version: "3.0"
services:
- name: products
  host: products
  retries: 3
  connect_timeout: 1000
  routes:
  - name: products
    paths: [/products]
upstreams:
- name: products
  healthchecks:
    passive:
      unhealthy:
        tcp_failures: 1
        timeouts: 1
    active:
      http_path: /health
      timeout: 1
      healthy:
        interval: 0.2
        successes: 2
      unhealthy:
        interval: 0.2
        tcp_failures: 2
  targets:
{targets}
"""


def test_killed_target_fails_no_request_and_comes_back(start_portico, tmp_path):
    ports = [free_port() for _ in range(3)]
    procs = [start_backend(p) for p in ports]
    try:
        cfg = tmp_path / "kong.yml"
        cfg.write_text(CONFIG.format(targets="\n".join("  - target: 127.0.0.1:%d" % p for p in ports)))
        p = start_portico(cfg)
        assert target_health(p.admin_port, ports[2]) == "HEALTHY"

        def kill_later():
            time.sleep(1.5)
            procs[2].send_signal(signal.SIGKILL)
            procs[2].wait()

        killer = threading.Thread(target=kill_later)
        killer.start()
        out = subprocess.run(["wrk", "-t1", "-c16", "-d5s", "--timeout", "5s", p.url("/products/101")],
                             capture_output=True, text=True, timeout=60).stdout
        killer.join()
        total = int(re.search(r"(\d+) requests in", out).group(1))
        assert total > 500, out
        assert "Socket errors" not in out, out
        assert "Non-2xx" not in out, out
        assert target_health(p.admin_port, ports[2]) == "UNHEALTHY"
        assert "marked unhealthy" in p.logs()

        procs[2] = start_backend(ports[2])
        assert eventually(lambda: target_health(p.admin_port, ports[2]) == "HEALTHY"), p.logs()
        assert "marked healthy by active health checks" in p.logs()
    finally:
        for proc in procs:
            stop(proc)
