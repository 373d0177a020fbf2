"""The aggregate plugin (issue 12) through a running gateway: one request fanned out to several
backends and answered with one composed JSON object.

One gateway (2 workers) and five recording backends serve the whole module. Every backend is a
threaded HTTP/1.1 server on 127.0.0.1 that records each request (method, raw path, lower-cased
headers, body, when it arrived and when its answer started) and answers by path:

    /users/N[?ms=D]        a user (nested address, orders, friend_ids), after D ms
    /teams/N               a team
    /notifications?user_id {"data": [3 notifications], "total": 3}
    /slow?ms=N             after N ms
    /status/N              status N with a JSON body
    /notjson               200 with a body that is not JSON
    /echo...               the request it saw (method, path, headers, body) as JSON
    /big                   a JSON body of BIG_BODY bytes (over the /fail/big route's max_body_size)
    /whoami/NAME           that caller's private data

Backends A, B, C are services (`users`, `notifications`, `teams`), D is called by `url`
backends, E sits behind a service guarded by a circuit breaker. The upstream `pair` balances
over a dead port and C.

Covered (issue 12 section 3): parallel fan-out latency; shaping (allow, deny, select, reduce,
rename, group, on_error); every template source; percent-encoding of hostile values; missing
values; optional / required failures and timeouts; retries onto another target; isolation of
concurrent consumers and identity headers; identical calls made once; forward_headers;
load-time refusals with the field's path; service-less routes and the circuit breaker.
"""
import json
import random
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from conftest import PORTICO_BIN, Portico, Reply, assert_check_refuses, call, free_port
from answering_backend import AnsweringBackend

ALICE_ID = "0b6a6a9e-1f0e-4c55-9f6a-a11ce0000001"
BOB_ID = "0b6a6a9e-1f0e-4c55-9f6a-b0b000000002"
JWT_SECRET = "alice-jwt-secret-0123456789abcdef"
MAX_BODY = 4096           # max_body_size of /fail/big
BIG_BODY = 20000          # what /big answers


# --- the backend -----------------------------------------------------------------------------

def user(uid):
    return {"id": uid, "name": "User %d" % uid, "email": "user%d@example.com" % uid,
            "password_hash": "$2b$12$hash-of-%d" % uid, "team_id": uid % 5 + 1,
            "address": {"city": "Lyon", "zip": "69001"},
            "orders": [{"id": 100 * uid + 1, "cost": 10.5, "internal_notes": "vip"},
                       {"id": 100 * uid + 2, "cost": 3, "internal_notes": "late"}],
            "friend_ids": [3, 5, 8]}


def notifications(user_id):
    return {"data": [{"id": 1, "user_id": user_id, "text": "Welcome", "read": False},
                     {"id": 2, "user_id": user_id, "text": "Order shipped", "read": False},
                     {"id": 3, "user_id": user_id, "text": "Password changed", "read": True}],
            "total": 3}


class Backend(AnsweringBackend):
    """A recording backend answering by path (the module docstring lists the paths)."""

    def answer(self, rec):
        url = urllib.parse.urlsplit(rec["path"])
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = url.path.strip("/").split("/")

        def js(obj, status=200):
            return status, "application/json", json.dumps(obj).encode()

        if parts[0] == "users" and len(parts) == 2 and parts[1].isdigit():
            if "ms" in query:
                time.sleep(int(query["ms"]) / 1000)
            return js(user(int(parts[1])))
        if parts[0] == "teams" and len(parts) == 2:
            return js({"id": int(parts[1]), "name": "Team %s" % parts[1], "members": 4})
        if url.path == "/notifications":
            return js(notifications(query.get("user_id")))
        if url.path == "/slow":
            time.sleep(int(query.get("ms", "0")) / 1000)
            return js({"slept_ms": int(query.get("ms", "0")), "served_by": self.name})
        if parts[0] == "status" and len(parts) == 2:
            return js({"status": int(parts[1])}, int(parts[1]))
        if url.path == "/notjson":
            return 200, "text/plain", b"this is not JSON {"
        if parts[0] == "echo":
            return js({"method": rec["method"], "path": rec["path"], "headers": rec["headers"],
                       "body": rec["body"], "served_by": self.name})
        if url.path == "/big":
            return js({"blob": "x" * (BIG_BODY - 12)})
        if parts[0] == "whoami" and len(parts) == 2:
            time.sleep(random.random() * 0.003)
            return js({"user": parts[1], "secret": "secret-of-" + parts[1], "served_by": self.name})
        return js({"message": "not found"}, 404)

    def matching(self, pred):
        with self.lock:
            return [r for r in self.requests if pred(r)]

    def with_path(self, path):
        return self.matching(lambda r: r["path"] == path)

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.close()


# --- the gateway's configuration ---------------------------------------------------------------

def aggregate(backends, **config):
    config["backends"] = backends
    return [{"name": "aggregate", "config": config}]


def route(name, path, plugins, **extra):
    r = {"name": name, "paths": [path], "plugins": plugins}
    r.update(extra)
    return r


