"""The compression plugin (Portico's): answers encoded with the coding the client prefers
(zstd, br, gzip), decoded by curl for every coding (and by Python for gzip), streamed (chunked)
as the body comes; never on encoded, tiny, partial or unlisted answers; Vary and a weak ETag."""
import gzip
import json
import subprocess

import pytest

from conftest import Portico, assert_plugin_config_refused
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
                       {"name": "response-transformer", "config": {"remove": {"json": ["[*].name"]}}}]}],
        "plugins": [{"name": "compression", "config": {"min_size": 100}}]}]}))
    json_type = [("Content-Type", "application/json")]
    backend.answer("/json", BODY, headers=json_type + [("ETag", '"v1"')])
    backend.answer("/chunked", BODY, headers=json_type, framing="chunked", chunk_size=1000)
    backend.answer("/tiny", '{"a":1}', headers=json_type)
    backend.answer("/strip", BODY, headers=json_type, framing="chunked", chunk_size=700)
    backend.answer("/encoded", gzip.compress(BODY.encode()), headers=json_type + [("Content-Encoding", "gzip")])
    backend.answer("/image", b"\x89PNG" + b"\0" * 5000, headers=[("Content-Type", "image/png")])
    backend.answer("/no-transform", BODY, headers=json_type + [("Cache-Control", "no-transform")])
    portico = Portico(cfg)
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
    if coding == "gzip":
        assert gzip.decompress(raw).decode() == BODY


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
