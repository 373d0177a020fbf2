"""The Admin API with the embedded store (`portico run` without -c): Kong's tutorial lines
verbatim, the configuration live on the proxy and kept across a restart, Kong's answers for
every entity and verb (table-driven), paging, tags, DB-less mode, and the config CLI."""
import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import PORTICO_BIN, SOURCE_DIR, Portico, eventually, proxy_request, start_named_backend
from dns_server import DnsServer


def call(method, url, form=None, body=None, headers=None):
    """(status, parsed JSON or None) for one Admin API request."""
    data, hdrs = None, dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, (json.loads(raw) if raw else None)


def portico_config(*args):
    """`portico config ARGS...` (db_import, db_export, parse): the completed process."""
    return subprocess.run([PORTICO_BIN, "config", *args], capture_output=True, text=True, timeout=120)


def imported_store(data_dir, config_file):
    """A store in `data_dir` holding `config_file` (portico config db_import); its output."""
    r = portico_config("--data-dir", str(data_dir), "db_import", str(config_file))
    assert r.returncode == 0, r.stderr
    return r.stdout


def proxy_get(portico, path, headers=None):
    status, _, body = proxy_request(portico, path, headers)
    return status, body


def assert_counts_down(portico, path, headers=None):
    """Two requests: the rate limit's headers are there and the minute's remaining drops by one
    (or starts again at limit - 1 when a minute began between them)."""
    first = proxy_request(portico, path, headers)[1]
    second = proxy_request(portico, path, headers)[1]
    assert first["X-RateLimit-Limit-Minute"] == "100" and second["RateLimit-Limit"] == "100", dict(second)
    r1, r2 = int(first["X-RateLimit-Remaining-Minute"]), int(second["X-RateLimit-Remaining-Minute"])
    assert r2 == r1 - 1 or r2 == 99, (r1, r2)
    assert second["RateLimit-Remaining"] == str(r2) and 1 <= int(second["RateLimit-Reset"]) <= 60


TUTORIAL = [
    "curl -X POST http://localhost:8001/services --data name=user-service --data url=http://user-service:8080",
    "curl -X POST http://localhost:8001/services/user-service/routes --data paths[]=/users",
    "curl -X POST http://localhost:8001/services/user-service/plugins --data name=rate-limiting --data config.minute=100",
]


