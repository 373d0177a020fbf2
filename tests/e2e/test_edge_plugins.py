"""Kong's edge plugins against a real backend and real clients: cors (preflights at the edge,
origin rules, Vary, credentials never with a wildcard), bot-detection (Kong's built-in list,
allow over deny), request-size-limiting (declared and chunked bodies, the last chunk passing
the limit, 417 after Expect), and ip-restriction with the client address taken only through
trusted proxies (a spoofed X-Forwarded-For from an untrusted peer changes nothing)."""
import json
import socket
import time

import pytest

from conftest import Portico, assert_plugin_config_refused, curl
from scripted_backend import ScriptedBackend


def route(name, plugin, config):
    return {"name": name, "paths": ["/" + name], "strip_path": False,
            "plugins": [{"name": plugin, "config": config}]}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    backend = ScriptedBackend()
    folder = tmp_path_factory.mktemp("edge")
    services = [{"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
        route("cors-default", "cors", {}),
        route("cors-list", "cors", {"origins": ["http://foo.test", "https://bar.test:1234", "(.*[.])?example\\.test"],
                                    "exposed_headers": ["x-auth-token"], "credentials": True, "max_age": 23,
                                    "headers": ["origin", "type", "accepts"], "methods": ["GET"]}),
        route("cors-star-credentials", "cors", {"origins": ["*"], "credentials": True}),
        route("cors-continue", "cors", {"preflight_continue": True}),
        route("cors-absent", "cors", {"origins": ["http://foo.test"], "allow_origin_absent": False}),
        route("cors-private", "cors", {"private_network": True}),
        route("bots", "bot-detection", {}),
        route("bots-lists", "bot-detection", {"deny": ["HelloWorld", "evil.*scanner"], "allow": ["facebookexternalhit/1.1"]}),
        route("size", "request-size-limiting", {"allowed_payload_size": 2, "size_unit": "kilobytes"}),
        route("size-cl", "request-size-limiting", {"require_content_length": True}),
        route("size-zero", "request-size-limiting", {"allowed_payload_size": 0}),
        {"name": "size-keyauth", "paths": ["/size-keyauth"], "strip_path": False, "plugins": [
            {"name": "key-auth", "config": {"key_in_body": True}},
            {"name": "request-size-limiting", "config": {"allowed_payload_size": 1, "size_unit": "kilobytes"}}]},
        route("ip-deny", "ip-restriction", {"deny": ["127.0.0.1"]}),
        route("ip-allow", "ip-restriction", {"allow": ["10.0.0.0/8"], "status": 401, "message": "Forbidden"}),
        route("ip-allow-v6", "ip-restriction", {"allow": ["::1/128"]}),
        route("ip-deny-3", "ip-restriction", {"deny": ["127.0.0.3"]}),
    ]}]
    # A service whose upstream fails: CORS fields on the gateway's 502.
    services.append({"name": "dead", "url": "http://127.0.0.1:9", "routes": [route("cors-dead", "cors", {"origins": ["http://foo.test"]})]})
    cfg = folder / "kong.json"
    cfg.write_text(json.dumps({"_format_version": "3.0", "services": services,
                               "consumers": [{"username": "u", "keyauth_credentials": [{"key": "k1"}]}]}))
    for path in ["/cors-default", "/cors-list", "/cors-star-credentials", "/cors-continue", "/cors-absent",
                 "/cors-private", "/bots", "/bots-lists", "/size", "/size-cl", "/size-zero", "/size-keyauth",
                 "/ip-deny", "/ip-allow", "/ip-allow-v6", "/ip-deny-3"]:
        backend.answer(path, '{"ok":true}', headers=[("Content-Type", "application/json"), ("Vary", "Accept-Encoding"),
                                                     ("Access-Control-Allow-Origin", "http://upstream.test")])
    plain = Portico(cfg)
    # The same gateway behind a trusted proxy (everyone on loopback is trusted here).
    trusting = Portico(cfg, extra_args=["--trusted-ips", "127.0.0.1,127.0.0.3,::1", "--real-ip-header", "X-Forwarded-For",
                                        "--real-ip-recursive"])
    yield plain, trusting, backend
    trusting.close()
    plain.close()
    backend.close()


def headers_of(head):
    out = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        out.setdefault(name.strip().lower(), []).append(value.strip())
    return out


def call(portico, path, *args):
    status, head, body = curl(portico.url(path), *args)
    return status, headers_of(head), body


def preflight(portico, path, origin, *extra):
    return call(portico, path, "-X", "OPTIONS", "-H", "Origin: " + origin,
                "-H", "Access-Control-Request-Method: GET", *extra)