def gateway_config(b, dead_port):
    A, B, C, D, E = (b[k].port for k in "ABCDE")
    d = "http://127.0.0.1:%d" % D
    routes = [
        # 1. fan-out: four backends, three services and a url, each 300 ms
        route("fanout", "/fanout", aggregate([
            {"name": "one", "service": "users", "path": "/slow?ms=300"},
            {"name": "two", "service": "notifications", "path": "/slow?ms=300"},
            {"name": "three", "service": "teams", "path": "/slow?ms=300"},
            {"name": "four", "url": d + "/slow?ms=300"},
        ], timeout=3000)),
        # 2. shaping
        route("shape", "/shape", aggregate([
            {"name": "profile", "service": "users", "path": "/users/{query.user_id}",
             "allow": ["id", "address.city", "orders.id"]},
            {"name": "private", "service": "users", "path": "/users/{query.user_id}",
             "deny": ["password_hash", "email", "orders.internal_notes"]},
            {"name": "both", "service": "users", "path": "/users/{query.user_id}",
             "allow": ["id", "password_hash", "address.city", "orders.id", "orders.internal_notes"],
             "deny": ["password_hash", "orders.internal_notes"]},
            {"name": "renamed", "service": "users", "path": "/users/{query.user_id}",
             "allow": ["name", "address"], "rename": {"name": "full_name", "address.city": "town"}},
            {"name": "first_order_id", "service": "users", "path": "/users/{query.user_id}",
             "select": "/orders/0/id"},
            {"name": "order_count", "service": "users", "path": "/users/{query.user_id}",
             "select": "/orders", "reduce": "count"},
            {"name": "notes", "group": "activity", "service": "notifications",
             "path": "/notifications?user_id={query.user_id}", "select": "/data", "allow": ["id", "text"]},
            {"name": "unread", "group": "activity", "service": "notifications",
             "path": "/notifications?user_id={query.user_id}", "select": "/data", "reduce": "count"},
            {"name": "latest", "service": "notifications", "path": "/notifications?user_id={query.user_id}",
             "select": "/data", "reduce": "first", "deny": ["user_id"], "rename": {"text": "message"}},
        ])),
        route("partial-omit", "/partial/omit", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "broken", "service": "teams", "path": "/status/500", "required": False},
            {"name": "team", "group": "extra", "service": "teams", "path": "/teams/3", "allow": ["name"]},
            {"name": "broken_too", "group": "extra", "service": "teams", "path": "/status/404", "required": False},
        ])),
        route("partial-null", "/partial/null", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "broken", "service": "teams", "path": "/status/500", "required": False},
            {"name": "team", "group": "extra", "service": "teams", "path": "/teams/3", "allow": ["name"]},
            {"name": "broken_too", "group": "extra", "service": "teams", "path": "/status/404", "required": False},
        ], on_error="null")),
        # 3. template sources
        route("tpl-query", "/tpl/query", aggregate([
            {"name": "echo", "url": d + "/echo/q?v={query.v}&w={query.w}"}])),
        {"name": "tpl-path", "paths": ["~/users/(?<uid>\\d+)/summary$"], "plugins": aggregate([
            {"name": "user", "service": "users", "path": "/users/{path.uid}", "allow": ["id", "name"]},
            {"name": "echo", "url": d + "/echo/path/{path.uid}?n={path.1}"}])},
        route("tpl-header", "/tpl/header", aggregate([
            {"name": "echo", "url": d + "/echo/header?tenant={header.X-Tenant}"}])),
        route("tpl-jwt", "/tpl/jwt", [{"name": "jwt", "config": {"claims_to_verify": ["exp"]}}] + aggregate([
            {"name": "echo", "url": d + "/echo/jwt?sub={jwt.sub}&team={jwt.profile.team}"
                                        "&level={jwt.profile.level}&cid={consumer.id}&cu={consumer.username}"}])),
        route("tpl-key", "/tpl/key", [{"name": "key-auth", "config": {}}] + aggregate([
            {"name": "echo", "url": d + "/echo/key?cid={consumer.id}&cu={consumer.username}"}])),
        route("tpl-body", "/tpl/body", aggregate([
            {"name": "created", "method": "POST", "url": d + "/echo/body/{body.kind}",
             "body": "{{\"name\": \"{body.name}\", \"city\": \"{body.address.city}\", \"n\": {body.count}}}"}]),
              methods=["POST"]),
        route("tpl-depends", "/tpl/depends", aggregate([
            {"name": "user", "service": "users", "path": "/users/{query.user_id}?ms=200", "allow": ["id", "team_id"]},
            {"name": "team", "service": "teams", "path": "/teams/{user.team_id}", "depends_on": ["user"]},
            {"name": "friends", "url": d + "/echo/friends?ids={user.friend_ids}&city={user.address.city}",
             "depends_on": ["user"], "select": "/path"},
        ])),
        route("tpl-depends-missing", "/tpl/depends-missing", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "ghost", "service": "teams", "path": "/teams/{user.no_such_field}", "depends_on": ["user"]},
        ])),
        # 4. hostile values
        route("hostile", "/hostile", aggregate([
            {"name": "in_path", "url": d + "/echo/hostile/{query.v}?fixed=1"},
            {"name": "in_query", "url": d + "/echo/hostile-q?v={query.v}&fixed=1"},
        ])),
        # 5. missing values
        route("needs-user", "/needs-user", aggregate([
            {"name": "user", "service": "users", "path": "/users/{query.user_id}"},
            {"name": "notes", "service": "notifications", "path": "/notifications?user_id={query.user_id}"},
        ])),
        # 6. failures
        route("opt-500", "/fail/optional-500", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "flaky", "service": "teams", "path": "/status/500", "required": False}])),
        route("opt-500-null", "/fail/optional-500-null", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "flaky", "service": "teams", "path": "/status/500", "required": False}], on_error="null")),
        route("opt-timeout", "/fail/optional-timeout", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "sluggish", "service": "teams", "path": "/slow?ms=1000&who=opt", "required": False,
             "timeout": 200}])),
        route("req-503", "/fail/required-503", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "x", "service": "teams", "path": "/status/503"}])),
        route("req-timeout", "/fail/required-timeout", aggregate([
            {"name": "user", "service": "users", "path": "/users/7", "allow": ["id"]},
            {"name": "x", "service": "teams", "path": "/slow?ms=1000&who=req", "timeout": 200}])),
        route("req-notjson", "/fail/notjson", aggregate([
            {"name": "x", "url": d + "/notjson"}])),
        route("req-refused", "/fail/refused", aggregate([
            {"name": "x", "url": "http://127.0.0.1:%d/anything" % dead_port}])),
        route("req-big", "/fail/big", aggregate([
            {"name": "x", "url": d + "/big"}], max_body_size=MAX_BODY)),
        route("opt-big", "/fail/big-optional", aggregate([
            {"name": "small", "url": d + "/teams/1"},
            {"name": "x", "url": d + "/big", "required": False}], max_body_size=MAX_BODY)),
        route("cap", "/fail/cap", aggregate([
            {"name": "x", "service": "teams", "path": "/slow?ms=1500&who=cap", "timeout": 5000}], timeout=300)),
        route("dep-failed", "/fail/dependency", aggregate([
            {"name": "a", "service": "teams", "path": "/status/500", "required": False},
            {"name": "b", "service": "teams", "path": "/teams/{a.id}", "depends_on": ["a"]}])),
        route("early", "/fail/early", aggregate([
            {"name": "slow", "service": "teams", "path": "/slow?ms=1500&who=early"},
            {"name": "broken", "service": "teams", "path": "/status/503"},
            {"name": "later", "service": "teams", "path": "/teams/{broken.id}", "depends_on": ["broken"]}])),
        route("early-dep", "/fail/early-dependency", aggregate([
            {"name": "slow", "service": "teams", "path": "/slow?ms=1500&who=early-dep"},
            {"name": "a", "service": "teams", "path": "/status/500", "required": False},
            {"name": "b", "service": "teams", "path": "/teams/{a.id}", "depends_on": ["a"]}])),
        route("order", "/fail/order", aggregate([
            {"name": "first", "service": "teams", "path": "/slow?ms=300&who=order"},
            {"name": "second", "service": "teams", "path": "/status/404"}])),
        # 7. retries onto the live target
        route("retry", "/retry", aggregate([
            {"name": "who", "service": "balanced", "path": "/whoami/retry"}])),
        # 8. consumers
        route("me", "/me", [{"name": "key-auth", "config": {}}] + aggregate([
            {"name": "me", "service": "users", "path": "/whoami/{consumer.username}"},
            {"name": "seen", "url": d + "/echo/me?u={consumer.username}", "forward_headers": ["X-Consumer-ID"]},
        ])),
        # 9. identical calls
        route("dedup", "/dedup", aggregate([
            {"name": "first", "service": "users", "path": "/echo/dedup?u={query.u}", "select": "/path"},
            {"name": "second", "service": "users", "path": "/echo/dedup?u={query.u}", "select": "/method"},
            {"name": "other", "service": "users", "path": "/echo/dedup?u={query.u}&other=1", "select": "/path"},
            {"name": "elsewhere", "service": "notifications", "path": "/echo/dedup?u={query.u}", "select": "/path"},
        ])),
        # 10. forward_headers
        route("fwd", "/fwd", aggregate([
            {"name": "a", "service": "users", "path": "/echo/fwd-a"},
            {"name": "b", "url": "http://localhost:%d/echo/fwd-b" % D, "forward_headers": ["X-Only-B"]},
        ], forward_headers=["X-Tenant"])),
        # 12. circuit breaker on a service an aggregate backend calls; a route nobody answers
        route("cut-guarded", "/breaker/cut", aggregate([
            {"name": "slow", "service": "guarded", "path": "/slow?ms=1000&who=guarded"},
            {"name": "broken", "service": "teams", "path": "/status/503"}])),
        route("guarded", "/breaker/guarded", aggregate([
            {"name": "team", "service": "guarded", "path": "/teams/4"}])),
        route("breaker", "/breaker", aggregate([
            {"name": "fragile", "service": "fragile", "path": "/status/500"}])),
        {"name": "nothing", "paths": ["/nothing"]},
    ]
    return {
        "_format_version": "3.0",
        "services": [
            {"name": "users", "url": "http://127.0.0.1:%d" % A},
            {"name": "notifications", "url": "http://127.0.0.1:%d" % B},
            {"name": "teams", "url": "http://127.0.0.1:%d" % C},
            {"name": "balanced", "host": "pair", "retries": 3, "connect_timeout": 1000},
            {"name": "guarded", "url": "http://127.0.0.1:%d" % C, "plugins": [
                {"name": "circuit-breaker", "config": {"max_failures": 2, "window_size": 60, "open_timeout": 60}}]},
            {"name": "fragile", "url": "http://127.0.0.1:%d" % E, "plugins": [
                {"name": "circuit-breaker", "config": {"max_failures": 3, "window_size": 60, "open_timeout": 60,
                                                       "failure_statuses": [500]}}]},
        ],
        "upstreams": [{"name": "pair", "algorithm": "round-robin",
                       "targets": [{"target": "127.0.0.1:%d" % dead_port}, {"target": "127.0.0.1:%d" % C}]}],
        "routes": routes,
        "consumers": [
            {"id": ALICE_ID, "username": "alice", "keyauth_credentials": [{"key": "alice-key"}],
             "jwt_secrets": [{"key": "alice-iss", "algorithm": "HS256", "secret": JWT_SECRET}]},
            {"id": BOB_ID, "username": "bob", "keyauth_credentials": [{"key": "bob-key"}]},
        ],
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backends = {k: Backend(k) for k in "ABCDE"}
    dead_port = free_port()  # nothing listens there
    path = tmp_path_factory.mktemp("aggregate") / "kong.json"
    path.write_text(json.dumps(gateway_config(backends, dead_port), indent=1))
    try:
        portico = Portico(path)
    except Exception:
        for b in backends.values():
            b.close()
        raise
    yield portico, backends
    portico.close()
    for b in backends.values():
        b.close()
    # the ASan build reports memory errors and leaks in its log and exit status
    log = open(portico.log_path).read()
    assert "Sanitizer" not in log and "runtime error" not in log, log[-5000:]
    assert portico.proc.returncode == 0, log[-5000:]


# --- 1. fan-out latency ------------------------------------------------------------------------

def test_fanout_runs_backends_in_parallel(env):
    portico, b = env
    before = {k: len(b[k].matching(lambda r: r["path"] == "/slow?ms=300")) for k in "ABCD"}
    r = call(portico, "/fanout")
    assert r.status == 200, r
    assert 0.3 <= r.elapsed < 0.55, r.elapsed
    assert r.headers["X-Portico-Completed"] == "true"
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json == {"one": {"slept_ms": 300, "served_by": "A"}, "two": {"slept_ms": 300, "served_by": "B"},
                      "three": {"slept_ms": 300, "served_by": "C"}, "four": {"slept_ms": 300, "served_by": "D"}}
    for k in "ABCD":
        assert len(b[k].matching(lambda r: r["path"] == "/slow?ms=300")) == before[k] + 1, k


# --- 2. shaping --------------------------------------------------------------------------------

def test_shaping_allow_deny_select_reduce_rename_group(env):
    portico, _ = env
    r = call(portico, "/shape?user_id=7")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "true"
    u = user(7)
    private = {k: v for k, v in u.items() if k not in ("password_hash", "email")}
    private["orders"] = [{"id": 701, "cost": 10.5}, {"id": 702, "cost": 3}]
    assert r.json == {
        "profile": {"id": 7, "address": {"city": "Lyon"}, "orders": [{"id": 701}, {"id": 702}]},
        "private": private,
        "both": {"id": 7, "address": {"city": "Lyon"}, "orders": [{"id": 701}, {"id": 702}]},
        "renamed": {"full_name": "User 7", "address": {"town": "Lyon", "zip": "69001"}},
        "first_order_id": 701,
        "order_count": 2,
        "activity": {"notes": [{"id": 1, "text": "Welcome"}, {"id": 2, "text": "Order shipped"},
                               {"id": 3, "text": "Password changed"}],
                     "unread": 3},
        "latest": {"id": 1, "message": "Welcome", "read": False},
    }


def test_on_error_omit_leaves_failed_optional_backends_out(env):
    portico, _ = env
    r = call(portico, "/partial/omit")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "false"
    assert r.json == {"user": {"id": 7}, "extra": {"team": {"name": "Team 3"}}}


def test_on_error_null_puts_null_for_failed_optional_backends(env):
    portico, _ = env
    r = call(portico, "/partial/null")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "false"
    assert r.json == {"user": {"id": 7}, "broken": None, "extra": {"team": {"name": "Team 3"}, "broken_too": None}}


# --- 3. template sources -----------------------------------------------------------------------

def test_query_values_are_decoded_then_reencoded(env):
    portico, b = env
    r = call(portico, "/tpl/query?v=caf%C3%A9%20au%2Flait&w=%41b-c_d.e~f")
    assert r.status == 200, r
    assert r.json["echo"]["path"] == "/echo/q?v=caf%C3%A9%20au%2Flait&w=Ab-c_d.e~f"
    assert b["D"].with_path("/echo/q?v=caf%C3%A9%20au%2Flait&w=Ab-c_d.e~f")


def test_path_captures_of_a_regex_route(env):
    portico, b = env
    r = call(portico, "/users/42/summary")
    assert r.status == 200, r
    assert r.json["user"] == {"id": 42, "name": "User 42"}
    assert r.json["echo"]["path"] == "/echo/path/42?n=42"
    assert call(portico, "/users/abc/summary").status == 404  # the regex does not match


def test_header_value(env):
    portico, _ = env
    r = call(portico, "/tpl/header", {"X-Tenant": "acme corp/eu"})
    assert r.status == 200, r
    assert r.json["echo"]["path"] == "/echo/header?tenant=acme%20corp%2Feu"
    # the header itself is not forwarded (not in forward_headers)
    assert "x-tenant" not in r.json["echo"]["headers"]


def test_jwt_claims_and_consumer_after_jwt(env):
    portico, _ = env
    token = jwt.encode({"iss": "alice-iss", "sub": "user-42", "exp": int(time.time()) + 300,
                        "profile": {"team": "blue team", "level": 3}}, JWT_SECRET, algorithm="HS256")
    r = call(portico, "/tpl/jwt", {"Authorization": "Bearer " + token})
    assert r.status == 200, r
    echo = r.json["echo"]
    assert echo["path"] == "/echo/jwt?sub=user-42&team=blue%20team&level=3&cid=" + ALICE_ID + "&cu=alice"
    assert echo["headers"]["x-consumer-username"] == "alice"
    assert echo["headers"]["x-consumer-id"] == ALICE_ID
    assert "authorization" not in echo["headers"]
    # no token: the jwt plugin answers first, the aggregate plugin calls nothing
    assert call(portico, "/tpl/jwt").status == 401


def test_consumer_after_key_auth(env):
    portico, b = env
    r = call(portico, "/tpl/key", {"apikey": "bob-key"})
    assert r.status == 200, r
    echo = r.json["echo"]
    assert echo["path"] == "/echo/key?cid=%s&cu=bob" % BOB_ID
    assert "apikey" not in echo["headers"]
    before = b["D"].count()
    assert call(portico, "/tpl/key").status == 401
    assert call(portico, "/tpl/key", {"apikey": "wrong"}).status == 401
    assert b["D"].count() == before


def test_body_values_are_json_escaped(env):
    portico, b = env
    name = 'Ro"bert\\", "admin": true, "x": "\n\t{query.v} }}'
    payload = {"kind": "a b", "name": name, "address": {"city": "Zürich"}, "count": 3}
    r = call(portico, "/tpl/body", {"Content-Type": "application/json"}, "POST", json.dumps(payload).encode())
    assert r.status == 200, r
    echo = r.json["created"]
    assert echo["method"] == "POST"
    assert echo["path"] == "/echo/body/a%20b"
    sent = json.loads(echo["body"])  # valid JSON...
    assert sent == {"name": name, "city": "Zürich", "n": 3}  # ...with the values as given
    seen = b["D"].with_path("/echo/body/a%20b")[-1]
    assert json.loads(seen["body"]) == sent
    assert seen["headers"]["content-length"] == str(len(seen["body"].encode()))
    assert seen["headers"]["content-type"] == "application/json"


def test_body_values_missing_or_not_json(env):
    portico, b = env
    before = b["D"].count()
    r = call(portico, "/tpl/body", {"Content-Type": "application/json"}, "POST",
             json.dumps({"kind": "k", "name": "n", "count": 1}).encode())
    assert r.status == 400, r
    assert r.json == {"message": "missing value for {body.address.city} (backend 'created')"}
    r = call(portico, "/tpl/body", {"Content-Type": "application/json"}, "POST", b"not json")
    assert r.status == 400, r
    assert r.json == {"message": "the request body is not JSON"}
    assert b["D"].count() == before


def test_depends_on_feeds_the_dependent_after_its_dependency_answered(env):
    portico, b = env
    r = call(portico, "/tpl/depends?user_id=7")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "true"
    assert r.json == {"user": {"id": 7, "team_id": 3}, "team": {"id": 3, "name": "Team 3", "members": 4},
                      "friends": "/echo/friends?ids=3%2C5%2C8&city=Lyon"}
    dep = b["A"].with_path("/users/7?ms=200")[-1]
    team = b["C"].with_path("/teams/3")[-1]
    friends = b["D"].with_path("/echo/friends?ids=3%2C5%2C8&city=Lyon")[-1]
    assert team["received"] >= dep["replied"]
    assert friends["received"] >= dep["replied"]
    assert r.elapsed >= 0.2


def test_a_value_missing_from_a_dependency_fails_the_dependent(env):
    portico, b = env
    before = b["C"].count()
    r = call(portico, "/tpl/depends-missing")
    assert r.status == 502, r
    assert r.json == {"message": "backend 'ghost' failed: {user.no_such_field} has no value", "backend": "ghost"}
    assert b["C"].count() == before


# --- 4. hostile values -------------------------------------------------------------------------

def test_hostile_values_are_percent_encoded(env):
    portico, b = env
    hostile = "..%2F..%2Fadmin%3Fx%3D1%23frag%26x%3D1%0D%0AX-Injected%3A%20yes"
    encoded = "..%2F..%2Fadmin%3Fx%3D1%23frag%26x%3D1%0D%0AX-Injected%3A%20yes"
    r = call(portico, "/hostile?v=" + hostile)
    assert r.status == 200, r
    in_path = "/echo/hostile/%s?fixed=1" % encoded
    in_query = "/echo/hostile-q?v=%s&fixed=1" % encoded
    assert r.json["in_path"]["path"] == in_path
    assert r.json["in_query"]["path"] == in_query
    for path in (in_path, in_query):
        seen = b["D"].with_path(path)
        assert len(seen) == 1, path
        assert "x-injected" not in seen[0]["headers"]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        assert set(query) <= {"v", "fixed"} and query["fixed"] == ["1"]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(in_query).query)["v"] == [
        "../../admin?x=1#frag&x=1\r\nX-Injected: yes"]
    assert not b["D"].matching(lambda r: r["path"].startswith("/admin") or "x-injected" in r["headers"])


