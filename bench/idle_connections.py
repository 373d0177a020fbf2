"""Opens N keep-alive connections to a proxy one after the other, completes one request on
each, leaves them all open and idle, and reports the proxy's RSS growth per connection.
(Requests are completed one at a time so the figure is the cost of an idle connection,
not of 10,000 simultaneous requests in flight.) Connections come from --source-ips loopback
addresses (127.0.0.1, .2, ...) in turn: one address has about 28,000 ephemeral ports, so 100,000
connections need four. The caller raises the file limits (this process needs N descriptors)."""
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
    ap.add_argument("--source-ips", type=int, default=1)
    args = ap.parse_args()
    sources = ["127.0.0.%d" % (i + 1) for i in range(args.source_ips)]
    # Warm the proxy (upstream pool, allocator) before the baseline.
    warm = socket.create_connection(("127.0.0.1", args.port))
    warm.sendall(b"GET /users/1 HTTP/1.1\r\nHost: bench\r\n\r\n")
    warm.recv(65536)
    time.sleep(0.3)
    before = rss_kib(args.pid)
    conns = []
    request = b"GET /users/1 HTTP/1.1\r\nHost: bench\r\n\r\n"
    for i in range(args.count):
        s = socket.create_connection(("127.0.0.1", args.port), source_address=(sources[i % len(sources)], 0))
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        conns.append(s)
    # (a connection parks 100 ms after its last request: Portico's kParkAfter)
    time.sleep(1.0)
    after = rss_kib(args.pid)
    per = (after - before) * 1024.0 / args.count
    print("RSS %d KiB -> %d KiB over %d idle connections: %.0f bytes per connection"
          % (before, after, args.count, per))
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
