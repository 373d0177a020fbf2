"""An HTTP/1.1 backend whose answers the test scripts per path: status, header fields, body and
framing (Content-Length, chunked in pieces of a chosen size, or close-delimited), written on
a raw socket so nothing is added or normalised. It records every request (method, target,
header fields in order, body de-chunked), for tests of what the upstream received.
Runs in threads of the test process, on loopback."""
import socket
import socketserver
import threading


class Answer:
    def __init__(self, body=b"", status=200, headers=(), framing="length", chunk_size=1 << 20, hold=None):
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.headers = list(headers)  # [(name, value)], sent as given
        self.framing = framing        # "length", "chunked" or "close"
        self.chunk_size = chunk_size
        self.hold = hold              # a threading.Event: chunked, the rest waits for it after the first chunk


class ScriptedBackend:
    def __init__(self):
        self.answers = {}
        self.requests = []
        self.lock = threading.Lock()
        backend = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while backend._serve_one(self.rfile, self.wfile):
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path, *args, **kwargs):
        """Scripts the answer for requests whose path (without the query) is `path`."""
        with self.lock:
            self.answers[path] = Answer(*args, **kwargs)

    def last(self):
        with self.lock:
            return self.requests[-1]

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _serve_one(self, rfile, wfile):
        line = rfile.readline(65536)
        if not line:
            return False
        method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers = []
        while True:
            h = rfile.readline(65536).decode("latin-1").rstrip("\r\n")
            if not h:
                break
            name, _, value = h.partition(":")
            headers.append((name, value.strip()))
        lower = {n.lower(): v for n, v in headers}
        body = b""
        if lower.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                body += rfile.read(size)
                rfile.readline()
        elif "content-length" in lower:
            body = rfile.read(int(lower["content-length"]))
        with self.lock:
            self.requests.append({"method": method, "target": target, "headers": headers,
                                  "header": lower, "body": body})
            answer = self.answers.get(target.split("?")[0])
        if answer is None:
            answer = Answer(b'{"message":"not scripted"}', 404, [("Content-Type", "application/json")])
        head = "HTTP/1.1 %d X\r\n" % answer.status
        for name, value in answer.headers:
            head += "%s: %s\r\n" % (name, value)
        if answer.framing == "length":
            head += "Content-Length: %d\r\n" % len(answer.body)
        elif answer.framing == "chunked":
            head += "Transfer-Encoding: chunked\r\n"
        else:
            head += "Connection: close\r\n"
        wfile.write(head.encode("latin-1") + b"\r\n")
        if method == "HEAD":
            pass
        elif answer.framing == "chunked":
            for i in range(0, len(answer.body), answer.chunk_size):
                piece = answer.body[i:i + answer.chunk_size]
                wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if i == 0 and answer.hold is not None:
                    wfile.flush()
                    answer.hold.wait(30)
            wfile.write(b"0\r\n\r\n")
        else:
            wfile.write(answer.body)
        wfile.flush()
        if answer.framing == "close":
            try:
                wfile.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return False
        return True