# --- 5. missing values -------------------------------------------------------------------------

def test_missing_query_value_is_400_and_nothing_is_sent(env):
    portico, b = env
    before = (b["A"].count(), b["B"].count())
    for path in ("/needs-user", "/needs-user?user_id=", "/needs-user?other=1"):
        r = call(portico, path)
        assert r.status == 400, (path, r)
        assert r.json == {"message": "missing value for {query.user_id} (backend 'user')"}
    assert (b["A"].count(), b["B"].count()) == before
    assert call(portico, "/needs-user?user_id=5").status == 200


# --- 6. failures and timeouts ------------------------------------------------------------------

def test_optional_backend_failure_is_left_out(env):
    portico, _ = env
    r = call(portico, "/fail/optional-500")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "false"
    assert r.json == {"user": {"id": 7}}
    r = call(portico, "/fail/optional-500-null")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "false"
    assert r.json == {"user": {"id": 7}, "flaky": None}


def test_optional_backend_timeout_is_left_out_quickly(env):
    portico, _ = env
    r = call(portico, "/fail/optional-timeout")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "false"
    assert r.json == {"user": {"id": 7}}
    assert 0.2 <= r.elapsed < 0.7, r.elapsed


def test_required_backend_failure_is_502(env):
    portico, _ = env
    r = call(portico, "/fail/required-503")
    assert r.status == 502, r
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json == {"message": "backend 'x' failed: answered 503", "backend": "x"}


