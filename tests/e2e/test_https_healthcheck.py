"""Active https health checks against a real TLS server (Python's ssl, a self-signed
certificate made with the openssl command): with verification off the target stays
healthy; with verification on (the default) the untrusted certificate fails the probe."""
import json
import ssl
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import eventually, free_port


class Health(BaseHTTPRequestHandler):
    probes = 0

    def do_GET(self):
        Health.probes += 1
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_tls_server(tmp_path, port):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def health_of(admin_port, upstream):
    with urllib.request.urlopen("http://127.0.0.1:%d/upstreams/%s/health" % (admin_port, upstream), timeout=5) as r:
        return json.load(r)["data"][0]["health"]


def test_https_probes_verify_certificates_unless_told_not_to(start_portico, tmp_path):
    port = free_port()
    server = start_tls_server(tmp_path, port)
    try:
        cfg = tmp_path / "kong.yml"
        probe = """  healthchecks:
    active:
      type: https
      http_path: /health
      timeout: 1
%s      healthy: {interval: 0.2, successes: 1}
      unhealthy: {interval: 0.2, tcp_failures: 1}
  targets:
  - target: 127.0.0.1:%d
"""
        cfg.write_text('_format_version: "3.0"\nupstreams:\n- name: trusting\n' +
                       probe % ("      https_verify_certificate: false\n", port) +
                       '- name: verifying\n' + probe % ("", port))
        p = start_portico(cfg)
        assert eventually(lambda: Health.probes >= 3), p.logs()
        assert health_of(p.admin_port, "trusting") == "HEALTHY"
        assert eventually(lambda: health_of(p.admin_port, "verifying") == "UNHEALTHY"), p.logs()
        assert health_of(p.admin_port, "trusting") == "HEALTHY"
    finally:
        server.shutdown()
        server.server_close()
