"""Opens N keep-alive connections to a proxy one after the other, completes one request on
each, leaves them all open and idle, and reports the proxy's RSS growth per connection.
(Requests are completed one at a time so the figure is the cost of an idle connection,
not of 10,000 simultaneous requests in flight.)"""
import argparse
import socket
import time


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    args = ap.parse_args()
    # Warm the proxy (upstream pool, allocator) before the baseline.
    warm = socket.create_connection(("127.0.0.1", args.port))
    warm.sendall(b"GET /users/1 HTTP/1.1\r\nHost: bench\r\n\r\n")
    warm.recv(65536)
    time.sleep(0.3)
    before = rss_kib(args.pid)
    conns = []
    request = b"GET /users/1 HTTP/1.1\r\nHost: bench\r\n\r\n"
    for _ in range(args.count):
        s = socket.create_connection(("127.0.0.1", args.port))
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        conns.append(s)
    time.sleep(1.0)
    after = rss_kib(args.pid)
    per = (after - before) * 1024.0 / args.count
    print("RSS %d KiB -> %d KiB over %d idle connections: %.0f bytes per connection"
          % (before, after, args.count, per))
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
