"""The request-transformer plugin (Kong's): the request the service receives, edited in Kong's
order (uri, method, headers, body, query) with Kong's rules and templates, seen from a scripted
backend that records exactly what arrived; hostile templates and bodies included."""
import json
import subprocess

import pytest

from conftest import Portico, assert_plugin_config_refused, curl
from scripted_backend import ScriptedBackend


def route(name, config, paths=None):
    return {"name": name, "paths": paths or ["/" + name], "strip_path": False,
            "plugins": [{"name": "request-transformer", "config": config}]}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backend = ScriptedBackend()
    folder = tmp_path_factory.mktemp("reqt")
    # Kong's documentation example "Rewrite a path", verbatim (the route as Kong 3 writes a regex path).
    (folder / "kong.yml").write_text("""_format_version: "3.0"
services:
- name: api
  url: http://127.0.0.1:%d
  routes:
  - name: users
    paths: ['~/users/(\\d+)$']
plugins:
- name: request-transformer
  route: users
  config:
    replace:
      uri: "/anything/$(uri_captures[1])"
""" % backend.port)
    cfg = {"_format_version": "3.0", "services": [{"name": "api", "url": "http://127.0.0.1:%d/base" % backend.port, "routes": [
        route("headers", {
            "remove": {"headers": ["X-Secret"]},
            "rename": {"headers": ["X-Old:X-New", "x-case:X-Case"]},
            "replace": {"headers": ["X-Version:2", "X-Missing:1"]},
            "add": {"headers": ["X-Added:yes", "X-Present:no", "X-From-Query:$(query_params.user)",
                                "X-Or:$(headers.x_absent or 'fallback')", "X-Escaped:$('$(headers.a)')",
                                "X-Consumer:$(consumer.id or 'anonymous')"]},
            "append": {"headers": ["X-List:b", "X-List:c"]}}),
        route("query", {
            "remove": {"querystring": ["drop"]},
            "rename": {"querystring": ["old:new", "absent:never"]},
            "replace": {"querystring": ["page:2"]},
            "add": {"querystring": ["added:a b&c", "page:9"]},
            "append": {"querystring": ["tag:z"]}}),
        route("untouched", {"add": {"headers": ["X-A:1"]}}),
        route("json", {
            "remove": {"body": ["password", "user.token"]},
            "rename": {"body": ["f:g", "old:new"]},
            "replace": {"body": ["role:admin"]},
            "add": {"body": ["source:gateway", "who:$(headers.x_user)"]},
            "append": {"body": ["tags:new"]}}),
        route("form", {
            "remove": {"body": ["password"]},
            "add": {"body": ["source:gateway"]},
            "append": {"body": ["p1:v1"]}}),
        route("multipart", {
            "remove": {"body": ["password"]},
            "replace": {"body": ["name:replaced"]},
            "add": {"body": ["source:gateway"]}}),
        route("method", {"http_method": "GET"}),
        route("method-post", {"http_method": "POST", "add": {"headers": ["Content-Type:application/json"],
                                                           "body": ["body:somecontent"]}}),
        route("uri", {"replace": {"uri": "/v2/$(uri_captures.id)/$(query_params.x)"}},
              paths=["~/uri/(?<id>[a-z0-9]+)$"]),
        route("uri-bad", {"replace": {"uri": "$(query_params.x)"}}),
        route("host", {"replace": {"headers": ["Host:internal.example"]}}),
        route("injection", {"add": {"headers": ["X-Injected:$(query_params.v)"]}}),
        route("multipart-inject", {"remove": {"body": ["role"]}, "add": {"body": ["note:$(query_params.n)"]}}),
        {"name": "hidden", "paths": ["/hidden"], "strip_path": False, "plugins": [
            {"name": "key-auth", "config": {"hide_credentials": True}},
            {"name": "request-transformer", "config": {"add": {"querystring": ["src:gw"]},
                                                       "append": {"headers": ["X-Consumer-Username:extra"]}}}]},
    ]}], "consumers": [{"username": "ada", "keyauth_credentials": [{"key": "k1"}]}]}
    (folder / "kong.json").write_text(json.dumps(cfg))
    for path in ["/base/headers", "/base/query", "/base/untouched", "/base/json", "/base/form", "/base/multipart",
                 "/base/method", "/base/method-post", "/base/host", "/base/injection", "/anything/123",
                 "/base/multipart-inject", "/base/hidden",
                 "/v2/abc/q%20x", "/v2/abc/"]:
        backend.answer(path, "{}", headers=[("Content-Type", "application/json")])
    portico = Portico(folder / "kong.json")
    doc = Portico(folder / "kong.yml")
    yield portico, doc, backend
    doc.close()
    portico.close()
    backend.close()


def send(portico, path, *args):
    status, _, body = curl(portico.url(path), *args)
    return status, body


def header_values(request, name):
    return [v for n, v in request["headers"] if n.lower() == name.lower()]


