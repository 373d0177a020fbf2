"""The request-termination plugin (Kong's): the gateway answers itself, with Kong's messages or a
configured body, only when the trigger header or query argument is there when one is set, and
the service behind the route is never called; echo answers with Kong's JSON copy of the request
(curl sends JSON, form and multipart bodies); Kong's configuration rules refuse bad entries."""
import json
import os
import socket

import pytest

from conftest import Portico, assert_plugin_config_refused, curl, http_get
from recording_backend import RecordingBackend

MAINTENANCE = "<html><body><h1>Service is down for maintenance</h1></body></html>"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backend = RecordingBackend()

    def route(name, config=None):
        plugin = {"name": "request-termination"}
        if config is not None:
            plugin["config"] = config
        return {"name": name, "paths": ["/" + name], "plugins": [plugin]}

    cfg = {"_format_version": "3.0", "services": [{"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
        route("default"),
        route("not-found", {"status_code": 404}),
        route("custom", {"status_code": 406, "message": "Invalid"}),
        route("maintenance", {"body": MAINTENANCE, "content_type": "text/html"}),
        route("legal", {"status_code": 451, "body": "blocked here"}),
        route("no-content", {"status_code": 204}),
        route("teapot", {"status_code": 418}),
        route("triggered", {"status_code": 403, "message": "debugging", "trigger": "X-Terminate"}),
        {"name": "open", "paths": ["/open"]},
        {"name": "echo", "paths": ["~/echo/(?<id>\\d+)(/(?<rest>x))?$"], "plugins": [
            {"name": "request-termination", "config": {"status_code": 200, "echo": True}}]},
        {"name": "echo-on-demand", "paths": ["/debug"], "plugins": [
            {"name": "request-termination", "config": {"status_code": 403, "echo": True, "trigger": "X-Echo"}}]},
    ]}]}
    path = tmp_path_factory.mktemp("termination") / "kong.json"
    path.write_text(json.dumps(cfg))
    portico = Portico(path)
    yield portico, backend
    portico.close()
    backend.close()


def served_upstream(backend):
    with backend.lock:
        return len(backend.requests)


@pytest.mark.parametrize("path,status,body", [
    ("/default", 503, {"message": "Service unavailable"}),
    ("/not-found", 404, {"message": "Not found"}),
    ("/custom", 406, {"message": "Invalid"}),
])
def test_kongs_message_bodies(env, path, status, body):
    portico, backend = env
    before = served_upstream(backend)
    got_status, headers, got_body = http_get(portico.url(path))
    assert got_status == status
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(got_body) == body
    assert served_upstream(backend) == before  # the service is never called


def test_a_configured_body_goes_out_as_it_is_under_its_content_type(env):
    portico, backend = env
    status, headers, body = http_get(portico.url("/maintenance"))
    assert (status, headers["Content-Type"], body.decode()) == (503, "text/html", MAINTENANCE)
    status, headers, body = http_get(portico.url("/legal"))
    assert (status, body) == (451, b"blocked here")
    assert "Content-Type" not in headers  # none configured: none sent (Kong's default_type '')


def test_statuses_without_a_default_message_have_no_body(env):
    portico, _ = env
    status, headers, body = http_get(portico.url("/no-content"))
    assert (status, body) == (204, b"")
    assert "Content-Length" not in headers  # a 204 carries none (Kong's test)
    status, _, body = http_get(portico.url("/teapot"))
    assert (status, body) == (418, b"")


@pytest.mark.parametrize("path", ["/default", "/maintenance", "/no-content"])
def test_every_answer_names_the_server(env, path):
    portico, _ = env
    assert http_get(portico.url(path))[1]["Server"].startswith("portico/")


def test_the_trigger_is_a_header_or_a_query_argument(env):
    portico, backend = env
    before = served_upstream(backend)
    assert http_get(portico.url("/triggered"))[0] == 200  # no trigger: proxied as usual
    assert served_upstream(backend) == before + 1
    status, _, body = http_get(portico.url("/triggered"), {"x-terminate": ""})  # any value, even empty
    assert (status, json.loads(body)) == (403, {"message": "debugging"})
    assert http_get(portico.url("/triggered?X-Terminate"))[0] == 403
    assert http_get(portico.url("/triggered?X%2DTerminate=1"))[0] == 403  # decoded, as Kong's get_query
    assert http_get(portico.url("/triggered?other=X-Terminate"))[0] == 200
    assert served_upstream(backend) == before + 2
    assert http_get(portico.url("/open"))[0] == 200


