"""The response-transformer plugin (Kong's): header fields and JSON members of the service's
answer edited on the way out, with Kong's order and rules, Portico's nested paths, gzip bodies
decoded and encoded again, bodies that are not JSON (or lie about it) passed on untouched,
and the body limit refusing or passing a larger body whole, never rewriting part of it."""
import gzip
import json
import subprocess

import pytest

from conftest import Portico, assert_plugin_config_refused, curl
from scripted_backend import ScriptedBackend

JSON = [("Content-Type", "application/json")]
USER = {"id": 1, "name": "Ada", "password_hash": "$2b$12$abc",
        "items": [{"sku": "a", "cost": 3}, {"sku": "b", "cost": 4}]}


def route(name, config):
    return {"name": name, "paths": ["/" + name], "strip_path": False,
            "plugins": [{"name": "response-transformer", "config": config}]}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backend = ScriptedBackend()
    strip = {"remove": {"json": ["password_hash", "user.password_hash", "items[*].cost"]}}
    # Kong's documentation example, verbatim: "Add a new header".
    kong_doc = tmp_path_factory.mktemp("rt") / "kong.yml"
    kong_doc.write_text("""_format_version: "3.0"
services:
- name: api
  url: http://127.0.0.1:%d
  routes:
  - name: doc
    paths: [/doc]
    strip_path: false
plugins:
- name: response-transformer
  route: doc
  config:
    add:
      headers:
      - New-Header:Header Value
""" % backend.port)
    cfg_path = tmp_path_factory.mktemp("rt") / "kong.json"
    cfg_path.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
            route("strip", strip),
            route("strip-chunked", strip),
            route("strip-gzip", strip),
            route("text", strip),
            route("liar", strip),
            route("deep", strip),
            route("bad-utf8", strip),
            route("etag", strip),
            route("headers", {
                "remove": {"headers": ["X-Secret", "Via"]},
                "rename": {"headers": ["X-Old:X-New", "X-Absent:X-Never"]},
                "replace": {"headers": ["X-Version:2", "X-Missing:1"]},
                "add": {"headers": ["X-Added:yes", "X-Present:no"]},
                "append": {"headers": ["X-List:c"]}}),
            route("ops", {
                "remove": {"json": ["p1"]},
                "rename": {"json": ["p4:p2"]},
                "replace": {"json": ["p2:v2"]},
                "add": {"json": ["p3:v1", "count:-1", "flag:true"], "json_types": ["string", "number", "boolean"]},
                "append": {"json": ["p3:v2"]}}),
            route("limit-fail", dict(strip, max_body_size=1000)),
            route("limit-pass", dict(strip, max_body_size=1000, large_body="pass")),
            route("limit-pass-length", dict(strip, max_body_size=1000, large_body="pass")),
            route("bomb", dict(strip, max_body_size=100000)),
        ]}]}))
    backend.answer("/strip", json.dumps(USER), headers=JSON)
    backend.answer("/strip-chunked", json.dumps({"user": USER, "big": 1}).replace('"big": 1', '"big": 123456789012345678901234567890'),
                   headers=[("Content-Type", "application/json; charset=utf-8")], framing="chunked", chunk_size=7)
    backend.answer("/strip-gzip", gzip.compress(json.dumps(USER).encode()),
                   headers=JSON + [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])
    backend.answer("/text", '{"password_hash": "plain text is not JSON"}', headers=[("Content-Type", "text/plain")])
    backend.answer("/liar", "<html>password_hash</html>", headers=JSON)
    deep = '{"password_hash":"x","deep":' + "[" * 10000 + "]" * 10000 + "}"
    backend.answer("/deep", deep, headers=JSON)
    backend.answer("/bad-utf8", b'{"password_hash":"\xff\xfe","id":1}', headers=JSON)
    backend.answer("/etag", json.dumps(USER), headers=JSON + [("ETag", '"v1"')])
    backend.answer("/headers", "{}", headers=JSON + [("X-Secret", "s"), ("X-Old", "o1"), ("X-Old", "o2"),
                                                     ("X-Version", "1"), ("X-Present", "kept"), ("X-List", "a"),
                                                     ("X-List", "b")])
    backend.answer("/ops", '{"p1":"v1","p4":"v1","count":0}', headers=JSON)
    backend.answer("/doc", "{}", headers=JSON)
    big = json.dumps({"password_hash": "h", "filler": "x" * 5000})
    backend.answer("/limit-fail", big, headers=JSON, framing="chunked", chunk_size=300)
    backend.answer("/limit-pass", big, headers=JSON, framing="chunked", chunk_size=300)
    backend.answer("/limit-pass-length", big, headers=JSON)
    backend.answer("/bomb", gzip.compress(json.dumps({"password_hash": "h", "zeros": "0" * 5_000_000}).encode()),
                   headers=JSON + [("Content-Encoding", "gzip")])
    portico = Portico(cfg_path)
    doc_portico = Portico(kong_doc)
    yield portico, doc_portico, backend, big
    doc_portico.close()
    portico.close()
    backend.close()


def get(portico, path, *extra):
    status, head, body = curl(portico.url(path), *extra)
    headers = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, headers, body


def test_kongs_documentation_example_adds_a_header(env):
    _, doc_portico, _, _ = env
    status, headers, body = get(doc_portico, "/doc")
    assert status == 200 and headers["new-header"] == ["Header Value"] and body == "{}"


