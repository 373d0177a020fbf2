"""Kong's `certificates` and `snis` entities: the certificate a TLS handshake presents is chosen
by the name the client sends (exact, then `*.rest`, then `prefix.*`, then the SNI `*`, then the
listener's own certificate), from a declarative file or through the Admin API, changed with the
configuration without a restart and without disturbing connections already open; Kong's checks
of the PEM text and of the names, with its messages; an RSA and an ECDSA pair on one
certificate (cert_alt / key_alt), the client's signature algorithms choosing."""
import datetime
import json
import socket
import ssl
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from conftest import admin_json, Portico, free_port, wait_for_port

PKCS8 = serialization.PrivateFormat.PKCS8


def make_certificate(common_name, key_type="ec"):
    """A self-signed certificate named `common_name`: (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1()) if key_type == "ec" else rsa.generate_private_key(65537, 2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, PKCS8, serialization.NoEncryption()).decode())


def presented(port, server_name, sigalgs=None, tls13=True):
    """The common name of the certificate the gateway presents for `server_name` (None: no SNI),
    and its key type."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if not tls13:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if sigalgs:
        ctx.set_ciphers(sigalgs)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    kind = "rsa" if isinstance(cert.public_key(), rsa.RSAPublicKey) else "ec"
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, kind


admin = admin_json


CERTS = {name: make_certificate(name) for name in
         ["exact", "wildcard-left", "wildcard-right", "default", "replacement", "admin-a", "admin-b"]}


def declarative(certificates):
    return {"_format_version": "3.0",
            "routes": [{"name": "echo", "paths": ["/echo"], "plugins": [
                {"name": "request-termination", "config": {"echo": True, "status_code": 200}}]}],
            "certificates": certificates}


def entry(name, snis):
    cert, key = CERTS[name]
    return {"cert": cert, "key": key, "snis": [{"name": s} for s in snis]}


@pytest.fixture(scope="module")
def dbless(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls-certificates")
    path = folder / "kong.yml"
    path.write_text(json.dumps(declarative([
        entry("exact", ["api.example.com"]),
        entry("wildcard-left", ["*.example.com"]),
        entry("wildcard-right", ["shop.example.*"]),
        entry("default", ["*"]),
    ])))
    tls_port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % tls_port])
    wait_for_port(tls_port)
    yield {"portico": portico, "port": tls_port, "path": path}
    portico.close()


@pytest.mark.parametrize("server_name,expected", [
    ("api.example.com", "exact"),
    ("API.Example.COM", "exact"),              # names are case-insensitive
    ("www.example.com", "wildcard-left"),
    ("shop.example.org", "wildcard-right"),
    ("shop.example.com", "wildcard-left"),     # a leading wildcard wins over a trailing one (Kong's order)
    ("a.b.example.com", "default"),            # "*." stands for one label only
    ("shop.example.net", "wildcard-right"),
    ("shop.other.org", "default"),             # ".*" stands for the last label only
    ("unknown.test", "default"),
    (None, "default"),                          # no SNI: the default certificate
])
def test_the_sni_selects_the_certificate(dbless, server_name, expected):
    assert presented(dbless["port"], server_name) == (expected, "ec")
    assert presented(dbless["port"], server_name, tls13=False) == (expected, "ec")