def test_kongs_documentation_example_rewrites_the_path(env):
    _, doc, backend = env
    status, _ = send(doc, "/users/123?x=1")
    assert status == 200
    assert backend.last()["target"] == "/anything/123?x=1"


def test_header_operations_in_kongs_order_with_templates(env):
    portico, _, backend = env
    status, _ = send(portico, "/headers?user=ada", "-H", "X-Secret: s", "-H", "X-Old: o", "-H", "x-case: c",
                     "-H", "X-Version: 1", "-H", "X-Present: kept", "-H", "X-List: a")
    assert status == 200
    r = backend.last()
    assert header_values(r, "X-Secret") == []
    assert header_values(r, "X-New") == ["o"] and header_values(r, "X-Old") == []
    assert [n for n, _ in r["headers"] if n.lower() == "x-case"] == ["X-Case"]  # a case-only rename keeps the new case
    assert header_values(r, "X-Version") == ["2"] and header_values(r, "X-Missing") == []
    assert header_values(r, "X-Added") == ["yes"] and header_values(r, "X-Present") == ["kept"]
    assert header_values(r, "X-From-Query") == ["ada"]
    assert header_values(r, "X-Or") == ["fallback"]
    assert header_values(r, "X-Escaped") == ["$(headers.a)"]
    assert header_values(r, "X-Consumer") == ["anonymous"]
    assert header_values(r, "X-List") == ["a", "b", "c"]


def test_query_operations_and_an_untouched_query_stays_byte_for_byte(env):
    portico, _, backend = env
    send(portico, "/query?drop=1&old=o&page=1&tag=x&keep=%2F%20")
    target = backend.last()["target"]
    assert target == "/base/query?new=o&page=2&tag=x&keep=%2F%20&added=a%20b%26c&tag=z"
    raw = "/untouched?a=$&+,/:;?@&b=%2f+x"
    send(portico, raw)
    assert backend.last()["target"] == "/base" + raw  # no querystring operation: the client's bytes


def test_json_body_operations(env):
    portico, _, backend = env
    body = {"password": "p", "user": {"id": 1, "token": "t"}, "f": False, "old": "v", "new": "x",
            "role": "user", "tags": "a", "big": 123456789012345678901234567890}
    status, _ = send(portico, "/json", "-H", "Content-Type: application/json", "-H", "X-User: ada",
                     "--data-binary", json.dumps(body))
    assert status == 200
    r = backend.last()
    got = json.loads(r["body"])
    assert got == {"user": {"id": 1}, "f": False, "new": "v", "role": "admin", "tags": ["a", "new"],
                   "big": 123456789012345678901234567890, "source": "gateway", "who": "ada"}
    assert b"123456789012345678901234567890" in r["body"]
    assert r["header"]["content-length"] == str(len(r["body"]))


def test_json_add_creates_a_body_and_malformed_json_goes_untouched(env):
    portico, _, backend = env
    send(portico, "/json", "-X", "POST", "-H", "Content-Type: application/json")
    assert json.loads(backend.last()["body"]) == {"source": "gateway", "who": "", "tags": ["new"]}
    send(portico, "/json", "-H", "Content-Type: application/json", "--data-binary", '{"password": ')
    assert backend.last()["body"] == b'{"password": '


def test_a_body_nested_ten_thousand_deep_is_edited(env):
    portico, _, backend = env
    deep = '{"password":"p","d":' + "[" * 10000 + "]" * 10000 + "}"
    status, _ = send(portico, "/json", "-H", "Content-Type: application/json", "--data-binary", deep)
    assert status == 200
    body = backend.last()["body"].decode()
    assert "password" not in body and body.startswith('{"d":' + "[" * 10000 + "]" * 10000 + ',"source":"gateway"')


def test_form_body_operations(env):
    portico, _, backend = env
    send(portico, "/form", "--data", "password=p&p1=v0&name=a+b")
    r = backend.last()
    assert r["body"] == b"p1=v0&name=a%20b&source=gateway&p1=v1"
    assert r["header"]["content-length"] == str(len(r["body"]))


def test_multipart_body_operations(env):
    portico, _, backend = env
    send(portico, "/multipart", "-F", "password=p", "-F", "name=orig", "-F", "keep=k")
    r = backend.last()
    boundary = r["header"]["content-type"].split("boundary=")[1]
    body = r["body"].decode()
    assert body.endswith("--%s--\r\n" % boundary)
    assert 'name="password"' not in body
    assert 'name="keep"\r\n\r\nk\r\n' in body
    assert 'name="name"\r\n\r\nreplaced\r\n' in body and "orig" not in body
    assert 'name="source"\r\n\r\ngateway\r\n' in body


def test_a_lying_content_type_leaves_the_body_alone(env):
    portico, _, backend = env
    send(portico, "/json", "-H", "Content-Type: application/json", "--data-binary", "password=p&x=1")
    assert backend.last()["body"] == b"password=p&x=1"


