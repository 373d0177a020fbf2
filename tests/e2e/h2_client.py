"""HTTP/2 clients for the tests: an ordinary one (python3-h2 driving a socket, h2c or TLS with
ALPN h2) and raw frames for the hostile ones (hyperframe and hpack, which let a test send
what a correct client never would)."""
import socket
import ssl
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# RFC 9113 section 7 error codes
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM = 0x4, 0x5, 0x6, 0x7
CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM = 0x8, 0x9, 0xA, 0xB


def connect(port, tls_ca=None, timeout=10):
    """A socket to the gateway: plain (h2c, prior knowledge) or TLS offering only h2."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls_ca is None:
        return raw
    ctx = ssl.create_default_context(cafile=str(tls_ca))
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    assert s.selected_alpn_protocol() == "h2"
    return s


class Response:
    def __init__(self):
        self.headers = None      # final response headers, as a dict (names lowercase)
        self.interim = []        # 1xx heads
        self.body = bytearray()
        self.ended = False
        self.reset = None        # RST_STREAM error code from the server

    @property
    def status(self):
        return int(self.headers[":status"]) if self.headers else None


class Client:
    """One HTTP/2 connection driven by python3-h2. `settings`: the client's SETTINGS."""

    def __init__(self, port, tls_ca=None, settings=None, timeout=15, validate=True):
        self.sock = connect(port, tls_ca, timeout)
        self.timeout = timeout
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=validate)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.responses = {}
        self.goaway = None  # (error code, last stream id)
        self.closed = False
        self.server_settings = {}
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, headers=(), body=None, end=True, authority="localhost"):
        sid = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path)]
        fields += list(headers)
        self.conn.send_headers(sid, fields, end_stream=end and body is None)
        self.responses[sid] = Response()
        if body is not None:
            self.send_body(sid, body, end=end)
        self.flush()
        return sid

    def send_body(self, sid, body, end=True):
        """Sends as much as the flow-control windows allow, reading the server meanwhile."""
        view = memoryview(body)
        while view:
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if window <= 0:
                self.flush()
                self.read_some()
                continue
            chunk, view = view[:window], view[window:]
            self.conn.send_data(sid, bytes(chunk))
            self.flush()
        if end:
            self.conn.end_stream(sid)
        self.flush()

    def read_some(self, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return False
        for event in self.conn.receive_data(data):
            self.handle(event)
        self.flush()
        return True

    def handle(self, event):
        if isinstance(event, h2.events.ResponseReceived):
            self.responses[event.stream_id].headers = dict(event.headers)
        elif isinstance(event, h2.events.InformationalResponseReceived):
            self.responses[event.stream_id].interim.append(dict(event.headers))
        elif isinstance(event, h2.events.DataReceived):
            self.responses[event.stream_id].body += event.data
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.responses[event.stream_id].ended = True
        elif isinstance(event, h2.events.StreamReset):
            if event.stream_id in self.responses:
                self.responses[event.stream_id].reset = event.error_code
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = (int(event.error_code), event.last_stream_id)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for key, change in event.changed_settings.items():
                self.server_settings[int(key)] = change.new_value

    def wait(self, sids, timeout=None):
        """Reads until every stream in `sids` ended or was reset; returns their Responses."""
        deadline = time.time() + (timeout or self.timeout)
        while not all(self.responses[s].ended or self.responses[s].reset is not None for s in sids):
            if self.goaway is not None and all(s > self.goaway[1] or self.responses[s].ended for s in sids):
                break
            if time.time() > deadline:
                raise TimeoutError("streams %s not done" % [s for s in sids if not self.responses[s].ended])
            if not self.read_some(deadline - time.time()):
                break
        return [self.responses[s] for s in sids]

    def get(self, path, headers=()):
        return self.wait([self.request("GET", path, headers)])[0]

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass
        self.sock.close()


class RawClient:
    """Frames written by hand (hyperframe, hpack): for what a correct client never sends."""

    def __init__(self, port, tls_ca=None, timeout=10, settings=None):
        self.sock = connect(port, tls_ca, timeout)
        self.encoder = Encoder()
        self.buffer = b""
        self.sock.sendall(PREFACE + SettingsFrame(0, settings=settings or {}).serialize())

    def send(self, *frames):
        self.sock.sendall(b"".join(f.serialize() if isinstance(f, Frame) else f for f in frames))

    def headers_block(self, fields, huffman=True):
        return self.encoder.encode(fields, huffman=huffman)

    def request_headers(self, sid, path="/", method="GET", end_stream=True, extra=(), end_headers=True):
        fields = [(":method", method), (":scheme", "http"), (":authority", "localhost"), (":path", path)] + list(extra)
        flags = (["END_STREAM"] if end_stream else []) + (["END_HEADERS"] if end_headers else [])
        return HeadersFrame(sid, self.headers_block(fields), flags=flags)

    def next_frame(self, timeout=10):
        """The next frame from the server, or None when the connection closed."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                if len(self.buffer) >= 9 + length:
                    frame.parse_body(memoryview(self.buffer[9:9 + length]))
                    self.buffer = self.buffer[9 + length:]
                    return frame
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not data:
                return None
            self.buffer += data

    def frames_until_close(self, timeout=10):
        """Every frame until the server closes the connection (TimeoutError if it does not)."""
        frames = []
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("the server kept the connection open; frames: %s" % [type(f).__name__ for f in frames])
            try:
                frame = self.next_frame(left)
            except socket.timeout:
                raise TimeoutError("the server kept the connection open; frames: %s" % [type(f).__name__ for f in frames])
            if frame is None:
                return frames
            frames.append(frame)

    def goaway_of(self, frames):
        goaways = [f for f in frames if isinstance(f, GoAwayFrame)]
        return goaways[-1] if goaways else None

    def close(self):
        self.sock.close()


__all__ = ["Client", "RawClient", "Response", "PREFACE", "ContinuationFrame", "DataFrame", "GoAwayFrame",
           "HeadersFrame", "PingFrame", "RstStreamFrame", "SettingsFrame", "WindowUpdateFrame", "Encoder"]
