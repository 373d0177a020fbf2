"""A streaming sink/source upstream for large-body tests (standard library only).

  POST/PUT any path  reads the body in 64 KiB pieces (Content-Length or chunked) without
                     keeping it, answers {"received": N}
  GET /download/N    sends N bytes of 'z' with Content-Length, produced in 64 KiB pieces
Usage: stream_server.py PORT
"""
import json
import socketserver
import sys

PIECE = 65536


class Handler(socketserver.StreamRequestHandler):
    def read_head(self):
        lines = []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                return lines
            lines.append(line.decode("latin-1").rstrip("\r\n"))

    def discard(self, left):
        """Reads and drops `left` bytes; returns how many arrived (fewer on EOF)."""
        got = 0
        while left:
            data = self.rfile.read(min(PIECE, left))
            if not data:
                break
            got += len(data)
            left -= len(data)
        return got

    def handle(self):
        while True:
            head = self.read_head()
            if head is None:
                return
            method, target, _ = head[0].split(" ", 2)
            fields = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                fields[k.strip().lower()] = v.strip()
            received = 0
            if "content-length" in fields:
                want = int(fields["content-length"])
                received = self.discard(want)
                if received != want:
                    return
            elif fields.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    got = self.discard(size)
                    if got != size:
                        return
                    received += got
                    self.rfile.readline()
            if method in ("POST", "PUT"):
                body = json.dumps({"received": received}).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                                 % len(body) + body)
            elif target.startswith("/download/"):
                n = int(target.rsplit("/", 1)[1])
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                 b"Content-Length: %d\r\n\r\n" % n)
                piece = b"z" * PIECE
                while n:
                    k = min(PIECE, n)
                    self.wfile.write(piece[:k])
                    n -= k
            else:
                self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
