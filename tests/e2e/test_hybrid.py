"""Hybrid mode (docs/cluster.md, "Hybrid mode"), all real processes: a control plane on the
embedded store and two data planes with the certificate `portico hybrid gen_cert` made. A
change made on the control plane's Admin API is served by both data planes within a second;
GET /clustering/data-planes lists them with the configuration they run; a data plane keeps
serving when the control plane is killed, starts from its kept configuration while the control
plane is down, and catches up when it is back; a data plane with another certificate is
refused; the options each role refuses."""
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PORTICO_BIN, Backends, eventually, free_port, json_call as call, status_of, stop, wait_for_port


class HybridNode:
    """A Portico process in one role on free loopback ports (status listener always; proxy on a
    data plane; Admin API and cluster listener on a control plane). restart() keeps the ports."""

    def __init__(self, folder, role, args, wait=True):
        self.folder = Path(folder)
        self.role = role
        self.args = list(args)
        self.status_port = free_port()
        self.port = free_port() if role == "data_plane" else None
        self.admin_port = free_port() if role == "control_plane" else None
        self.cluster_port = free_port() if role == "control_plane" else None
        self.log_path = Path(str(self.folder) + ".log")
        self.proc = None
        self.start(wait)

    def command(self):
        args = [PORTICO_BIN, "run", "--role", self.role, "--data-dir", str(self.folder), "--workers", "1",
                "--access-log", "off", "--status-listen", "127.0.0.1:%d" % self.status_port]
        if self.role == "data_plane":
            args += ["--proxy-listen", "127.0.0.1:%d" % self.port]
        else:
            args += ["--admin-listen", "127.0.0.1:%d" % self.admin_port,
                     "--cluster-listen", "127.0.0.1:%d" % self.cluster_port]
        return args + self.args

    def start(self, wait=True):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            wait_for_port(self.status_port, proc=self.proc)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def close(self):
        if self.proc.poll() is None:
            stop(self.proc)
        self.log.close()

    def logs(self):
        return self.log_path.read_text(errors="replace")

    def status(self):
        return call("http://127.0.0.1:%d/status" % self.status_port)[1]

    def ready(self):
        return status_of("http://127.0.0.1:%d/status/ready" % self.status_port)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def admin(self, path):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)