def test_required_backend_timeout_is_504(env):
    portico, _ = env
    r = call(portico, "/fail/required-timeout")
    assert r.status == 504, r
    assert r.json["backend"] == "x"
    assert r.json["message"].startswith("backend 'x' timed out")
    assert r.elapsed < 0.7, r.elapsed


def test_required_backend_answering_non_json_is_502(env):
    portico, _ = env
    r = call(portico, "/fail/notjson")
    assert r.status == 502, r
    assert r.json == {"message": "backend 'x' failed: answered with a body that is not JSON", "backend": "x"}


def test_connection_refused_is_502(env):
    portico, _ = env
    r = call(portico, "/fail/refused")
    assert r.status == 502, r
    assert r.json == {"message": "backend 'x' failed: connection failed", "backend": "x"}
    assert r.elapsed < 1.0


def test_body_over_max_body_size_fails_that_backend(env):
    portico, _ = env
    r = call(portico, "/fail/big")
    assert r.status == 502, r
    assert r.json == {"message": "backend 'x' failed: answered with a body larger than %d bytes" % MAX_BODY,
                      "backend": "x"}
    r = call(portico, "/fail/big-optional")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "false"
    assert r.json == {"small": {"id": 1, "name": "Team 1", "members": 4}}


def test_plugin_timeout_caps_a_backend_timeout(env):
    portico, _ = env
    r = call(portico, "/fail/cap")
    assert r.status == 504, r
    assert r.json["backend"] == "x"
    assert r.json["message"].startswith("backend 'x' timed out")
    assert 0.3 <= r.elapsed < 1.0, r.elapsed


