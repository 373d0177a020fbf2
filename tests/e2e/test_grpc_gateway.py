"""The grpc-gateway plugin: REST/JSON clients (curl, urllib) call a real gRPC service
(grpc_gateway_backend.py, python3-grpcio, tests/e2e/protos/gateway/users.proto) through the
google.api.http annotations of its .proto: every annotation form, the unannotated fallback,
imports and well-known types, errors with details, input that does not fit, server streaming
in both formats, a gRPC client on the same route, a malformed .proto, a reload, a service
killed mid-stream."""
import http.client
import json
import shutil
import tempfile
import time
from pathlib import Path

import grpc
import pytest

from conftest import Portico, admin_json, assert_check_refuses, curl, free_port, wait_for_port
from grpc_gateway_backend import PROTOS, GatewayBackend, users

m = users()


def gateway_config(backend_port, proto, **options):
    """One grpc service with a REST route (/v1, the fallback's /portico.gw.Users) and grpc-gateway."""
    config = {"proto": str(proto), **options}
    return {"_format_version": "3.0", "services": [
        {"name": "users", "url": "grpc://127.0.0.1:%d" % backend_port, "routes": [
            {"name": "rest", "paths": ["/v1", "/portico.gw.Users"], "protocols": ["http", "https"]}],
         "plugins": [{"name": "grpc-gateway", "config": config}]}]}


def start_gateway(folder, cfg, extra_args=()):
    path = folder / ("kong-%d.yml" % free_port())
    path.write_text(json.dumps(cfg))
    return Portico(path, extra_args=list(extra_args))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grpc-gateway")
    backend = GatewayBackend(free_port())
    h2c = free_port()
    gw = start_gateway(folder, gateway_config(backend.port, PROTOS / "users.proto"),
                       ["--proxy-listen", "127.0.0.1:%d http2" % h2c])
    wait_for_port(h2c)
    yield {"gw": gw, "backend": backend, "folder": folder, "h2c": h2c}
    gw.close()
    backend.close()


def call(gw, method, path, body=None, headers=None):
    """(status, headers, decoded JSON body) of a REST call."""
    args = ["-X", method, gw.url(path)]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as data:
        if body is not None:
            data.write(body if isinstance(body, str) else json.dumps(body))
            data.flush()
            args += ["-H", "Content-Type: application/json", "--data-binary", "@" + data.name]
        for k, v in (headers or {}).items():
            args += ["-H", "%s: %s" % (k, v)]
        status, head, text = curl(*args)
    return status, head, json.loads(text) if text else None


def echoed(gw, method, path, body=None):
    status, _, answer = call(gw, method, path, body)
    assert status == 200, answer
    assert answer["servedBy"] == "users"
    return answer["request"]


def test_get_binds_path_variables_and_query_parameters(env):
    q = ("name=bob%20b&tags=a&tags=b&role=ROLE_ADMIN&address.city=Paris&active=true&big=18446744073709551615"
         "&since=2024-01-02T03:04:05Z&nickname=bobby&displayLabel=BB&score=2.5&not_a_field=1")
    assert echoed(env["gw"], "GET", "/v1/echo/42?" + q) == {
        "id": "42", "name": "bob b", "role": "ROLE_ADMIN", "tags": ["a", "b"], "address": {"city": "Paris"},
        "active": True, "since": "2024-01-02T03:04:05Z", "nickname": "bobby", "big": "18446744073709551615",
        "score": 2.5, "displayLabel": "BB"}