# --- cors ---

def test_a_preflight_is_answered_at_the_edge_with_kongs_defaults(env):
    plain, _, backend = env
    before = backend.count()
    status, h, body = preflight(plain, "/cors-default", "http://any.test")
    assert (status, body) == (200, "")
    assert h["content-length"] == ["0"] and "content-type" not in h
    assert h["access-control-allow-origin"] == ["*"] and "vary" not in h
    assert h["access-control-allow-methods"] == ["GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"]
    assert backend.count() == before


def test_configured_preflight(env):
    plain, _, _ = env
    status, h, _ = preflight(plain, "/cors-list", "http://foo.test:80")
    assert status == 200
    assert h["access-control-allow-origin"] == ["http://foo.test"]  # normalised: the default port dropped
    assert h["access-control-allow-methods"] == ["GET"] and h["access-control-max-age"] == ["23"]
    assert h["access-control-allow-headers"] == ["origin,type,accepts"]
    assert h["access-control-allow-credentials"] == ["true"] and h["vary"] == ["Origin"]
    assert "access-control-expose-headers" not in h


@pytest.mark.parametrize("origin,allowed", [
    ("http://foo.test", "http://foo.test"), ("http://foo.test:8000", None), ("https://foo.test", None),
    ("https://bar.test:1234", "https://bar.test:1234"), ("https://bar.test", None),
    ("http://www.example.test:8080", "http://www.example.test:8080"),  # a host-only regex: any port
    ("http://evilexample.test", None), ("http://example.test.evil", None),
])
def test_origin_rules(env, origin, allowed):
    plain, _, _ = env
    status, h, _ = call(plain, "/cors-list", "-H", "Origin: " + origin)
    assert status == 200
    assert h.get("access-control-allow-origin") == ([allowed] if allowed else None)  # the service's one is gone
    assert h["vary"] == ["Accept-Encoding", "Origin"]
    assert h["access-control-expose-headers"] == ["x-auth-token"]


def test_credentials_never_go_with_a_wildcard(env):
    plain, _, _ = env
    _, h, _ = call(plain, "/cors-star-credentials", "-H", "Origin: http://www.example.net:3000")
    assert h["access-control-allow-origin"] == ["http://www.example.net:3000"]
    assert h["access-control-allow-credentials"] == ["true"] and "Origin" in h["vary"]
    _, h, _ = call(plain, "/cors-star-credentials")
    assert h["access-control-allow-origin"] == ["*"] and "access-control-allow-credentials" not in h


def test_preflight_continue_goes_to_the_service(env):
    plain, _, backend = env
    status, h, _ = preflight(plain, "/cors-continue", "http://a.test")
    assert status == 200 and backend.last()["method"] == "OPTIONS"
    assert h["access-control-allow-origin"] == ["http://upstream.test"]  # the plugin added nothing


def test_allow_origin_absent_false(env):
    plain, _, _ = env
    _, h, _ = call(plain, "/cors-absent")
    assert h["access-control-allow-origin"] == ["http://upstream.test"]  # no Origin: the plugin added nothing
    assert h["vary"] == ["Accept-Encoding"]


def test_private_network(env):
    plain, _, _ = env
    _, h, _ = preflight(plain, "/cors-private", "http://a.test", "-H", "Access-Control-Request-Private-Network: true")
    assert h["access-control-allow-private-network"] == ["true"]


def test_the_gateways_own_errors_carry_the_cors_fields(env):
    plain, _, _ = env
    status, h, _ = call(plain, "/cors-dead", "-H", "Origin: http://foo.test")
    assert status == 502 and h["access-control-allow-origin"] == ["http://foo.test"]


def test_an_origin_with_a_line_break_is_refused_by_the_parser(env):
    plain, _, backend = env
    before = backend.count()
    with socket.create_connection(("127.0.0.1", plain.port), timeout=5) as s:
        s.sendall(b"GET /cors-list HTTP/1.1\r\nHost: x\r\nOrigin: http://foo.test\rX-Evil: 1\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")
    assert backend.count() == before


# --- bot-detection ---

@pytest.mark.parametrize("agent,status", [
    (None, 200), ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", 200),
    ("curl/7.43.0", 200), ("HelloWorld", 200),
    ("Googlebot/2.1 (+http://www.google.com/bot.html)", 403), ("facebookexternalhit/1.1", 403),
    ("Go-http-client/1.1", 403), ("okhttp/4.9.0", 403), ("Mozilla/5.0 (compatible; bingbot/2.0)", 403),
])
def test_kongs_built_in_bot_list(env, agent, status):
    plain, _, _ = env
    args = ["-A", agent] if agent is not None else ["-H", "User-Agent:"]
    got, _, body = call(plain, "/bots", *args)
    assert got == status
    if status == 403:
        assert json.loads(body)["message"] == "Forbidden"