def test_sensitive_fields_are_removed_at_any_depth(env):
    portico, _, _, _ = env
    status, headers, body = get(portico, "/strip")
    assert status == 200
    assert json.loads(body) == {"id": 1, "name": "Ada", "items": [{"sku": "a"}, {"sku": "b"}]}
    assert headers["content-length"] == [str(len(body))]


def test_a_chunked_body_is_rewritten_with_a_length_and_untouched_parts_keep_their_bytes(env):
    portico, _, _, _ = env
    status, headers, body = get(portico, "/strip-chunked")
    assert status == 200 and "transfer-encoding" not in headers
    assert headers["content-length"] == [str(len(body.encode()))]
    assert "password_hash" not in body
    assert '"cost": 3' in body  # "items[*].cost" names the top-level list only: user.items is untouched
    assert "123456789012345678901234567890" in body  # a number no double holds, kept digit for digit
    assert json.loads(body)["user"]["name"] == "Ada"


@pytest.mark.parametrize("accept", ["gzip", "br, gzip;q=0.5", "*"])
def test_a_gzip_body_is_decoded_edited_and_encoded_again(env, accept):
    portico, _, backend, _ = env
    raw = subprocess.run(["curl", "-s", "-H", "Accept-Encoding: " + accept, portico.url("/strip-gzip")],
                         capture_output=True, check=True).stdout
    assert json.loads(gzip.decompress(raw)) == {"id": 1, "name": "Ada", "items": [{"sku": "a"}, {"sku": "b"}]}
    # The service is asked only for what the plugin can read.
    assert backend.last()["header"]["accept-encoding"] == "gzip"
    status, headers, body = get(portico, "/strip-gzip", "--compressed")
    assert status == 200 and headers["content-encoding"] == ["gzip"] and "password_hash" not in body


def test_a_client_that_refuses_gzip_makes_the_service_send_identity(env):
    portico, _, backend, _ = env
    get(portico, "/strip", "-H", "Accept-Encoding: br")
    assert backend.last()["header"]["accept-encoding"] == "identity"


@pytest.mark.parametrize("path", ["/text", "/liar", "/bad-utf8"])
def test_bodies_that_are_not_json_go_on_untouched(env, path):
    portico, _, backend, _ = env
    expected = backend.answers[path].body
    raw = subprocess.run(["curl", "-s", portico.url(path)], capture_output=True, check=True).stdout
    assert raw == expected


def test_a_body_nested_ten_thousand_deep_is_still_edited(env):
    portico, _, _, _ = env
    status, _, body = get(portico, "/deep")
    assert status == 200 and body.startswith('{"deep":[[[') and "password_hash" not in body


def test_a_rewritten_body_has_a_weak_etag(env):
    portico, _, _, _ = env
    _, headers, _ = get(portico, "/etag")
    assert headers["etag"] == ['W/"v1"']


def test_header_operations_in_kongs_order(env):
    portico, _, _, _ = env
    status, headers, _ = get(portico, "/headers")
    assert status == 200
    assert "x-secret" not in headers and "via" not in headers
    assert headers["x-new"] == ["o1", "o2"] and "x-old" not in headers
    assert "x-never" not in headers
    assert headers["x-version"] == ["2"] and "x-missing" not in headers
    assert headers["x-added"] == ["yes"] and headers["x-present"] == ["kept"]
    assert headers["x-list"] == ["a", "b", "c"]


def test_kongs_combined_json_operations_with_types(env):
    portico, _, _, _ = env
    _, _, body = get(portico, "/ops")
    # Kong's unit spec: remove p1, rename p4 to p2, replace p2, add p3, append p3; typed adds
    # where the key is falsy only (count 0 is a number: kept).
    assert json.loads(body) == {"p2": "v2", "p3": ["v1", "v2"], "count": 0, "flag": True}


def test_a_chunked_body_over_the_limit_is_refused_whole(env):
    portico, _, _, _ = env
    status, _, body = get(portico, "/limit-fail")
    assert status == 502
    assert json.loads(body)["message"] == "upstream response too large for the response_body plugins"


@pytest.mark.parametrize("path", ["/limit-pass", "/limit-pass-length"])
def test_a_body_over_the_limit_passes_untouched_when_configured(env, path):
    portico, _, _, big = env
    status, _, body = get(portico, path)
    assert status == 200 and body == big  # whole and unedited: never a partial rewrite
    status, _, body = get(portico, "/strip")  # the connections stay usable
    assert status == 200


def test_a_gzip_bomb_stops_at_the_limit(env):
    portico, _, _, _ = env
    status, _, body = get(portico, "/bomb")
    assert status == 502 and "too large" in body


@pytest.mark.parametrize("config,field,reason", [
    ({"add": {"headers": ["just_a_key"]}}, "add.headers[0]", "invalid value: just_a_key"),
    ({"rename": {"headers": ["x-requ,est-id:x"]}}, "rename.headers[0]", "'x-requ,est-id' is not a valid header"),
    ({"add": {"json_types": ["integer"]}}, "add.json_types[0]", "expected one of: boolean, number, string"),
    ({"replace": {"json": [":v"]}}, "replace.json[0]", "invalid value: :v"),
    ({"add": {"headers": ["Content-Length:5"]}}, "add.headers[0]", "frames the message"),
    ({"large_body": "truncate"}, "large_body", "expected one of: fail, pass"),
])
def test_kongs_config_rules_refuse_bad_entries(tmp_path, config, field, reason):
    assert_plugin_config_refused(tmp_path, "response-transformer", config, field, reason)
