"""The h2spec cases that apply to a server (RFC 9113, h2spec's "http2" section numbering), as
python3-h2 frame scripts (h2_client.RawClient): each sends what the case sends and checks the
server's answer: a connection error (GOAWAY with the code, then close), a stream error
(RST_STREAM with the code; h2spec also accepts a connection error there), or the frames a
correct server sends."""
import json
import struct

import pytest

from h2_client import (COMPRESSION_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, PROTOCOL_ERROR, STREAM_CLOSED,
                       ContinuationFrame, DataFrame, GoAwayFrame, HeadersFrame, PingFrame, RawClient, RstStreamFrame,
                       SettingsFrame, WindowUpdateFrame)
from test_http2 import Backend, h2c_gateway


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backend = Backend()
    portico, port = h2c_gateway(tmp_path_factory.mktemp("h2spec"), backend, "/", ["--http2-max-concurrent-streams", "100"])
    yield {"port": port}
    portico.close()
    backend.close()


def raw_frame(type_, flags, stream_id, payload):
    """A frame's bytes as given, including ones hyperframe would refuse to build."""
    return struct.pack(">I", len(payload))[1:] + bytes([type_, flags]) + struct.pack(">I", stream_id) + payload


def settled(env):
    """A client past the preface and the SETTINGS exchange."""
    raw = RawClient(env["port"])
    raw.send(SettingsFrame(0, flags=["ACK"]))
    for _ in range(4):
        f = raw.next_frame(5)
        if isinstance(f, SettingsFrame) and "ACK" in f.flags:
            break
    return raw


def connection_error(raw, code):
    frames = raw.frames_until_close(timeout=10)
    goaway = raw.goaway_of(frames)
    assert goaway is not None, [type(f).__name__ for f in frames]
    assert goaway.error_code == code, (goaway.error_code, code)


def stream_error(raw, stream_id, code):
    """RST_STREAM(code) on the stream, or a connection error with the code."""
    while True:
        f = raw.next_frame(10)
        assert f is not None, "closed without RST_STREAM or GOAWAY"
        if isinstance(f, RstStreamFrame) and f.stream_id == stream_id:
            assert f.error_code == code, (f.error_code, code)
            return
        if isinstance(f, GoAwayFrame):
            assert f.error_code == code, (f.error_code, code)
            return


def still_alive(raw):
    raw.send(PingFrame(0, opaque_data=b"alive!!!"))
    while True:
        f = raw.next_frame(10)
        assert f is not None and not isinstance(f, GoAwayFrame), f
        if isinstance(f, PingFrame) and "ACK" in f.flags:
            assert f.opaque_data == b"alive!!!"
            return


# ---- 3.5 HTTP/2 connection preface

def test_3_5_invalid_preface_closes_the_connection(env):
    import socket
    with socket.create_connection(("127.0.0.1", env["port"]), timeout=10) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + b"\x00" * 9)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        # Not the preface, so not HTTP/2: it is answered as HTTP/1.1 ("PRI" with version 2.0:
        # 505) and closed; nothing is served.
        assert data.startswith(b"HTTP/1.1 505 ") and b"Connection: close" in data


# ---- 4 frames

def test_4_1_unknown_frame_type_is_ignored(env):
    raw = settled(env)
    raw.send(raw_frame(0x16, 0, 0, b"hello"))
    still_alive(raw)


def test_4_2_data_frame_larger_than_max_frame_size(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/", method="POST", end_stream=False), raw_frame(0x0, 0x1, 1, b"x" * 16385))
    stream_error(raw, 1, FRAME_SIZE_ERROR)


def test_4_2_headers_frame_larger_than_max_frame_size(env):
    raw = settled(env)
    block = raw.headers_block([(":method", "GET"), (":scheme", "http"), (":authority", "localhost"), (":path", "/"),
                               ("x-big", "a" * 17000)], huffman=False)
    raw.send(raw_frame(0x1, 0x5, 1, block))
    connection_error(raw, FRAME_SIZE_ERROR)


def test_4_3_invalid_header_block_is_a_compression_error(env):
    raw = settled(env)
    raw.send(raw_frame(0x1, 0x5, 1, b"\x00\x00\x00\x00\x00\x00\x00"))
    connection_error(raw, COMPRESSION_ERROR)


def test_4_3_priority_frame_inside_a_header_block(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, end_headers=False), raw_frame(0x2, 0, 1, b"\x00\x00\x00\x00\x10"))
    connection_error(raw, PROTOCOL_ERROR)


def test_4_3_headers_of_another_stream_inside_a_header_block(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, end_headers=False), raw.request_headers(3))
    connection_error(raw, PROTOCOL_ERROR)


# ---- 5.1 stream states

