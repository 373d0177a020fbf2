"""Three Portico nodes on one PostgreSQL behind HAProxy, all real (tests/e2e/cluster.py): a
change on one node is served by all within a second; Admin API writes under load fail no
proxied request; PostgreSQL stopped for 10 s under load fails no proxied request, admin writes
answer 503 meanwhile and every node catches up after; a SIGKILLed node is routed around and
rejoins with the current configuration; a rate limit is exact across the three nodes (Redis);
the proxy cache's entries in Redis answer on every node and a purge through one reaches all.
And the migrations: Kong's verbs, several bootstraps at once applying the schema once."""
import re
import subprocess
import threading
import time
import urllib.request

import pytest

from cluster import HAProxy, Node, Postgres, migrations
from conftest import Backends, PORTICO_BIN, eventually, json_call as call, status_of, stop
from test_rate_limiting_redis import Redis


class Wrk:
    """wrk in the background for `seconds`; result() is (requests, failures, output): failures
    count non-2xx/3xx answers and socket errors (connect, read, write, timeout)."""

    def __init__(self, url, seconds, connections=32):
        self.proc = subprocess.Popen(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "5s", url],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.seconds = seconds

    def result(self):
        out, _ = self.proc.communicate(timeout=self.seconds + 60)
        m = re.search(r"(\d+) requests in", out)
        assert m, out
        failures = 0
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            failures += int(non2xx.group(1))
        sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if sockets:
            failures += sum(int(x) for x in sockets.groups())
        return int(m.group(1)), failures, out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    backends = Backends()
    pg = Postgres(folder / "pg")
    redis = Redis()
    nodes, haproxy = [], None
    try:
        done = migrations("bootstrap", pg.uri())
        assert done.returncode == 0, done.stdout + done.stderr
        nodes = [Node(folder / ("node%d" % i), pg.uri()) for i in (1, 2, 3)]
        haproxy = HAProxy(folder, nodes)
        # A service and route every test can load through HAProxy.
        assert call(nodes[0].admin("/services"), "POST",
                    {"name": "users", "url": "http://127.0.0.1:%d/users" % backends.ports["users"]})[0] == 201
        assert call(nodes[0].admin("/services/users/routes"), "POST", {"name": "users", "paths": ["/users"]})[0] == 201
        for n in nodes:
            assert eventually(lambda: status_of(n.url("/users/1")) == 200, timeout=5), n.logs()[-2000:]
        assert eventually(lambda: status_of(haproxy.url("/users/1")) == 200, timeout=10)
        yield {"pg": pg, "nodes": nodes, "haproxy": haproxy, "backends": backends, "redis": redis, "folder": folder}
    finally:
        if haproxy:
            haproxy.close()
        for n in nodes:
            n.close()
        redis.close()
        pg.close()
        stop(backends.proc)


def served_everywhere(nodes, path, timeout):
    """Seconds until each node answers `path` with a 200 (None: not within `timeout`)."""
    started = time.monotonic()
    seen = [None] * len(nodes)
    while time.monotonic() - started < timeout and None in seen:
        for i, n in enumerate(nodes):
            if seen[i] is None and status_of(n.url(path)) == 200:
                seen[i] = time.monotonic() - started
        time.sleep(0.005)
    return seen


def test_a_service_and_route_made_on_node_1_are_served_by_all_three_within_a_second(cluster):
    nodes, backends = cluster["nodes"], cluster["backends"]
    assert call(nodes[0].admin("/services"), "POST",
                {"name": "orders", "url": "http://127.0.0.1:%d/orders" % backends.ports["orders"]})[0] == 201
    status, route = call(nodes[0].admin("/services/orders/routes"), "POST", {"name": "orders", "paths": ["/orders"]})
    assert status == 201, route
    seen = served_everywhere(nodes, "/orders", timeout=5)
    assert None not in seen and max(seen) < 1.0, seen
    # The other nodes' Admin APIs answer it too, with the same id, and report the same revision.
    for n in nodes[1:]:
        assert call(n.admin("/routes/orders"))[1]["id"] == route["id"]
    revisions = {n.status()["database"]["revision"] for n in nodes}
    assert len(revisions) == 1, revisions
    ids = {n.status()["node_id"] for n in nodes}
    assert len(ids) == 3  # each node its own identity
    # A delete on node 2 reaches every node the same way.
    assert call(nodes[1].admin("/routes/orders"), "DELETE")[0] == 204
    started = time.monotonic()
    while time.monotonic() - started < 5 and any(status_of(n.url("/orders")) != 404 for n in nodes):
        time.sleep(0.01)
    assert [status_of(n.url("/orders")) for n in nodes] == [404, 404, 404]
    assert time.monotonic() - started < 1.0


