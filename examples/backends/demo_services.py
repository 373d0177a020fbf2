#!/usr/bin/python3
"""Demo backend services for Portico's demo (`make run`) and end-to-end tests.

Each service is a small JSON API on its own loopback port, served by the standard
library only (so it runs with Debian's /usr/bin/python3 and nothing else):

  users          GET /users, /users/{id}      (v1 shape, with each user's password_hash, which
                 the gateway strips: examples/kong.yml), /users/{id}/activity
  users-v2       GET /users, /users/{id}      (v2 shape: nested name, links)
  orders         GET /orders, /orders/{id}; POST /orders
  products       GET /products, /products/{id}, /products/recommendations?plan=P
  notifications  GET /notifications; POST /notifications
  payments       GET /payments/{id}; POST /payments

List endpoints filter on any query argument naming a field (/orders?user_id=1,
/notifications?user_id=1&read=false), so a gateway can compose per-user views, and on
`ids` (/products?ids=101,103: a batch of items by id).

Every service also answers:
  GET /slow?ms=N     waits N ms, then answers (graceful-shutdown tests)
  GET /echo          echoes the request (method, path, headers, body size)
  GET /health        {"status": "ok"}

Paths are accepted with or without the service prefix, since Portico strips the route
prefix by default (strip_path: true).

Usage: demo_services.py --ports users=9101,users-v2=9102,orders=9103,...
"""
import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

USERS = [
    {"id": 1, "username": "ada", "name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro",
     "created_at": "2024-01-12T09:30:00Z", "password_hash": "$2b$12$KIXqOr0jzZ1dTq4Pj3uKxe7mVJvH6Yb2bqfWd0l1g9fQJm8bS0mYi"},
    {"id": 2, "username": "grace", "name": "Grace Hopper", "email": "grace@example.com", "plan": "team",
     "created_at": "2024-02-03T14:05:00Z", "password_hash": "$2b$12$9Vn1cXo0sJb4ZgP2wq8tTeQyR5mN3kL7hD6fA1uC0eB8xW4zY2vHi"},
    {"id": 3, "username": "linus", "name": "Linus Torvalds", "email": "linus@example.com", "plan": "free",
     "created_at": "2024-03-21T18:45:00Z", "password_hash": "$2b$12$Qm3Lk8Tz1Wx5Rv7Ny2Pc4OeHs6Jd9Fg0Ab1Cu3Ei5Go7Iq9Ks1Mu"},
]
PRODUCTS = [
    {"id": 101, "sku": "KB-65", "name": "Mechanical keyboard", "price": {"amount": 12900, "currency": "EUR"}, "stock": 42},
    {"id": 102, "sku": "MS-01", "name": "Wireless mouse", "price": {"amount": 3900, "currency": "EUR"}, "stock": 230},
    {"id": 103, "sku": "MN-27", "name": "27-inch monitor", "price": {"amount": 32900, "currency": "EUR"}, "stock": 7},
]
ORDERS = [
    {"id": 5001, "user_id": 1, "status": "shipped", "items": [{"product_id": 101, "quantity": 1}],
     "total": {"amount": 12900, "currency": "EUR"}},
    {"id": 5002, "user_id": 2, "status": "processing", "items": [{"product_id": 102, "quantity": 2}],
     "total": {"amount": 7800, "currency": "EUR"}},
]
NOTIFICATIONS = [
    {"id": "n-1", "user_id": 1, "channel": "email", "message": "Your order 5001 has shipped", "read": False},
    {"id": "n-2", "user_id": 2, "channel": "push", "message": "Payment received", "read": True},
]
ACTIVITY = [
    {"user_id": 1, "at": "2026-11-30T08:12:00Z", "event": "login", "detail": "web"},
    {"user_id": 1, "at": "2026-11-30T08:15:00Z", "event": "order", "detail": "5001"},
    {"user_id": 2, "at": "2026-11-29T17:40:00Z", "event": "login", "detail": "mobile"},
]
# Products suggested per subscription plan.
RECOMMENDED = {"pro": [103, 101], "team": [102, 103], "free": [102]}
PAYMENTS = [
    {"id": "pay_1", "order_id": 5001, "status": "captured", "amount": {"amount": 12900, "currency": "EUR"},
     "method": "card"},
]