def test_allow_wins_over_the_lists(env):
    plain, _, _ = env
    assert call(plain, "/bots-lists", "-A", "HelloWorld")[0] == 403
    assert call(plain, "/bots-lists", "-A", "facebookexternalhit/1.1")[0] == 200  # over the built-in list
    assert call(plain, "/bots-lists", "-A", "HelloWorld facebookexternalhit/1.1")[0] == 200  # over deny


def test_patterns_match_bytes_that_are_not_utf8(env):
    plain, _, _ = env
    with socket.create_connection(("127.0.0.1", plain.port), timeout=5) as s:
        s.sendall(b"GET /bots-lists HTTP/1.1\r\nHost: x\r\nUser-Agent: evil\xffscanner\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 403")  # Kong's PCRE matches bytes: so does Portico


def test_two_user_agents_are_400(env):
    plain, _, _ = env
    status, _, body = call(plain, "/bots", "-H", "User-Agent: a", "-H", "User-Agent: b")
    assert status == 400 and json.loads(body)["message"] == "Only one User-Agent header allowed"


# --- request-size-limiting ---

def test_declared_lengths_at_and_over_the_limit(env):
    plain, _, backend = env
    assert call(plain, "/size", "--data-binary", "x" * 2048)[0] == 200
    before = backend.count()
    status, _, body = call(plain, "/size", "--data-binary", "x" * 2049)
    assert status == 413 and json.loads(body)["message"] == "Request size limit exceeded"
    assert backend.count() == before
    status, _, _ = call(plain, "/size", "-H", "Expect: 100-continue", "--data-binary", "x" * 2049)
    assert status == 417


def raw_chunked(portico, chunks, expect=False):
    """Sends a chunked POST chunk by chunk; returns the status line and how the connection ended."""
    with socket.create_connection(("127.0.0.1", portico.port), timeout=10) as s:
        head = "POST /size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        if expect:
            head += "Expect: 100-continue\r\n"
        s.sendall(head.encode() + b"\r\n")
        for c in chunks:
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(c), c))
            except OSError:
                break
            time.sleep(0.05)
        try:
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        data = b""
        while True:
            try:
                got = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not got:
                break
            data += got
            if b"\r\n\r\n" in data and (b"Request size limit" in data or b'"ok"' in data):
                break
        return data


def test_a_chunked_body_passing_the_limit_in_its_last_chunk_is_413(env):
    plain, _, _ = env
    ok = raw_chunked(plain, [b"x" * 1024, b"x" * 1024])
    assert ok.startswith(b"HTTP/1.1 200")
    over = raw_chunked(plain, [b"x" * 1024, b"x" * 1024, b"x"])
    assert over.startswith(b"HTTP/1.1 413") and b"Request size limit exceeded" in over
    assert b"Connection: close" in over


def test_the_service_connection_a_refused_body_went_to_is_not_reused(env):
    plain, _, backend = env
    # The first chunk goes to the service, the second passes the limit half-way through the body.
    refused = raw_chunked(plain, [b"x" * 1024, b"x" * 2000])
    assert refused.startswith(b"HTTP/1.1 413")
    # The next request gets a clean upstream exchange (no half-sent body in front of it).
    status, _, body = call(plain, "/size", "--data-binary", "small")
    assert status == 200 and json.loads(body) == {"ok": True}
    assert backend.last()["body"] == b"small"


def test_size_zero_lets_only_an_empty_chunked_body_through(env):
    plain, _, _ = env
    with socket.create_connection(("127.0.0.1", plain.port), timeout=10) as s:
        s.sendall(b"POST /size-zero HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", plain.port), timeout=10) as s:
        s.sendall(b"POST /size-zero HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413") and b"Request size limit exceeded" in answer


def test_a_body_an_earlier_plugin_read_is_still_limited(env):
    plain, _, backend = env
    before = backend.count()
    status, _, body = call(plain, "/size-keyauth", "-H", "apikey: k1", "-H", "Transfer-Encoding: chunked",
                           "--data-binary", "x" * 5000)
    assert status == 413 and json.loads(body)["message"] == "Request size limit exceeded"
    assert backend.count() == before


def test_require_content_length(env):
    plain, _, _ = env
    status, _, body = call(plain, "/size-cl")
    assert status == 411 and json.loads(body)["message"] == "A valid Content-Length header is required"
    assert call(plain, "/size-cl", "--data-binary", "x")[0] == 200


