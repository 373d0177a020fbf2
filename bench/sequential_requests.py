"""Sends COUNT sequential GET requests on one keep-alive connection (for callgrind runs)."""
import argparse
import socket

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--count", type=int, required=True)
ap.add_argument("--path", default="/users/1")
ap.add_argument("--header", action="append", default=[], help="extra header line, e.g. 'apikey: k'")
args = ap.parse_args()
s = socket.create_connection(("127.0.0.1", args.port))
extra = "".join(h + "\r\n" for h in args.header)
request = ("GET %s HTTP/1.1\r\nHost: bench\r\n%s\r\n" % (args.path, extra)).encode()
buf = b""
for _ in range(args.count):
    s.sendall(request)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":")[1])
            if len(buf) >= end + 4 + length:
                buf = buf[end + 4 + length:]
                break
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
s.close()