def user_v2(u):
    first, last = u["name"].split(" ", 1)
    return {"id": u["id"], "username": u["username"], "name": {"first": first, "last": last},
            "contact": {"email": u["email"]}, "subscription": {"plan": u["plan"]},
            "links": {"self": "/users/%d" % u["id"], "orders": "/orders?user_id=%d" % u["id"]}}


def base_of(service):
    return service.split("-")[0]


def matches(item, query):
    """Whether `item` has every queried field with the queried value (booleans as true/false)."""
    for key, values in query.items():
        if key not in item:
            continue
        value = item[key]
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if text != values[0]:
            return False
    return True


def find(items, key):
    for item in items:
        if str(item["id"]) == key:
            return item
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service = "users"
    server_version = "demo-backend/1.0"

    def log_message(self, fmt, *args):  # quiet: Portico writes the access log
        pass

    def send_json(self, status, payload, extra=None):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Service", self.service)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        # Head and body in one write, as servers send small answers: a process killed between
        # two writes would leave a head without its body, which no proxy can retry once the
        # head went on to the client (the failover tests kill these backends under load).
        self._headers_buffer.append(b"\r\n")
        head = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def route(self):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        base = self.service.split("-")[0]
        if parts and parts[0] == base:
            parts = parts[1:]
        return parts, parse_qs(url.query)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        parts, query = self.route()
        if parts == ["health"]:
            return self.send_json(200, {"status": "ok", "service": self.service})
        if parts == ["slow"]:
            time.sleep(int(query.get("ms", ["1000"])[0]) / 1000.0)
            return self.send_json(200, {"slow": True, "service": self.service})
        if parts == ["echo"]:
            return self.send_json(200, {"method": self.command, "path": self.path,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
        table = {
            "users": [user_v2(u) for u in USERS] if self.service == "users-v2" else USERS,
            "orders": ORDERS, "products": PRODUCTS, "notifications": NOTIFICATIONS, "payments": PAYMENTS,
        }[self.service.split("-")[0]]
        if base_of(self.service) == "users" and len(parts) == 2 and parts[1] == "activity":
            events = [e for e in ACTIVITY if str(e["user_id"]) == parts[0]]
            return self.send_json(200, {"data": events, "total": len(events)})
        if base_of(self.service) == "products" and parts == ["recommendations"]:
            ids = RECOMMENDED.get(query.get("plan", ["free"])[0], [])
            picks = [p for p in PRODUCTS if p["id"] in ids]
            return self.send_json(200, {"data": picks, "total": len(picks)})
        if not parts:
            rows = [item for item in table if matches(item, query)]
            if "ids" in query:  # a batch: /products?ids=101,103 (the graphql example's)
                wanted = set(query["ids"][0].split(","))
                rows = [item for item in rows if str(item["id"]) in wanted]
            return self.send_json(200, {"data": rows, "total": len(rows), "service": self.service})
        item = find(table, parts[0])
        if item is None:
            return self.send_json(404, {"message": "%s %s not found" % (self.service, parts[0])})
        return self.send_json(200, item)

    def do_POST(self):
        body = self.read_body()
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return self.send_json(400, {"message": "invalid JSON body"})
        parts, _ = self.route()
        if parts == ["echo"]:
            return self.send_json(200, {"method": "POST", "path": self.path, "body_length": len(body)})
        payload.setdefault("id", int(time.time() * 1000) % 100000)
        payload["status"] = "created"
        return self.send_json(201, payload, {"Location": "/%s/%s" % (self.service, payload["id"])})

    do_PUT = do_POST


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ports", default="users=9101,users-v2=9102,orders=9103,products=9104,"
                                           "notifications=9105,payments=9106")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    servers = []
    for spec in args.ports.split(","):
        name, port = spec.split("=")
        handler = type("H_" + name.replace("-", "_"), (Handler,), {"service": name})
        server = Server((args.host, int(port)), handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print("demo backend %-13s on http://%s:%s" % (name, args.host, port), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for s in servers:
        s.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