@pytest.mark.parametrize("config,field,reason", [
    ({"status_code": 99}, "status_code", "value should be between 100 and 599"),
    ({"status_code": 600}, "status_code", "value should be between 100 and 599"),
    ({"message": "x", "body": "y"}, "message", "message cannot be used with content_type or body"),
    ({"content_type": "text/plain"}, "content_type", "content_type requires a body"),
    ({"echo": True, "body": "y"}, "echo", "echo cannot be used with content_type and body"),
    ({"trigger": "bad header"}, "trigger", "bad header name 'bad header'"),
])
def test_bad_config_is_refused_at_load(tmp_path, config, field, reason):
    assert_plugin_config_refused(tmp_path, "request-termination", config, field, reason)


def echo(portico, *curl_args, path="/echo/42?page=2&flag&tag=a&tag=b%20c"):
    status, head, body = curl(*curl_args, portico.url(path))
    return status, head, json.loads(body)


def test_echo_answers_with_kongs_copy_of_the_request(env):
    portico, backend = env
    before = served_upstream(backend)
    status, head, doc = echo(portico, "-H", "Content-Type: application/json", "-H", "X-A: 1", "-H", "X-A: 2",
                             "-H", "Host: API.example.com:9999", "--data-binary", '{"name": "ada", "n": [1, 2]}')
    assert status == 200 and "Content-Type: application/json" in head
    assert served_upstream(backend) == before  # the service is never called
    assert "message" not in doc  # 200 has no default text in Kong
    assert doc["kong"]["worker_pid"] == portico.proc.pid and doc["kong"]["hostname"] == socket.gethostname()
    assert len(doc["kong"]["node_id"]) == 36
    request = doc["request"]
    assert request["scheme"] == "http" and request["host"] == "api.example.com" and request["port"] == portico.port
    assert request["method"] == "POST" and request["path"] == "/echo/42"
    assert request["headers"]["x-a"] == ["1", "2"] and request["headers"]["host"] == "API.example.com:9999"
    assert request["query"] == {"page": "2", "flag": True, "tag": ["a", "b c"]}
    assert request["body"] == {"name": "ada", "n": [1, 2]}
    assert request["raw_body"] == '{"name": "ada", "n": [1, 2]}'
    assert request["uri_captures"] == {"unnamed": ["/echo/42", "42", None, None], "named": {"id": "42"}}
    assert doc["matched_route"]["name"] == "echo" and doc["matched_route"]["service"] == {"id": doc["matched_service"]["id"]}
    assert doc["matched_service"]["name"] == "api" and doc["matched_service"]["port"] == backend.port


def test_echo_reads_form_and_multipart_bodies_and_leaves_out_what_does_not_parse(env):
    portico, _ = env
    _, _, doc = echo(portico, "--data-urlencode", "a=1 2", "--data", "b=x&b=y", path="/echo/7/x")
    assert doc["request"]["body"] == {"a": "1 2", "b": ["x", "y"]}
    assert doc["request"]["uri_captures"]["named"] == {"id": "7", "rest": "x"}
    _, _, doc = echo(portico, "-F", "name=ada", "-F", "file=@" + os.devnull)
    assert doc["request"]["body"] == {"name": "ada", "file": ""}
    assert doc["request"]["raw_body"].startswith("--")
    _, _, doc = echo(portico, "-H", "Content-Type: application/json", "--data-binary", '{"unclosed": ')
    assert "body" not in doc["request"] and doc["request"]["raw_body"] == '{"unclosed": '
    _, _, doc = echo(portico)
    assert "body" not in doc["request"] and doc["request"]["raw_body"] == "" and doc["request"]["method"] == "GET"


def test_echo_with_a_trigger_only_for_requests_that_carry_it(env):
    portico, backend = env
    status, _, doc = echo(portico, "-H", "X-Echo: yes", path="/debug/a")
    assert status == 403 and "message" not in doc  # 403: no default text in Kong
    assert doc["request"]["path"] == "/debug/a" and doc["request"]["uri_captures"] == {"unnamed": [], "named": {}}
    before = served_upstream(backend)
    assert http_get(portico.url("/debug/a"))[0] == 200
    assert served_upstream(backend) == before + 1
