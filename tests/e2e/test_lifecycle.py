"""Reloads under load (SIGHUP) and graceful shutdown (SIGTERM), with real clients."""
import http.client
import re
import signal
import subprocess
import threading
import time

from conftest import curl, demo_config


def wrk(url, seconds, connections=16):
    run = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "5s", url],
                         capture_output=True, text=True, timeout=seconds + 30)
    out = run.stdout
    m = re.search(r"(\d+) requests in", out)
    if not m:  # wrk itself failed: say how, so the assertion below shows it
        out += "\nwrk exited with %d; stderr: %s" % (run.returncode, run.stderr)
    return out, int(m.group(1)) if m else 0


def test_reload_loop_under_load_fails_no_request(backends, start_portico, tmp_path):
    cfg = tmp_path / "kong.yml"
    base = demo_config(backends)
    variant = base.replace("- name: products\n  url:", "- name: products\n  read_timeout: 30000\n  url:")
    invalid = base.replace("retries: 0", "retries: never")
    assert variant != base and invalid != base
    cfg.write_text(base)
    p = start_portico(cfg)

    reloads = {"valid": 0, "invalid": 0}
    stop = threading.Event()

    def reload_loop():
        i = 0
        while not stop.is_set():
            i += 1
            if i % 5 == 0:
                cfg.write_text(invalid)
                reloads["invalid"] += 1
            else:
                cfg.write_text(variant if i % 2 else base)
                reloads["valid"] += 1
            p.proc.send_signal(signal.SIGHUP)
            time.sleep(0.1)

    t = threading.Thread(target=reload_loop)
    t.start()
    try:
        out, total = wrk(p.url("/products/101"), 6)
    finally:
        stop.set()
        t.join()
    assert total > 100, out
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    assert reloads["valid"] >= 10 and reloads["invalid"] >= 2
    logs = p.logs()
    assert "reload rejected" in logs and "retries: expected an integer" in logs
    assert "configuration" in logs and "active" in logs
    # Still serving after the last (possibly invalid) file: the good snapshot stayed.
    status, _, _ = curl(p.url("/products/101"))
    assert status == 200


def test_sigterm_drains_in_flight_requests(backends, start_portico, tmp_path):
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    p = start_portico(cfg, ["--shutdown-timeout", "10000"])
    results = []

    def slow_request():
        conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=20)
        try:
            conn.request("GET", "/products/slow?ms=1500")
            r = conn.getresponse()
            results.append((r.status, r.read()))
        except Exception as e:  # recorded and asserted below
            results.append(("error", repr(e)))

    threads = [threading.Thread(target=slow_request) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # all requests are in flight at the backend
    started = time.time()
    p.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    # New connections are refused once draining has begun.
    refused = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "2", p.url("/products")]).returncode
    for t in threads:
        t.join()
    rc = p.proc.wait(timeout=15)
    assert rc == 0
    assert [r[0] for r in results] == [200] * 8, results
    assert refused != 0
    assert time.time() - started < 9, "drain waited for the whole grace period"
