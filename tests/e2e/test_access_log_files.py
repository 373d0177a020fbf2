"""The access log's outputs: a file reopened on SIGUSR1 after logrotate moved it (no line lost,
none written to the moved file afterwards), and stderr for containers."""
import json
import os
import signal
import subprocess
import time
import urllib.request

from conftest import PORTICO_BIN, Portico, eventually, free_port, stop, wait_for_port
from recording_backend import RecordingBackend


def config(tmp_path, backend):
    path = tmp_path / "kong.json"
    path.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [{"paths": ["/"]}]}]}))
    return path


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200


def test_sigusr1_reopens_a_rotated_file(tmp_path):
    backend = RecordingBackend()
    log = tmp_path / "access.log"
    p = Portico(config(tmp_path, backend), ["--access-log", str(log)])
    try:
        get(p.url("/before-rotation"))
        assert eventually(lambda: log.exists() and "/before-rotation" in log.read_text(), timeout=5)
        rotated = tmp_path / "access.log.1"
        os.rename(log, rotated)  # logrotate's move; the gateway still writes to the moved file
        get(p.url("/still-old-file"))
        assert eventually(lambda: "/still-old-file" in rotated.read_text(), timeout=5)
        p.proc.send_signal(signal.SIGUSR1)
        assert eventually(lambda: "SIGUSR1: access log reopened" in p.logs(), timeout=5)
        get(p.url("/after-rotation"))
        assert eventually(lambda: log.exists() and "/after-rotation" in log.read_text(), timeout=5)
        time.sleep(1.2)  # past the workers' flush tick: nothing else arrives in the old file
        old = rotated.read_text()
        assert "/after-rotation" not in old and "/before-rotation" in old
        assert "/before-rotation" not in log.read_text()
    finally:
        p.close()
        backend.close()


def test_stderr_target(tmp_path):
    backend = RecordingBackend()
    port = free_port()
    out, err = open(tmp_path / "out", "w"), open(tmp_path / "err", "w")
    proc = subprocess.Popen([PORTICO_BIN, "run", "-c", str(config(tmp_path, backend)), "--proxy-listen",
                             "127.0.0.1:%d" % port, "--admin-listen", "off", "--access-log", "stderr"],
                            stdout=out, stderr=err)
    try:
        wait_for_port(port, proc=proc)
        get("http://127.0.0.1:%d/to-stderr" % port)
        assert eventually(lambda: "/to-stderr" in (tmp_path / "err").read_text(), timeout=5)
        assert "/to-stderr" not in (tmp_path / "out").read_text()
    finally:
        stop(proc)
        out.close()
        err.close()
        backend.close()


def test_a_stdout_nobody_reads_never_holds_the_proxy(tmp_path):
    # A container's log collector that stalls: the pipe fills (64 KiB) and write() would
    # block. Only the sink's writer thread waits; the proxy answers on, and once the reader
    # comes back every line arrives.
    import http.client
    import threading
    backend = RecordingBackend()
    port = free_port()
    err = open(tmp_path / "err", "w")
    proc = subprocess.Popen([PORTICO_BIN, "run", "-c", str(config(tmp_path, backend)), "--proxy-listen",
                             "127.0.0.1:%d" % port, "--admin-listen", "off", "--access-log", "stdout"],
                            stdout=subprocess.PIPE, stderr=err)
    try:
        wait_for_port(port, proc=proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        padding = "x" * 2000  # about 2 KiB a line: 400 lines are twelve pipes full
        started = time.monotonic()
        for i in range(400):
            conn.request("GET", "/stalled-reader/%d/%s" % (i, padding))
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        assert time.monotonic() - started < 60
        conn.close()
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        assert eventually(lambda: len(lines) >= 400, timeout=20), len(lines)
        assert sum(b"/stalled-reader/" in line for line in lines) == 400
    finally:
        stop(proc)
        err.close()
        backend.close()
