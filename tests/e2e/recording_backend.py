"""An HTTP backend that records every request it receives (method, path, headers, body), run
in a thread of the test process: tests assert what the upstream saw, and that it saw
nothing at all when Portico must refuse a request."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingBackend:
    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                with backend.lock:
                    backend.requests.append({"method": self.command, "path": self.path,
                                             "headers": {k.lower(): v for k, v in self.headers.items()},
                                             "header_counts": _counts(self.headers),
                                             "body": getattr(self, "received_body", b"").decode("utf-8", "replace")})
                self.received_body = b""  # a keep-alive connection's next request has its own
                body = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_OPTIONS = do_GET

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                self.received_body = self.rfile.read(length) if length else b""
                self.do_GET()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _counts(headers):
    counts = {}
    for k in headers.keys():
        counts[k.lower()] = counts.get(k.lower(), 0) + 1
    return counts