def test_a_name_taken_on_another_node_is_refused_everywhere(cluster):
    nodes, backends = cluster["nodes"], cluster["backends"]
    url = "http://127.0.0.1:%d/products" % backends.ports["products"]
    assert call(nodes[1].admin("/services"), "POST", {"name": "products", "url": url})[0] == 201
    # Node 3 writes at once: whether or not it has heard of node 2's write, the store decides.
    status, body = call(nodes[2].admin("/services"), "POST", {"name": "products", "url": url})
    assert status == 409, body
    assert body["name"] == "unique constraint violation"


def test_writes_on_three_nodes_at_once_are_all_kept(cluster):
    """Each node's writes race the others' in the store (a commit prepared at an older revision
    is refused, read again, validated again): every write lands once, everywhere."""
    nodes, backends = cluster["nodes"], cluster["backends"]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    answers = []
    lock = threading.Lock()
    start = threading.Barrier(3)

    def writer(k):
        start.wait()
        for i in range(15):
            status, body = call(nodes[k].admin("/services"), "POST", {"name": "race-%d-%d" % (k, i), "url": url})
            with lock:
                answers.append((status, body))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a for a in answers if a[0] != 201] == []
    revision = max(n.status()["database"]["revision"] for n in nodes)
    assert eventually(lambda: all(n.status()["database"]["revision"] == revision for n in nodes), timeout=3)
    for n in nodes:
        names = [s["name"] for s in call(n.admin("/services?size=1000"))[1]["data"]]
        assert sorted(x for x in names if x.startswith("race-")) == sorted(
            "race-%d-%d" % (k, i) for k in range(3) for i in range(15))


def test_one_name_raced_on_three_nodes_is_created_once(cluster):
    nodes, backends = cluster["nodes"], cluster["backends"]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    for round_ in range(5):
        statuses = [None] * 3
        start = threading.Barrier(3)

        def writer(k):
            start.wait()
            statuses[k] = call(nodes[k].admin("/services"), "POST", {"name": "contested-%d" % round_, "url": url})[0]

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [201, 409, 409], statuses


def test_admin_writes_under_load_through_haproxy_fail_no_request(cluster):
    nodes, haproxy, backends = cluster["nodes"], cluster["haproxy"], cluster["backends"]
    load = Wrk(haproxy.url("/users/1"), seconds=6)
    time.sleep(0.5)
    made = []
    deadline = time.time() + 4.5
    i = 0
    while time.time() < deadline:
        name = "load-%d" % i
        status, body = call(haproxy.admin("/services"), "POST",
                            {"name": name, "url": "http://127.0.0.1:%d/users" % backends.ports["users"]})
        assert status == 201, body
        status, body = call(haproxy.admin("/services/%s/routes" % name), "POST", {"paths": ["/" + name]})
        assert status == 201, body
        made.append(name)
        i += 1
    requests, failures, out = load.result()
    assert requests > 1000 and failures == 0, out
    assert len(made) >= 10
    for n in nodes:
        assert eventually(lambda: all(status_of(n.url("/%s/1" % m)) == 200 for m in made[-3:]), timeout=3)


