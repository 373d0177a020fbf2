"""Hybrid mode's figures on this machine (docs/cluster.md "Hybrid mode", docs/benchmarks.md): a
control plane on the embedded store and two data planes (tests/e2e/test_hybrid.py's HybridNode).

1. Propagation: N writes on the control plane's Admin API (each a new route on one service);
   for each, the time from sending the POST until both data planes' proxies serve the new path
   (each polled every ~1 ms by a thread of its own). p50 / p99 / max.
2. At ROUTES services and routes (imported into the control plane's store before it starts):
   the same for 10 writes: each sends the whole configuration, which each data plane loads.

  python3 bench/hybrid.py BINARY [WRITES] [ROUTES]
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ["PORTICO_BIN"] = sys.argv[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import Backends, stop, wait_for_port  # noqa: E402
from test_hybrid import HybridNode, gen_cert  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
from propagation import post, propagation, summary  # noqa: E402

BIN = sys.argv[1]
WRITES = int(sys.argv[2]) if len(sys.argv) > 2 else 100
ROUTES = int(sys.argv[3]) if len(sys.argv) > 3 else 10000


def run(folder, backends, writes, routes):
    cert, key = gen_cert(folder, "cluster")
    tls = ["--cluster-cert", cert, "--cluster-cert-key", key]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    if routes:
        lines = ["_format_version: \"3.0\"", "services:"]
        for i in range(routes):
            lines += ["- name: s%d" % i, "  url: %s" % url, "  routes:", "  - name: r%d" % i, "    paths: [/big-%d]" % i]
        (folder / "big.yml").write_text("\n".join(lines) + "\n")
        done = subprocess.run([BIN, "config", "--data-dir", str(folder / "cp"), "db_import", str(folder / "big.yml")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    nodes = []
    try:
        cp = HybridNode(folder / "cp", "control_plane", tls)
        nodes.append(cp)
        wait_for_port(cp.admin_port, proc=cp.proc)
        dps = [HybridNode(folder / ("dp%d" % i), "data_plane",
                          tls + ["--cluster-control-plane", "127.0.0.1:%d" % cp.cluster_port]) for i in (1, 2)]
        nodes += dps
        deadline = time.time() + 120
        while not all(dp.ready() == 200 for dp in dps) and time.time() < deadline:
            time.sleep(0.1)
        assert post(cp.admin("/services"), {"name": "bench", "url": url}) == 201
        return propagation(cp.admin("/services/bench/routes"), dps, "w", writes)
    finally:
        for n in nodes:
            n.close()


def main():
    folder = Path(tempfile.mkdtemp(prefix="portico-hybrid-bench-"))
    backends = Backends()
    try:
        (folder / "small").mkdir()
        print("propagation, control plane -> 2 data planes: " + summary(run(folder / "small", backends, WRITES, 0)))
        if ROUTES:
            (folder / "large").mkdir()
            print("at %d services + routes: " % ROUTES + summary(run(folder / "large", backends, 10, ROUTES)))
    finally:
        stop(backends.proc)


if __name__ == "__main__":
    main()