def test_dependent_of_a_failed_backend_fails(env):
    portico, b = env
    r = call(portico, "/fail/dependency")
    assert r.status == 502, r
    assert r.json == {"message": "backend 'b' failed: depends on 'a', which failed", "backend": "b"}


def test_the_required_failure_that_decided_is_reported(env):
    """'first' is still running when 'second' fails: 'second' is named, not 'first' (cut short).
    (Between failures that both came back on their own, the first in configuration order is
    named: compose_test.cpp.)"""
    portico, _ = env
    r = call(portico, "/fail/order")
    assert r.status == 502, r
    assert r.json == {"message": "backend 'second' failed: answered 404", "backend": "second"}
    assert r.elapsed < 0.25, r.elapsed


def test_required_failure_cuts_the_slower_calls_short(env):
    """The answer is decided when a required backend fails: the 502 names it at once, the slow
    call still running is cancelled (not waited for), its dependent never starts, and the
    gateway goes on serving (the cancelled connection is not reused)."""
    portico, b = env
    teams_before = len(b["C"].matching(lambda r: r["path"].startswith("/teams/")))
    for _ in range(3):
        r = call(portico, "/fail/early")
        assert r.status == 502, r
        assert r.json == {"message": "backend 'broken' failed: answered 503", "backend": "broken"}
        assert r.elapsed < 0.8, r.elapsed
    assert len(b["C"].matching(lambda r: r["path"].startswith("/teams/"))) == teams_before
    # Decided without a call coming back failed: a required backend whose dependency failed.
    r = call(portico, "/fail/early-dependency")
    assert r.status == 502, r
    assert r.json == {"message": "backend 'b' failed: depends on 'a', which failed", "backend": "b"}
    assert r.elapsed < 0.8, r.elapsed
    r = call(portico, "/fail/optional-500")
    assert r.status == 200, r