def run_tutorial_line(line, admin_port):
    """One of the tutorial's lines as written, only the Admin API's port changed (tests use
    free ports); returns (status, body)."""
    args = line.replace("localhost:8001", "localhost:%d" % admin_port).split()
    out = subprocess.run([args[0], "-s", "-w", "\n%{http_code}", *args[1:]], capture_output=True, text=True,
                         timeout=20, check=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


def test_the_kong_tutorial_configures_a_running_gateway_that_keeps_it(tmp_path):
    # user-service resolves (through a test DNS server) to 127.0.0.2, where a backend listens
    # on 8080: the tutorial's url works unchanged.
    dns = DnsServer({"user-service": ["127.0.0.2"]}, ttl=60)
    backend = start_named_backend("127.0.0.2", 8080, "user-service",
                                  lambda h: {"path": h.path, "apikey_seen": h.headers.get("apikey")})
    data_dir = tmp_path / "portico-data"  # created by portico: it does not exist yet
    extra = ["--dns-resolver", "127.0.0.1:%d" % dns.port]
    gw = Portico(None, extra, data_dir=data_dir)
    try:
        status, service = run_tutorial_line(TUTORIAL[0], gw.admin_port)
        assert status == 201, service
        assert service["name"] == "user-service" and service["host"] == "user-service" and service["port"] == 8080
        assert service["protocol"] == "http" and service["path"] is None and service["retries"] == 5
        status, route = run_tutorial_line(TUTORIAL[1], gw.admin_port)
        assert status == 201, route
        assert route["paths"] == ["/users"] and route["service"] == {"id": service["id"]}
        assert route["strip_path"] is True and route["protocols"] == ["http", "https"]
        status, plugin = run_tutorial_line(TUTORIAL[2], gw.admin_port)
        assert status == 201, plugin
        assert plugin["name"] == "rate-limiting" and plugin["service"] == {"id": service["id"]}
        assert plugin["config"]["minute"] == 100 and plugin["config"]["policy"] == "local"
        assert plugin["config"]["limit_by"] == "consumer" and plugin["config"]["second"] is None

        # Live on the proxy at once: the route serves within the same second, rate limited.
        assert eventually(lambda: proxy_get(gw, "/users/7")[0] == 200, timeout=1.0)
        status, seen = proxy_get(gw, "/users/7")
        assert seen == {"backend": "user-service", "path": "/7", "apikey_seen": None}
        assert_counts_down(gw, "/users/7")

        # A plugin that exists is stored, listed and enforced at once.
        status, key_auth = call("POST", gw.admin("/services/user-service/plugins"),
                                form={"name": "key-auth", "config.key_names": "apikey"})
        assert status == 201, key_auth
        assert key_auth["config"]["key_names"] == ["apikey"] and key_auth["config"]["hide_credentials"] is False
        status, listed = call("GET", gw.admin("/services/user-service/plugins"))
        assert sorted(p["name"] for p in listed["data"]) == ["key-auth", "rate-limiting"]
        assert eventually(lambda: proxy_get(gw, "/users")[0] == 401, timeout=1.0)
        assert call("POST", gw.admin("/consumers"), form={"username": "alice"})[0] == 201
        assert call("POST", gw.admin("/consumers/alice/key-auth"), form={"key": "alice-key"})[0] == 201
        assert eventually(lambda: proxy_get(gw, "/users", {"apikey": "alice-key"})[0] == 200, timeout=1.0)

        # One data directory, one gateway: a second is refused with a clear message.
        second = subprocess.run([PORTICO_BIN, "run", "--data-dir", str(data_dir), "--proxy-listen", "127.0.0.1:0",
                                 "--admin-listen", "off"], capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert "is in use by another Portico process" in second.stderr
    finally:
        gw.close()

    # After a restart: the same entities, ids and behaviour.
    gw = Portico(None, extra, data_dir=data_dir)
    try:
        status, services = call("GET", gw.admin("/services"))
        assert [s["id"] for s in services["data"]] == [service["id"]]
        status, routes = call("GET", gw.admin("/services/user-service/routes"))
        assert [r["id"] for r in routes["data"]] == [route["id"]]
        assert proxy_get(gw, "/users")[0] == 401
        status, seen = proxy_get(gw, "/users", {"apikey": "alice-key"})
        assert status == 200 and seen["backend"] == "user-service"
        assert_counts_down(gw, "/users", {"apikey": "alice-key"})
    finally:
        gw.close()
        backend.shutdown()
        dns.close()


@pytest.fixture(scope="module")
def store_gateway(tmp_path_factory):
    gw = Portico(None, data_dir=tmp_path_factory.mktemp("admin") / "data")
    yield gw
    gw.close()


UUID = "5b1c9a40-8b6e-4d2a-9f3c-0e1d2c3b4a59"

# (method, path, form body or None, expected status, expected subset of the JSON answer).
# Run in order against one gateway: later rows rely on what earlier rows created.
TABLE = [
    # services
    ("POST", "/services", {"name": "svc", "url": "http://127.0.0.1:9/base"}, 201,
     {"name": "svc", "protocol": "http", "host": "127.0.0.1", "port": 9, "path": "/base", "connect_timeout": 60000,
      "enabled": True, "tags": None}),
    ("POST", "/services", {"name": "svc", "host": "x"}, 409,
     {"code": 5, "name": "unique constraint violation", "fields": {"name": "svc"}}),
    ("POST", "/services", {"name": "bad", "host": "x", "port": "70000", "retires": "3"}, 400,
     {"code": 2, "name": "schema violation",
      "fields": {"port": "value should be between 0 and 65535", "retires": "unknown field"}}),
    ("POST", "/services", {"name": "nohost"}, 400, {"fields": {"@entity": ["must set either 'url' or 'host'"]}}),
    ("GET", "/services/svc", None, 200, {"name": "svc", "port": 9}),
    ("PATCH", "/services/svc", {"port": "10", "tags[]": ["blue"]}, 200, {"port": 10, "host": "127.0.0.1", "tags": ["blue"]}),
    ("PATCH", "/services/svc", {"url": "http://127.0.0.1:11"}, 200, {"port": 11, "path": None}),
    ("PUT", "/services/svc2", {"host": "127.0.0.1"}, 200, {"name": "svc2", "port": 80}),
    ("PUT", "/services/" + UUID, {"name": "svc3", "host": "127.0.0.1"}, 200, {"id": UUID, "name": "svc3"}),
    ("GET", "/services/nope", None, 404, {"message": "Not found"}),
    ("PATCH", "/services/nope", {"port": "1"}, 404, {"message": "Not found"}),
    ("DELETE", "/services/svc3", None, 204, None),
    ("DELETE", "/services/svc3", None, 204, None),
    ("GET", "/services/svc3", None, 404, {"message": "Not found"}),
    # routes, top-level and nested
    ("POST", "/services/svc/routes", {"name": "r1", "paths[]": "/one", "methods": "GET"}, 201,
     {"name": "r1", "paths": ["/one"], "methods": ["GET"], "strip_path": True}),
    ("POST", "/routes", {"name": "r2", "paths[1]": "/two", "service.name": "svc"}, 201, {"paths": ["/two"]}),
    ("POST", "/routes", {"name": "r3", "paths[]": "/3", "service.id": UUID}, 400,
     {"code": 4, "name": "foreign key violation"}),
    ("POST", "/routes", {"name": "r4", "paths[]": "no-slash", "service.name": "svc"}, 400,
     {"fields": {"paths": ["should start with: / (fixed path) or ~/ (regex path)"]}}),
    ("GET", "/services/svc/routes/r1", None, 200, {"name": "r1"}),
    ("GET", "/services/svc2/routes/r1", None, 404, {"message": "Not found"}),
    ("DELETE", "/services/svc", None, 400,
     {"code": 4, "name": "foreign key violation", "message": "an existing 'routes' entity references this 'services' entity"}),
    # plugins
    ("POST", "/routes/r1/plugins", {"name": "key-auth", "config.key_names[]": "k", "config.hide_credentials": "true"},
     201, {"name": "key-auth", "config": {"key_names": ["k"], "hide_credentials": True, "key_in_query": True}}),
    ("POST", "/plugins", {"name": "key-auth", "config.nope": "1"}, 400, {"fields": {"config": {"nope": "unknown field"}}}),
    ("POST", "/plugins", {"name": "no-such-plugin"}, 400,
     {"code": 2, "fields": {"name": "plugin 'no-such-plugin' is not supported by Portico"}}),
    ("POST", "/services/svc/plugins", {"name": "circuit-breaker", "config.max_failures": "-1"}, 400,
     {"fields": {"config": {"max_failures": "value should be between 0 and 1000000"}}}),
    # consumers and credentials
    ("POST", "/consumers", {"username": "alice", "tags": ["a", "b"]}, 201, {"username": "alice", "tags": ["a", "b"]}),
    ("POST", "/consumers", {"username": "alice"}, 409, {"code": 5}),
    ("POST", "/consumers/alice/key-auth", {"key": "secret-1"}, 201, {"key": "secret-1"}),
    ("POST", "/consumers/alice/key-auth", {"key": "secret-1"}, 409, {"code": 5}),
    ("GET", "/key-auths/secret-1", None, 200, {"key": "secret-1"}),
    ("POST", "/consumers/alice/acls", {"group": "gold"}, 201, {"group": "gold"}),
    ("POST", "/consumers/alice/jwt", {"key": "iss-1", "secret": "s"}, 201, {"key": "iss-1", "algorithm": "HS256"}),
    ("POST", "/consumers/alice/basic-auth", {"username": "alice-basic", "password": "pw-plain"}, 201,
     {"username": "alice-basic"}),
    ("PATCH", "/basic-auths/alice-basic", {"password": "pw-other"}, 200, {"username": "alice-basic"}),
    ("POST", "/consumers/bob/key-auth", {"key": "x"}, 404, {"message": "Not found"}),
    # upstreams and targets
    ("POST", "/upstreams", {"name": "pool", "algorithm": "least-connections"}, 201,
     {"name": "pool", "algorithm": "least-connections", "slots": 10000,
      "healthchecks": {"active": {"timeout": 1, "http_path": "/"}}}),
    ("POST", "/upstreams/pool/targets", {"target": "127.0.0.1:9001", "weight": "50"}, 201,
     {"target": "127.0.0.1:9001", "weight": 50}),
    ("POST", "/upstreams/pool/targets", {"target": "127.0.0.1:9001"}, 400,
     {"fields": {"target": "duplicate target '127.0.0.1:9001'"}}),
    ("POST", "/upstreams", {"name": "bad pool"}, 400, {"fields": {"name": "invalid upstream name (must be a hostname)"}}),
    ("POST", "/upstreams", {"name": "checked", "healthchecks.active.healthy.interval": "5",
                            "healthchecks.active.http_path": "/health", "healthchecks.threshold": "25"}, 201,
     {"healthchecks": {"active": {"http_path": "/health", "healthy": {"interval": 5, "http_statuses": [200, 302]}},
                       "passive": {"unhealthy": {"http_statuses": [429, 500, 503]}}, "threshold": 25}}),
    ("POST", "/upstreams", {"name": "hashed", "hash_on": "header"}, 400,
     {"fields": {"hash_on_header": "required when hash_on is 'header'",
                 "hash_on": "only used with algorithm 'consistent-hashing'"}}),
    ("PATCH", "/upstreams/checked", {"healthchecks.passive.unhealthy.tcp_failures": "3"}, 200,
     {"healthchecks": {"active": {"http_path": "/health"}, "passive": {"unhealthy": {"tcp_failures": 3}}}}),
    ("POST", "/schemas/upstreams/validate", {"name": "p", "healthchecks.passive.healthy.interval": "5"}, 400,
     {"fields": {"healthchecks": {"passive": {"healthy": {"interval": "unknown field"}}}}}),
    ("POST", "/schemas/targets/validate", {"target": "host:port"}, 400,
     {"fields": {"target": "invalid target 'host:port' (expected host[:port])"}}),
    # bodies and methods
    ("PUT", "/services", None, 405, {"message": "Method not allowed"}),
    # entity schemas, from the same declarations the loader reads kong.yml with
    ("POST", "/schemas/services/validate", {"name": "v", "host": "h", "port": "x"}, 400,
     {"fields": {"port": "expected an integer"}}),
    ("POST", "/schemas/services/validate", {"name": "v", "url": "http://h:1"}, 200,
     {"message": "schema validation successful"}),
    ("POST", "/schemas/routes/validate", {"paths[]": "/ok", "methods": "get"}, 400,
     {"fields": {"methods": ["invalid method 'get' (expected an uppercase token)"]}}),
    ("GET", "/schemas/nothing", None, 404, {"message": "No entity named 'nothing'"}),
    ("POST", "/schemas/consumers/validate", {"tags[]": "t"}, 400,
     {"fields": {"@entity": ["set at least one of 'username' or 'custom_id'"]}}),
    ("POST", "/schemas/jwt_secrets/validate", {"key": "k", "algorithm": "RS256"}, 400,
     {"fields": {"rsa_public_key": "required for algorithm RS256 (a PEM public key)"}}),
    ("POST", "/consumers/alice/jwt", {"key": "bad-alg", "algorithm": "none"}, 400,
     {"fields": {"algorithm": "expected one of: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, "
                              "ES256, ES384, ES512, EdDSA"}}),
]


@pytest.mark.parametrize("row", range(len(TABLE)))
def test_kong_answers(store_gateway, row):
    method, path, form, status, expected = TABLE[row]
    got_status, got = call(method, store_gateway.admin(path), form=form)
    assert got_status == status, (method, path, got)

    def contains(whole, part):
        if isinstance(part, dict):
            return isinstance(whole, dict) and all(k in whole and contains(whole[k], v) for k, v in part.items())
        return whole == part

    if expected is None:
        assert got is None
    else:
        assert contains(got, expected), got
    if status in (200, 201) and "/schemas/" not in path:
        assert len(got["id"]) == 36 and got["created_at"] > 1700000000 and got["updated_at"] >= got["created_at"]


def test_entity_schemas_describe_fields_and_defaults(store_gateway):
    status, services = call("GET", store_gateway.admin("/schemas/services"))
    assert status == 200
    fields = {name: d for f in services["fields"] for name, d in f.items()}
    assert fields["port"] == {"type": "integer", "between": [0, 65535], "default": 80}
    assert fields["retries"]["default"] == 5 and fields["connect_timeout"]["default"] == 60000
    assert fields["protocol"]["one_of"] == ["grpc", "grpcs", "http", "https", "ws", "wss"]
    status, routes = call("GET", store_gateway.admin("/schemas/routes"))
    fields = {name: d for f in routes["fields"] for name, d in f.items()}
    assert fields["strip_path"]["default"] is True and fields["protocols"]["default"] == ["http", "https"]
    assert fields["service"] == {"type": "foreign", "reference": "services"}
    assert fields["headers"]["type"] == "map"
    status, upstreams = call("GET", store_gateway.admin("/schemas/upstreams"))
    fields = {name: d for f in upstreams["fields"] for name, d in f.items()}
    checks = fields["healthchecks"]
    assert status == 200 and checks["type"] == "record"
    assert checks["default"]["passive"]["unhealthy"]["http_statuses"] == [429, 500, 503]
    active = {name: d for f in checks["fields"] for name, d in f.items()}["active"]
    healthy = {name: d for f in active["fields"] for name, d in f.items()}["healthy"]
    statuses = {name: d for f in healthy["fields"] for name, d in f.items()}["http_statuses"]
    assert statuses["default"] == [200, 302] and statuses["elements"]["between"] == [100, 999]
    status, targets = call("GET", store_gateway.admin("/schemas/targets"))
    fields = {name: d for f in targets["fields"] for name, d in f.items()}
    assert fields["weight"]["default"] == 100 and fields["upstream"] == {"type": "foreign", "reference": "upstreams"}
    status, keyauth = call("GET", store_gateway.admin("/schemas/keyauth_credentials"))
    fields = {name: d for f in keyauth["fields"] for name, d in f.items()}
    assert status == 200 and fields["consumer"] == {"type": "foreign", "reference": "consumers"}


def test_basic_auth_passwords_are_only_kept_hashed(store_gateway):
    gw = store_gateway
    status, cred = call("GET", gw.admin("/basic-auths/alice-basic"))
    assert status == 200 and "password" not in cred
    assert cred["password_hash"].startswith("pbkdf2-sha256$20000$")
    from pathlib import Path
    data_dir = Path(gw.data_dir)
    content = b"".join(f.read_bytes() for f in data_dir.iterdir() if f.name.startswith("portico.db"))
    assert b"pbkdf2-sha256" in content  # the files read are the ones holding the entities (WAL included)
    assert b"pw-plain" not in content and b"pw-other" not in content


def test_json_and_multipart_bodies_and_bad_bodies(store_gateway):
    gw = store_gateway
    assert call("POST", gw.admin("/services"), body={"name": "js", "url": "http://127.0.0.1:9", "retries": 2})[0] == 201
    # multipart/form-data, as curl -F sends it
    out = subprocess.run(["curl", "-s", "-X", "POST", gw.admin("/services"), "-F", "name=mp", "-F",
                          "url=http://127.0.0.1:9", "-F", "tags[]=x"], capture_output=True, text=True, check=True)
    answer = json.loads(out.stdout)
    assert answer["name"] == "mp" and answer["tags"] == ["x"]
    req = urllib.request.Request(gw.admin("/services"), data=b"{not json", method="POST",
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400 and json.loads(e.value.read()) == {"message": "Cannot parse JSON body"}
    req = urllib.request.Request(gw.admin("/services"), data=b"name=x", method="POST",
                                 headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 415
    # nothing of the refused bodies was stored
    names = [s["name"] for s in call("GET", gw.admin("/services?size=1000"))[1]["data"]]
    assert "x" not in names and "js" in names and "mp" in names


def test_tags_filtering(store_gateway):
    gw = store_gateway
    for name, tags in [("t-a", ["red"]), ("t-b", ["red", "big"]), ("t-c", ["big"])]:
        assert call("POST", gw.admin("/consumers"), form={"username": name, "tags[]": tags})[0] == 201
    names = lambda q: sorted(c["username"] for c in call("GET", gw.admin("/consumers?tags=" + q))[1]["data"])
    assert names("red") == ["t-a", "t-b"]
    assert names("red,big") == ["t-b"]
    assert names("red/big") == ["t-a", "t-b", "t-c"]


def test_paging_over_a_thousand_entities(tmp_path):
    doc = {"_format_version": "3.0", "consumers": [{"username": "user-%04d" % i} for i in range(1205)]}
    path = tmp_path / "many.yml"
    path.write_text(json.dumps(doc))
    data_dir = tmp_path / "data"
    assert "imported 1205 entities" in imported_store(data_dir, path)
    gw = Portico(None, data_dir=data_dir)
    try:
        status, first = call("GET", gw.admin("/consumers"))
        assert status == 200 and len(first["data"]) == 100 and first["next"].startswith("/consumers?offset=")
        seen, url, pages = [], "/consumers?size=1000", 0
        while url:
            status, page = call("GET", gw.admin(url))
            assert status == 200
            seen += [c["username"] for c in page["data"]]
            url, pages = page["next"], pages + 1
        assert pages == 2 and len(seen) == 1205 and len(set(seen)) == 1205
        assert call("GET", gw.admin("/consumers?size=1001"))[1]["name"] == "invalid size"
        assert call("GET", gw.admin("/consumers?offset=%%%"))[0] == 400
    finally:
        gw.close()


@pytest.fixture
def dbless_demo(start_portico, backends, tmp_path):
    """The demo configuration served DB-less (-c): (gateway, admin base url, config file)."""
    from conftest import demo_config
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    gw = start_portico(cfg)
    return gw, "http://127.0.0.1:%d" % gw.admin_port, cfg


def test_dbless_mode_reads_and_refuses_writes(dbless_demo):
    gw, admin, _ = dbless_demo
    status, services = call("GET", admin + "/services")
    assert status == 200 and len(services["data"]) == 6
    status, routes = call("GET", admin + "/services/users/routes")
    assert [r["name"] for r in routes["data"]] == ["users"]
    status, err = call("POST", admin + "/services", form={"name": "x", "host": "y"})
    assert status == 405
    assert err == {"code": 12, "name": "operation unsupported",
                   "message": "cannot create 'services' entities when not using a database"}
    assert call("DELETE", admin + "/consumers/mobile-app")[1]["message"] == \
        "cannot delete 'consumers' entities when not using a database"


def test_db_import_then_export_is_the_identity(tmp_path):
    config = portico_config
    first, second = tmp_path / "one", tmp_path / "two"
    r = config("--data-dir", str(first), "db_import", str(SOURCE_DIR / "examples" / "kong.yml"))
    assert r.returncode == 0, r.stderr
    exported = tmp_path / "exported.yml"
    assert config("--data-dir", str(first), "db_export", str(exported)).returncode == 0
    assert config("parse", str(exported)).stdout.strip() == "parse successful"
    assert config("--data-dir", str(second), "db_import", str(exported)).returncode == 0
    again = config("--data-dir", str(second), "db_export")
    assert again.returncode == 0
    assert again.stdout == exported.read_text()
    bad = tmp_path / "bad.yml"
    bad.write_text('_format_version: "3.0"\nservices:\n- name: a\n')
    r = config("--data-dir", str(tmp_path / "three"), "db_import", str(bad))
    assert r.returncode == 1 and "must set either 'url' or 'host'" in r.stderr and "not imported" in r.stderr


def test_dbless_post_config_replaces_the_configuration(dbless_demo, backends):
    gw, admin, cfg = dbless_demo
    status, exported = call("GET", admin + "/config")
    assert status == 200 and exported["config"].startswith("_format_version: \"3.0\"")
    # The same configuration again with check_hash: unchanged, 304.
    same = cfg.read_text()
    status, _ = call("POST", admin + "/config?check_hash=1", form={"config": same})
    assert status == 304
    # A new configuration: one service, one route; live at once.
    new = ('_format_version: "3.0"\nservices:\n- name: only\n  url: http://127.0.0.1:%d\n'
           '  routes:\n  - name: only\n    paths: [/only]\n' % backends.ports["products"])
    status, answer = call("POST", admin + "/config", form={"config": new})
    assert status == 201, answer
    assert [s["name"] for s in answer["services"]] == ["only"]
    assert eventually(lambda: proxy_get_status(gw, "/only") == 200, timeout=1.0)
    assert proxy_get_status(gw, "/users") == 404
    # An invalid one: 400 with every error, and nothing changes.
    status, err = call("POST", admin + "/config", body={"_format_version": "3.0", "services": [{"name": "x", "port": 1}]})
    assert status == 400 and err["code"] == 14 and err["name"] == "invalid declarative configuration"
    assert "must set either 'url' or 'host'" in json.dumps(err["fields"])
    assert proxy_get_status(gw, "/only") == 200


def proxy_get_status(portico, path):
    try:
        with urllib.request.urlopen(portico.url(path), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_admin_token_and_endpoints(tmp_path):
    gw = Portico(None, ["--admin-token", "s3cret"], data_dir=tmp_path / "data")
    try:
        status, err = call("GET", gw.admin("/services"))
        assert status == 401 and err == {"message": "Invalid credentials. Token or User credentials required"}
        assert call("GET", gw.admin("/services"), headers={"Kong-Admin-Token": "s3cre"})[0] == 401
        assert call("POST", gw.admin("/services"), form={"name": "x", "host": "y"},
                    headers={"Kong-Admin-Token": "wrong!"})[0] == 401
        assert call("GET", gw.admin("/services"))[0] == 401
        status, services = call("GET", gw.admin("/services"), headers={"Kong-Admin-Token": "s3cret"})
        assert status == 200 and services["data"] == []
        status, endpoints = call("GET", gw.admin("/endpoints"), headers={"Kong-Admin-Token": "s3cret"})
        assert status == 200 and "/services/{services}/routes" in endpoints["data"]
        # /config in store mode: reads; POST belongs to DB-less mode.
        status, err = call("POST", gw.admin("/config"), form={"config": "_format_version: '3.0'"},
                           headers={"Kong-Admin-Token": "s3cret"})
        assert status == 400 and "only available" in err["message"]
    finally:
        gw.close()


def test_the_demo_on_the_store_and_its_live_change(backends, tmp_path):
    """What `make run` does: examples/kong.yml imported into a store, then the README's Admin
    API lines."""
    from conftest import demo_config
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    data_dir = tmp_path / "demo-data"
    imported_store(data_dir, cfg)
    gw = Portico(None, data_dir=data_dir)
    try:
        assert proxy_get(gw, "/users/1")[0] == 200          # the imported configuration serves
        assert proxy_get(gw, "/notifications")[0] == 401    # with its plugins
        products = "http://127.0.0.1:%d/products" % backends.ports["products"]
        assert call("POST", gw.admin("/services"), form={"name": "catalog", "url": products})[0] == 201
        assert call("POST", gw.admin("/services/catalog/routes"), form={"paths[]": "/catalog"})[0] == 201
        assert eventually(lambda: proxy_get_status(gw, "/catalog/101") == 200, timeout=1.0)
        assert proxy_get(gw, "/catalog/101")[1]["sku"] == "KB-65"
    finally:
        gw.close()


def test_two_hundred_writes_under_load_fail_no_request(backends, tmp_path):
    """wrk keeps a route busy while 200 Admin API writes add services and routes: no request
    fails, and each new route serves on every worker right after its write is answered."""
    import re
    import signal
    import statistics
    import time
    from conftest import demo_config
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    data_dir = tmp_path / "data"
    imported_store(data_dir, cfg)
    gw = Portico(None, data_dir=data_dir)
    load = subprocess.Popen(["wrk", "-t1", "-c16", "-d120s", "--timeout", "5s", gw.url("/products/101")],
                            stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        products = "http://127.0.0.1:%d/products" % backends.ports["products"]
        visible_after = []
        for i in range(100):
            assert call("POST", gw.admin("/services"), form={"name": "s%d" % i, "url": products})[0] == 201
            status, _ = call("POST", gw.admin("/services/s%d/routes" % i), form={"paths[]": "/w%d" % i})
            answered = time.monotonic()
            assert status == 201
            while proxy_get_status(gw, "/w%d/101" % i) != 200:
                assert time.monotonic() - answered < 5.0, "route /w%d never became live" % i
                time.sleep(0.002)
            visible_after.append(time.monotonic() - answered)
            # Every worker has it: new connections land on either worker (SO_REUSEPORT).
            assert [proxy_get_status(gw, "/w%d/101" % i) for _ in range(4)] == [200] * 4
    finally:
        load.send_signal(signal.SIGINT)  # wrk stops and prints its totals
        out, _ = load.communicate(timeout=30)
        gw.close()
    total = int(re.search(r"(\d+) requests in", out).group(1))
    assert total > 500, out
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    # Functional bound here (sanitizer build, loaded machine); the 100 ms target is measured
    # on the release build by bench/admin_write_bench.py (docs/benchmarks.md).
    assert max(visible_after) < 1.0, visible_after
    print("write-to-live: median %.1f ms, max %.1f ms over %d routes; wrk: %d requests"
          % (statistics.median(visible_after) * 1000, max(visible_after) * 1000, len(visible_after), total))
