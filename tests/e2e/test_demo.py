"""The README's curl lines against the demo config and backends, with real curl."""
import json
import time

import jwt

from conftest import curl, demo_config, free_port, wait_for_port


def test_demo_routes(backends, start_portico, tmp_path):
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    h2c_port = free_port()  # the demo's plain listener speaks h2c too ("http2")
    p = start_portico(cfg, extra_args=["--proxy-listen", "127.0.0.1:%d http2" % h2c_port])
    wait_for_port(h2c_port)
    status, head, body = curl("--http2-prior-knowledge", "http://127.0.0.1:%d/users/1" % h2c_port)
    assert status == 200 and head.startswith("HTTP/2 200")
    assert json.loads(body)["username"] == "ada" and "password_hash" not in body

    status, head, body = curl(p.url("/users/1"))
    assert status == 200
    assert json.loads(body)["username"] == "ada"
    assert "password_hash" not in body  # the service sends it; response-transformer strips it
    assert "X-Service: users" in head
    status, _, body = curl(p.url("/users"))
    assert status == 200 and len(json.loads(body)["data"]) == 3 and "password_hash" not in body
    assert "Via: 1.1 portico" in head
    assert "X-Portico-Upstream-Latency:" in head

    status, head, body = curl("-H", "X-Version: v2", p.url("/users/1"))
    assert status == 200
    assert json.loads(body)["name"] == {"first": "Ada", "last": "Lovelace"}

    status, _, body = curl(p.url("/orders"))
    assert status == 200 and json.loads(body)["total"] == 2

    status, head, body = curl("-X", "POST", "-H", "Content-Type: application/json", "-d", '{"user_id":1}',
                              p.url("/orders"))
    assert status == 201
    assert json.loads(body)["status"] == "created"

    status, head, body = curl(p.url("/products/101"))
    assert status == 200 and json.loads(body)["sku"] == "KB-65"
    assert "X-Cache-Status: Miss" in head
    status, head, cached = curl(p.url("/products/101"))
    assert status == 200 and cached == body and "X-Cache-Status: Hit" in head
    status, _, purged = curl("-X", "POST", "http://127.0.0.1:%d/cache/purge/products/101" % p.admin_port)
    assert status == 200 and json.loads(purged)["purged"] == 1
    assert "X-Cache-Status: Miss" in curl(p.url("/products/101"))[1]
    status, head, body = curl(p.url("/notifications"))
    assert status == 401 and json.loads(body) == {"message": "No API key found in request"}
    assert "WWW-Authenticate: Key" in head
    status, _, _ = curl("-H", "apikey: demo-mobile-key", p.url("/notifications"))
    assert status == 200
    status, _, _ = curl(p.url("/payments/pay_1"))
    assert status == 401
    token = jwt.encode({"iss": "web-app", "sub": "user-1", "exp": int(time.time()) + 3600}, "demo-web-secret")
    status, _, body = curl("-H", "Authorization: Bearer " + token, p.url("/payments/pay_1"))
    assert status == 200 and json.loads(body)["status"] == "captured"

    status, head, body = curl(p.url("/nowhere"))
    assert status == 404
    assert json.loads(body) == {"message": "no Route matched with those values"}

    status, _, body = curl("http://127.0.0.1:%d/status" % p.admin_port)
    assert status == 200
    assert json.loads(body)["server"]["total_requests"] >= 8
    assert "X-Portico-Request-Id:" in curl(p.url("/users/1"))[1]

    # The demo's global prometheus plugin: every route in Kong's metrics (README's curl line).
    status, _, metrics = curl("http://127.0.0.1:%d/metrics" % p.admin_port)
    assert status == 200
    assert 'kong_http_requests_total{service="users",route="users",code="200",source="service",workspace="default",consumer=""}' in metrics
    assert 'kong_http_requests_total{service="notifications",route="notifications",code="401",source="kong"' in metrics


def test_bff_example(backends, start_portico, tmp_path):
    """examples/bff.yml as `make run` serves it: the README's BFF curl lines."""
    cfg = tmp_path / "bff.yml"
    cfg.write_text(demo_config(backends, "bff.yml"))
    p = start_portico(cfg)
    mobile = {"user": {"id": 1, "name": "Ada Lovelace"}, "unread_count": 1}
    status, head, body = curl("-H", "Host: m.example.com", p.url("/dashboard?user_id=1"))
    assert status == 200 and json.loads(body) == mobile
    assert "X-Portico-Completed: true" in head
    status, _, body = curl("-H", "X-Client: mobile", p.url("/dashboard?user_id=1"))
    assert status == 200 and json.loads(body) == mobile
    status, _, body = curl("-H", "X-Client: mobile", p.url("/dashboard?user_id=2"))
    assert json.loads(body) == {"user": {"id": 2, "name": "Grace Hopper"}, "unread_count": 0}

    status, head, body = curl(p.url("/dashboard?user_id=1"))
    assert status == 200 and "X-Portico-Completed: true" in head
    web = json.loads(body)
    assert web["user"]["username"] == "ada" and "email" not in web["user"] and "password_hash" not in web["user"]
    assert [o["id"] for o in web["activity"]["orders"]] == [5001]
    assert [n["id"] for n in web["activity"]["notifications"]] == ["n-1"]
    assert [e["info"] for e in web["activity"]["events"]] == ["web", "5001"]
    # The user's plan ("pro") chose the recommendations; only id, name and price.amount kept.
    assert web["recommendations"] == [{"id": 101, "name": "Mechanical keyboard", "price": {"amount": 12900}},
                                      {"id": 103, "name": "27-inch monitor", "price": {"amount": 32900}}]

    status, _, body = curl(p.url("/dashboard"))
    assert status == 400
    assert json.loads(body) == {"message": "missing value for {query.user_id} (backend 'user')"}


def test_methods_are_routed(backends, start_portico, tmp_path):
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    p = start_portico(cfg)
    status, _, _ = curl("-X", "DELETE", p.url("/orders/5001"))
    assert status == 404  # the orders route only takes GET and POST


def test_environment_variables_configure_the_node(backends, tmp_path):
    import subprocess
    from conftest import PORTICO_BIN, free_port, stop, wait_for_port
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    port = free_port()
    env = {"PORTICO_CONFIG": str(cfg), "PORTICO_PROXY_LISTEN": "127.0.0.1:%d" % port,
           "PORTICO_ADMIN_LISTEN": "off", "PORTICO_WORKERS": "1", "PORTICO_ACCESS_LOG": "off",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([PORTICO_BIN, "run"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=proc)
        status, _, _ = curl("http://127.0.0.1:%d/products" % port)
        assert status == 200
    finally:
        stop(proc)
    assert proc.returncode == 0


def test_access_log_is_written(backends, start_portico, tmp_path):
    cfg = tmp_path / "kong.yml"
    cfg.write_text(demo_config(backends))
    log = tmp_path / "access.log"
    p = start_portico(cfg, ["--access-log", str(log)])
    curl("-A", "e2e-agent", p.url("/products/102"))
    p.close()
    line = log.read_text().strip().splitlines()[-1]
    assert '"GET /products/102 HTTP/1.1" 200' in line
    assert '"e2e-agent"' in line
    assert "route=products" in line