# --- 7. retries onto another target ------------------------------------------------------------

def test_dead_target_is_retried_on_the_live_one(env):
    portico, b = env
    before = len(b["C"].with_path("/whoami/retry"))
    for _ in range(30):
        r = call(portico, "/retry")
        assert r.status == 200, r
        assert r.headers["X-Portico-Completed"] == "true"
        assert r.json == {"who": {"user": "retry", "secret": "secret-of-retry", "served_by": "C"}}
    assert len(b["C"].with_path("/whoami/retry")) == before + 30


# --- 8. consumers ------------------------------------------------------------------------------

def test_concurrent_consumers_never_see_each_others_data(env):
    portico, b = env
    keys = {"alice": ("alice-key", ALICE_ID), "bob": ("bob-key", BOB_ID)}

    def one(i):
        name = "alice" if i % 2 == 0 else "bob"
        r = call(portico, "/me", {"apikey": keys[name][0], "X-Consumer-ID": "forged-" + name,
                                  "X-Consumer-Username": "forged"})
        return name, r

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(200)))
    for name, r in results:
        assert r.status == 200, r
        body = r.json
        assert body["me"] == {"user": name, "secret": "secret-of-" + name, "served_by": "A"}, (name, body)
        seen = body["seen"]
        assert seen["path"] == "/echo/me?u=" + name
        assert seen["headers"]["x-consumer-username"] == name
        assert seen["headers"]["x-consumer-id"] == keys[name][1]
        assert "apikey" not in seen["headers"]
    # what the backends saw: every call carried its own consumer's identity, once
    for name, (_, cid) in keys.items():
        for rec in b["A"].with_path("/whoami/" + name) + b["D"].with_path("/echo/me?u=" + name):
            assert rec["headers"]["x-consumer-username"] == name
            assert [v for k, v in rec["header_list"] if k == "x-consumer-id"] == [cid]
            assert [v for k, v in rec["header_list"] if k == "x-consumer-username"] == [name]
    assert len(b["A"].with_path("/whoami/alice")) >= 100
    assert len(b["A"].with_path("/whoami/bob")) >= 100


