#!/usr/bin/python3
"""The soak (`make soak`): Portico under mixed traffic for a long time, with everything around it
failing and changing, and its resources sampled to show they stay flat.

    soak.py [--duration 3600] [--bin build/release/portico] [--out bench/results/soak.txt]

What runs, all on loopback, started and stopped here:
  - two nginx targets (bench/conf/backend-nginx.conf) behind one upstream with passive and active
    health checks and retries; every 60 s one of them is killed (SIGKILL) and restarted 10 s later;
  - redis-server for the rate-limiting plugin's redis policy (fault tolerant), restarted every
    5 minutes;
  - a WebSocket echo server (tests/e2e/ws_echo_server.py) for the WebSocket route;
  - Portico with two workers, an HTTP/1.1 and an h2c listener, the Admin API, and routes that use
    key-auth, rate-limiting (redis), proxy-cache, response-transformer (JSON), aggregate and the
    graphql plugin, plus a plain one;
  - load: wrk on each HTTP route (one connection set each, keep-alive), h2load over h2c, and a
    WebSocket client opening connections and echoing messages, all the time;
  - churn: Portico runs on its embedded store (the configuration imported first with `portico
    config db_import`), so the Admin API writes: every 2 s a consumer and its key are created and
    the previous one deleted, and every 30 s a route is created and deleted again (each write
    publishes a new configuration snapshot to the workers: a reload).

Every 10 s: Portico's RSS, open file descriptors and connections to the targets. At the end: the
least-squares slope of each after the warm-up (the first 10 % of the run) with the noise
(standard deviation of the residuals), and FLAT when the slope over the measured span stays
within twice the noise plus a small floor (RSS 1 MiB, 4 descriptors, 4 connections). Requests:
every wrk and h2load run's answers by status; a request is lost when it got no answer or a 5xx
(the targets never fail while both run, and one always runs, so retries can always serve it).
Exit status 0 when everything is flat and nothing was lost.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


class Target:
    """One nginx target (the bench backend's configuration) that can be killed and restarted."""

    def __init__(self, work, port):
        self.port, self.dir = port, os.path.join(work, "target-%d" % port)
        os.makedirs(self.dir, exist_ok=True)
        text = open(os.path.join(ROOT, "bench/conf/backend-nginx.conf")).read()
        text = text.replace("@PORT@", str(port)).replace("@WORK@", self.dir)
        # (only 127.0.0.1: the bench's extra addresses would clash between two targets)
        text = re.sub(r"\n\s*listen 127\.0\.0\.[23]:[^\n]*", "", text)
        self.conf = os.path.join(self.dir, "nginx.conf")
        open(self.conf, "w").write(text)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-c", self.conf, "-p", self.dir], stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Redis:
    def __init__(self, port):
        self.port, self.proc = port, None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_port(self.port)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def kong_config(targets, redis_port, ws_port):
    """The declarative configuration (JSON, which is YAML): every route the load uses."""
    service = {
        "name": "app", "host": "app", "retries": 5, "connect_timeout": 1000, "read_timeout": 5000,
        "routes": [
            {"name": "plain", "paths": ["/plain"]},
            {"name": "auth", "paths": ["/auth"], "plugins": [{"name": "key-auth"}]},
            {"name": "limited", "paths": ["/limited"], "plugins": [{"name": "rate-limiting", "config": {
                "second": 1000000, "policy": "redis", "fault_tolerant": True,
                "redis": {"host": "127.0.0.1", "port": redis_port, "timeout": 200}}}]},
            {"name": "cached", "paths": ["/cached"], "plugins": [{"name": "proxy-cache", "config": {
                "strategy": "memory", "content_type": ["application/json"], "cache_ttl": 2}}]},
            {"name": "transformed", "paths": ["/big"], "strip_path": False, "plugins": [
                {"name": "response-transformer", "config": {"remove": {"json": ["password_hash"]}}}]},
            {"name": "dashboard", "paths": ["/dashboard"], "plugins": [{"name": "aggregate", "config": {
                "timeout": 5000, "backends": [{"name": "user", "service": "app", "path": "/users/1"},
                                              {"name": "orders", "service": "app", "path": "/orders/1"}]}}]},
            {"name": "graphql", "paths": ["/graphql"], "plugins": [{"name": "graphql", "config": {
                "schema": "type Query { user: Person orders: Person } type Person { id: ID! name: String }",
                "resolvers": {"Query.user": {"service": "app", "path": "/users/1"},
                              "Query.orders": {"service": "app", "path": "/orders/1"}}}}]},
        ],
    }
    return {
        "_format_version": "3.0",
        "upstreams": [{
            "name": "app",
            "healthchecks": {
                "passive": {"unhealthy": {"tcp_failures": 1}},
                "active": {"http_path": "/", "healthy": {"interval": 0.5, "successes": 1},
                           "unhealthy": {"interval": 0.5, "tcp_failures": 1}},
            },
            "targets": [{"target": "127.0.0.1:%d" % t.port} for t in targets],
        }],
        "services": [service, {"name": "ws", "url": "http://127.0.0.1:%d" % ws_port,
                               "routes": [{"name": "ws", "paths": ["/ws"]}]}],
        "consumers": [{"username": "soak", "keyauth_credentials": [{"key": "soak-key"}]}],
    }


def admin(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def sample(pid, target_ports):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    out = subprocess.run(["ss", "-Htn", "state", "established"], capture_output=True, text=True).stdout
    upstream = sum(1 for line in out.splitlines()
                   if len(line.split()) >= 4 and any(line.split()[3].endswith(":%d" % p) for p in target_ports))
    return rss, fds, upstream


def slope(points):
    """Least-squares slope (per second) and the residuals' standard deviation."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    residuals = [y - (my + b * (x - mx)) for x, y in zip(xs, ys)]
    return b, statistics.pstdev(residuals)


class Load:
    """wrk on each HTTP route and h2load over h2c, in rounds of 30 s until stopped; answers by
    status, summed."""

    ROUTES = [("/plain/users/1", []), ("/auth/users/1", ["-H", "apikey: soak-key"]), ("/limited/users/1", []),
              ("/cached/users/1", []), ("/big", []), ("/dashboard", []),
              ("/graphql?query=%7Buser%7Bname%7Dorders%7Bname%7D%7D", [])]

    def __init__(self, port, h2c_port):
        self.port, self.h2c_port = port, h2c_port
        self.requests = 0
        self.bad = []  # (what, detail)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.wrk_loop, args=r, daemon=True) for r in self.ROUTES]
        self.threads.append(threading.Thread(target=self.h2_loop, daemon=True))
        for t in self.threads:
            t.start()

    def wrk_loop(self, path, headers):
        while not self.stop.is_set():
            out = subprocess.run(["wrk", "-t1", "-c4", "-d30s", *headers, "http://127.0.0.1:%d%s" % (self.port, path)],
                                 capture_output=True, text=True).stdout
            total = re.search(r"(\d+) requests in", out)
            errors = re.search(r"Socket errors: (.*)", out)
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            with self.lock:
                self.requests += int(total.group(1)) if total else 0
                if errors:
                    self.bad.append((path, "socket errors: " + errors.group(1)))
                if non2xx:
                    self.bad.append((path, "%s non-2xx answers" % non2xx.group(1)))

    def h2_loop(self):
        while not self.stop.is_set():
            out = subprocess.run(["h2load", "-c4", "-m10", "-D", "30", "http://127.0.0.1:%d/plain/users/1" % self.h2c_port],
                                 capture_output=True, text=True).stdout
            done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored",
                             out)
            status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
            with self.lock:
                if done:
                    self.requests += int(done.group(1))
                    if int(done.group(3)) or int(done.group(4)):
                        self.bad.append(("h2load", "%s failed, %s errored" % (done.group(3), done.group(4))))
                if status and (int(status.group(3)) or int(status.group(4))):
                    self.bad.append(("h2load", "%s 4xx, %s 5xx" % (status.group(3), status.group(4))))

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def websocket_loop(port, stop, counts):
    """Opens a WebSocket through the gateway, echoes 100 messages, closes; again and again."""
    import asyncio
    import websockets

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/ws" % port, open_timeout=5, close_timeout=2) as ws:
            for i in range(100):
                await ws.send("m%d" % i)
                if await asyncio.wait_for(ws.recv(), 5) != "m%d" % i:
                    counts["bad"] += 1

    while not stop.is_set():
        try:
            asyncio.run(session())
            counts["sessions"] += 1
        except Exception as e:  # noqa: BLE001 (any failure is counted and reported)
            counts["bad"] += 1
            counts["last_error"] = repr(e)
            time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=3600)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/portico"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results/soak.txt"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="portico-soak-")
    procs = []
    report = []

    def say(line):
        print(line, flush=True)
        report.append(line)

    try:
        targets = [Target(work, free_port()), Target(work, free_port())]
        redis = Redis(free_port())
        ws_port = free_port()
        ws = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/e2e/ws_echo_server.py"), str(ws_port)])
        procs.append(ws)
        wait_port(ws_port)
        port, h2c, admin_port = free_port(), free_port(), free_port()
        cfg_path, data_dir = os.path.join(work, "kong.json"), os.path.join(work, "store")
        with open(cfg_path, "w") as f:
            json.dump(kong_config(targets, redis.port, ws_port), f)
        subprocess.run([args.bin, "config", "--data-dir", data_dir, "db_import", cfg_path], check=True,
                       capture_output=True)
        gw = subprocess.Popen([args.bin, "run", "--data-dir", data_dir, "--workers", "2", "--access-log", "off",
                               "--log-level", "error", "--proxy-listen", "127.0.0.1:%d" % port,
                               "--proxy-listen", "127.0.0.1:%d http2" % h2c,
                               "--admin-listen", "127.0.0.1:%d" % admin_port])
        procs.append(gw)
        wait_port(port)
        wait_port(admin_port)
        say("# soak: %s, %d s, Portico %s (2 workers), targets %s, redis %d"
            % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), args.duration, args.bin,
               [t.port for t in targets], redis.port))
        load = Load(port, h2c)
        ws_stop, ws_counts = threading.Event(), {"sessions": 0, "bad": 0}
        ws_thread = threading.Thread(target=websocket_loop, args=(port, ws_stop, ws_counts), daemon=True)
        ws_thread.start()

        start = time.monotonic()
        samples = []
        events = {"target kills": 0, "redis restarts": 0, "admin writes": 0, "route changes": 0,
                  "admin failures": 0}
        next_sample = next_kill = next_redis = next_write = next_reload = start
        next_kill += 60
        next_redis += 300
        next_reload += 30
        killed = None
        serial = 0
        say("%8s %10s %6s %9s" % ("t (s)", "RSS (KiB)", "fds", "upstream"))
        while time.monotonic() - start < args.duration:
            now = time.monotonic()
            if now >= next_sample:
                rss, fds, upstream = sample(gw.pid, [t.port for t in targets])
                samples.append((now - start, rss, fds, upstream))
                say("%8.0f %10d %6d %9d" % (now - start, rss, fds, upstream))
                next_sample += 10
            if killed is None and now >= next_kill:
                killed = targets[events["target kills"] % 2]
                killed.kill()
                events["target kills"] += 1
                restart_at = now + 10
            if killed is not None and now >= restart_at:
                killed.start()
                killed = None
                next_kill = now + 50
            if now >= next_redis:
                redis.kill()
                time.sleep(1)
                redis.start()
                events["redis restarts"] += 1
                next_redis = now + 300
            try:
                if now >= next_write:
                    serial += 1
                    admin(admin_port, "POST", "/consumers", {"username": "churn-%d" % serial})
                    admin(admin_port, "POST", "/consumers/churn-%d/key-auth" % serial, {"key": "k-%d" % serial})
                    if serial > 1:
                        admin(admin_port, "DELETE", "/consumers/churn-%d" % (serial - 1))
                    events["admin writes"] += 1
                    next_write = now + 2
                if now >= next_reload:
                    admin(admin_port, "POST", "/services/app/routes", {"name": "churn-route", "paths": ["/churn"]})
                    admin(admin_port, "DELETE", "/routes/churn-route")
                    events["route changes"] += 1
                    next_reload = now + 30
            except Exception as e:  # noqa: BLE001
                events["admin failures"] += 1
                say("admin API: %r" % e)
                next_write, next_reload = now + 2, max(next_reload, now + 30)
            if gw.poll() is not None:
                say("Portico exited with %s" % gw.returncode)
                break
            time.sleep(0.2)
        if killed is not None:
            killed.start()
        load.finish()
        ws_stop.set()
        ws_thread.join()

        say("")
        say("events: " + ", ".join("%s %d" % kv for kv in events.items()))
        say("requests answered: %d (wrk + h2load); WebSocket sessions of 100 echoes: %d, failures %d%s"
            % (load.requests, ws_counts["sessions"], ws_counts["bad"],
               " (last: %s)" % ws_counts.get("last_error") if ws_counts["bad"] else ""))
        for what, detail in load.bad:
            say("LOST: %s: %s" % (what, detail))
        warm = [s for s in samples if s[0] >= args.duration * 0.1]
        flat = gw.poll() is None and len(warm) >= 3
        for i, (name, floor) in enumerate([("RSS (KiB)", 1024), ("file descriptors", 4), ("upstream connections", 4)]):
            if len(warm) < 3:
                break
            b, noise = slope([(s[0], s[i + 1]) for s in warm])
            span = warm[-1][0] - warm[0][0]
            drift = b * span
            ok = abs(drift) <= 2 * noise + floor
            flat = flat and ok
            say("%-22s first %8.0f  last %8.0f  slope %+.3f/min  drift over %.0f s %+.1f  noise %.1f  %s"
                % (name, warm[0][i + 1], warm[-1][i + 1], b * 60, span, drift, noise, "FLAT" if ok else "GROWING"))
        lost = bool(load.bad) or ws_counts["bad"] > 0
        say("result: %s, %s" % ("flat" if flat else "NOT FLAT", "no request lost" if not lost else "REQUESTS LOST"))
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write("\n".join(report) + "\n")
        return 0 if flat and not lost else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        for t in locals().get("targets", []):
            if t.proc and t.proc.poll() is None:
                t.kill()
        if "redis" in locals() and redis.proc.poll() is None:
            redis.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