def test_postgres_stopped_for_ten_seconds_under_load(cluster):
    pg, nodes, haproxy, backends = cluster["pg"], cluster["nodes"], cluster["haproxy"], cluster["backends"]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    load = Wrk(haproxy.url("/users/1"), seconds=18)
    time.sleep(1)
    pg.stop()
    stopped_at = time.monotonic()
    try:
        for n in nodes:
            status, body = call(n.admin("/services"), "POST", {"name": "while-down", "url": url})
            assert status == 503, body
            assert "database is unavailable" in body["message"], body
            # Reads answer from memory.
            status, body = call(n.admin("/services/users"))
            assert status == 200 and body["name"] == "users"
        assert eventually(lambda: all(not n.status()["database"]["reachable"] for n in nodes), timeout=5)
        assert status_of(haproxy.url("/users/1")) == 200
        time.sleep(max(0.0, 10 - (time.monotonic() - stopped_at)))
    finally:
        pg.start()
    # The first write after the outage: its node connects again on demand (at most once a
    # second while the database was away: a write in that second may still be told 503)...
    answers = []
    assert eventually(lambda: answers.append(call(nodes[0].admin("/services"), "POST",
                                                  {"name": "after-outage", "url": url})) or answers[-1][0] == 201,
                      timeout=5), answers
    assert all(a[0] == 503 for a in answers[:-1]), answers
    assert call(nodes[0].admin("/services/after-outage/routes"), "POST", {"paths": ["/after-outage"]})[0] == 201
    # ...and the others catch up once they are back (reconnect backoff is at most 5 s).
    seen = served_everywhere(nodes, "/after-outage/1", timeout=10)
    assert None not in seen, seen
    assert eventually(lambda: all(n.status()["database"]["reachable"] for n in nodes), timeout=10)
    requests, failures, out = load.result()
    assert requests > 1000 and failures == 0, out
    # Nothing was half-made while the database was down.
    assert call(nodes[2].admin("/services/while-down"))[0] == 404


def test_a_database_that_stops_answering_under_load(cluster):
    """The database's processes SIGSTOPped: connections stay open and nothing answers (a host
    gone from the network). Proxied requests never notice; Admin API reads answer from memory
    within the revision check's 2 s; writes answer 503; after, everything catches up."""
    pg, nodes, haproxy, backends = cluster["pg"], cluster["nodes"], cluster["haproxy"], cluster["backends"]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    load = Wrk(haproxy.url("/users/1"), seconds=14)
    time.sleep(1)
    pg.freeze()
    try:
        for n in nodes:
            started = time.monotonic()
            status, body = call(n.admin("/services/users"), timeout=15)
            assert status == 200 and body["name"] == "users"
            assert time.monotonic() - started < 3.5
        # Once a node knows, its reads no longer wait at all.
        for n in nodes:
            started = time.monotonic()
            assert call(n.admin("/services/users"), timeout=15)[0] == 200
            assert time.monotonic() - started < 0.5
        status, body = call(nodes[0].admin("/services"), "POST", {"name": "while-frozen", "url": url}, timeout=40)
        assert status == 503, body
        time.sleep(4)
    finally:
        pg.thaw()
    assert eventually(lambda: call(nodes[0].admin("/services"), "POST",
                                   {"name": "after-freeze", "url": url})[0] == 201, timeout=15)
    assert call(nodes[0].admin("/services/after-freeze/routes"), "POST", {"paths": ["/after-freeze"]})[0] == 201
    seen = served_everywhere(nodes, "/after-freeze/1", timeout=15)
    assert None not in seen, seen
    requests, failures, out = load.result()
    assert requests > 1000 and failures == 0, out


def test_a_killed_node_is_routed_around_and_rejoins(cluster):
    nodes, haproxy, backends = cluster["nodes"], cluster["haproxy"], cluster["backends"]
    victim = nodes[1]
    load = Wrk(haproxy.url("/users/1"), seconds=10, connections=64)
    time.sleep(1.5)
    victim.proc.kill()
    victim.proc.wait()
    # Changed while it is dead: it must come back with this.
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    assert call(nodes[0].admin("/services"), "POST", {"name": "while-dead", "url": url})[0] == 201
    assert call(nodes[0].admin("/services/while-dead/routes"), "POST", {"paths": ["/while-dead"]})[0] == 201
    time.sleep(2)
    victim.restart()
    assert status_of(victim.url("/while-dead/1")) == 200
    requests, failures, out = load.result()
    assert requests > 1000 and failures == 0, out
    # HAProxy sends it traffic again: once its health checks see it up (two in a row, 200 ms
    # apart, which a loaded machine may delay), requests through HAProxy reach each node in turn.
    before = victim.status()["server"]["total_requests"]

    def victim_served_through_haproxy():
        for _ in range(6):
            assert status_of(haproxy.url("/users/1")) == 200
        return victim.status()["server"]["total_requests"] > before
    assert eventually(victim_served_through_haproxy, timeout=10)