def test_requests_are_served_over_the_selected_certificate(dbless):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", dbless["port"]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="api.example.com") as tls:
            tls.sendall(b"GET /echo HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["request"]["scheme"] == "https"


def test_a_reload_changes_new_handshakes_and_keeps_open_connections(dbless):
    portico, port = dbless["portico"], dbless["port"]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    kept = ctx.wrap_socket(raw, server_hostname="api.example.com")
    try:
        body = json.dumps(declarative([entry("replacement", ["api.example.com"]), entry("default", ["*"])]))
        req = urllib.request.Request(portico.admin("/config"), data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 201
        assert presented(port, "api.example.com") == ("replacement", "ec")
        assert presented(port, "www.example.com") == ("default", "ec")  # its wildcard is gone
        # The connection made before the reload goes on with its certificate.
        kept.sendall(b"GET /echo HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
        head = kept.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        der = kept.getpeercert(binary_form=True)
        cn = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert cn == "exact"
    finally:
        kept.close()
        original = dbless["path"].read_text()
        req = urllib.request.Request(portico.admin("/config"), data=original.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()


def test_the_certificates_are_listed_with_their_snis(dbless):
    status, body = admin(dbless["portico"], "GET", "/certificates")
    assert status == 200
    names = sorted(n for c in body["data"] for n in c["snis"])
    assert names == sorted(["api.example.com", "*.example.com", "shop.example.*", "*"])
    status, snis = admin(dbless["portico"], "GET", "/snis/shop.example.*")
    assert status == 200 and snis["name"] == "shop.example.*"
    status, _ = admin(dbless["portico"], "POST", "/certificates", {"cert": "x", "key": "y"})
    assert status == 405  # DB-less: read only
    # Kong: a certificate is also addressed by one of its SNI names.
    status, by_name = admin(dbless["portico"], "GET", "/certificates/shop.example.*")
    assert status == 200 and by_name["snis"] == ["shop.example.*"]
    status, _ = admin(dbless["portico"], "GET", "/certificates/unknown.test")
    assert status == 404


def test_an_rsa_and_an_ecdsa_pair_on_one_certificate(tmp_path):
    rsa_cert, rsa_key = make_certificate("dual-rsa", "rsa")
    ec_cert, ec_key = make_certificate("dual-ec", "ec")
    path = tmp_path / "kong.yml"
    path.write_text(json.dumps(declarative([{"cert": rsa_cert, "key": rsa_key, "cert_alt": ec_cert,
                                             "key_alt": ec_key, "snis": [{"name": "dual.test"}]}])))
    port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % port])
    try:
        wait_for_port(port)
        # TLS 1.2 lets the client's cipher suites choose the key type.
        assert presented(port, "dual.test", sigalgs="ECDHE-RSA-AES128-GCM-SHA256", tls13=False) == ("dual-rsa", "rsa")
        assert presented(port, "dual.test", sigalgs="ECDHE-ECDSA-AES128-GCM-SHA256", tls13=False) == ("dual-ec", "ec")
    finally:
        portico.close()


def _config_errors(tmp_path, certificates, extra=None):
    """What `portico config parse` says of a file with these certificates."""
    import subprocess
    from conftest import PORTICO_BIN
    doc = declarative(certificates)
    doc.update(extra or {})
    path = tmp_path / "kong.yml"
    path.write_text(json.dumps(doc, indent=1))
    out = subprocess.run([PORTICO_BIN, "config", "parse", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, out.stdout
    return out.stdout + out.stderr


def test_declarative_mistakes_are_named_with_their_line(tmp_path):
    cert, key = CERTS["exact"]
    other_cert, _ = CERTS["default"]
    text = _config_errors(tmp_path, [{"cert": other_cert, "key": key}])
    assert "certificates[0]: certificate does not match key" in text
    text = _config_errors(tmp_path, [{"cert": "not a certificate", "key": key}])
    assert "certificates[0].cert: invalid certificate:" in text and "kong.yml:" in text
    text = _config_errors(tmp_path, [{"cert": cert, "key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}])
    assert "certificates[0].key: invalid key:" in text
    text = _config_errors(tmp_path, [{"cert": cert, "key": key, "snis": ["a.*.example.com"]}])
    assert "certificates[0].snis[0].name: wildcard must be leftmost or rightmost character" in text
    text = _config_errors(tmp_path, [{"cert": cert, "key": key, "snis": ["10.0.0.1", "x.test:8443", "*.a.*"]}])
    assert "snis[0].name: must not be an IP" in text
    assert "snis[1].name: must not have a port" in text
    assert "snis[2].name: only one wildcard must be specified" in text
    text = _config_errors(tmp_path, [entry("exact", ["dup.test"]), entry("default", ["dup.test"])])
    assert "certificates[1].snis[0].name: dup.test is duplicated" in text
    text = _config_errors(tmp_path, [], {"snis": [{"name": "orphan.test",
                                                   "certificate": {"id": "8f2e1c4a-3b7d-4e9f-a1c2-d3e4f5a6b7c8"}}]})
    assert "snis[0].certificate: no certificate with id '8f2e1c4a-3b7d-4e9f-a1c2-d3e4f5a6b7c8'" in text


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls-certificates-store")
    tls_port = free_port()
    portico = Portico(None, data_dir=folder / "data", extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % tls_port])
    wait_for_port(tls_port)
    yield {"portico": portico, "port": tls_port}
    portico.close()


def test_the_admin_api_creates_changes_and_deletes_certificates(stored):
    portico, port = stored["portico"], stored["port"]
    cert, key = CERTS["admin-a"]
    status, made = admin(portico, "POST", "/certificates",
                         {"cert": cert, "key": key, "snis": ["b.admin.test", "a.admin.test"], "tags": ["t1"]})
    assert status == 201, made
    assert made["snis"] == ["a.admin.test", "b.admin.test"]  # sorted, as Kong answers
    assert made["cert_alt"] is None and made["tags"] == ["t1"]
    cid = made["id"]
    assert presented(port, "a.admin.test") == ("admin-a", "ec")
    status, listed = admin(portico, "GET", "/certificates/%s/snis" % cid)
    assert status == 200 and sorted(s["name"] for s in listed["data"]) == ["a.admin.test", "b.admin.test"]
    assert all(s["certificate"]["id"] == cid for s in listed["data"])

    # Another certificate cannot take a name this one has (Kong's message).
    other_cert, other_key = CERTS["admin-b"]
    status, err = admin(portico, "POST", "/certificates", {"cert": other_cert, "key": other_key, "snis": ["a.admin.test"]})
    assert status == 400
    assert err["fields"]["snis"] == "a.admin.test already associated with existing certificate '%s'" % cid
    status, err = admin(portico, "POST", "/certificates", {"cert": other_cert, "key": other_key, "snis": ["x.test", "x.test"]})
    assert status == 400 and err["fields"]["snis"] == "x.test is duplicated"
    status, err = admin(portico, "POST", "/certificates", {"cert": other_cert, "key": key})
    assert status == 400 and "certificate does not match key" in json.dumps(err)
    status, err = admin(portico, "POST", "/certificates", {"cert": other_cert})
    assert status == 400 and err["fields"]["key"] == "required field missing"

    # An SNI entity of its own, on the second certificate.
    status, second = admin(portico, "POST", "/certificates", {"cert": other_cert, "key": other_key})
    assert status == 201 and second["snis"] == []
    status, sni = admin(portico, "POST", "/snis", {"name": "*.b.test", "certificate": {"id": second["id"]}})
    assert status == 201, sni
    assert presented(port, "www.b.test") == ("admin-b", "ec")
    status, err = admin(portico, "POST", "/snis", {"name": "*.b.test", "certificate": {"id": second["id"]}})
    assert status == 409
    status, err = admin(portico, "POST", "/snis", {"name": "c.test", "certificate": {"id": "0b9c1a6e-0000-4000-8000-000000000000"}})
    assert status == 400 and err["name"] == "foreign key violation"

    # PATCH with snis replaces the names: one kept, one dropped, one added.
    status, patched = admin(portico, "PATCH", "/certificates/%s" % cid, {"snis": ["a.admin.test", "c.admin.test"]})
    assert status == 200 and patched["snis"] == ["a.admin.test", "c.admin.test"]
    assert presented(port, "c.admin.test") == ("admin-a", "ec")
    assert presented(port, "b.admin.test")[0] != "admin-a"  # the listener's own certificate now
    status, _ = admin(portico, "GET", "/snis/b.admin.test")
    assert status == 404

    # Deleting a certificate takes its SNIs with it.
    status, _ = admin(portico, "DELETE", "/certificates/%s" % cid)
    assert status == 204
    status, _ = admin(portico, "GET", "/snis/a.admin.test")
    assert status == 404
    assert presented(port, "a.admin.test")[0] != "admin-a"
    status, config = admin(portico, "GET", "/certificates")
    assert [c["id"] for c in config["data"]] == [second["id"]]


def test_the_schemas_describe_certificates_and_snis(stored):
    status, schema = admin(stored["portico"], "GET", "/schemas/certificates")
    assert status == 200
    fields = {list(f)[0]: list(f.values())[0] for f in schema["fields"]}
    assert fields["cert"]["required"] and fields["key"]["required"] and "cert_alt" in fields
    status, schema = admin(stored["portico"], "GET", "/schemas/snis")
    fields = {list(f)[0]: list(f.values())[0] for f in schema["fields"]}
    assert fields["certificate"]["reference"] == "certificates" and fields["name"]["required"]


# Kong's routes.snis: over TLS, a route with snis serves only connections whose server name
# matches; over plain HTTP the condition does not apply (Kong's `net.protocol != "https" ||
# tls.sni == ...`).
@pytest.fixture(scope="module")
def routed_by_sni(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls-route-snis")
    path = folder / "kong.yml"

    def answering(name, status, **route):
        route.update({"name": name, "plugins": [{"name": "request-termination",
                                                 "config": {"status_code": status, "message": name}}]})
        return route

    path.write_text(json.dumps({"_format_version": "3.0", "routes": [
        answering("api", 201, paths=["/r"], snis=["api.example.com"]),
        answering("wildcard", 202, paths=["/r"], snis=["*.example.org"]),
        answering("https-only", 203, paths=["/s"], protocols=["https"], snis=["s.example.com"]),
        answering("any", 200, paths=["/r"]),
    ]}))
    tls_port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % tls_port])
    wait_for_port(tls_port)
    yield {"portico": portico, "port": tls_port}
    portico.close()


def status_over_tls(port, server_name, path="/r", host="h.test"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            tls.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize("server_name,status", [
    ("api.example.com", 201),
    ("API.example.com", 201),
    ("www.example.org", 202),
    ("other.test", 200),   # no sni route matches: the route without snis
    (None, 200),           # no SNI at all
])
def test_routes_match_the_connections_server_name(routed_by_sni, server_name, status):
    # The Host header does not count: the TLS server name does.
    assert status_over_tls(routed_by_sni["port"], server_name, host="api.example.com") == status


def test_route_snis_do_not_apply_to_plain_http(routed_by_sni):
    with urllib.request.urlopen(routed_by_sni["portico"].url("/r"), timeout=10) as resp:
        assert resp.status == 201  # the snis route ranks first and its snis are not checked
    assert status_over_tls(routed_by_sni["port"], "s.example.com", path="/s") == 203
    assert status_over_tls(routed_by_sni["port"], "t.example.com", path="/s") == 404


def test_route_snis_through_the_admin_api(stored):
    portico = stored["portico"]
    status, err = admin(portico, "POST", "/routes", {"paths": ["/x"], "protocols": ["http"], "snis": ["a.test"]})
    assert status == 400
    assert "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'" in json.dumps(err)
    status, err = admin(portico, "POST", "/routes", {"snis": ["a.*.test"]})
    assert status == 400 and err["fields"]["snis"] == ["wildcard must be leftmost or rightmost character"]
    status, made = admin(portico, "POST", "/routes", {"protocols": ["https"], "snis": ["Route.Test"]})
    assert status == 201, made
    assert made["snis"] == ["route.test"]
    status, _ = admin(portico, "DELETE", "/routes/%s" % made["id"])
    assert status == 204
