"""A minimal authoritative DNS server for tests: answers A queries from a mutable table,
over UDP on loopback. Written here (no dnslib on Debian's python) and kept tiny: one
question per query, A records only, NXDOMAIN for unknown names."""
import socket
import struct
import threading


class DnsServer:
    def __init__(self, records, ttl=1):
        self.records = dict(records)  # name -> [ipv4, ...]
        self.ttl = ttl
        self.queries = 0
        self.answering = True
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            self.queries += 1
            if not self.answering:
                continue  # a DNS server that went silent
            reply = self._answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def _answer(self, q):
        if len(q) < 12:
            return None
        qid, = struct.unpack("!H", q[:2])
        labels, i = [], 12
        while i < len(q) and q[i] != 0:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        question = q[12:i + 5]
        qtype, = struct.unpack("!H", q[i + 1:i + 3])
        name = ".".join(labels).lower()
        ips = self.records.get(name)
        flags = 0x8180 if ips is not None else 0x8183  # response, RD, RA; rcode NXDOMAIN
        answers = b""
        count = 0
        if ips is not None and qtype == 1:
            for ip in ips:
                answers += struct.pack("!HHHIH", 0xC00C, 1, 1, self.ttl, 4) + socket.inet_aton(ip)
                count += 1
        return struct.pack("!HHHHHH", qid, flags, 1, count, 0, 0) + question + answers

    def close(self):
        self.stopped = True
        self.sock.close()