# --- ip-restriction ---

def test_deny_and_allow_by_the_peer(env):
    plain, _, _ = env
    status, _, body = call(plain, "/ip-deny")
    assert status == 403 and json.loads(body)["message"] == "IP address not allowed: 127.0.0.1"
    status, _, body = call(plain, "/ip-allow")
    assert status == 401 and json.loads(body)["message"] == "Forbidden"


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(env):
    plain, _, backend = env
    assert call(plain, "/ip-deny", "-H", "X-Forwarded-For: 10.1.2.3")[0] == 403
    assert call(plain, "/ip-allow", "-H", "X-Forwarded-For: 10.1.2.3", "-H", "X-Real-IP: 10.1.2.3")[0] == 401


def test_through_a_trusted_proxy_the_forwarded_address_counts(env):
    _, trusting, backend = env
    assert call(trusting, "/ip-deny", "-H", "X-Forwarded-For: 10.1.2.3")[0] == 200
    assert backend.last()["header"]["x-real-ip"] == "10.1.2.3"
    assert backend.last()["header"]["x-forwarded-for"] == "10.1.2.3, 127.0.0.1"
    assert call(trusting, "/ip-allow", "-H", "X-Forwarded-For: 10.1.2.3")[0] == 200
    # recursive: trusted proxies on the right are skipped; everything trusted: the leftmost.
    assert call(trusting, "/ip-allow", "-H", "X-Forwarded-For: 10.9.9.9, 127.0.0.1")[0] == 200
    assert call(trusting, "/ip-deny", "-H", "X-Forwarded-For: 127.0.0.4, 127.0.0.1")[0] == 200
    # every entry trusted: the leftmost (127.0.0.3, denied); a trusted entry on the right skipped
    assert call(trusting, "/ip-deny-3", "-H", "X-Forwarded-For: 127.0.0.3, 127.0.0.1")[0] == 403
    assert call(trusting, "/ip-deny-3", "-H", "X-Forwarded-For: 127.0.0.4, 127.0.0.3")[0] == 200
    # several lines from a trusted peer: one list, upstream and for the address alike
    call(trusting, "/ip-allow", "-H", "X-Forwarded-For: 1.1.1.1", "-H", "X-Forwarded-For: 10.2.2.2")
    assert backend.last()["header"]["x-forwarded-for"] == "1.1.1.1, 10.2.2.2, 127.0.0.1"
    assert call(trusting, "/ip-allow-v6", "-H", "X-Forwarded-For: ::1")[0] == 200
    assert call(trusting, "/ip-allow-v6", "-H", "X-Forwarded-For: ::2")[0] == 403
    # No header, or garbage: the peer's address.
    assert call(trusting, "/ip-deny")[0] == 403
    assert call(trusting, "/ip-deny", "-H", "X-Forwarded-For: not-an-address")[0] == 403


@pytest.mark.parametrize("plugin,config,field,reason", [
    ("cors", {"origins": ["*", "invalid_**regex"]}, "origins[1]", "'invalid_**regex' is not a valid regex"),
    ("cors", {"methods": ["FAKE"]}, "methods[0]", "expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT"),
    ("bot-detection", {"allow": ["(https?:\\/\\/.*"]}, "allow[0]", "not a valid regex: (https?:\\/\\/.*"),
    ("request-size-limiting", {"size_unit": "gigabytes"}, "size_unit", "expected one of: megabytes, kilobytes, bytes"),
    ("ip-restriction", {"allow": ["127.0.0.1/32", "hello"]}, "allow[1]", "invalid ip or cidr range: 'hello'"),
    ("ip-restriction", {"deny": ["0.0.0.0/33"]}, "deny[0]", "invalid ip or cidr range: '0.0.0.0/33'"),
    ("ip-restriction", {"deny": ["1.1.1.1"], "status": 100}, "status", "value should be between 400 and 599"),
    ("cors", {"origins": ["\\Qhttps://a.test"]}, "origins[0]", "is not a valid regex"),
])
def test_kongs_config_rules(tmp_path, plugin, config, field, reason):
    assert_plugin_config_refused(tmp_path, plugin, config, field, reason)


def test_ip_restriction_needs_a_list(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"_format_version": "3.0", "services": [
        {"name": "s", "url": "http://127.0.0.1:9", "plugins": [{"name": "ip-restriction", "config": {}}]}]}))
    import subprocess
    from conftest import PORTICO_BIN
    r = subprocess.run([PORTICO_BIN, "check", "-c", str(path)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "at least one of these fields must be non-empty: 'config.allow', 'config.deny'" in r.stderr