def test_every_annotation_form(env):
    gw = env["gw"]
    assert echoed(gw, "POST", "/v1/echo", {"id": "7", "name": "whole body"}) == {"id": "7", "name": "whole body"}
    assert echoed(gw, "PUT", "/v1/echo/5/note?name=q", "\"hello\"") == {"id": "5", "name": "q", "note": "hello"}
    assert echoed(gw, "PATCH", "/v1/shelves/3/echo", {"name": "x"}) == {"name": "x", "shelf": "shelves/3"}
    assert echoed(gw, "DELETE", "/v1/echo/3") == {"id": "3"}
    # body "*": the query is not read, the path's variables win over the body's
    assert echoed(gw, "POST", "/v1/echo/9:annotate?name=ignored", {"id": "1", "note": "n"}) == {"id": "9", "note": "n"}
    assert echoed(gw, "GET", "/v1/files/a/b%2Fc/d") == {"path": "a/b%2Fc/d"}
    assert echoed(gw, "GET", "/v1/nested/Rome") == {"address": {"city": "Rome"}}
    # response_body: the field alone
    status, head, answer = call(gw, "GET", "/v1/echo/5/tags?tags=z")
    assert status == 200 and answer == {"id": "5", "tags": ["z"]}
    assert "Content-Type: application/json" in head and "Access-Control-Allow-Origin: *" in head


def test_unannotated_method_has_kongs_fallback_route(env):
    status, _, answer = call(env["gw"], "POST", "/portico.gw.Users/Ping", {"token": "t1"})
    assert status == 200 and answer == {"token": "t1"}
    status, _, answer = call(env["gw"], "POST", "/portico.gw.Users/Echo", {})  # annotated: no fallback
    assert status == 404 and answer["code"] == 5


def test_well_known_types_imports_and_canonical_json(env):
    status, _, user = call(env["gw"], "GET", "/v1/users/7")
    assert status == 200
    # int64 as a string, enum by name (common.proto, imported), Timestamp in RFC 3339, json names
    assert user == {"id": "7", "name": "user-7", "passwordHash": "$2b$12$secret", "role": "ROLE_ADMIN",
                    "createdAt": "2023-11-14T22:13:20.500Z"}


def test_grpc_errors_become_http_statuses_with_details(env):
    status, head, answer = call(env["gw"], "GET", "/v1/users/404")
    assert status == 404 and answer == {"code": 5, "message": "no user 404", "details": []}
    assert "grpc-status" not in head.lower()
    status, _, answer = call(env["gw"], "POST", "/v1/fail", {"code": 3, "message": "bad name", "field": "name"})
    assert status == 400
    assert answer == {"code": 3, "message": "bad name", "details": [
        {"@type": "type.googleapis.com/google.rpc.BadRequest",
         "fieldViolations": [{"field": "name", "description": "is wrong"}]}]}
    for code, http_status in [(14, 503), (16, 401), (7, 403), (8, 429), (12, 501), (4, 504), (13, 500)]:
        status, _, answer = call(env["gw"], "POST", "/v1/fail", {"code": code, "message": "m%d é" % code})
        assert (status, answer["code"], answer["message"]) == (http_status, code, "m%d é" % code)


@pytest.mark.parametrize("body, reason", [
    ({"nope": 1}, "nope: Cannot find field"),
    ({"name": 1}, "invalid value 1 for type TYPE_STRING"),
    ({"id": "abc"}, "invalid value \"abc\" for type TYPE_INT64"),
    ({"id": "99999999999999999999"}, "TYPE_INT64"),
    ({"big": -1}, "TYPE_UINT64"),
    ("{not json", "Expected : between key:value pair"),
    ([1], "Root element must be a message"),
])
def test_json_that_does_not_fit_the_message_is_400(env, body, reason):
    status, _, answer = call(env["gw"], "POST", "/v1/echo", body)
    assert status == 400 and answer["code"] == 3 and reason in answer["message"], answer


