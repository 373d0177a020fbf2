"""OCSP stapling (--ssl-stapling): the gateway asks the certificate's OCSP responder (a real
`openssl ocsp`, named in the leaf's Authority Information Access) and staples the verified
answer; `openssl s_client -status` is the client. The --ssl-cert certificate and a
`certificates` entity chosen by SNI are both stapled; without the flag nothing is asked;
a revoked certificate's answer is not stapled (as nginx); a responder that is down never
holds a handshake up."""
import json
import time

import pytest

from conftest import Portico, eventually, free_port, wait_for_port
from ocsp_responder import OcspResponder, make_ocsp_pki, stapled_status


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ocsp")
    port = free_port()
    paths = make_ocsp_pki(folder, port)
    paths["port"] = port
    paths["folder"] = folder
    return paths


@pytest.fixture
def responder(pki):
    r = OcspResponder(pki, pki["port"])
    yield r
    r.stop()


def gateway(pki, name, stapling=True, entity=False):
    """A gateway with one TLS listener; its certificate from --ssl-cert, or (entity) from a
    `certificates` entity for localhost while --ssl-cert is the self-signed default."""
    config = {"_format_version": "3.0", "services": [
        {"name": "s", "url": "http://127.0.0.1:9", "routes": [{"paths": ["/"]}]}]}
    args = ["--proxy-listen", "127.0.0.1:%d ssl" % free_port()]
    if entity:
        config["certificates"] = [{"cert": pki["chain"].read_text(), "key": pki["key"].read_text(),
                                   "snis": [{"name": "localhost"}]}]
    else:
        args += ["--ssl-cert", str(pki["chain"]), "--ssl-cert-key", str(pki["key"])]
    if stapling:
        args += ["--ssl-stapling", "on"]
    path = pki["folder"] / ("%s.yml" % name)
    path.write_text(json.dumps(config))
    portico = Portico(path, extra_args=args)
    portico.tls_port = int(args[1].split(":")[1].split()[0])
    wait_for_port(portico.tls_port)
    return portico


@pytest.mark.parametrize("entity", [False, True], ids=["ssl-cert", "certificate-entity"])
def test_a_good_answer_is_stapled(pki, responder, entity):
    portico = gateway(pki, "good-%s" % entity, entity=entity)
    try:
        assert eventually(lambda: stapled_status(portico.tls_port)["stapled"], timeout=10), portico.logs()[-2000:]
        status = stapled_status(portico.tls_port, ca=pki["ca"])
        assert status["cert_status"] == "good" and status["verified"], status["raw"][-2000:]
        assert responder.requests >= 1
        # Asked once, then stapled from memory: more handshakes do not reach the responder.
        asked = responder.requests
        for _ in range(3):
            assert stapled_status(portico.tls_port)["cert_status"] == "good"
        assert responder.requests == asked
    finally:
        portico.close()


def test_nothing_is_asked_or_stapled_without_the_flag(pki, responder):
    portico = gateway(pki, "off", stapling=False)
    try:
        time.sleep(1)  # with stapling on, the first answer is fetched within milliseconds of the start
        status = stapled_status(portico.tls_port)
        assert status["handshake"] and not status["stapled"]
        assert responder.requests == 0
    finally:
        portico.close()


def test_a_revoked_certificate_is_not_stapled(pki, responder):
    responder.revoke(reason="keyCompromise")
    portico = gateway(pki, "revoked")
    try:
        assert eventually(lambda: "the responder says the certificate is revoked" in portico.logs(), timeout=10)
        status = stapled_status(portico.tls_port)
        assert status["handshake"] and not status["stapled"]
    finally:
        portico.close()
        responder.unrevoke()


def test_a_responder_that_is_down_holds_no_handshake_up(pki):
    portico = gateway(pki, "down")  # no responder runs on its port
    try:
        assert eventually(lambda: "OCSP responder http://127.0.0.1:%d/" % pki["port"] in portico.logs(), timeout=10)
        status = stapled_status(portico.tls_port)
        assert status["handshake"] and not status["stapled"]
    finally:
        portico.close()