# --- 9. identical calls ------------------------------------------------------------------------

def test_identical_calls_are_made_once(env):
    portico, b = env
    u = uuid.uuid4().hex
    r = call(portico, "/dedup?u=" + u)
    assert r.status == 200, r
    assert r.json == {"first": "/echo/dedup?u=" + u, "second": "GET", "other": "/echo/dedup?u=%s&other=1" % u,
                      "elsewhere": "/echo/dedup?u=" + u}
    assert len(b["A"].with_path("/echo/dedup?u=" + u)) == 1
    assert len(b["A"].with_path("/echo/dedup?u=%s&other=1" % u)) == 1
    assert len(b["B"].with_path("/echo/dedup?u=" + u)) == 1  # another service: its own call
    # nothing is cached between requests
    assert call(portico, "/dedup?u=" + u).status == 200
    assert len(b["A"].with_path("/echo/dedup?u=" + u)) == 2


# --- 10. forward_headers -----------------------------------------------------------------------

def test_forward_headers(env):
    portico, _ = env
    r = call(portico, "/fwd", {"X-Tenant": "acme", "X-Only-B": "bee", "X-Unlisted": "no", "Host": "shop.example.com"})
    assert r.status == 200, r
    a, bb = r.json["a"]["headers"], r.json["b"]["headers"]
    assert a["x-tenant"] == "acme" and bb["x-tenant"] == "acme"
    assert "x-only-b" not in a
    assert bb["x-only-b"] == "bee"
    assert "x-unlisted" not in a and "x-unlisted" not in bb
    for h in (a, bb):
        assert h["x-forwarded-for"] == "127.0.0.1"
        assert h["x-real-ip"] == "127.0.0.1"
        assert h["x-forwarded-proto"] == "http"
        assert h["via"] == "1.1 portico"
        assert h["x-forwarded-host"] == "shop.example.com"
    assert bb["host"] == "localhost:%d" % env[1]["D"].port
    assert a["host"] == "127.0.0.1:%d" % env[1]["A"].port


# --- 11. load-time checks ----------------------------------------------------------------------

def bad_config(backends, services=({"name": "s", "url": "http://127.0.0.1:9"},)):
    return {"_format_version": "3.0", "services": list(services),
            "routes": [{"name": "r", "paths": ["/r"], "plugins": aggregate(backends)}]}