def test_bad_path_and_query_values_and_unknown_routes(env):
    gw = env["gw"]
    status, _, answer = call(gw, "GET", "/v1/echo/abc")
    assert status == 400 and "TYPE_INT64" in answer["message"]
    status, _, answer = call(gw, "GET", "/v1/echo/1?active=maybe")
    assert status == 400 and answer["message"] == "field active: 'maybe' is not a boolean"
    status, _, answer = call(gw, "GET", "/v1/nowhere")
    assert status == 404 and answer["code"] == 5
    status, head, answer = call(gw, "PUT", "/v1/echo/1")
    assert status == 405 and "Allow: GET, DELETE" in head and answer["code"] == 12
    status, head, _ = call(gw, "OPTIONS", "/v1/echo/1")
    assert status == 200 and "Access-Control-Allow-Methods: GET,POST,PATCH,DELETE" in head


def read_stream(gw, path):
    """(status, content type, [(seconds since the request, bytes)] of each body read)."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    started = time.monotonic()
    conn.request("GET", path)
    r = conn.getresponse()
    pieces = []
    while True:
        piece = r.read1(65536)
        if not piece:
            break
        pieces.append((time.monotonic() - started, piece))
    conn.close()
    return r.status, r.getheader("Content-Type"), pieces


def test_server_streaming_as_ndjson_arrives_as_it_comes(env):
    status, ctype, pieces = read_stream(env["gw"], "/v1/users:stream?count=3&interval_ms=1000")
    assert status == 200 and ctype == "application/x-ndjson"
    lines = b"".join(p for _, p in pieces).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"name": "user-0"}, {"id": "1", "name": "user-1"},
                                                    {"id": "2", "name": "user-2"}]
    assert pieces[0][0] < 1.5 and pieces[-1][0] > 1.8  # the first user came long before the last


def test_stream_ending_in_an_error_ends_with_an_error_element(env):
    status, _, pieces = read_stream(env["gw"], "/v1/users:stream?count=2&fail_code=14")
    lines = [json.loads(line) for line in b"".join(p for _, p in pieces).decode().splitlines()]
    assert status == 200 and len(lines) == 3
    assert lines[2] == {"error": {"code": 14, "message": "stopped after 2", "details": []}}
    # an error before any message: the HTTP status says it
    status, _, answer = call(env["gw"], "GET", "/v1/users:stream?count=0&fail_code=5")
    assert status == 404 and answer["message"] == "stopped after 0"


def test_array_stream_format_and_json_style_options(env, tmp_path):
    cfg = gateway_config(env["backend"].port, PROTOS / "users.proto", stream_format="array", emit_defaults=True,
                         use_proto_names=True)
    gw = start_gateway(tmp_path, cfg)
    try:
        status, ctype, pieces = read_stream(gw, "/v1/users:stream?count=2")
        assert status == 200 and ctype == "application/json"
        users_list = json.loads(b"".join(p for _, p in pieces))
        assert [u["name"] for u in users_list] == ["user-0", "user-1"]
        assert users_list[0] == {"id": "0", "name": "user-0", "password_hash": "", "role": "ROLE_UNSPECIFIED"}
        status, _, pieces = read_stream(gw, "/v1/users:stream?count=1&fail_code=13")
        assert json.loads(b"".join(p for _, p in pieces))[-1]["error"]["code"] == 13
        status, _, pieces = read_stream(gw, "/v1/users:stream?count=0")
        assert status == 200 and b"".join(p for _, p in pieces) == b"[]"
    finally:
        gw.close()


def test_grpc_clients_pass_through_the_same_route(env):
    with grpc.insecure_channel("127.0.0.1:%d" % env["h2c"]) as channel:
        reply = m.grpc.UsersStub(channel).Echo(m.pb2.EchoRequest(id=3, name="native"), timeout=10)
    assert reply.request.name == "native" and reply.served_by == "users"


def test_malformed_proto_is_refused_with_file_line_and_reason(env, tmp_path):
    broken = tmp_path / "users.proto"
    text = (PROTOS / "users.proto").read_text()
    broken.write_text(text.replace("int64 id = 1;\n  string name = 2;", "int64 id = 1\n  string name = 2;", 1))
    shutil.copy(PROTOS / "common.proto", tmp_path / "common.proto")
    line = next(i for i, l in enumerate(broken.read_text().splitlines(), 1) if l.strip() == "int64 id = 1") + 1
    path = tmp_path / "kong.yml"
    path.write_text(json.dumps(gateway_config(1, broken)))
    assert_check_refuses(path, "services[0].plugins[0].config.proto", "%s:%d:3: Expected \";\"." % (broken, line))
    path.write_text(json.dumps(gateway_config(1, tmp_path / "absent.proto")))
    assert_check_refuses(path, "services[0].plugins[0].config.proto", "cannot read %s" % (tmp_path / "absent.proto"))
    # an import it cannot find
    (tmp_path / "common.proto").unlink()
    broken.write_text(text)
    path.write_text(json.dumps(gateway_config(1, broken)))
    assert_check_refuses(path, "services[0].plugins[0].config.proto", "common.proto")


def test_proto_is_read_again_with_the_configuration(env, tmp_path):
    proto = tmp_path / "users.proto"
    shutil.copy(PROTOS / "users.proto", proto)
    shutil.copy(PROTOS / "common.proto", tmp_path / "common.proto")
    cfg = gateway_config(env["backend"].port, proto)
    gw = start_gateway(tmp_path, cfg)
    try:
        assert call(gw, "GET", "/v1/users/1")[0] == 200
        proto.write_text(proto.read_text().replace('get: "/v1/users/{id}"', 'get: "/v1/people/{id}"'))
        status, _ = admin_json(gw, "POST", "/config", cfg)
        assert status == 201
        assert call(gw, "GET", "/v1/people/1")[0] == 200
        assert call(gw, "GET", "/v1/users/1")[0] == 404
        # an Admin API change with a broken file is refused, the running configuration kept
        proto.write_text("syntax = \"proto3\";\nmessage {")
        status, answer = admin_json(gw, "POST", "/config", cfg)
        assert status == 400 and str(proto) in json.dumps(answer)
        assert call(gw, "GET", "/v1/people/1")[0] == 200
    finally:
        gw.close()


def test_service_killed_mid_stream_cuts_the_answer_and_the_gateway_goes_on(env, tmp_path):
    backend = GatewayBackend(free_port(), name="doomed")
    gw = start_gateway(tmp_path, gateway_config(backend.port, PROTOS / "users.proto"))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
        conn.request("GET", "/v1/users:stream?count=100&interval_ms=100")
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read1(65536).splitlines()[0]) == {"name": "user-0"}
        backend.close()
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            r.read()  # the chunked body never ends properly: the client knows it was cut
        conn.close()
        status, _, answer = call(gw, "GET", "/v1/users/1")
        assert status == 502 or status == 503
    finally:
        gw.close()
        backend.close()


def test_large_unary_answers_read_whole_across_many_frames(env):
    # 3 MiB each way: the answer comes in many DATA frames, long after its head
    note = "n" * (3 << 20)
    assert echoed(env["gw"], "POST", "/v1/echo", {"note": note}) == {"note": note}


def test_response_transformer_edits_the_transcoded_json(env, tmp_path):
    # grpc-gateway (998) turns the answer into JSON before response-transformer (800) edits it:
    # the password hash the service returns never reaches the client.
    cfg = gateway_config(env["backend"].port, PROTOS / "users.proto")
    cfg["services"][0]["plugins"].append(
        {"name": "response-transformer", "config": {"remove": {"json": ["passwordHash"]}, "add": {"headers": ["X-Edited:1"]}}})
    gw = start_gateway(tmp_path, cfg)
    try:
        status, head, user = call(gw, "GET", "/v1/users/7")
        assert status == 200 and "X-Edited: 1" in head
        assert user == {"id": "7", "name": "user-7", "role": "ROLE_ADMIN", "createdAt": "2023-11-14T22:13:20.500Z"}
    finally:
        gw.close()
