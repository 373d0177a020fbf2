"""A threaded HTTP server on 127.0.0.1 that knows its open client connections, for test
backends: close() stops it and cuts the keep-alive connections Portico holds to it (a plain
shutdown() leaves handler threads blocked on them)."""
import socket
import threading
from http.server import ThreadingHTTPServer


class TrackingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, handler, quiet_errors=False):
        self.open_sockets = set()
        self.sockets_lock = threading.Lock()
        self.quiet_errors = quiet_errors
        super().__init__(("127.0.0.1", 0), handler)
        self.port = self.server_address[1]

    def process_request(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        if not self.quiet_errors:  # e.g. the gateway hung up on a late answer
            super().handle_error(request, client_address)

    def start(self, poll_interval=0.5):
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True).start()
        return self

    def close(self):
        self.shutdown()
        with self.sockets_lock:
            open_sockets = list(self.open_sockets)
        for s in open_sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.server_close()
