"""TLS on proxy listeners (Kong's `proxy_listen ... ssl`, ssl_cert / ssl_cert_key): real
clients (curl, Python's ssl, openssl s_client) against Portico with a certificate from a test
CA, plain and TLS listeners side by side; keep-alive, large bodies both ways, a slow reader,
TLS 1.2 and 1.3, ALPN, the scheme as services, plugins and logs see it, https-only routes,
the self-signed default certificate, and hostile clients (plain HTTP to the TLS port, a
silent client, a broken handshake)."""
import datetime
import hashlib
import http.client
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import Portico, free_port, wait_for_port, PORTICO_BIN


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def localhost_leaf(ca, ca_key, key, now, extensions=()):
    """A certificate of `key` for localhost / 127.0.0.1 that `ca` signed, valid for 30 days,
    with `extensions` (non-critical) besides its subject alternative names."""
    builder = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                              critical=False))
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def make_pki(folder):
    """A CA and a certificate for localhost / 127.0.0.1 it signed; returns the file paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Portico Test CA")).issuer_name(_name("Portico Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = localhost_leaf(ca, ca_key, key, now)
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem",
             "other_key": folder / "other-key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    # The chain as servers send it: the leaf, then the CA (which clients ignore or check).
    paths["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    pem = serialization.PrivateFormat.PKCS8
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption()))
    other = ec.generate_private_key(ec.SECP256R1())
    paths["other_key"].write_bytes(other.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption()))
    return paths


BIG = bytes(range(256)) * 4096 * 8  # 8 MiB


class Backend:
    """Records each request's headers; GET /big sends BIG, POST /digest answers the body's
    length and SHA-256."""

    def __init__(self):
        self.seen = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, body, content_type="application/json"):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                backend.seen.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.endswith("/big"):
                    self.answer(BIG, "application/octet-stream")
                else:
                    self.answer(json.dumps({"path": self.path}).encode())

            def do_POST(self):
                backend.seen.append({k.lower(): v for k, v in self.headers.items()})
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.answer(json.dumps({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    pki = make_pki(folder)
    backend = Backend()
    cfg = {
        "_format_version": "3.0",
        "services": [{"name": "api", "url": "http://127.0.0.1:%d" % backend.port, "routes": [
            {"name": "any", "paths": ["/api"], "strip_path": False},
            {"name": "secure", "paths": ["/secure"], "protocols": ["https"], "strip_path": False},
            {"name": "moved", "paths": ["/moved"], "protocols": ["https"], "https_redirect_status_code": 308,
             "strip_path": False},
            {"name": "plain-only", "paths": ["/plain-only"], "protocols": ["http"], "strip_path": False},
        ]}],
        "routes": [{"name": "echo", "paths": ["/echo"], "plugins": [
            {"name": "request-termination", "config": {"echo": True, "status_code": 200}}]}],
    }
    path = folder / "kong.yml"
    path.write_text(json.dumps(cfg))
    tls_port = free_port()
    log = folder / "access.log"
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % tls_port,
                                        "--ssl-cert", str(pki["cert"]), "--ssl-cert-key", str(pki["key"]),
                                        "--client-header-timeout", "2000",
                                        "--access-log", str(log), "--access-log-format", "$scheme $server_port $status"])
    wait_for_port(tls_port)
    yield {"portico": portico, "tls_port": tls_port, "pki": pki, "backend": backend, "log": log, "folder": folder}
    portico.close()
    backend.close()


def context(env, **kwargs):
    ctx = ssl.create_default_context(cafile=str(env["pki"]["ca"]))
    for k, v in kwargs.items():
        setattr(ctx, k, v)
    return ctx


def https(env, method, path, body=None, ctx=None, headers=None):
    conn = http.client.HTTPSConnection("localhost", env["tls_port"], context=ctx or context(env), timeout=20)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def curl(*args):
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=60)


def test_curl_verifies_the_certificate_and_the_service_sees_https(env):
    out = curl("--cacert", str(env["pki"]["ca"]), "-w", "\n%{http_code} %{ssl_verify_result} %{http_version}",
               "https://localhost:%d/api/hello" % env["tls_port"])
    body, status = out.stdout.rsplit("\n", 1)
    assert status == "200 0 1.1", out.stderr
    assert json.loads(body) == {"path": "/api/hello"}
    seen = env["backend"].seen[-1]
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-port"] == str(env["tls_port"])
    # The plain listener beside it still serves plain HTTP.
    out = curl("-w", "%{http_code}", "-o", "/dev/null", env["portico"].url("/api/plain"))
    assert out.stdout == "200"
    assert env["backend"].seen[-1]["x-forwarded-proto"] == "http"


def test_an_unknown_ca_is_refused_by_the_client(env):
    out = curl("https://localhost:%d/api/x" % env["tls_port"])
    assert out.returncode == 60, out  # curl: peer certificate cannot be authenticated


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_12_and_13(env, version):
    ctx = context(env, minimum_version=version, maximum_version=version)
    with socket.create_connection(("127.0.0.1", env["tls_port"])) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
            s.sendall(b"GET /api/v HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")


def test_tls_11_is_refused(env):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this Python's OpenSSL cannot offer TLS 1.1")
    with socket.create_connection(("127.0.0.1", env["tls_port"])) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            ctx.wrap_socket(raw, server_hostname="localhost")


def test_alpn_without_the_http2_flag_picks_http11_and_offers_nothing_else(env):
    # (The listener here has no `http2` flag: tests/e2e/test_http2.py has the one that does.)
    for offered, chosen in [(["h2", "http/1.1"], "http/1.1"), (["http/1.1"], "http/1.1"), (["h2"], None)]:
        ctx = context(env)
        ctx.set_alpn_protocols(offered)
        with socket.create_connection(("127.0.0.1", env["tls_port"])) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                assert s.selected_alpn_protocol() == chosen, offered


def test_keep_alive_serves_many_requests_on_one_connection(env):
    conn = http.client.HTTPSConnection("localhost", env["tls_port"], context=context(env), timeout=20)
    for i in range(50):
        conn.request("GET", "/api/%d" % i)
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read()) == {"path": "/api/%d" % i}
    conn.close()


def test_large_bodies_both_ways(env):
    resp, data = https(env, "GET", "/api/big")
    assert resp.status == 200
    assert hashlib.sha256(data).digest() == hashlib.sha256(BIG).digest()
    payload = bytes(reversed(BIG[: 5 * 1024 * 1024]))
    resp, data = https(env, "POST", "/api/digest", body=payload, headers={"Content-Type": "application/octet-stream"})
    assert resp.status == 200
    assert json.loads(data) == {"length": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}


def test_a_slow_reader_gets_every_byte(env):
    # The socket fills: TLS writes wait for it (OpenSSL's retry rule) and resume where they were.
    ctx = context(env)
    with socket.create_connection(("127.0.0.1", env["tls_port"])) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /api/big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            started = time.time()
            while chunk := s.recv(16384):
                data += chunk
                if len(data) < 1024 * 1024:
                    time.sleep(0.005)  # slow at first: the socket buffers fill, and Portico's writes wait
                assert time.time() - started < 60
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert hashlib.sha256(body).digest() == hashlib.sha256(BIG).digest()


def test_https_only_routes(env):
    # Plain HTTP: Kong's 426 with Upgrade, or the configured redirect.
    out = curl("-i", env["portico"].url("/secure/x"))
    assert out.stdout.startswith("HTTP/1.1 426 ")
    assert "Upgrade: TLS/1.2, HTTP/1.1" in out.stdout
    assert out.stdout.endswith('{"message":"Please use HTTPS protocol"}')
    out = curl("-i", "-H", "Host: example.test", env["portico"].url("/moved/x?a=1"))
    assert out.stdout.startswith("HTTP/1.1 308 ")
    assert "Location: https://example.test/moved/x?a=1" in out.stdout
    # Over TLS they serve; a route limited to http serves TLS requests too (as Kong).
    assert https(env, "GET", "/secure/x")[0].status == 200
    assert https(env, "GET", "/plain-only/x")[0].status == 200


def test_plugins_and_the_access_log_see_the_scheme(env):
    resp, data = https(env, "GET", "/echo")
    assert resp.status == 200
    request = json.loads(data)["request"]
    assert request["scheme"] == "https"
    assert request["port"] == env["tls_port"]
    env["portico"].admin("/")  # (the log is written by the workers; give them a moment)
    deadline = time.time() + 5
    line = "https %d 200" % env["tls_port"]
    while time.time() < deadline and line not in env["log"].read_text():
        time.sleep(0.05)
    assert line in env["log"].read_text()


def test_plain_http_to_the_tls_port_is_closed_and_the_gateway_keeps_serving(env):
    with socket.create_connection(("127.0.0.1", env["tls_port"]), timeout=10) as s:
        s.sendall(b"GET /api/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while chunk := s.recv(65536):  # (a timeout here fails the test: the connection must end)
            received += chunk
    assert not received.startswith(b"HTTP/")  # at most a TLS alert, never a plain answer
    assert https(env, "GET", "/api/after-garbage")[0].status == 200


def test_a_client_that_never_handshakes_is_closed_after_the_header_timeout(env):
    with socket.create_connection(("127.0.0.1", env["tls_port"]), timeout=10) as s:
        started = time.time()
        assert s.recv(1) == b""
        assert time.time() - started < 8  # --client-header-timeout 2000 ms
    with socket.create_connection(("127.0.0.1", env["tls_port"]), timeout=10) as s:
        s.sendall(b"\x16\x03\x01\x00\x05\x01\x00")  # a handshake record cut short
        assert s.recv(65536) == b""


def test_many_handshakes_at_once(env):
    errors = []

    def one(i):
        try:
            resp, data = https(env, "GET", "/api/c%d" % i)
            assert resp.status == 200
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_the_default_certificate_is_self_signed_for_localhost(tmp_path):
    path = tmp_path / "kong.yml"
    path.write_text('_format_version: "3.0"\n')
    port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % port])
    try:
        wait_for_port(port)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                cert = x509.load_der_x509_certificate(s.getpeercert(binary_form=True))
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = s.recv(65536)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "localhost"
        assert cert.issuer == cert.subject
        assert data.startswith(b"HTTP/1.1 404 ")  # no route: Kong's answer, over TLS
    finally:
        portico.close()


@pytest.mark.parametrize("args, message", [
    (["--ssl-cert", "{cert}", "--ssl-cert-key", "{other_key}"], "the key does not match the certificate"),
    (["--ssl-cert", "{cert}"], "--ssl-cert and --ssl-cert-key go together"),
    (["--ssl-cert", "{folder}/missing.pem", "--ssl-cert-key", "{key}"], "missing.pem"),
    (["--ssl-cert", "{key}", "--ssl-cert-key", "{key}"], "the certificate is not a PEM certificate"),
])
def test_a_bad_certificate_stops_the_start_with_a_clear_error(env, tmp_path, args, message):
    path = tmp_path / "kong.yml"
    path.write_text('_format_version: "3.0"\n')
    names = {k: str(v) for k, v in env["pki"].items()}
    names["folder"] = str(env["folder"])
    args = [a.format(**names) for a in args]
    result = subprocess.run([PORTICO_BIN, "run", "-c", str(path), "--proxy-listen", "127.0.0.1:%d ssl" % free_port(),
                             "--admin-listen", "off", "--workers", "1", *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


@pytest.mark.parametrize("listen, message", [
    ("127.0.0.1:{port} ssl proxy_protocol", "'proxy_protocol' in listen address"),
    ("127.0.0.1:{port} sl", "unknown flag 'sl'"),
    ("127.0.0.1:{port} backlog=0", "invalid backlog=0"),
])
def test_listen_flags_are_checked(tmp_path, listen, message):
    path = tmp_path / "kong.yml"
    path.write_text('_format_version: "3.0"\n')
    result = subprocess.run([PORTICO_BIN, "run", "-c", str(path), "--proxy-listen", listen.format(port=free_port()),
                             "--admin-listen", "off", "--workers", "1"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_pipelined_requests_in_one_record_are_all_answered(env):
    # Several requests in one TLS write: after the first, the rest wait decrypted (or read
    # ahead) in OpenSSL's buffer, not in the socket; each must still be served.
    ctx = context(env)
    with socket.create_connection(("127.0.0.1", env["tls_port"]), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"".join(b"GET /api/p%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i for i in range(3)) +
                      b"GET /api/last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    assert data.count(b"HTTP/1.1 200 ") == 4
    for path in (b"/api/p0", b"/api/p1", b"/api/p2", b"/api/last"):
        assert b'"path": "' + path + b'"' in data