def test_a_rate_limit_is_exact_across_the_three_nodes(cluster):
    nodes, haproxy, backends, redis = cluster["nodes"], cluster["haproxy"], cluster["backends"], cluster["redis"]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    assert call(nodes[0].admin("/services"), "POST", {"name": "limited", "url": url})[0] == 201
    assert call(nodes[0].admin("/services/limited/routes"), "POST", {"paths": ["/limited"]})[0] == 201
    limit = 300
    status, body = call(nodes[0].admin("/services/limited/plugins"), "POST",
                        {"name": "rate-limiting", "config": {"day": limit, "policy": "redis", "limit_by": "ip",
                                                              "redis": {"host": "127.0.0.1", "port": redis.port}}})
    assert status == 201, body
    # Every node at the revision that has the plugin (no request spent on finding out).
    revision = nodes[0].status()["database"]["revision"]
    assert eventually(lambda: all(n.status()["database"]["revision"] == revision for n in nodes), timeout=3)
    while time.gmtime().tm_hour == 23 and time.gmtime().tm_min == 59 and time.gmtime().tm_sec >= 50:
        time.sleep(1)
    counts = {}
    lock = threading.Lock()
    before = [n.status()["server"]["total_requests"] for n in nodes]

    def client():
        for _ in range(40):
            s = status_of(haproxy.url("/limited/1"))
            with lock:
                counts[s] = counts.get(s, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = [n.status()["server"]["total_requests"] for n in nodes]
    assert all(a - b >= 100 for a, b in zip(after, before)), (before, after)  # all three took part
    assert counts == {200: limit, 429: 480 - limit}, counts


def cache_status(url):
    """(X-Cache-Status, X-Cache-Key) of a GET, with the Host clients send through a load balancer
    (the cache key has the host)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": "api.test"}), timeout=5) as r:
        r.read()
        return r.headers.get("X-Cache-Status"), r.headers.get("X-Cache-Key")


def test_the_proxy_cache_in_redis_is_shared_and_purged_on_every_node(cluster):
    nodes, backends, redis = cluster["nodes"], cluster["backends"], cluster["redis"]
    url = "http://127.0.0.1:%d/users" % backends.ports["users"]
    assert call(nodes[0].admin("/services"), "POST", {"name": "cached", "url": url})[0] == 201
    assert call(nodes[0].admin("/services/cached/routes"), "POST", {"name": "cached", "paths": ["/cached"]})[0] == 201
    status, body = call(nodes[0].admin("/routes/cached/plugins"), "POST",
                        {"name": "proxy-cache", "config": {"strategy": "redis", "content_type": ["*/*"],
                                                           "redis": {"host": "127.0.0.1", "port": redis.port}}})
    assert status == 201, body
    revision = nodes[0].status()["database"]["revision"]
    assert eventually(lambda: all(n.status()["database"]["revision"] == revision for n in nodes), timeout=3)

    def stored_everywhere(key):
        return eventually(lambda: all(call(n.admin("/proxy-cache/" + key))[0] == 200 for n in nodes), timeout=3)

    miss, key = cache_status(nodes[0].url("/cached/1"))
    assert miss == "Miss"
    assert stored_everywhere(key)
    assert [cache_status(n.url("/cached/1")) for n in nodes[1:]] == [("Hit", key), ("Hit", key)]
    # A purge by path through node 3: node 2 misses next.
    status, body = call(nodes[2].admin("/cache/purge/cached/1"), "POST")
    assert (status, body["purged"]) == (200, 1), body
    assert cache_status(nodes[1].url("/cached/1")) == ("Miss", key)
    assert stored_everywhere(key)
    assert cache_status(nodes[0].url("/cached/1")) == ("Hit", key)
    # Everything, through node 1: node 3 misses next.
    assert call(nodes[0].admin("/proxy-cache"), "DELETE")[0] == 204
    assert cache_status(nodes[2].url("/cached/1")) == ("Miss", key)


def test_db_import_into_postgres_reaches_running_nodes_and_exports_back(cluster, tmp_path):
    pg, nodes, backends = cluster["pg"], cluster["nodes"], cluster["backends"]
    kong_yml = tmp_path / "kong.yml"
    # 80 entities: more than a catch-up applies one by one, so the nodes load every row.
    services = "".join("""- name: imported-%d
  url: http://127.0.0.1:%d/users
  routes:
  - name: imported-%d
    paths: [/imported-%d]
""" % (i, backends.ports["users"], i, i) for i in range(40))
    kong_yml.write_text('_format_version: "3.0"\nservices:\n' + services)
    done = subprocess.run([PORTICO_BIN, "config", "--database", pg.uri(), "db_import", str(kong_yml)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "imported 80 entities into PostgreSQL portico@127.0.0.1:%d/portico" % pg.port in done.stdout, done.stdout
    seen = served_everywhere(nodes, "/imported-39/1", timeout=5)
    assert None not in seen, seen
    exported = subprocess.run([PORTICO_BIN, "config", "--database", pg.uri(), "db_export"], capture_output=True,
                              text=True, timeout=60)
    assert exported.returncode == 0, exported.stderr
    assert 'name: "imported-7"' in exported.stdout and 'name: "users"' in exported.stdout


def test_migrations_verbs_and_several_bootstraps_at_once(cluster):
    pg = cluster["pg"]
    pg.psql("CREATE DATABASE fresh")
    uri = pg.uri("fresh")
    listed = migrations("list", uri)
    assert listed.returncode == 3 and "needs bootstrapping" in listed.stdout, listed
    # A node refuses a database that was not bootstrapped, saying what to run.
    run = subprocess.run([PORTICO_BIN, "run", "--database", uri, "--proxy-listen", "127.0.0.1:0",
                          "--admin-listen", "off"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1 and "portico migrations bootstrap" in run.stderr, run.stderr
    # Three at once: one bootstraps, the others wait on the lock and find it done.
    procs = [subprocess.Popen([PORTICO_BIN, "migrations", "--database", uri, "bootstrap"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert sum("migrated 1 (000_base)" in o[0] and "migrated 2 (001_nodes)" in o[0] for o in outs) == 1, outs
    assert sum("already bootstrapped" in o[0] for o in outs) == 2, outs
    assert pg.psql("SELECT count(*) FROM portico_migrations", database="fresh").stdout.strip() == "2"
    listed = migrations("list", uri)
    assert listed.returncode == 0 and "000_base" in listed.stdout and "up-to-date" in listed.stdout, listed
    up = migrations("up", uri)
    assert up.returncode == 0 and "already up-to-date" in up.stdout, up
    # A database of an older Portico (before 001_nodes): a node says to run `up`, which adds it.
    pg.psql("DROP TABLE portico_nodes; DELETE FROM portico_migrations WHERE version = 2", database="fresh")
    run = subprocess.run([PORTICO_BIN, "run", "--database", uri, "--proxy-listen", "127.0.0.1:0",
                          "--admin-listen", "off"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1 and "portico migrations up" in run.stderr, run.stderr
    up = migrations("up", uri)
    assert up.returncode == 0 and "migrated 2 (001_nodes)" in up.stdout, up
    # A bad password is a clear start-up error, without the password in it.
    bad = uri.replace("s3cret-for-tests", "wrong-password")
    run = subprocess.run([PORTICO_BIN, "run", "--database", bad, "--proxy-listen", "127.0.0.1:0",
                          "--admin-listen", "off"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1 and "password authentication failed" in run.stderr, run.stderr
    assert "wrong-password" not in run.stderr


def test_every_node_is_listed_with_its_configuration(cluster):
    """GET /clustering/nodes on any node lists the three, each with the store revision it is at
    (the version of the configuration, the same on every node once a change reached them) and
    the configuration hash it serves (its own /status's: hashes follow each node's history of
    changes, so they are compared per node)."""
    nodes = cluster["nodes"]
    assert call(nodes[1].admin("/services"), "POST", {"name": "listed", "url": "http://127.0.0.1:9"})[0] == 201
    statuses = [call(n.admin("/status"))[1] for n in nodes]
    ids = [s["node_id"] for s in statuses]
    seen = []

    def listed_alike():
        now = [call(n.admin("/status"))[1] for n in nodes]
        status, body = call(nodes[2].admin("/clustering/nodes"))
        seen[:] = [status, body, now]
        if status != 200:
            return False
        rows = {r["node_id"]: r for r in body["data"]}
        return all(i in rows for i in ids) and \
            all(rows[s["node_id"]]["config_hash"] == s["configuration_hash"] and
                rows[s["node_id"]]["revision"] == s["database"]["revision"] for s in now) and \
            len({s["database"]["revision"] for s in now}) == 1
    assert eventually(listed_alike, timeout=15), (ids, seen)
    status, body = call(nodes[2].admin("/clustering/nodes"))
    mine = [r for r in body["data"] if r["this_node"]]
    assert len(mine) == 1 and mine[0]["node_id"] == ids[2]
    assert all(r["version"] and r["hostname"] and r["last_seen"] > 0 for r in body["data"])
