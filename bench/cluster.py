"""Figures of a Portico cluster on this machine (docs/cluster.md, docs/benchmarks.md): PostgreSQL 15
started here (tests/e2e/cluster.py), three nodes on it.

1. Propagation: N writes on node 1 (each a new route on an existing service); for each, the
   time from sending the POST until every node's proxy serves the new path (each node polled
   every ~1 ms by a thread of its own). p50 / p99 / max over the writes, for the slowest node.
2. Throughput: wrk against one node alone, then against the three at once (one wrk each, the
   same total connections), requests/s. All nodes share this machine's cores.
3. A large configuration: ROUTES services and routes imported with `portico config db_import`,
   then writes on node 1: the time until node 2 serves them (its whole catch-up: read, load,
   snapshot build), and node 2's own "revision loaded in" figure from its log.

  python3 bench/cluster.py BINARY [WRITES] [ROUTES]
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["PORTICO_BIN"] = sys.argv[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from cluster import Node, Postgres, migrations  # noqa: E402
from conftest import Backends, free_port, stop, wait_for_port  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from propagation import ok, post, propagation, summary  # noqa: E402

BIN = sys.argv[1]
WRITES = int(sys.argv[2]) if len(sys.argv) > 2 else 100
ROUTES = int(sys.argv[3]) if len(sys.argv) > 3 else 10000


def wrk(url, connections, seconds=8):
    return subprocess.Popen(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, url], stdout=subprocess.PIPE,
                            text=True)


def rps(proc):
    out = proc.communicate()[0]
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    folder = Path(tempfile.mkdtemp(prefix="portico-cluster-bench-"))
    backends = Backends()
    backend = NginxBackend(folder)
    pg = Postgres(folder / "pg")
    nodes = []
    try:
        assert migrations("bootstrap", pg.uri()).returncode == 0
        # Debug logs: each catch-up's "revision N loaded in X ms (read, load and snapshot)" line.
        nodes = [Node(folder / ("node%d" % i), pg.uri(), extra_args=["--log-level", "debug"]) for i in (1, 2, 3)]
        users = "http://127.0.0.1:%d/users" % backends.ports["users"]
        post(nodes[0].admin("/services"), {"name": "users", "url": users})
        post(nodes[0].admin("/services/users/routes"), {"paths": ["/users"]})
        time.sleep(0.5)

        print("## Propagation of a write to all three nodes (bench/cluster.py, %d writes on node 1)" % WRITES)
        print(summary(propagation(nodes[0].admin("/services/users/routes"), nodes, "p", WRITES)))

        print("\n## Requests/s: one node, then three at once (wrk, 96 connections in all, 8 s each; "
              "backend: nginx, bench/conf/backend-nginx.conf)")
        fast = "http://127.0.0.1:%d/" % backend.port
        post(nodes[0].admin("/services"), {"name": "fast", "url": fast})
        post(nodes[0].admin("/services/fast/routes"), {"paths": ["/fast"]})
        assert all(_wait(lambda: ok(n.url("/fast")), 10) for n in nodes)
        alone = rps(wrk(nodes[0].url("/fast"), 96))
        procs = [wrk(n.url("/fast"), 32) for n in nodes]
        together = sum(rps(p) for p in procs)
        print("one node: %.0f req/s; three nodes: %.0f req/s (%.2fx) - all on this machine's %d cores"
              % (alone, together, together / alone, os.cpu_count()))

        print("\n## %d services and routes (imported with portico config db_import)" % ROUTES)
        lines = ['_format_version: "3.0"', "services:"]
        for i in range(ROUTES):
            lines += ["- name: s%d" % i, "  url: %s" % users, "  routes:", "  - paths: [/r%d]" % i]
        big = folder / "big.yml"
        big.write_text("\n".join(lines) + "\n")
        started = time.perf_counter()
        imported = subprocess.run([BIN, "config", "--database", pg.uri(), "db_import", str(big)], capture_output=True,
                                  text=True)
        assert imported.returncode == 0, imported.stderr
        print("db_import: %.1f s" % (time.perf_counter() - started))
        assert all(_wait(lambda: ok(n.url("/r%d/1" % (ROUTES - 1))), 120) for n in nodes)
        print("propagation at %d routes: %s" % (ROUTES, summary(propagation(nodes[0].admin("/services/s0/routes"), nodes, "q", 20))))
        lines = re.findall(r"revision \d+ loaded in ([\d.]+) ms \(read ([\d.]+) ms, load and snapshot ([\d.]+) ms\)",
                           nodes[1].logs())
        if lines:
            last = lines[-20:]
            print("node 2's catch-up at %d routes, median of the last %d: %.1f ms (reading the database %.1f ms, "
                  "loading and building the snapshot %.1f ms)"
                  % (ROUTES, len(last), statistics.median(float(x[0]) for x in last),
                     statistics.median(float(x[1]) for x in last), statistics.median(float(x[2]) for x in last)))
    finally:
        for n in nodes:
            n.close()
        pg.close()
        stop(backends.proc)
        stop(backend.proc)


class NginxBackend:
    """bench/run.sh's backend (nginx, a small JSON answer) on a free port."""

    def __init__(self, folder):
        self.port = free_port()
        conf = (ROOT / "bench" / "conf" / "backend-nginx.conf").read_text()
        conf = conf.replace("@WORK@", str(folder)).replace("@PORT@", str(self.port))
        path = folder / "backend.conf"
        path.write_text(conf)
        os.chmod(folder, 0o755)
        self.proc = subprocess.Popen(["nginx", "-c", str(path), "-p", str(folder)], stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)


def _wait(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


if __name__ == "__main__":
    main()