def test_method_change_moves_a_form_body_into_the_query(env):
    portico, _, backend = env
    send(portico, "/method?hello=world", "--data", "name=marco")
    r = backend.last()
    assert r["method"] == "GET" and r["target"] == "/base/method?hello=world&name=marco"


def test_get_to_post_with_an_added_json_body(env):
    portico, _, backend = env
    send(portico, "/method-post")
    r = backend.last()
    assert r["method"] == "POST" and json.loads(r["body"]) == {"body": "somecontent"}
    assert r["header"]["content-type"] == "application/json"


def test_replace_uri_with_captures_and_query_values(env):
    portico, _, backend = env
    send(portico, "/uri/abc?x=q%20x")
    assert backend.last()["target"] == "/v2/abc/q%20x?x=q%20x"


def test_a_uri_that_is_no_path_is_500(env):
    portico, _, backend = env
    before = backend.count()
    status, body = send(portico, "/uri-bad?x=nopath")
    assert status == 500 and json.loads(body)["message"] == "An unexpected error occurred"
    assert backend.count() == before


def test_host_is_replaced(env):
    portico, _, backend = env
    send(portico, "/host")
    assert header_values(backend.last(), "Host") == ["internal.example"]


def test_a_template_cannot_inject_a_header(env):
    portico, _, backend = env
    before = backend.count()
    status, body = send(portico, "/injection?v=a%0D%0AX-Evil:%201")
    assert status == 400 and "line break" in json.loads(body)["message"]
    assert backend.count() == before


@pytest.mark.parametrize("config,field,reason", [
    ({"http_method": "HELLO!"}, "http_method", "invalid value: HELLO!"),
    ({"http_method": "HEAD"}, "http_method", "HEAD cannot be set"),
    ({"add": {"headers": ["just_a_key"]}}, "add.headers[0]", "invalid value: just_a_key"),
    ({"add": {"querystring": ["uri_param2:"]}}, "add.querystring[0]", "key 'uri_param2' has no value"),
    ({"add": {"body": ["k:$(uri_captures user2)"]}}, "add.body[0]", "is not in supported format"),
    ({"replace": {"uri": "/x/$(string.sub('a', 1))"}}, "replace.uri", "is not in supported format"),
    ({"rename": {"headers": ["a:"]}}, "rename.headers[0]", "'' is not a valid header"),
])
def test_kongs_config_rules_refuse_bad_entries(tmp_path, config, field, reason):
    assert_plugin_config_refused(tmp_path, "request-transformer", config, field, reason)


def test_duplicate_keys_are_all_removed_and_invalid_utf8_goes_untouched(env):
    portico, _, backend = env
    send(portico, "/json", "-H", "Content-Type: application/json", "--data-binary",
         '{"password":"a","pass\\u0077ord":"b","x":1,"password":"c"}')
    got = backend.last()["body"].decode()
    assert "password" not in got and "pass\\u0077ord" not in got and json.loads(got)["x"] == 1
    bad = b'{"password":"\xff\xfe"}'
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", "Content-Type: application/json", "--data-binary", "@-",
                    portico.url("/json")], input=bad, check=True)
    assert backend.last()["body"] == bad  # not JSON (RFC 8259 requires UTF-8): passed on as it came


def test_huge_numbers_keep_every_digit(env):
    portico, _, backend = env
    send(portico, "/json", "-H", "Content-Type: application/json", "--data-binary",
         '{"n":1e400,"m":-0.000000000000000000000000000001,"k":123456789012345678901234567890,"password":1}')
    assert backend.last()["body"].startswith(b'{"n":1e400,"m":-0.000000000000000000000000000001,"k":123456789012345678901234567890')


def test_edits_of_plugins_that_ran_before_are_kept(env):
    portico, _, backend = env
    status, _ = send(portico, "/hidden?apikey=k1&x=1", "-H", "X-Consumer-Username: spoofed")
    assert status == 200
    r = backend.last()
    assert r["target"] == "/base/hidden?x=1&src=gw"  # key-auth's hidden key stays hidden
    assert header_values(r, "X-Consumer-Username") == ["ada", "extra"]  # key-auth's value, not the client's


def test_a_template_cannot_add_a_multipart_part(env):
    portico, _, backend = env
    before = backend.count()
    evil = "%0D%0A--XB%0D%0AContent-Disposition:%20form-data;%20name=%22role%22%0D%0A%0D%0Aadmin"
    status, body = send(portico, "/multipart-inject?n=" + evil, "-H", "Content-Type: multipart/form-data; boundary=XB",
                        "--data-binary", "--XB\r\nContent-Disposition: form-data; name=\"role\"\r\n\r\nuser\r\n--XB--\r\n")
    assert status == 400 and "multipart" in json.loads(body)["message"]
    assert backend.count() == before


def test_head_is_never_changed(env):
    portico, _, backend = env
    status, _, _ = curl(portico.url("/method"), "-I")
    assert status == 200 and backend.last()["method"] == "HEAD"