def gen_cert(folder, name):
    cert, key = str(folder / (name + ".crt")), str(folder / (name + ".key"))
    done = subprocess.run([PORTICO_BIN, "hybrid", "gen_cert", cert, key], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return cert, key


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hybrid")
    cert, key = gen_cert(folder, "cluster")
    tls = ["--cluster-cert", cert, "--cluster-cert-key", key]
    backends = Backends()
    nodes = []
    try:
        cp = HybridNode(folder / "cp", "control_plane", tls)
        nodes.append(cp)
        wait_for_port(cp.cluster_port, proc=cp.proc)
        dp_args = tls + ["--cluster-control-plane", "127.0.0.1:%d" % cp.cluster_port]
        dps = [HybridNode(folder / ("dp%d" % i), "data_plane", dp_args) for i in (1, 2)]
        nodes += dps
        for dp in dps:
            assert eventually(lambda: dp.ready() == 200, timeout=10), dp.logs()[-2000:]
        yield {"cp": cp, "dps": dps, "folder": folder, "tls": tls, "backends": backends, "cert": cert}
    finally:
        for n in nodes:
            n.close()
        stop(backends.proc)


def served_by(dps, path, timeout):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(status_of(dp.url(path)) == 200 for dp in dps):
            return time.monotonic() - started
        time.sleep(0.01)
    return None


def test_a_change_on_the_control_plane_is_served_by_every_data_plane_within_a_second(hybrid):
    cp, dps, backends = hybrid["cp"], hybrid["dps"], hybrid["backends"]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    assert call(cp.admin("/services"), "POST", {"name": "users", "url": url})[0] == 201
    assert call(cp.admin("/services/users/routes"), "POST", {"name": "users", "paths": ["/users"]})[0] == 201
    took = served_by(dps, "/users/1", timeout=5)
    assert took is not None and took < 1.0, (took, dps[0].logs()[-2000:])
    # The control plane has no proxy; the data planes have no Admin API.
    assert "control plane: no proxy listener" in cp.logs()
    for dp in dps:
        assert "data plane: no Admin API" in dp.logs()
        assert dp.status()["cluster"]["connected"] is True
        assert dp.status()["database"]["strategy"] == "off"


def test_the_control_plane_lists_its_data_planes_with_what_they_run(hybrid):
    cp, dps = hybrid["cp"], hybrid["dps"]
    wanted = cp.status()["configuration_hash"]
    ids = {dp.status()["node_id"] for dp in dps}

    def listed():
        status, body = call(cp.admin("/clustering/data-planes"))
        assert status == 200, body
        rows = {row["id"]: row for row in body["data"]}
        return ids <= set(rows) and all(rows[i]["config_hash"] == wanted for i in ids), rows

    assert eventually(lambda: listed()[0], timeout=5), listed()[1]
    rows = listed()[1]
    for i in ids:
        row = rows[i]
        assert row["sync_status"] == "normal" and row["connected"] is True
        assert row["ip"] == "127.0.0.1" and row["version"] and row["hostname"]
        assert row["last_seen"] > time.time() - 60 and row["ttl"] > 0
        assert row["cert_details"]["expiry_timestamp"] > time.time()
        assert row["config_error"] is None
    assert cp.status()["cluster"]["data_planes_connected"] >= 2
    # Paging: one per page.
    status, page = call(cp.admin("/clustering/data-planes?size=1"))
    assert status == 200 and len(page["data"]) == 1 and page["next"], page


def test_a_data_plane_keeps_serving_without_its_control_plane_and_starts_from_its_kept_configuration(hybrid):
    cp, dps, backends = hybrid["cp"], hybrid["dps"], hybrid["backends"]
    assert served_by(dps, "/users/1", timeout=5) is not None
    cp.kill()
    assert eventually(lambda: all(dp.status()["cluster"]["connected"] is False for dp in dps), timeout=5)
    assert all(status_of(dp.url("/users/1")) == 200 for dp in dps)
    # A data plane restarted while the control plane is down serves what it kept.
    dps[0].close()
    dps[0].start()
    assert dps[0].ready() == 200, dps[0].logs()[-2000:]
    assert status_of(dps[0].url("/users/1")) == 200
    assert "kept from the last run" in dps[0].logs()
    # The control plane back: a change reaches both (they reconnect with backoff, at most ~10 s).
    cp.start()
    wait_for_port(cp.admin_port, proc=cp.proc)
    url = "http://127.0.0.1:%d/orders" % backends.ports["orders"]
    assert call(cp.admin("/services"), "POST", {"name": "orders", "url": url})[0] == 201
    assert call(cp.admin("/services/orders/routes"), "POST", {"name": "orders", "paths": ["/orders"]})[0] == 201
    assert served_by(dps, "/orders", timeout=15) is not None, dps[1].logs()[-2000:]


def test_a_data_plane_with_another_certificate_is_refused(hybrid, tmp_path):
    cp = hybrid["cp"]
    cert, key = gen_cert(tmp_path, "other")
    intruder = HybridNode(tmp_path / "intruder", "data_plane",
                          ["--cluster-cert", cert, "--cluster-cert-key", key,
                           "--cluster-control-plane", "127.0.0.1:%d" % cp.cluster_port])
    try:
        assert eventually(lambda: "refused a data plane" in cp.logs(), timeout=10), cp.logs()[-2000:]
        assert intruder.ready() == 503
        assert intruder.status()["cluster"]["connected"] is False
        ids = {row["id"] for row in call(cp.admin("/clustering/data-planes"))[1]["data"]}
        assert intruder.status()["node_id"] not in ids
        assert "control plane was refused" in intruder.logs() or "could not reach" in intruder.logs()
    finally:
        intruder.close()


def test_a_data_plane_connecting_again_replaces_its_older_connection(hybrid, tmp_path):
    cp, tls = hybrid["cp"], hybrid["tls"]
    args = tls + ["--cluster-control-plane", "127.0.0.1:%d" % cp.cluster_port]
    first = HybridNode(tmp_path / "twin1", "data_plane", args)
    second = None
    try:
        assert eventually(lambda: first.ready() == 200, timeout=10), first.logs()[-2000:]
        node_id = first.status()["node_id"]
        first.proc.send_signal(signal.SIGSTOP)  # its connection stays open, silent
        (tmp_path / "twin2").mkdir()
        (tmp_path / "twin2" / "node_id").write_text(node_id + "\n")
        second = HybridNode(tmp_path / "twin2", "data_plane", args)
        assert eventually(lambda: second.ready() == 200, timeout=10), second.logs()[-2000:]
        assert second.status()["node_id"] == node_id
        first.kill()

        def row():
            return {r["id"]: r for r in call(cp.admin("/clustering/data-planes"))[1]["data"]}[node_id]

        time.sleep(0.5)
        assert row()["connected"] is True  # the old connection's end does not mark it gone
        second.close()
        assert eventually(lambda: row()["connected"] is False, timeout=5)
    finally:
        if first.proc.poll() is None:
            first.kill()
        if second is not None:
            second.close()


def run_refused(args):
    done = subprocess.run([PORTICO_BIN, "run"] + args, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stderr


def test_each_role_refuses_what_it_cannot_do(hybrid, tmp_path):
    tls = hybrid["tls"]
    assert "cluster certificate and key must be provided" in run_refused(["--role", "data_plane"])
    assert "only in-memory storage can be used when role = \"data_plane\"" in run_refused(
        ["--role", "data_plane", "--database", "postgres://u:p@127.0.0.1:1/x"] + tls)
    assert "a data plane's configuration comes from its control plane" in run_refused(
        ["--role", "data_plane", "-c", str(tmp_path / "kong.yml")] + tls)
    assert "in-memory storage can not be used when role = \"control_plane\"" in run_refused(
        ["--role", "control_plane", "-c", str(tmp_path / "kong.yml")] + tls)
    assert "cluster_ca_cert must be specified" in run_refused(["--role", "control_plane", "--cluster-mtls", "pki"] + tls)
    missing = run_refused(["--role", "control_plane", "--data-dir", str(tmp_path / "d"),
                           "--cluster-cert", str(tmp_path / "none.crt"), "--cluster-cert-key", tls[3]])
    assert "cluster_cert: failed loading certificate from" in missing, missing
    # gen_cert does not overwrite.
    done = subprocess.run([PORTICO_BIN, "hybrid", "gen_cert", hybrid["cert"], str(tmp_path / "k")],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "already exists" in done.stderr


def test_clustering_endpoints_say_when_the_node_is_no_control_plane(start_portico, tmp_path):
    config = tmp_path / "kong.yml"
    config.write_text("_format_version: \"3.0\"\n")
    node = start_portico(config)
    status, body = call(node.admin("/clustering/data-planes"))
    assert status == 400 and "only available when Portico is configured to run as Control Plane" in body["message"]


def make_ca(folder, name):
    """A CA (certificate, key) made with openssl."""
    cert, key = str(folder / (name + ".crt")), str(folder / (name + ".key"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-subj", "/CN=" + name, "-days", "30",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    return cert, key


def make_leaf(folder, name, ca, alt_names):
    """A certificate for `alt_names` signed by `ca`: (certificate, key)."""
    cert, key, csr, ext = (str(folder / (name + s)) for s in (".crt", ".key", ".csr", ".ext"))
    Path(ext).write_text("subjectAltName=%s\n" % alt_names)
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", csr, "-subj", "/CN=" + name], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                    "-out", cert, "-days", "30", "-extfile", ext], check=True, capture_output=True)
    return cert, key


def test_pki_mode_verifies_both_sides_against_the_ca(tmp_path):
    ca = make_ca(tmp_path, "cluster-ca")
    other_ca = make_ca(tmp_path, "other-ca")
    cp_cert = make_leaf(tmp_path, "cp", ca, "IP:127.0.0.1,DNS:cp.test")
    dp_cert = make_leaf(tmp_path, "dp", ca, "DNS:dp.test")
    stranger = make_leaf(tmp_path, "stranger", other_ca, "DNS:dp.test")
    pki = ["--cluster-mtls", "pki", "--cluster-ca-cert", ca[0]]
    cp = HybridNode(tmp_path / "cp", "control_plane", pki + ["--cluster-cert", cp_cert[0], "--cluster-cert-key", cp_cert[1]])
    nodes = [cp]
    try:
        wait_for_port(cp.cluster_port, proc=cp.proc)
        where = ["--cluster-control-plane", "127.0.0.1:%d" % cp.cluster_port]
        good = HybridNode(tmp_path / "good", "data_plane", pki + where + ["--cluster-cert", dp_cert[0], "--cluster-cert-key", dp_cert[1]])
        nodes.append(good)
        assert eventually(lambda: good.ready() == 200, timeout=10), good.logs()[-2000:]
        # A data plane whose certificate another CA signed: the control plane refuses it.
        refused = HybridNode(tmp_path / "refused", "data_plane",
                             pki + where + ["--cluster-cert", stranger[0], "--cluster-cert-key", stranger[1]])
        nodes.append(refused)
        # A data plane expecting another name on the control plane's certificate refuses it.
        wrong_name = HybridNode(tmp_path / "wrong", "data_plane",
                                pki + where + ["--cluster-cert", dp_cert[0], "--cluster-cert-key", dp_cert[1],
                                               "--cluster-server-name", "elsewhere.test"])
        nodes.append(wrong_name)
        assert eventually(lambda: "is not for elsewhere.test" in wrong_name.logs(), timeout=10), wrong_name.logs()[-2000:]
        assert eventually(lambda: "could not reach the control plane" in refused.logs(), timeout=10), refused.logs()[-2000:]
        assert refused.ready() == 503 and wrong_name.ready() == 503
        rows = call(cp.admin("/clustering/data-planes"))[1]["data"]
        assert [row["id"] for row in rows] == [good.status()["node_id"]]
    finally:
        for n in nodes:
            n.close()