BAD_CONFIGS = [
    ("unknown template source",
     [{"name": "a", "service": "s", "path": "/x/{foo.bar}"}],
     "backends[0].path", "unknown template source 'foo' in {foo.bar}"),
    ("cycle",
     [{"name": "a", "service": "s", "path": "/a"},
      {"name": "b", "service": "s", "path": "/b/{c.id}", "depends_on": ["c"]},
      {"name": "c", "service": "s", "path": "/c/{b.id}", "depends_on": ["b"]}],
     "backends[1].depends_on", "cycle in depends_on: b -> c -> b"),
    ("long cycle",
     [{"name": "a", "service": "s", "path": "/a", "depends_on": ["c"]},
      {"name": "b", "service": "s", "path": "/b", "depends_on": ["a"]},
      {"name": "c", "service": "s", "path": "/c", "depends_on": ["b"]}],
     "backends[0].depends_on", "cycle in depends_on: a -> c -> b -> a"),
    ("duplicate name",
     [{"name": "a", "service": "s", "path": "/a"}, {"name": "a", "service": "s", "path": "/b"}],
     "backends[1].name", "duplicate backend name 'a'"),
    ("unknown service",
     [{"name": "a", "service": "ghost", "path": "/a"}],
     "backends[0].service", "no service named 'ghost'"),
    ("forwarding a framing header",
     [{"name": "a", "url": "http://127.0.0.1:1/a", "forward_headers": ["X-Ok", "Content-Length"]}],
     "backends[0].forward_headers[1]", "'Content-Length' is written by the gateway itself"),
    ("https url",
     [{"name": "a", "url": "https://127.0.0.1:8443/a"}],
     "backends[0].url", "https:// URLs are not supported yet"),
    ("host from a template",
     [{"name": "a", "url": "http://{query.host}/a"}],
     "backends[0].url", "the host of a URL cannot come from a template"),
    ("reference outside depends_on",
     [{"name": "a", "service": "s", "path": "/a"}, {"name": "b", "service": "s", "path": "/b/{a.id}"}],
     "backends[1].path", "{a.id} reads backend 'a', which is not in depends_on"),
    ("unknown dependency",
     [{"name": "a", "service": "s", "path": "/a", "depends_on": ["zz"]}],
     "backends[0].depends_on", "unknown backend 'zz'"),
    ("consumer field",
     [{"name": "a", "service": "s", "path": "/a/{consumer.email}"}],
     "backends[0].path", "a consumer has only id and username"),
    ("body with GET",
     [{"name": "a", "service": "s", "path": "/a", "body": "{{}}"}],
     "backends[0].body", "a body goes with POST, PUT or PATCH"),
    ("url and service",
     [{"name": "a", "service": "s", "url": "http://127.0.0.1:9/a"}],
     "backends[0]", "url and service are exclusive"),
    ("backend named like a source",
     [{"name": "query", "service": "s", "path": "/a"}],
     "backends[0].name", "is a template source"),
    ("malformed template",
     [{"name": "a", "service": "s", "path": "/a/{query.x"}],
     "backends[0].path", "unclosed '{'"),
]


@pytest.mark.parametrize("name,backends,field,reason", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_check_refuses_bad_config_with_the_field_path(tmp_path, name, backends, field, reason):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad_config(backends), indent=1))
    assert_check_refuses(path, "routes[0].plugins[0].config." + field, reason)


def test_run_refuses_a_bad_config(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad_config(BAD_CONFIGS[1][1]), indent=1))
    r = subprocess.run([PORTICO_BIN, "run", "-c", str(path), "--proxy-listen", "127.0.0.1:%d" % free_port(),
                        "--admin-listen", "off"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "routes[0].plugins[0].config.backends[1].depends_on: cycle in depends_on: b -> c -> b" in r.stderr
    assert "not started" in r.stderr


# --- 12. service-less routes and the circuit breaker -------------------------------------------

def test_serviceless_route_without_aggregate_is_503(env):
    portico, _ = env
    r = call(portico, "/nothing")
    assert r.status == 503, r
    assert r.json == {"message": "no Service found with those values"}


def test_open_circuit_fails_the_backend_without_calling_the_service(env):
    portico, b = env
    fragile = lambda: len(b["E"].with_path("/status/500"))  # noqa: E731
    for i in range(3):
        r = call(portico, "/breaker")
        assert r.status == 502, r
        assert r.json == {"message": "backend 'fragile' failed: answered 500", "backend": "fragile"}
        assert fragile() == i + 1
    for _ in range(5):
        r = call(portico, "/breaker")
        assert r.status == 502, r
        assert r.json["backend"] == "fragile"
        assert r.json["message"] == "backend 'fragile' failed: the service's circuit-breaker answered 503: circuit breaker is open", r.json
        assert "circuit breaker is open" in r.json["message"], r.json
        assert r.elapsed < 0.5
    assert fragile() == 3
    with urllib.request.urlopen(portico.admin("/circuit-breakers"), timeout=5) as resp:
        breakers = json.loads(resp.read())["data"]
    fragile_breaker = next(x for x in breakers if x["scope"] == "service 'fragile'")
    assert fragile_breaker["state"] == "open", breakers
    assert fragile_breaker["times_opened"] == 1
    assert fragile_breaker["rejected"] >= 5


def test_cancelled_calls_say_nothing_about_the_service(env):
    """Calls cut short because another required backend failed are neither failures for the
    service's circuit breaker (max_failures 2 here) nor for its target's health."""
    portico, _ = env
    for _ in range(4):
        r = call(portico, "/breaker/cut")
        assert r.status == 502, r
        assert r.json["backend"] == "broken"
        assert r.elapsed < 0.8, r.elapsed
    with urllib.request.urlopen(portico.admin("/circuit-breakers"), timeout=5) as resp:
        breakers = json.loads(resp.read())["data"]
    assert [x["state"] for x in breakers if x["scope"] == "service 'guarded'"] == ["closed"], breakers
    r = call(portico, "/breaker/guarded")
    assert r.status == 200, r
    assert r.headers["X-Portico-Completed"] == "true"
