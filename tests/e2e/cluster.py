"""Real parts of a Portico cluster for the tests: a PostgreSQL 15 server made with initdb in a
temporary folder (run as the unprivileged `postgres` user when the tests run as root, on a free
loopback port), Portico nodes on one database, and Debian's HAProxy in front of them. Every
process is stopped by its pid."""
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import Portico, free_port, wait_for_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PASSWORD = "s3cret-for-tests"


def _as_postgres():
    """Popen arguments that run a command as the `postgres` user when we are root (initdb
    refuses root), else none. No runuser in between: the pid we hold is the server's, and
    stopping the server (SIGSTOP) does not stop an intermediate process with it."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def _give_to_postgres(path):
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


class Postgres:
    """initdb into `folder`, then a server on 127.0.0.1:port, password authentication for the
    role `portico` (the superuser), a database `portico`."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        # The server's user must reach its folder (pytest's temporary folders are 0700).
        for parent in [self.folder] + list(self.folder.parents):
            if str(parent) in ("/", "/tmp"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o711)
        _give_to_postgres(self.folder)
        self.data = self.folder / "data"
        pwfile = self.folder / "pw"
        pwfile.write_text(PG_PASSWORD + "\n")
        _give_to_postgres(pwfile)
        subprocess.run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "portico",
                        "--pwfile", str(pwfile), "--auth-host=scram-sha-256",
                        "--auth-local=trust", "--locale=C.UTF-8", "--encoding=UTF8"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=str(self.folder),
                       **_as_postgres())
        pwfile.unlink()
        self.port = free_port()
        self.log_path = self.folder / "postgres.log"
        self.start()
        self.psql("CREATE DATABASE portico", database="postgres")

    def start(self):
        log = open(self.log_path, "a")
        _give_to_postgres(self.log_path)
        # postgres itself (not pg_ctl): its pid is the one to signal.
        self.proc = subprocess.Popen([str(PG_BIN / "postgres"), "-D", str(self.data),
                                      "-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
                                      "-c", "unix_socket_directories=" + str(self.folder),
                                      "-c", "fsync=off", "-c", "max_connections=200"],
                                     stdout=log, stderr=subprocess.STDOUT, cwd=str(self.folder), **_as_postgres())
        log.close()
        wait_for_port(self.port, timeout=30, proc=self.proc)
        deadline = time.time() + 30
        while self.psql("SELECT 1", database="postgres", check=False).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError("postgres did not accept connections")
            time.sleep(0.1)

    def stop(self):
        """Fast shutdown (SIGINT to the postmaster: sessions are ended, the server stops)."""
        if self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGQUIT)
            self.proc.wait()

    def _server_processes(self):
        """The postmaster (our child) and its children (backends, checkpointer...)."""
        master = self.proc.pid
        pids = [master]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path("/proc/%s/stat" % entry).read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry))
        return pids

    def freeze(self):
        """SIGSTOP to every server process: connections stay open and nothing answers, as
        when the database's host stops answering on the network. (The kernel still completes
        TCP handshakes on the listening socket; the startup exchange gets no answer.)"""
        for pid in self._server_processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        for pid in self._server_processes():
            os.kill(pid, signal.SIGCONT)

    def uri(self, database="portico"):
        return "postgres://portico:%s@127.0.0.1:%d/%s" % (PG_PASSWORD, self.port, database)

    def psql(self, sql, database="portico", check=True):
        env = dict(os.environ, PGPASSWORD=PG_PASSWORD)
        return subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "portico",
                               "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                              env=env, check=check, capture_output=True, text=True)

    def close(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def migrations(verb, uri):
    """`portico migrations VERB --database URI`: the completed process."""
    from conftest import PORTICO_BIN
    return subprocess.run([PORTICO_BIN, "migrations", "--database", uri, verb], capture_output=True, text=True,
                          timeout=120)


class Node(Portico):
    """A Portico node on the PostgreSQL store, with a status listener (HAProxy's health check).
    `folder` names its log. restart() starts it again on the same ports."""

    def __init__(self, folder, uri, extra_args=()):
        self.status_port = free_port()
        self.uri = uri
        self.extra = list(extra_args)
        super().__init__(None, self._args(), data_dir=folder)

    def _args(self):
        return ["--database", self.uri, "--status-listen", "127.0.0.1:%d" % self.status_port,
                "--db-update-frequency", "1"] + self.extra

    def restart(self):
        """Starts the node again on its ports (after it was killed)."""
        from conftest import PORTICO_BIN, stop
        import subprocess
        if self.proc.poll() is None:
            stop(self.proc)
        self.log.close()
        self.log = open(self.log_path, "a")
        args = [PORTICO_BIN, "run", "--data-dir", str(self.data_dir), "--proxy-listen", "127.0.0.1:%d" % self.port,
                "--admin-listen", "127.0.0.1:%d" % self.admin_port, "--workers", "2", "--access-log", "off"]
        self.proc = subprocess.Popen(args + self._args(), stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, proc=self.proc)
        wait_for_port(self.status_port, proc=self.proc)

    def status(self, path="/status"):
        import json
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.status_port, path), timeout=5) as r:
            return json.loads(r.read())


HAPROXY_CONFIG = """
global
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout queue 5s
  retries 3
  option redispatch 1
  # A node killed mid-request leaves an empty answer: HAProxy tries the GET elsewhere.
  retry-on all-retryable-errors
frontend proxy
  bind 127.0.0.1:{proxy}
  default_backend nodes
frontend admin
  bind 127.0.0.1:{admin}
  default_backend admins
backend nodes
  balance roundrobin
  option httpchk GET /status/ready
  default-server inter 200ms fall 2 rise 2
{servers}
backend admins
  balance roundrobin
  # Admin calls are not idempotent: sent again only when the connection was refused.
  retry-on conn-failure
  option httpchk GET /status/ready
  default-server inter 200ms fall 2 rise 2
{admins}
"""


class HAProxy:
    """HAProxy on free loopback ports in front of `nodes`: the proxy ports (health-checked on
    the nodes' status listeners) and, as a second frontend, their Admin APIs."""

    def __init__(self, folder, nodes):
        self.port = free_port()
        self.admin_port = free_port()
        servers = "\n".join("  server n%d 127.0.0.1:%d check port %d" % (i + 1, n.port, n.status_port)
                            for i, n in enumerate(nodes))
        admins = "\n".join("  server a%d 127.0.0.1:%d check port %d" % (i + 1, n.admin_port, n.status_port)
                           for i, n in enumerate(nodes))
        self.config = Path(folder) / "haproxy.cfg"
        self.config.write_text(HAPROXY_CONFIG.format(proxy=self.port, admin=self.admin_port, servers=servers,
                                                     admins=admins))
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def admin(self, path):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
