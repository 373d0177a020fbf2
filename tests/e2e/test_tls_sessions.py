"""TLS session resumption: tickets sealed with keys that rotate (--ssl-session-ticket-rotation),
older keys still opening the tickets they sealed until the session timeout; one key ring for all
workers; tickets off (Kong's ssl_session_tickets off) falling back to the server's session cache.
Clients: Python's ssl module and the openssl command line (to read a ticket's key name)."""
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import Portico, free_port, wait_for_port


def client_context(tls13=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if not tls13:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def request(port, ctx, session=None):
    """One request over a new TLS connection: (session to resume later, whether this one resumed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(b"GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):  # TLS 1.3 tickets arrive after the handshake
                data += chunk
            assert data.startswith(b"HTTP/1.1 200"), data[:200]
            return tls.session, tls.session_reused


def openssl_session(port, folder, name, resume_from=None):
    """A TLS 1.2 handshake by `openssl s_client`, its new session (if any) saved to folder/name:
    (whether it resumed, the new ticket's key name in hex or None, whether the server sent a
    new ticket)."""
    out_path = folder / name
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
            "-tls1_2", "-msg", "-sess_out", str(out_path)]
    if resume_from:
        args += ["-sess_in", str(folder / resume_from)]
    done = subprocess.run(args, input=b"", capture_output=True, timeout=30)
    text = done.stdout.decode(errors="replace")
    reused = "Reused, TLSv1.2" in text
    new_ticket = "NewSessionTicket" in text
    if not out_path.exists():  # a resumed TLS 1.2 session is not saved again
        return reused, None, new_ticket
    described = subprocess.run(["openssl", "sess_id", "-in", str(out_path), "-noout", "-text"],
                               capture_output=True, timeout=30).stdout.decode()
    # "TLS session ticket:" is followed by a hex dump: "0000 - 3f a1 ...". The first 16 bytes
    # name the key that sealed it (OpenSSL's ticket layout).
    match = re.search(r"TLS session ticket:\s*\n\s*0000 - ((?:[0-9a-f]{2}[ -]+){16})", described)
    key_name = re.sub(r"[^0-9a-f]", "", match.group(1)) if match else None
    return reused, key_name, new_ticket


def start(tmp_path_factory, name, *flags):
    folder = tmp_path_factory.mktemp(name)
    path = folder / "kong.yml"
    path.write_text('_format_version: "3.0"\nroutes:\n- name: t\n  paths: [/t]\n  plugins:\n'
                    '  - name: request-termination\n    config: {status_code: 200, message: ok}\n')
    port = free_port()
    portico = Portico(path, extra_args=["--proxy-listen", "127.0.0.1:%d ssl" % port, *flags])
    wait_for_port(port)
    return portico, port, folder


@pytest.fixture(scope="module")
def rotating(tmp_path_factory):
    portico, port, folder = start(tmp_path_factory, "tls-sessions", "--ssl-session-ticket-rotation", "2")
    yield port, folder
    portico.close()


@pytest.mark.parametrize("tls13", [True, False])
def test_sessions_resume_on_every_worker(rotating, tls13):
    port, _ = rotating
    ctx = client_context(tls13)
    session, reused = request(port, ctx)
    assert not reused
    # Two workers accept on the port (SO_REUSEPORT spreads connections): every one resumes.
    results = [request(port, ctx, session)[1] for _ in range(12)]
    assert all(results), results


def test_a_resumed_tls13_connection_gets_a_ticket_to_resume_again(rotating):
    # As OpenSSL's own keys do, TLS 1.3 resumption renews the ticket: a client always resuming
    # with its latest session (wrk, browsers) never falls back to a full handshake.
    port, _ = rotating
    ctx = client_context(tls13=True)
    session, _ = request(port, ctx)
    chain = []
    for _ in range(10):
        session, reused = request(port, ctx, session)
        chain.append(reused)
    assert chain == [True] * 10, chain


def test_ticket_keys_rotate_and_old_tickets_still_open(rotating):
    port, folder = rotating
    for _ in range(3):  # a rotation may fall between the two handshakes: try again
        first_reused, first_key, _ = openssl_session(port, folder, "first")
        assert not first_reused and first_key, "the gateway issued no session ticket"
        _, same_key, _ = openssl_session(port, folder, "second")
        if same_key == first_key:
            break
    assert same_key == first_key  # one key seals tickets for its rotation period
    # A ticket of the current key resumes as it is: no new ticket.
    reused, _, new_ticket = openssl_session(port, folder, "current", resume_from="second")
    assert reused and not new_ticket
    time.sleep(2.5)
    _, new_key, _ = openssl_session(port, folder, "third")
    assert new_key and new_key != first_key  # a new key after the rotation period
    # The ticket sealed by the previous key still resumes, and the server renews it.
    reused, _, new_ticket = openssl_session(port, folder, "renewed", resume_from="first")
    assert reused and new_ticket


def test_a_ticket_from_another_gateway_is_not_accepted(rotating, tmp_path_factory):
    port, folder = rotating
    openssl_session(port, folder, "mine")
    reused, _, _ = openssl_session(port, folder, "mine-again", resume_from="mine")
    assert reused  # the ticket is good where it was issued...
    other, other_port, other_folder = start(tmp_path_factory, "tls-sessions-other")
    try:
        reused, _, _ = openssl_session(other_port, folder, "theirs", resume_from="mine")
        assert not reused  # ...and nowhere else: each process draws its own keys
    finally:
        other.close()


def test_tickets_off_resumes_from_the_session_cache(tmp_path_factory):
    portico, port, folder = start(tmp_path_factory, "tls-no-tickets", "--ssl-session-tickets", "off")
    try:
        ctx = client_context(tls13=False)
        session, _ = request(port, ctx)
        assert not session.has_ticket  # TLS 1.2 without tickets: a session id
        assert request(port, ctx, session)[1]
        reused, key_name, new_ticket = openssl_session(port, folder, "cached")
        assert not reused and key_name is None and not new_ticket
        reused, _, _ = openssl_session(port, folder, "again", resume_from="cached")
        assert reused
    finally:
        portico.close()


def test_sessions_expire_with_the_session_timeout(tmp_path_factory):
    portico, port, folder = start(tmp_path_factory, "tls-timeout", "--ssl-session-timeout", "1")
    try:
        ctx = client_context()
        session, _ = request(port, ctx)
        assert request(port, ctx, session)[1]
        time.sleep(2.2)
        session2, reused = request(port, ctx, session)
        assert not reused  # past ssl_session_timeout: a full handshake
    finally:
        portico.close()
