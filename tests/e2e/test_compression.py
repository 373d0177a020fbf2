"""The compression plugin (Portico's): answers encoded with the coding the client prefers
(zstd, br, gzip), decoded by curl and by Python for every coding, streamed (chunked) as the
body comes; never on encoded, tiny, partial or unlisted answers; Vary and a weak ETag; the
access log counts the bytes sent, encoded."""
import gzip
import json
import socket
import subprocess
import threading
import zlib

import brotli
import pytest
import zstandard

from conftest import Portico, assert_plugin_config_refused, eventually
from scripted_backend import ScriptedBackend

BODY = json.dumps([{"id": i, "name": "item %d" % i, "tags": ["a", "b"]} for i in range(500)])


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backend = ScriptedBackend()
    cfg = tmp_path_factory.mktemp("compression") / "kong.json"
    cfg.write_text(json.dumps({"_format_version": "3.0", "services": [{
        "name": "api", "url": "http://127.0.0.1:%d" % backend.port,
        "routes": [{"name": "all", "paths": ["/"], "strip_path": False},
                   {"name": "strip", "paths": ["/strip"], "strip_path": False, "plugins": [
                       {"name": "response-transformer", "config": {"remove": {"json": ["[*].name"]}}}]},
                   {"name": "large", "paths": ["/large"], "strip_path": False, "plugins": [
                       {"name": "response-transformer", "config": {
                           "remove": {"json": ["[*].name"]}, "max_body_size": 1000, "large_body": "pass"}}]}],
        "plugins": [{"name": "compression", "config": {"min_size": 100}}]}]}))
    json_type = [("Content-Type", "application/json")]
    backend.answer("/json", BODY, headers=json_type + [("ETag", '"v1"')])
    backend.answer("/chunked", BODY, headers=json_type, framing="chunked", chunk_size=1000)
    backend.answer("/tiny", '{"a":1}', headers=json_type)
    backend.answer("/strip", BODY, headers=json_type, framing="chunked", chunk_size=700)
    backend.answer("/encoded", gzip.compress(BODY.encode()), headers=json_type + [("Content-Encoding", "gzip")])
    backend.answer("/image", b"\x89PNG" + b"\0" * 5000, headers=[("Content-Type", "image/png")])
    backend.answer("/no-transform", BODY, headers=json_type + [("Cache-Control", "no-transform")])
    backend.answer("/large", BODY, headers=json_type, framing="chunked", chunk_size=700)
    backend.answer("/close", BODY, headers=json_type, framing="close")
    log = tmp_path_factory.mktemp("compression-log") / "access.log"
    portico = Portico(cfg, ["--access-log", str(log), "--access-log-format", "$request_uri $body_bytes_sent"])
    portico.access_log = log
    yield portico, backend
    portico.close()
    backend.close()


