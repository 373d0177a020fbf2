#!/usr/bin/env python3
"""How long an Admin API write takes to be live with a large configuration.

Imports N services, each with one route, into a fresh store (portico config db_import), starts
Portico on it, then adds routes one at a time through the Admin API and measures, per write:
  answer: from sending the POST to its 201 (validation, durable commit, snapshot build);
  live:   from sending the POST to the first 200 through the proxy on the new route.
Usage: bench/admin_write_bench.py [--portico build/release/portico] [--services 10000] [--writes 20]
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backend():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: with Nagle's algorithm on, the body would
        # wait for the gateway's delayed ACK (40 ms), which is the backend's latency, not Portico's.
        disable_nagle_algorithm = True

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def status(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--portico", default="build/release/portico")
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--writes", type=int, default=20)
    args = ap.parse_args()
    be = backend()
    work = tempfile.mkdtemp(prefix="portico-admin-bench-")
    try:
        doc = {"_format_version": "3.0", "services": [
            {"name": "svc-%d" % i, "url": "http://127.0.0.1:%d" % be.server_port,
             "routes": [{"name": "route-%d" % i, "paths": ["/svc-%d" % i]}]} for i in range(args.services)]}
        cfg = os.path.join(work, "kong.json")
        with open(cfg, "w") as f:
            json.dump(doc, f)
        data = os.path.join(work, "data")
        t0 = time.monotonic()
        subprocess.run([args.portico, "config", "--data-dir", data, "db_import", cfg], check=True,
                       stdout=subprocess.DEVNULL)
        import_s = time.monotonic() - t0
        proxy, admin = free_port(), free_port()
        log = open(os.path.join(work, "portico.log"), "w")
        t0 = time.monotonic()
        proc = subprocess.Popen([args.portico, "run", "--data-dir", data, "--proxy-listen", "127.0.0.1:%d" % proxy,
                                 "--admin-listen", "127.0.0.1:%d" % admin, "--workers", "2", "--access-log", "off",
                                 "--log-level", os.environ.get("LOG_LEVEL", "warn")], stdout=log, stderr=subprocess.STDOUT)
        while True:
            try:
                socket.create_connection(("127.0.0.1", proxy), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit("portico exited: see " + log.name)
                time.sleep(0.05)
        start_s = time.monotonic() - t0
        answers, lives = [], []
        try:
            for i in range(args.writes):
                t0 = time.monotonic()
                s = status(admin, "POST", "/services/svc-%d/routes" % i, "paths[]=/new-%d" % i)
                answers.append(time.monotonic() - t0)
                time.sleep(0.0)
                assert s == 201, s
                while status(proxy, "GET", "/new-%d" % i) != 200:
                    time.sleep(0.001)  # polling must not starve the gateway of the machine's 2 cores
                lives.append(time.monotonic() - t0)
        finally:
            proc.terminate()
            proc.wait()
            if os.environ.get("LOG_LEVEL"):
                print(open(log.name).read()[-3000:])
        ms = lambda xs, q: sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000
        print("configuration: %d services + %d routes; import %.1f s; start %.1f s" %
              (args.services, args.services, import_s, start_s))
        print("one route added (%d writes): answer p50 %.1f ms, max %.1f ms; live p50 %.1f ms, max %.1f ms" %
              (args.writes, ms(answers, 0.5), max(answers) * 1000, ms(lives, 0.5), max(lives) * 1000))
    finally:
        be.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