@pytest.mark.parametrize("frame", [
    raw_frame(0x0, 0x1, 1, b"x"),                      # DATA
    raw_frame(0x3, 0, 1, b"\x00\x00\x00\x08"),         # RST_STREAM
    raw_frame(0x8, 0, 1, b"\x00\x00\x00\x01"),         # WINDOW_UPDATE
    raw_frame(0x9, 0x4, 1, b""),                       # CONTINUATION
], ids=["data", "rst_stream", "window_update", "continuation"])
def test_5_1_frames_on_an_idle_stream(env, frame):
    raw = settled(env)
    raw.send(frame)
    connection_error(raw, PROTOCOL_ERROR)


def test_5_1_data_after_end_stream_is_stream_closed(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/slow"), DataFrame(1, b"late"))
    stream_error(raw, 1, STREAM_CLOSED)


def test_5_1_headers_after_end_stream_is_stream_closed(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/slow"), raw.request_headers(1, "/slow"))
    stream_error(raw, 1, STREAM_CLOSED)


def test_5_1_data_on_a_closed_stream(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/x"))
    while True:  # the whole response: the stream is closed
        f = raw.next_frame(10)
        if f.stream_id == 1 and "END_STREAM" in f.flags:
            break
    raw.send(DataFrame(1, b"late"))
    # RFC 9113 5.1: an endpoint MAY treat this as a connection error (STREAM_CLOSED); nghttp2,
    # keeping no closed streams (priorities declined), cannot tell it from a stream it reset,
    # whose late frames MUST be ignored: it ignores it. Either way nothing else is disturbed.
    raw.send(PingFrame(0, opaque_data=b"after!!!"))
    while True:
        f = raw.next_frame(10)
        assert f is not None
        if isinstance(f, (GoAwayFrame, RstStreamFrame)):
            assert f.error_code == STREAM_CLOSED
            return
        if isinstance(f, PingFrame) and "ACK" in f.flags:
            return


def test_5_1_1_even_stream_id_from_a_client(env):
    raw = settled(env)
    raw.send(raw.request_headers(2))
    connection_error(raw, PROTOCOL_ERROR)


def test_5_1_1_stream_id_below_an_earlier_one(env):
    raw = settled(env)
    raw.send(raw.request_headers(5), raw.request_headers(3))
    connection_error(raw, PROTOCOL_ERROR)


def test_5_1_2_streams_beyond_the_concurrency_limit_are_refused(env):
    raw = settled(env)
    raw.send(*[raw.request_headers(2 * i + 1, "/slow") for i in range(101)])
    while True:
        f = raw.next_frame(10)
        assert f is not None
        if isinstance(f, RstStreamFrame) and f.stream_id == 201:
            assert f.error_code in (PROTOCOL_ERROR, 0x7)  # REFUSED_STREAM
            break
        if isinstance(f, GoAwayFrame):  # (nghttp2 makes it a connection error, as h2spec allows)
            assert f.error_code == PROTOCOL_ERROR and f.last_stream_id == 199
            break


# ---- 5.5 extending HTTP/2

def test_5_5_unknown_frame_inside_a_header_block(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, end_headers=False), raw_frame(0x16, 0, 1, b"x"))
    connection_error(raw, PROTOCOL_ERROR)


# ---- 6 frame definitions

@pytest.mark.parametrize("frame, code", [
    (raw_frame(0x0, 0x1, 0, b"x"), PROTOCOL_ERROR),                      # 6.1 DATA on stream 0
    (raw_frame(0x1, 0x5, 0, b"\x82"), PROTOCOL_ERROR),                   # 6.2 HEADERS on stream 0
    (raw_frame(0x2, 0, 0, b"\x00\x00\x00\x01\x10"), PROTOCOL_ERROR),     # 6.3 PRIORITY on stream 0
    (raw_frame(0x3, 0, 0, b"\x00\x00\x00\x08"), PROTOCOL_ERROR),         # 6.4 RST_STREAM on stream 0
    (raw_frame(0x4, 0x1, 0, b"\x00\x00\x00\x00\x00\x00"), FRAME_SIZE_ERROR),  # 6.5 SETTINGS ACK with payload
    (raw_frame(0x4, 0, 1, b""), PROTOCOL_ERROR),                         # 6.5 SETTINGS on a stream
    (raw_frame(0x4, 0, 0, b"\x00\x03\x00"), FRAME_SIZE_ERROR),           # 6.5 length not a multiple of 6
    (raw_frame(0x4, 0, 0, b"\x00\x02\x00\x00\x00\x02"), PROTOCOL_ERROR),  # 6.5.2 ENABLE_PUSH = 2
    (raw_frame(0x4, 0, 0, b"\x00\x04\x80\x00\x00\x00"), FLOW_CONTROL_ERROR),  # 6.5.2 INITIAL_WINDOW_SIZE 2^31
    (raw_frame(0x4, 0, 0, b"\x00\x05\x00\x00\x3f\xff"), PROTOCOL_ERROR),  # 6.5.2 MAX_FRAME_SIZE 16383
    (raw_frame(0x4, 0, 0, b"\x00\x05\x01\x00\x00\x00"), PROTOCOL_ERROR),  # 6.5.2 MAX_FRAME_SIZE 2^24
    (raw_frame(0x6, 0, 1, b"12345678"), PROTOCOL_ERROR),                 # 6.7 PING on a stream
    (raw_frame(0x6, 0, 0, b"1234567"), FRAME_SIZE_ERROR),                # 6.7 PING of 7 bytes
    (raw_frame(0x7, 0, 1, b"\x00\x00\x00\x00\x00\x00\x00\x00"), PROTOCOL_ERROR),  # 6.8 GOAWAY on a stream
    (raw_frame(0x8, 0, 0, b"\x00\x00\x00\x00"), PROTOCOL_ERROR),         # 6.9 WINDOW_UPDATE of 0
    (raw_frame(0x8, 0, 0, b"\x00\x00\x01"), FRAME_SIZE_ERROR),           # 6.9 WINDOW_UPDATE of 3 bytes
    (raw_frame(0x8, 0, 0, b"\x7f\xff\xff\xff"), FLOW_CONTROL_ERROR),     # 6.9.1 window beyond 2^31-1
    (raw_frame(0x9, 0x4, 0, b""), PROTOCOL_ERROR),                       # 6.10 CONTINUATION on stream 0
], ids=["data-stream0", "headers-stream0", "priority-stream0", "rst-stream0", "settings-ack-payload",
        "settings-on-stream", "settings-length", "enable-push-2", "initial-window-too-big", "max-frame-too-small",
        "max-frame-too-big", "ping-on-stream", "ping-length", "goaway-on-stream", "window-update-0",
        "window-update-length", "window-overflow", "continuation-stream0"])
def test_6_connection_errors(env, frame, code):
    raw = settled(env)
    raw.send(frame)
    connection_error(raw, code)


def test_6_1_padding_longer_than_the_data(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/", method="POST", end_stream=False), raw_frame(0x0, 0x8 | 0x1, 1, b"\x05ab"))
    connection_error(raw, PROTOCOL_ERROR)


def test_6_2_headers_padding_longer_than_the_block(env):
    raw = settled(env)
    raw.send(raw_frame(0x1, 0x8 | 0x5, 1, b"\x10" + raw.headers_block([(":method", "GET")])))
    connection_error(raw, PROTOCOL_ERROR)


def test_6_2_headers_then_something_else_than_continuation(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, end_headers=False), DataFrame(1, b"x"))
    connection_error(raw, PROTOCOL_ERROR)


def test_6_3_priority_of_wrong_length_is_a_frame_size_error(env):
    raw = settled(env)
    raw.send(raw_frame(0x2, 0, 1, b"\x00\x00\x00\x01"))
    stream_error(raw, 1, FRAME_SIZE_ERROR)


def test_6_4_rst_stream_of_wrong_length(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/slow"), raw_frame(0x3, 0, 1, b"\x00\x00\x00"))
    connection_error(raw, FRAME_SIZE_ERROR)


def test_6_5_settings_are_acknowledged_and_unknown_ones_ignored(env):
    raw = settled(env)
    raw.send(raw_frame(0x4, 0, 0, b"\x00\xff\x00\x00\x00\x01"))
    while True:
        f = raw.next_frame(10)
        assert f is not None and not isinstance(f, GoAwayFrame)
        if isinstance(f, SettingsFrame) and "ACK" in f.flags:
            break
    still_alive(raw)


def test_6_7_ping_is_answered_with_the_same_data_and_an_ack_is_not(env):
    raw = settled(env)
    raw.send(PingFrame(0, opaque_data=b"h2spec!!", flags=["ACK"]))
    still_alive(raw)  # (the ACK got no answer: the next frame is the ACK of this PING)


def test_6_9_window_update_of_zero_on_a_stream(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/slow"), raw_frame(0x8, 0, 1, b"\x00\x00\x00\x00"))
    stream_error(raw, 1, PROTOCOL_ERROR)


def test_6_9_1_stream_window_beyond_the_maximum(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/slow"), WindowUpdateFrame(1, window_increment=0x7fffffff))
    stream_error(raw, 1, FLOW_CONTROL_ERROR)


def test_6_9_2_initial_window_size_changes_apply_to_open_streams(env):
    # The stream's window starts at 1 byte; raising INITIAL_WINDOW_SIZE lets the rest come.
    raw = RawClient(env["port"], settings={SettingsFrame.INITIAL_WINDOW_SIZE: 1})
    raw.send(SettingsFrame(0, flags=["ACK"]), raw.request_headers(1, "/big?n=100"))
    got = b""
    raised = False
    while True:
        f = raw.next_frame(10)
        assert f is not None
        if isinstance(f, DataFrame) and f.stream_id == 1:
            got += f.data
            if not raised:
                assert len(got) == 1
                raw.send(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65535}))
                raised = True
            if "END_STREAM" in f.flags:
                break
    assert len(got) == 100


def test_6_10_continuation_after_end_headers(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/slow"), ContinuationFrame(1, raw.headers_block([("x-a", "b")])))
    connection_error(raw, PROTOCOL_ERROR)


def test_6_10_continuation_of_another_stream(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, end_headers=False), ContinuationFrame(3, b"", flags=["END_HEADERS"]))
    connection_error(raw, PROTOCOL_ERROR)


# ---- 8.1 HTTP messages: malformed requests are stream errors (PROTOCOL_ERROR)

BASE = [(":method", "GET"), (":scheme", "http"), (":authority", "localhost"), (":path", "/")]


@pytest.mark.parametrize("fields", [
    BASE + [("X-Upper", "a")],                                     # 8.2: uppercase field name
    BASE + [(":unknown", "a")],                                    # 8.3: unknown pseudo-header
    BASE + [(":status", "200")],                                   # 8.3: response pseudo-header
    BASE[:2] + [("x-a", "b")] + BASE[2:],                           # 8.3: pseudo-header after a field
    BASE + [(":path", "/again")],                                  # 8.3: duplicated pseudo-header
    BASE + [("connection", "keep-alive")],                         # 8.2.2: connection-specific field
    BASE + [("te", "gzip")],                                       # 8.2.2: TE other than trailers
    [f for f in BASE if f[0] != ":method"],                        # 8.3.1: no :method
    [f for f in BASE if f[0] != ":scheme"],                        # 8.3.1: no :scheme
    [f for f in BASE if f[0] != ":path"],                          # 8.3.1: no :path
    [f if f[0] != ":path" else (":path", "") for f in BASE],        # 8.3.1: empty :path
], ids=["uppercase", "unknown-pseudo", "response-pseudo", "pseudo-after-field", "duplicate-pseudo",
        "connection-field", "te-gzip", "no-method", "no-scheme", "no-path", "empty-path"])
def test_8_1_malformed_requests(env, fields):
    raw = settled(env)
    raw.send(HeadersFrame(1, raw.headers_block(fields), flags=["END_HEADERS", "END_STREAM"]))
    stream_error(raw, 1, PROTOCOL_ERROR)
    still_alive(raw)


def test_8_1_pseudo_header_in_trailers(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/", method="POST", end_stream=False), DataFrame(1, b"x"),
             HeadersFrame(1, raw.headers_block([(":path", "/")]), flags=["END_HEADERS", "END_STREAM"]))
    stream_error(raw, 1, PROTOCOL_ERROR)


def test_8_1_content_length_that_the_data_contradicts(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/", method="POST", end_stream=False, extra=[("content-length", "1")]),
             DataFrame(1, b"too long", flags=["END_STREAM"]))
    stream_error(raw, 1, PROTOCOL_ERROR)


def test_8_1_a_request_with_trailers_is_served(env):
    raw = settled(env)
    raw.send(raw.request_headers(1, "/echo", method="POST", end_stream=False), DataFrame(1, b"hello"),
             HeadersFrame(1, raw.headers_block([("x-trailer", "t")]), flags=["END_HEADERS", "END_STREAM"]))
    body = b""
    while True:
        f = raw.next_frame(10)
        assert f is not None and not isinstance(f, (GoAwayFrame, RstStreamFrame)), f
        if isinstance(f, DataFrame) and f.stream_id == 1:
            body += f.data
            if "END_STREAM" in f.flags:
                break
    assert json.loads(body)["length"] == 5


# ---- 5.3.1 stream dependencies (RFC 9113 keeps the rule though priorities are deprecated)

def test_5_3_1_headers_depending_on_their_own_stream(env):
    raw = settled(env)
    block = raw.headers_block(BASE)
    raw.send(raw_frame(0x1, 0x25, 1, b"\x00\x00\x00\x01\x10" + block))  # PRIORITY flag, depends on 1
    stream_error(raw, 1, PROTOCOL_ERROR)


def test_5_3_1_priority_depending_on_its_own_stream(env):
    raw = settled(env)
    raw.send(raw_frame(0x2, 0, 3, b"\x00\x00\x00\x03\x10"))
    stream_error(raw, 3, PROTOCOL_ERROR)