def fetch(portico, path, accept, decode=True):
    """(headers dict lowercased, body bytes) through curl; `decode`: curl undoes the coding."""
    args = ["curl", "-s", "-D", "-", "-H", "Accept-Encoding: " + accept, portico.url(path)]
    if decode:
        args.insert(1, "--compressed")
    out = subprocess.run(args, capture_output=True, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return headers, body


@pytest.mark.parametrize("accept,coding", [("gzip", "gzip"), ("br", "br"), ("zstd", "zstd"),
                                           ("gzip;q=0.5, br;q=0.9", "br"), ("gzip, br, zstd", "zstd"),
                                           ("*", "zstd"), ("br;q=0, gzip", "gzip")])
@pytest.mark.parametrize("path", ["/json", "/chunked"])
def test_every_coding_decodes_to_the_original(env, path, accept, coding):
    portico, _ = env
    headers, body = fetch(portico, path, accept)
    assert headers["content-encoding"] == [coding]
    assert "Accept-Encoding" in headers["vary"]
    assert headers["transfer-encoding"] == ["chunked"] and "content-length" not in headers
    assert body.decode() == BODY
    _, raw = fetch(portico, path, accept, decode=False)
    assert len(raw) < len(BODY) / 3
    assert python_decode(coding, raw).decode() == BODY


def python_decode(coding, raw):
    if coding == "gzip":
        return gzip.decompress(raw)
    if coding == "br":
        return brotli.decompress(raw)
    # A streamed zstd frame does not declare its size: the streaming decoder reads it.
    return zstandard.ZstdDecompressor().decompressobj().decompress(raw)


def test_a_body_passed_larger_than_a_transformer_reads_is_encoded_whole_too(env):
    portico, _ = env
    headers, body = fetch(portico, "/large", "br")
    assert headers["content-encoding"] == ["br"]
    assert body.decode() == BODY  # not rewritten (larger than max_body_size, large_body: pass)


def test_an_http10_client_gets_a_close_delimited_encoded_body(env):
    portico, _ = env
    for path in ("/json", "/close"):
        out = subprocess.run(["curl", "-s", "--http1.0", "-D", "-", "-H", "Accept-Encoding: gzip", portico.url(path)],
                             capture_output=True, check=True).stdout
        head, _, raw = out.partition(b"\r\n\r\n")
        assert b"Content-Encoding: gzip" in head and b"Transfer-Encoding" not in head
        assert gzip.decompress(raw).decode() == BODY


def test_the_body_is_encoded_as_it_streams_not_buffered(env):
    """The service sends its first chunk and waits: the client decodes that chunk's bytes before
    the service sends the rest (a buffering gateway would wait here until the socket timeout)."""
    portico, backend = env
    hold = threading.Event()
    backend.answer("/held", BODY, headers=[("Content-Type", "application/json")], framing="chunked",
                   chunk_size=4000, hold=hold)
    decoder = zlib.decompressobj(wbits=31)
    got = b""
    with socket.create_connection(("127.0.0.1", portico.port), timeout=10) as s:
        s.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        stream = b""
        while len(got) < 4000:
            piece = s.recv(65536)
            assert piece, "connection closed early"
            stream += piece
            head, sep, rest = stream.partition(b"\r\n\r\n")
            if not sep:
                continue
            got = decoder.decompress(dechunk_prefix(rest))  # every complete chunk so far
            decoder = zlib.decompressobj(wbits=31)
        assert got.decode().startswith(BODY[:4000])
        hold.set()
    backend.answer("/held", BODY)


def dechunk_prefix(data):
    """The payload of the complete chunks at the start of `data`."""
    out = b""
    while True:
        line, sep, rest = data.partition(b"\r\n")
        if not sep:
            return out
        size = int(line, 16)
        if size == 0 or len(rest) < size + 2:
            return out
        out += rest[:size]
        data = rest[size + 2:]


def test_the_access_log_counts_the_encoded_bytes(env):
    portico, _ = env
    sizes = {}
    for coding in ("gzip", "br", "zstd"):
        _, raw = fetch(portico, "/chunked?log=" + coding, coding, decode=False)
        sizes["/chunked?log=" + coding] = len(raw)

    def logged():
        if not portico.access_log.exists():
            return {}
        lines = [line.split(" ") for line in portico.access_log.read_text().splitlines()]
        return {uri: int(size) for uri, size in lines if uri in sizes}
    assert eventually(lambda: len(logged()) == 3, timeout=5)
    assert logged() == sizes


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_body_rewritten_by_response_transformer_is_encoded_whole(env, coding):
    portico, _ = env
    headers, body = fetch(portico, "/strip", coding)
    assert headers["content-encoding"] == [coding] and headers["transfer-encoding"] == ["chunked"]
    assert json.loads(body) == [{"id": i, "tags": ["a", "b"]} for i in range(500)]


def test_a_strong_etag_becomes_weak(env):
    portico, _ = env
    headers, _ = fetch(portico, "/json", "gzip")
    assert headers["etag"] == ['W/"v1"']


def test_head_is_left_alone(env):
    portico, _ = env
    out = subprocess.run(["curl", "-s", "-I", "-H", "Accept-Encoding: gzip", portico.url("/json")],
                         capture_output=True, check=True).stdout.decode()
    assert "Content-Encoding" not in out and "Content-Length: %d" % len(BODY) in out


@pytest.mark.parametrize("path", ["/tiny", "/encoded", "/image", "/no-transform"])
def test_answers_left_alone(env, path):
    portico, backend = env
    headers, raw = fetch(portico, path, "gzip, br, zstd", decode=False)
    assert raw == backend.answers[path].body
    assert headers.get("content-encoding") == (["gzip"] if path == "/encoded" else None)  # the service's own, or none


def test_no_accept_encoding_no_coding(env):
    portico, _ = env
    headers, raw = fetch(portico, "/json", "identity", decode=False)
    assert raw.decode() == BODY and "content-encoding" not in headers
    assert "Accept-Encoding" in headers["vary"]


@pytest.mark.parametrize("config,field,reason", [
    ({"encodings": ["deflate"]}, "encodings[0]", "expected one of: zstd, br, gzip"),
    ({"gzip_level": 12}, "gzip_level", "value should be between 1 and 9"),
])
def test_config_rules(tmp_path, config, field, reason):
    assert_plugin_config_refused(tmp_path, "compression", config, field, reason)
