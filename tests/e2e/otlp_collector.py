"""A test OTLP/HTTP trace collector: receives ExportTraceServiceRequest posts (protobuf, as
Kong's exporter and the OpenTelemetry SDKs send, or OTLP/JSON) and keeps every span, decoded
by its own protobuf wire reader (independent of the gateway's encoder; the OpenTelemetry JS
SDK's posts go through it too). Answers 500 to the first `failures` posts."""
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _fields(data):
    """(field number, wire type, value) of a protobuf message: ints for varint and fixed64,
    bytes for length-delimited."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = struct.unpack_from("<Q", data, i)[0], i + 8
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 5:
            value, i = struct.unpack_from("<I", data, i)[0], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, wire, value


def _varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _any_value(data):
    for n, wire, v in _fields(data):
        if n == 1:
            return v.decode()
        if n == 2:
            return bool(v)
        if n == 3:
            return v - (1 << 64) if v >= 1 << 63 else v
        if n == 4:
            return struct.unpack("<d", struct.pack("<Q", v))[0]
    return None


def _attributes(pairs):
    out = {}
    for kv in pairs:
        key = value = None
        for n, _, v in _fields(kv):
            if n == 1:
                key = v.decode()
            elif n == 2:
                value = _any_value(v)
        out[key] = value
    return out


def _span(data, resource, scope):
    span = {"resource": resource, "scope": scope, "parent_span_id": "", "trace_state": "", "attributes": {}, "status": 0,
            "status_message": ""}
    attributes = []
    for n, _, v in _fields(data):
        if n == 1:
            span["trace_id"] = v.hex()
        elif n == 2:
            span["span_id"] = v.hex()
        elif n == 3:
            span["trace_state"] = v.decode()
        elif n == 4:
            span["parent_span_id"] = v.hex()
        elif n == 5:
            span["name"] = v.decode()
        elif n == 6:
            span["kind"] = v
        elif n == 7:
            span["start"] = v
        elif n == 8:
            span["end"] = v
        elif n == 9:
            attributes.append(v)
        elif n == 15:
            for sn, _, sv in _fields(v):
                if sn == 3:
                    span["status"] = sv
                elif sn == 2:
                    span["status_message"] = sv.decode()
    span["attributes"] = _attributes(attributes)
    return span


def decode_protobuf(body):
    spans = []
    for n, _, resource_spans in _fields(body):
        if n != 1:
            continue
        resource, scope_spans = {}, []
        for rn, _, rv in _fields(resource_spans):
            if rn == 1:
                resource = _attributes(v for an, _, v in _fields(rv) if an == 1)
            elif rn == 2:
                scope_spans.append(rv)
        for ss in scope_spans:
            scope, raw = {}, []
            for sn, _, sv in _fields(ss):
                if sn == 1:
                    scope = {{1: "name", 2: "version"}[fn]: fv.decode() for fn, _, fv in _fields(sv) if fn in (1, 2)}
                elif sn == 2:
                    raw.append(sv)
            spans.extend(_span(s, resource, scope) for s in raw)
    return spans


def _json_value(v):
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    return None


def decode_json(body):
    spans = []
    for rs in json.loads(body)["resourceSpans"]:
        resource = {a["key"]: _json_value(a["value"]) for a in rs["resource"]["attributes"]}
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                spans.append({
                    "resource": resource, "scope": ss["scope"], "trace_id": s["traceId"], "span_id": s["spanId"],
                    "parent_span_id": s.get("parentSpanId", ""), "trace_state": s.get("traceState", ""), "name": s["name"], "kind": s["kind"],
                    "start": int(s["startTimeUnixNano"]), "end": int(s["endTimeUnixNano"]),
                    "attributes": {a["key"]: _json_value(a["value"]) for a in s["attributes"]},
                    "status": s.get("status", {}).get("code", 0), "status_message": s.get("status", {}).get("message", "")})
    return spans


class Collector:
    def __init__(self, failures=0):
        self.spans, self.posts, self.failures = [], [], failures
        self.attempts = 0
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = b""  # the JS SDK's exporter streams its posts
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailer fields, up to the blank line
                        return body
                    body += self.rfile.read(size + 2)[:size]

            def do_POST(self):
                body = self.read_body()
                content_type = self.headers.get("Content-Type", "")
                with collector.lock:
                    collector.attempts += 1
                    fail = collector.attempts <= collector.failures
                    if not fail:
                        spans = decode_json(body) if content_type.startswith("application/json") else decode_protobuf(body)
                        collector.posts.append((self.path, dict(self.headers), len(spans)))
                        collector.spans.extend(spans)
                self.send_response(500 if fail else 200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/v1/traces" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def trace(self, trace_id):
        with self.lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]

    def all(self):
        with self.lock:
            return list(self.spans)

    def clear(self):
        with self.lock:
            self.spans, self.posts = [], []

    def close(self):
        self.server.shutdown()
        self.server.server_close()
