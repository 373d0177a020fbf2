"""Host names resolved through a real DNS server (UDP, via --dns-resolver), re-resolved
when their TTL expires, and kept when the DNS server goes silent."""
import json
import time
import urllib.request

from conftest import eventually, free_port, start_named_backend
from dns_server import DnsServer


def backend_seen(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["backend"]


def test_names_follow_dns_changes_and_survive_a_silent_server(start_portico, tmp_path):
    port = free_port()
    one = start_named_backend("127.0.0.1", port, "one")
    two = start_named_backend("127.0.0.2", port, "two")
    dns = DnsServer({"api.test": ["127.0.0.1"], "pool-member.test": ["127.0.0.1"]}, ttl=1)
    try:
        cfg = tmp_path / "kong.yml"
        cfg.write_text("""_format_version: "3.0"
services:
- name: direct
  url: http://api.test:%d
  routes:
  - paths: [/direct]
- name: balanced
  host: pool
  routes:
  - paths: [/balanced]
upstreams:
- name: pool
  targets:
  - target: pool-member.test:%d
""" % (port, port))
        p = start_portico(cfg, ["--dns-resolver", "127.0.0.1:%d" % dns.port])
        assert backend_seen(p.url("/direct")) == "one"
        assert backend_seen(p.url("/balanced")) == "one"

        dns.records["api.test"] = ["127.0.0.2"]
        dns.records["pool-member.test"] = ["127.0.0.2"]
        assert eventually(lambda: backend_seen(p.url("/direct")) == "two"), p.logs()
        assert eventually(lambda: backend_seen(p.url("/balanced")) == "two"), p.logs()
        assert "dns: 'api.test' now resolves to [127.0.0.2]" in p.logs()
        with urllib.request.urlopen("http://127.0.0.1:%d/upstreams/pool/health" % p.admin_port, timeout=5) as r:
            addresses = json.load(r)["data"][0]["data"]["addresses"]
        assert [a["ip"] for a in addresses] == ["127.0.0.2"]

        # The DNS server stops answering: the last good addresses keep serving.
        dns.answering = False
        asked = dns.queries
        time.sleep(3)
        assert dns.queries > asked  # it kept asking on TTL expiry
        for _ in range(5):
            assert backend_seen(p.url("/direct")) == "two"
    finally:
        dns.close()
        for server in (one, two):
            server.shutdown()
            server.server_close()
