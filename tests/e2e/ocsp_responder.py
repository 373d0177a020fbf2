"""OCSP test kit for stapling tests: a PKI whose leaf names an OCSP responder in its
Authority Information Access extension, a real `openssl ocsp` responder serving that
leaf's status from an OpenSSL CA index (good, then revoked on demand), and a probe that
asks a TLS server for a stapled response with `openssl s_client -status`.

The responder is a child process: whoever starts it must stop it. In a pytest fixture,
stop it after the yield (or with request.addfinalizer(responder.stop)) so it is killed
even when a test fails; it is also a context manager:

    pki = make_ocsp_pki(folder, port)
    responder = OcspResponder(pki, port)
    yield ...
    responder.stop()
"""
import datetime
import os
import re
import socket
import subprocess
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID

from conftest import stop as _stop_process
from test_tls import _name, localhost_leaf


def make_ocsp_pki(folder, responder_port, ca_issuers=False):
    """A CA and a leaf for localhost / 127.0.0.1 whose AIA names the OCSP responder at
    http://127.0.0.1:<responder_port>/ (and, with ca_issuers, a caIssuers URL on the same
    port, which nothing serves). Returns the file paths: "ca" and "ca_key" (the CA),
    "leaf" (the leaf alone), "chain" (leaf then CA, what a stapling server is given: it
    needs the issuer to build its OCSP request), "key" (the leaf's key), and "serial"
    (the leaf's serial, an int) and "ocsp_url"."""
    now = datetime.datetime.now(datetime.timezone.utc)
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Portico OCSP Test CA")).issuer_name(_name("Portico OCSP Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    ocsp_url = "http://127.0.0.1:%d/" % responder_port
    access = [x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]
    if ca_issuers:
        access.append(x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                             x509.UniformResourceIdentifier(ocsp_url + "ca.der")))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = localhost_leaf(ca, ca_key, key, now, [
        x509.AuthorityInformationAccess(access),
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())])
    paths = {"ca": folder / "ca.pem", "ca_key": folder / "ca.key", "leaf": folder / "leaf.pem",
             "chain": folder / "chain.pem", "key": folder / "key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(pem))
    paths["ca_key"].write_bytes(ca_key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    paths["leaf"].write_bytes(leaf.public_bytes(pem))
    paths["chain"].write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    paths["key"].write_bytes(key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    paths["serial"] = leaf.serial_number
    paths["ocsp_url"] = ocsp_url
    return paths


def _index_time(when):
    return when.astimezone(datetime.timezone.utc).strftime("%y%m%d%H%M%SZ")


def _index_serial(serial):
    # Uppercase hex, whole bytes, as `openssl ca` writes it (the index's serial lookup
    # ignores leading zeros, so the padding is cosmetic; lowercase would not match).
    digits = "%X" % serial
    return "0" + digits if len(digits) % 2 else digits


class OcspResponder:
    """`openssl ocsp` answering for the leaf of make_ocsp_pki on port <port> (OpenSSL 3.0's
    -port takes a number only: it listens on [::], all interfaces, dual-stack, so
    127.0.0.1 reaches it), signing with the CA itself. Responses carry thisUpdate = now
    and nextUpdate = now + ndays days + nmin minutes (no nextUpdate if both are None).
    The constructor returns once the responder answers HTTP. Its output is in `log`
    (folder/ocsp.log); `requests` counts the OCSP requests it received. Always stop() it.

    OpenSSL 3.0's responder is fragile, hence two rules here:
    - it runs with -ignore_err: without it the first malformed request (even the
      load-balancer probe "GET / HTTP/1.0") makes it exit after answering;
    - nothing here connects without sending a request: a connection closed before the
      request line leaves it spinning at 100% CPU on the dead socket, serving nobody.
      (A client under test that does so wedges it the same way.)"""

    def __init__(self, pki, port, ndays=1, nmin=None, folder=None):
        self.pki = pki
        self.port = port
        self.ndays = ndays
        self.nmin = nmin
        self.folder = folder or pki["ca"].parent
        self.index = self.folder / "index.txt"
        self.log = self.folder / "ocsp.log"
        self.proc = None
        leaf = x509.load_pem_x509_certificate(pki["leaf"].read_bytes())
        # not_valid_after (naive UTC) rather than _utc: Debian's python3-cryptography is 38.
        self._expiry = leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        self.status = "V"
        self.revoked_at = None
        self.reason = None
        (self.folder / "index.txt.attr").write_text("unique_subject = no\n")
        self.log.write_bytes(b"")  # then appended to across restarts
        self._write_index()
        self.start()

    def _write_index(self):
        revoked = ""
        if self.status == "R":
            revoked = _index_time(self.revoked_at) + ("," + self.reason if self.reason else "")
        line = "\t".join([self.status, _index_time(self._expiry), revoked,
                          _index_serial(self.pki["serial"]), "unknown", "/CN=localhost"])
        # Replaced, not rewritten in place: a new inode is a change the responder notices.
        tmp = self.index.with_name(self.index.name + ".new")
        tmp.write_text(line + "\n")
        os.replace(tmp, self.index)

    def command(self):
        cmd = ["openssl", "ocsp", "-index", str(self.index), "-port", str(self.port),
               "-rsigner", str(self.pki["ca"]), "-rkey", str(self.pki["ca_key"]), "-CA", str(self.pki["ca"]),
               "-ignore_err", "-timeout", "5"]
        if self.ndays is not None:
            cmd += ["-ndays", str(self.ndays)]
        if self.nmin is not None:
            cmd += ["-nmin", str(self.nmin)]
        return cmd

    def _probe(self, timeout=2.0):
        """One "GET / HTTP/1.0", which the responder answers 200 OK and then goes back
        round its loop (where it reloads a changed index). True if it answered."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                reply = b""
                while chunk := s.recv(1024):
                    reply += chunk
                return reply.startswith(b"HTTP/1.0 200")
        except OSError:
            return False

    def start(self, timeout=15.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("openssl ocsp exited with %s:\n%s" % (self.proc.returncode, self.log.read_text()))
            if self._probe(timeout=0.5):
                return self
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("openssl ocsp did not answer on port %d:\n%s" % (self.port, self.log.read_text()))
            time.sleep(0.05)

    def stop(self):
        """Terminates the responder (SIGTERM, then SIGKILL after 5 s) and reaps it; safe to
        call twice or after a failed start."""
        if self.proc is not None:
            _stop_process(self.proc, timeout=5)

    def restart(self):
        self.stop()
        return self.start()

    @property
    def requests(self):
        """Requests received so far, over restarts, less the "GET /" probes made here: one
        per OCSP request (POST, or GET with the request in the path)."""
        text = self.log.read_text(errors="replace")
        return text.count("Received request, 1st line:") - text.count("Received request, 1st line: GET / HTTP/1.")

    def revoke(self, when=None, reason=None, restart=False):
        """Marks the leaf revoked (at `when`, default a minute ago; `reason` e.g.
        "keyCompromise"). The running responder reloads a changed index, but only before
        it accepts a connection: if it is idle in accept(), the next request would still
        get the old status. So this probes it once after rewriting the index, and every
        request after revoke() returns is answered "revoked". With restart=True the
        responder is restarted instead (same port, a moment with the port closed)."""
        self.status = "R"
        self.revoked_at = when or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        self.reason = reason
        self._apply(restart)

    def unrevoke(self, restart=False):
        """Marks the leaf good again (as revoke() does it)."""
        self.status, self.revoked_at, self.reason = "V", None, None
        self._apply(restart)

    def _apply(self, restart):
        self._write_index()
        if restart:
            self.restart()
        elif not self._probe():
            raise RuntimeError("openssl ocsp did not answer after the index changed:\n%s" % self.log.read_text())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


_RESPONSE_STATUS = re.compile(r"^\s*OCSP Response Status:\s*(\w+)", re.M)
_CERT_STATUS = re.compile(r"^\s*Cert Status:\s*(\w+)", re.M)
_UPDATE = re.compile(r"^\s*(This|Next) Update:\s*(.+?)\s*$", re.M)
_HANDSHAKE = re.compile(r"^New, TLSv[\d.]+, Cipher is ", re.M)


def stapled_status(port, servername="localhost", ca=None, timeout=10, extra_args=()):
    """Connects with `openssl s_client -status` (stdin /dev/null, so it leaves right after
    the handshake) and reports what the server stapled:
    {"stapled": bool,            # any OCSP response at all ("no response sent": False)
     "response_status": "successful" | "tryLater" | ... | None,
     "cert_status": "good" | "revoked" | "unknown" | None,
     "this_update": str | None, "next_update": str | None,  # as s_client prints them
     "handshake": bool,          # the TLS handshake completed
     "verified": bool | None,    # with `ca`: chain and host name verified; else None
     "raw": s_client's stdout and stderr}.
    extra_args go to s_client (e.g. ["-tls1_2"])."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", servername, "-status"]
    if ca is not None:
        cmd += ["-CAfile", str(ca), "-verify_hostname", servername]
    cmd += list(extra_args)
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    raw = out.stdout + out.stderr
    result = {"stapled": "OCSP Response Data:" in raw, "response_status": None, "cert_status": None,
              "this_update": None, "next_update": None, "handshake": bool(_HANDSHAKE.search(raw)),
              "verified": None if ca is None else "Verify return code: 0 (ok)" in raw, "raw": raw}
    if result["stapled"]:
        for key, pattern in (("response_status", _RESPONSE_STATUS), ("cert_status", _CERT_STATUS)):
            m = pattern.search(raw)
            result[key] = m.group(1) if m else None
        for which, value in _UPDATE.findall(raw):
            result[which.lower() + "_update"] = value
    return result
