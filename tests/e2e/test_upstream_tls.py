"""Upstream https services (Kong's fields): TLS to the service, the server name sent as SNI and
checked when `tls_verify` is on, the trust store from `ca_certificates` entities (else the
system's), `tls_verify_depth`, a client certificate for mTLS (`client_certificate`), sessions
resumed on new connections, pooled connections kept apart by server name; Kong's checks and
messages for ca_certificates and the TLS fields, in kong.yml and through the Admin API.
Upstreams are Python TLS servers with a test CA made here."""
import datetime
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import admin_json, PORTICO_BIN, Portico, free_port

NOW = datetime.datetime.now(datetime.timezone.utc)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def issue(common_name, issuer=None, ca=False, dns=(), ips=(), days=30, expired=False):
    """A certificate and key; self-signed unless `issuer` = (cert, key) signs it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    start = NOW - datetime.timedelta(days=10 if expired else 1)
    end = NOW - datetime.timedelta(days=1) if expired else NOW + datetime.timedelta(days=days)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    sans = [x509.DNSName(d) for d in dns]
    import ipaddress
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


CA = issue("Portico Test CA", ca=True)
OTHER_CA = issue("Another CA", ca=True)
LOCALHOST = issue("localhost", issuer=CA, dns=["localhost"], ips=["127.0.0.1"])
WRONG_NAME = issue("other.test", issuer=CA, dns=["other.test"])
CLIENT = issue("portico-client", issuer=CA)
INTERMEDIATE = issue("Portico Test Intermediate", issuer=CA, ca=True)
CHAINED = issue("localhost", issuer=INTERMEDIATE, dns=["localhost"])


class Echo(BaseHTTPRequestHandler):
    """Answers with what it saw of the request and of the TLS connection."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        conn = self.connection
        peer = conn.getpeercert() or {}
        subject = dict(x[0] for x in peer.get("subject", ()))
        body = json.dumps({"path": self.path, "host": self.headers.get("Host"),
                           "sni": getattr(conn, "sni_seen", None), "client": subject.get("commonName"),
                           "resumed": conn.session_reused, "connection": id(conn)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_tls(tmp_path, cert_and_key, require_client_ca=None, close_each=False, chain=()):
    """A TLS HTTP server on a free loopback port (its certificate followed by `chain`); its
    handshakes record the SNI they got."""
    cert, key = cert_and_key
    folder = tmp_path / ("server-%d" % free_port())
    folder.mkdir()
    (folder / "cert.pem").write_text(pem(cert) + "".join(pem(c) for c in chain))
    (folder / "key.pem").write_text(key_pem(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(folder / "cert.pem"), str(folder / "key.pem"))
    if require_client_ca is not None:
        (folder / "ca.pem").write_text(pem(require_client_ca[0]))
        context.load_verify_locations(str(folder / "ca.pem"))
        context.verify_mode = ssl.CERT_REQUIRED

    def record_sni(sslsock, server_name, _ctx):
        sslsock.sni_seen = server_name
    context.sni_callback = record_sni
    handler = type("Handler", (Echo,), {"protocol_version": "HTTP/1.0" if close_each else "HTTP/1.1"})
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.handle_error = lambda *a: None  # refused handshakes are part of the tests

    original_get_request = server.get_request

    def get_request():
        conn, addr = original_get_request()
        conn.settimeout(5)
        try:
            conn.do_handshake()
        except (ssl.SSLError, OSError):
            conn.close()
            raise OSError("handshake refused")
        return conn, addr
    server.get_request = get_request
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("upstream-tls")
    servers = {
        "trusted": serve_tls(tmp, LOCALHOST),
        "wrong_name": serve_tls(tmp, WRONG_NAME),
        "self_signed": serve_tls(tmp, issue("localhost", dns=["localhost"])),
        "mtls": serve_tls(tmp, LOCALHOST, require_client_ca=CA),
        "closing": serve_tls(tmp, LOCALHOST, close_each=True),
        "chained": serve_tls(tmp, CHAINED, chain=[INTERMEDIATE[0]]),
    }
    yield {name: port for name, (_, port) in servers.items()}
    for server, _ in servers.values():
        server.shutdown()
        server.server_close()


CA_ID = "5b1f3f44-6a4e-4d8e-9f3b-1f0c2a7d9e01"
OTHER_CA_ID = "5b1f3f44-6a4e-4d8e-9f3b-1f0c2a7d9e02"
CLIENT_ID = "5b1f3f44-6a4e-4d8e-9f3b-1f0c2a7d9e03"


def service(name, port, host="localhost", **fields):
    # No retries: a refused certificate is logged once per request (the log is rate limited).
    s = {"name": name, "protocol": "https", "host": host, "port": port, "retries": 0,
         "routes": [{"name": name, "paths": ["/" + name]}]}
    s.update(fields)
    return s


@pytest.fixture(scope="module")
def gateway(upstreams, tmp_path_factory):
    folder = tmp_path_factory.mktemp("upstream-tls-gateway")
    doc = {
        "_format_version": "3.0",
        "ca_certificates": [{"id": CA_ID, "cert": pem(CA[0])}, {"id": OTHER_CA_ID, "cert": pem(OTHER_CA[0])}],
        "certificates": [{"id": CLIENT_ID, "cert": pem(CLIENT[0]), "key": key_pem(CLIENT[1])}],
        "services": [
            service("unverified", upstreams["self_signed"]),                       # Kong's default: no check
            service("verified", upstreams["trusted"], tls_verify=True, ca_certificates=[CA_ID]),
            service("by-ip", upstreams["trusted"], host="127.0.0.1", tls_verify=True, ca_certificates=[CA_ID]),
            service("system-store", upstreams["trusted"], tls_verify=True),        # the test CA is not there
            service("other-ca", upstreams["trusted"], tls_verify=True, ca_certificates=[OTHER_CA_ID]),
            service("wrong-name", upstreams["wrong_name"], tls_verify=True, ca_certificates=[CA_ID]),
            # leaf <- intermediate <- CA: one intermediate is within nginx's default depth 1, not within 0
            service("chained", upstreams["chained"], tls_verify=True, ca_certificates=[CA_ID]),
            service("too-deep", upstreams["chained"], tls_verify=True, ca_certificates=[CA_ID], tls_verify_depth=0),
            service("mtls", upstreams["mtls"], client_certificate={"id": CLIENT_ID}),
            service("no-client-cert", upstreams["mtls"]),
            service("closing", upstreams["closing"], tls_verify=True, ca_certificates=[CA_ID]),
            service("via-upstream", 443, host="mtls-pool"),
            dict(service("preserving-verified", upstreams["trusted"], tls_verify=True, ca_certificates=[CA_ID]),
                 routes=[{"name": "preserving-verified", "paths": ["/preserving-verified"], "preserve_host": True}]),
            {"name": "preserving", "protocol": "https", "host": "localhost", "port": upstreams["trusted"],
             "routes": [{"name": "preserving", "paths": ["/preserving"], "preserve_host": True}]},
        ],
        # An upstream's client certificate: for its https services that have none, and its probes.
        "upstreams": [{"name": "mtls-pool", "client_certificate": {"id": CLIENT_ID},
                       "targets": [{"target": "127.0.0.1:%d" % upstreams["mtls"]}],
                       "healthchecks": {"active": {"type": "https", "https_verify_certificate": False,
                                                   "healthy": {"interval": 0.2, "successes": 1},
                                                   "unhealthy": {"interval": 0.2, "tcp_failures": 1}}}},
                      {"name": "bare-pool", "targets": [{"target": "127.0.0.1:%d" % upstreams["mtls"]}],
                       "healthchecks": {"active": {"type": "https", "https_verify_certificate": False,
                                                   "healthy": {"interval": 0.2, "successes": 1},
                                                   "unhealthy": {"interval": 0.2, "tcp_failures": 1}}}}],
        # The gateway's own calls (aggregate's fan-out) to https services take the same path.
        "routes": [{"name": "composed", "paths": ["/composed"], "plugins": [{"name": "aggregate", "config": {
            "backends": [{"name": "verified", "service": "verified", "path": "/from-aggregate"},
                         {"name": "mtls", "service": "mtls", "path": "/from-aggregate"}]}}]}],
    }
    path = folder / "kong.yml"
    path.write_text(json.dumps(doc))
    portico = Portico(path)
    yield portico
    portico.close()


def get(portico, path, headers=None):
    req = urllib.request.Request(portico.url(path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_tls_without_verification_is_kongs_default(gateway, upstreams):
    status, seen = get(gateway, "/unverified/x")
    assert status == 200, seen
    assert seen["path"] == "/x"
    assert seen["sni"] == "localhost"  # the service's host is the server name
    assert seen["host"] == "localhost:%d" % upstreams["self_signed"]


def test_verified_against_the_services_ca_certificates(gateway):
    status, seen = get(gateway, "/verified/a")
    assert status == 200, seen
    assert seen["sni"] == "localhost"
    status, seen = get(gateway, "/chained/a")
    assert status == 200, seen
    status, seen = get(gateway, "/by-ip/a")  # an IP host: no SNI, the IP checked against the SANs
    assert status == 200, seen
    assert seen["sni"] is None


@pytest.mark.parametrize("route,reason", [
    ("system-store", "certificate verify failed: unable to get local issuer certificate"),
    ("other-ca", "certificate verify failed: unable to get local issuer certificate"),
    ("wrong-name", "certificate verify failed: hostname mismatch"),
    ("too-deep", "certificate verify failed: certificate chain too long"),
])
def test_a_refused_upstream_certificate_is_a_502(gateway, route, reason):
    status, body = get(gateway, "/%s/a" % route)
    assert status == 502
    assert body == {"message": "An invalid response was received from the upstream server"}
    assert reason in gateway.logs()


def test_client_certificate_for_mtls(gateway):
    status, seen = get(gateway, "/mtls/a")
    assert status == 200, seen
    assert seen["client"] == "portico-client"
    status, _ = get(gateway, "/no-client-cert/a")
    assert status == 502


def test_the_gateways_own_calls_use_tls_too(gateway):
    status, body = get(gateway, "/composed")
    assert status == 200, body
    assert body["verified"]["path"] == "/from-aggregate" and body["verified"]["sni"] == "localhost"
    assert body["mtls"]["client"] == "portico-client"


def test_an_upstreams_client_certificate(gateway):
    status, seen = get(gateway, "/via-upstream/a")
    assert status == 200, seen
    assert seen["client"] == "portico-client"

    def health(name):
        with urllib.request.urlopen(gateway.admin("/upstreams/%s/health" % name), timeout=5) as r:
            return json.load(r)["data"][0]["health"]
    # The https probes show it too: the server requires one, so the bare upstream's probes fail.
    deadline = time.time() + 10
    while time.time() < deadline and (health("mtls-pool") != "HEALTHY" or health("bare-pool") != "UNHEALTHY"):
        time.sleep(0.1)
    assert health("mtls-pool") == "HEALTHY"
    assert health("bare-pool") == "UNHEALTHY"


def test_connections_are_pooled_and_sessions_resumed(gateway):
    # Keep-alive: sequential requests reuse pooled connections, one per worker at most (2).
    connections = {get(gateway, "/verified/%d" % i)[1]["connection"] for i in range(10)}
    assert len(connections) <= 2, connections
    # An upstream that closes after each response: every request is a new TLS connection,
    # which resumes the last session instead of a full handshake.
    results = [get(gateway, "/closing/%d" % i)[1]["resumed"] for i in range(6)]
    assert results[1:] == [True] * 5, results


def test_the_server_name_follows_the_host_sent(gateway, upstreams):
    # preserve_host: the client's Host goes upstream, and its name is the server name; pooled
    # connections of one name are not used for another.
    status, seen = get(gateway, "/preserving/a", {"Host": "one.example:8000"})
    assert status == 200 and seen["sni"] == "one.example" and seen["host"] == "one.example:8000"
    status, seen = get(gateway, "/preserving/a", {"Host": "two.example"})
    assert status == 200 and seen["sni"] == "two.example"


def test_no_client_host_to_preserve_falls_back_to_the_services_name(gateway):
    # HTTP/1.0 allows a request without Host: with preserve_host there is then no name to keep,
    # and the certificate is checked against the service's host (never against no name at all).
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as raw:
        raw.sendall(b"GET /preserving-verified/a HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["sni"] == "localhost"


def config_errors(tmp_path, doc):
    path = tmp_path / "kong.yml"
    path.write_text(json.dumps(dict({"_format_version": "3.0"}, **doc), indent=1))
    out = subprocess.run([PORTICO_BIN, "config", "parse", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, out.stdout
    return out.stdout + out.stderr


def test_declarative_mistakes(tmp_path):
    text = config_errors(tmp_path, {"ca_certificates": [{"cert": pem(LOCALHOST[0])}]})
    assert ('ca_certificates[0].cert: certificate does not appear to be a CA because it is missing the "CA" '
            'basic constraint') in text
    text = config_errors(tmp_path, {"ca_certificates": [{"cert": pem(issue("old", ca=True, expired=True)[0])}]})
    assert 'ca_certificates[0].cert: certificate expired, "Not After" time is in the past' in text
    text = config_errors(tmp_path, {"ca_certificates": [{"cert": pem(CA[0]) + pem(OTHER_CA[0])}]})
    assert "ca_certificates[0].cert: please submit only one certificate at a time" in text
    text = config_errors(tmp_path, {"services": [{"name": "s", "url": "http://a", "tls_verify": True,
                                                  "client_certificate": {"id": CLIENT_ID}}]})
    assert "services[0].tls_verify: value must be null" in text
    assert "services[0].client_certificate: value must be null" in text
    text = config_errors(tmp_path, {"services": [{"name": "s", "url": "https://a", "ca_certificates": ["nope"]}]})
    assert "services[0].ca_certificates[0]: expected a valid UUID" in text
    text = config_errors(tmp_path, {"services": [{"name": "s", "url": "https://a", "ca_certificates": [CA_ID]}]})
    assert "services[0].ca_certificates[0]: no ca_certificate with id '%s'" % CA_ID in text
    text = config_errors(tmp_path, {"services": [{"name": "s", "url": "https://a", "tls_verify_depth": 65,
                                                  "client_certificate": {"id": CLIENT_ID}}]})
    assert "services[0].tls_verify_depth: " in text
    text = config_errors(tmp_path, {"services": [{"name": "s", "url": "https://a",
                                                  "client_certificate": {"id": CLIENT_ID}}]})
    assert "services[0].client_certificate: no certificate with id '%s'" % CLIENT_ID in text


admin = admin_json


def test_the_admin_api_manages_ca_certificates_and_tls_fields(tmp_path, upstreams):
    portico = Portico(None, data_dir=tmp_path / "data")
    try:
        status, err = admin(portico, "POST", "/ca_certificates", {"cert": pem(LOCALHOST[0])})
        assert status == 400 and "missing the \"CA\" basic constraint" in err["fields"]["cert"]
        status, ca = admin(portico, "POST", "/ca_certificates", {"cert": pem(CA[0]), "tags": ["test"]})
        assert status == 201, ca
        expected_digest = CA[0].fingerprint(hashes.SHA256()).hex()
        assert ca["cert_digest"] == expected_digest
        status, cert = admin(portico, "POST", "/certificates", {"cert": pem(CLIENT[0]), "key": key_pem(CLIENT[1])})
        assert status == 201

        status, err = admin(portico, "POST", "/services", {"name": "plain", "url": "http://localhost:1",
                                                           "tls_verify": True})
        assert status == 400 and err["fields"]["tls_verify"] == "value must be null"
        status, svc = admin(portico, "POST", "/services", {
            "name": "secure", "url": "https://localhost:%d" % upstreams["mtls"], "tls_verify": True,
            "tls_verify_depth": 2, "ca_certificates": [ca["id"]], "client_certificate": {"id": cert["id"]}})
        assert status == 201, svc
        assert svc["tls_verify"] is True and svc["tls_verify_depth"] == 2
        assert svc["ca_certificates"] == [ca["id"]] and svc["client_certificate"] == {"id": cert["id"]}
        assert svc["port"] == upstreams["mtls"] and svc["protocol"] == "https"
        status, _ = admin(portico, "POST", "/services/secure/routes", {"paths": ["/secure"]})
        assert status == 201
        status, seen = get(portico, "/secure/x")
        assert status == 200 and seen["client"] == "portico-client", seen

        # What services use cannot be deleted (Kong's messages).
        status, err = admin(portico, "DELETE", "/ca_certificates/%s" % ca["id"])
        assert status == 400
        assert err["message"] == "ca certificate %s is still referenced by services (id = %s)" % (ca["id"], svc["id"])
        status, err = admin(portico, "DELETE", "/certificates/%s" % cert["id"])
        assert status == 400 and err["message"] == "an existing 'services' entity references this 'certificates' entity"
        status, pool = admin(portico, "POST", "/upstreams", {"name": "pool", "client_certificate": {"id": cert["id"]}})
        assert status == 201 and pool["client_certificate"] == {"id": cert["id"]}, pool
        status, _ = admin(portico, "POST", "/upstreams/pool/targets", {"target": "127.0.0.1:%d" % upstreams["mtls"]})
        assert status == 201
        status, err = admin(portico, "POST", "/services", {"name": "dangling", "url": "https://localhost:1",
                                                           "client_certificate": {"id": "0b9c1a6e-0000-4000-8000-000000000000"}})
        assert status == 400 and err["name"] == "foreign key violation"

        # Turning verification off and dropping the references frees them.
        status, svc = admin(portico, "PATCH", "/services/secure", {"tls_verify": None, "ca_certificates": None})
        assert status == 200 and svc["tls_verify"] is None and svc["ca_certificates"] is None
        status, _ = admin(portico, "DELETE", "/ca_certificates/%s" % ca["id"])
        assert status == 204
        # Through an upstream: the service's own certificate goes, the upstream's is used.
        status, svc = admin(portico, "PATCH", "/services/secure", {"client_certificate": None, "host": "pool",
                                                                   "port": 443})
        assert status == 200 and svc["client_certificate"] is None, svc
        status, seen = get(portico, "/secure/y")
        assert status == 200 and seen["client"] == "portico-client", seen
        status, err = admin(portico, "DELETE", "/certificates/%s" % cert["id"])
        assert status == 400 and err["message"] == "an existing 'upstreams' entity references this 'certificates' entity"
        status, schema = admin(portico, "GET", "/schemas/ca_certificates")
        fields = {list(f)[0]: list(f.values())[0] for f in schema["fields"]}
        assert fields["cert"]["required"] and "cert_digest" in fields
        status, schema = admin(portico, "GET", "/schemas/services")
        fields = {list(f)[0]: list(f.values())[0] for f in schema["fields"]}
        assert fields["client_certificate"]["reference"] == "certificates"
        assert fields["tls_verify_depth"]["between"] == [0, 64] or fields["tls_verify_depth"].get("max") == 64
    finally:
        portico.close()
