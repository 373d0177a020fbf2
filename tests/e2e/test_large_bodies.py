"""1 GiB upload and 1 GiB download through Portico with real curl: bodies are streamed,
so Portico's memory stays bounded while the bytes flow."""
import json
import subprocess
import threading
import time
from pathlib import Path

from conftest import free_port, stop, wait_for_port

GIB = 1024 ** 3
HERE = Path(__file__).resolve().parent


def rss_kib(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakRss:
    def __init__(self, pid):
        self.pid, self.peak, self.done = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.done.is_set():
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except OSError:
                return
            time.sleep(0.05)

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.peak


def test_one_gib_up_and_down_with_bounded_memory(start_portico, tmp_path):
    upstream_port = free_port()
    server = subprocess.Popen(["/usr/bin/python3", str(HERE / "stream_server.py"), str(upstream_port)])
    try:
        wait_for_port(upstream_port, proc=server)
        cfg = tmp_path / "kong.yml"
        cfg.write_text('_format_version: "3.0"\nservices:\n- name: stream\n  url: http://127.0.0.1:%d\n'
                       '  routes:\n  - paths: [/]\n    strip_path: false\n' % upstream_port)
        # Under AddressSanitizer (make test), freed memory is parked in a 256 MiB quarantine
        # by design; keep it small so RSS reflects what Portico itself holds.
        p = start_portico(cfg, ["--workers", "1"], env={"ASAN_OPTIONS": "quarantine_size_mb=4"})
        base = rss_kib(p.proc.pid)
        watch = PeakRss(p.proc.pid)

        # Upload: 1 GiB from /dev/zero, sent chunked by curl (-T -) and with Content-Length.
        gen = subprocess.Popen(["head", "-c", str(GIB), "/dev/zero"], stdout=subprocess.PIPE)
        up = subprocess.run(["curl", "-sS", "--max-time", "600", "-T", "-", "-X", "POST", p.url("/upload")],
                            stdin=gen.stdout, capture_output=True, check=True)
        gen.wait()
        assert json.loads(up.stdout) == {"received": GIB}

        # Download: 1 GiB, counted by curl, not stored.
        down = subprocess.run(["curl", "-sS", "--max-time", "600", "-o", "/dev/null", "-w", "%{size_download} %{http_code}",
                               p.url("/download/%d" % GIB)], capture_output=True, text=True, check=True)
        assert down.stdout == "%d 200" % GIB

        peak = watch.stop()
        # Buffers are 16 KiB per side; allow generous slack for allocator and sanitizer runtime.
        assert peak - base < 64 * 1024, "RSS grew by %d KiB while streaming 2 GiB" % (peak - base)
    finally:
        stop(server)
