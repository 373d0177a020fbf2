"""A threaded HTTP/1.1 keep-alive server on 127.0.0.1 that records every request (method, raw
path, lower-cased headers, body, when it arrived and when its answer started) and answers with
what its subclass's answer(rec) returns: (status, content type or None, body bytes). For the
plugins that call services themselves (aggregate, graphql): tests assert what each service saw.
"""
import threading
import time
from http.server import BaseHTTPRequestHandler

from tracking_server import TrackingServer


class AnsweringBackend:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.requests = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = {"method": self.command, "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "header_list": [(k.lower(), v) for k, v in self.headers.items()],
                       "body": body.decode("utf-8", "replace"),
                       "received": time.monotonic(), "replied": None}
                with backend.lock:
                    backend.requests.append(rec)
                status, ctype, payload = backend.answer(rec)
                rec["replied"] = time.monotonic()  # before the answer leaves: a dependent starts later
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        # Errors are the gateway hanging up on late answers (timed-out calls): expected.
        self.server = TrackingServer(Handler, quiet_errors=True).start(poll_interval=0.05)
        self.port = self.server.port

    def answer(self, rec):
        raise NotImplementedError
