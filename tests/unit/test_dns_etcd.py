"""devnet.dns.store = etcd against a REAL etcd (Debian's etcd-server) on loopback: the layout,
the gateway client, publishing under a lease, the watch-driven union view, collisions, a lease
that expires, and the last view kept while etcd is away."""

import logging
import time

import dns.message
import dns.rcode
import pytest

from devnet.dns import etcd_layout as layout
from devnet.dns import etcd_status, export
from devnet.dns.etcd_client import EtcdClient, EtcdError, Tls
from devnet.dns.etcd_member import Member, free_port, start_cluster, wait_ready
from devnet.dns.etcd_service import EtcdStore
from devnet.dns.names import Naming, Records
from devnet.dns.zone import Zone

NAMING = Naming("docker", "dev")


@pytest.fixture(scope="module")
def member(tmp_path_factory):
    ip = "127.0.0.71"
    m = Member("unit", ip, tmp_path_factory.mktemp("etcd") / "unit.etcd", free_port(ip),
               free_port(ip))
    try:
        start_cluster([m])
        yield m
    finally:
        m.stop()


def rec(name, ip, cid=None, image="nginx"):
    primary = f"{name}.{image}.dev.docker"
    return Records(cid=cid or f"{name}{'0' * 60}", primary=primary,
                   names=[primary, f"{image}.dev.docker", f"{name}.docker"], ipv4=[ip],
                   srv=[(f"_80._tcp.{primary}", 80)])


def ask(zone, name, rdtype="A"):
    resp, _ = zone.answer(dns.message.make_query(name, rdtype))
    return resp.rcode(), sorted(r.to_text() for rrset in resp.answer for r in rrset)


def wait_for(check, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"not within {timeout}s: {check}")


class Host(EtcdStore):
    """One devnet DNS service's etcd side: a zone, its union, publisher and view."""

    def __init__(self, name, endpoints, prefix, lease_ttl=2):
        self.zone = Zone(NAMING, 30, "172.17.42.1", ["172.17.0.0/16"])
        super().__init__(self.zone, endpoints, prefix, name, 30, lease_ttl)
        self.start()

    def stop(self):
        self.publisher.stopping.set()
        self.publisher.wake.set()
        self.view.stopping.set()


@pytest.fixture
def hosts(member, request):
    prefix = f"/skydns-{request.node.name[:20]}"
    made = []

    def make(name, **kw):
        made.append(Host(name, [member.client_url], prefix, **kw))
        return made[-1]

    yield make
    for h in made:
        h.stop()


def test_layout_is_coredns_path_and_round_trips():
    r = rec("web", "172.17.0.8")
    keys = layout.encode("/skydns", "vm-a", r, 30)
    (key, value), = keys.items()
    assert key == "/skydns/docker/dev/nginx/web/vm-a-web000000000"
    assert layout.path_name("/skydns", key) == "web.nginx.dev.docker"
    host, back = layout.decode(value)
    assert host == "vm-a" and back == r
    assert '"host":"172.17.0.8"' in value and '"port":80' in value and '"ttl":30' in value


def test_second_address_is_its_own_key_with_the_owner_only():
    r = rec("web", "172.17.0.8")
    r.ipv4.append("172.18.0.3")
    keys = layout.encode("/t", "a", r, 5)
    assert len(keys) == 2
    second = keys["/t/docker/dev/nginx/web/a-web000000000-1"]
    assert layout.decode(second) is None and layout.host_of(second) == "a"


def test_corefile_names_path_endpoints_and_tls():
    text = layout.corefile("docker", "/team1", ["https://10.0.0.1:2379"],
                           Tls("/ca.pem", "/c.pem", "/k.pem"))
    assert "etcd {" in text and "path /team1" in text
    assert "endpoint https://10.0.0.1:2379" in text and "tls /c.pem /k.pem /ca.pem" in text


def test_client_range_txn_and_lease_expiry(member):
    c = EtcdClient([member.client_url])
    lease = c.grant(1)
    c.txn({"/c/a": "1", "/c/b": "2"}, lease=lease)
    kvs, rev = c.range("/c/")
    assert kvs == [("/c/a", "1"), ("/c/b", "2")] and rev > 0
    c.txn({}, ["/c/a"])
    assert c.range("/c/")[0] == [("/c/b", "2")]
    wait_for(lambda: not c.range("/c/")[0], timeout=4)  # the lease expired with its key
    assert c.keepalive(lease) == 0


def test_dead_endpoint_first_costs_one_failure(member):
    dead = f"http://127.0.0.71:{free_port('127.0.0.71')}"
    c = EtcdClient([dead, member.client_url])
    c.range("/x")
    assert c.current == member.client_url
    with pytest.raises(EtcdError, match="no etcd endpoint answered"):
        EtcdClient([dead]).range("/x")


def test_a_container_on_a_resolves_on_b_and_goes(hosts):
    a, b = hosts("vm-a"), hosts("vm-b")
    wait_for(lambda: b.view.connected and a.publisher.connected)
    a.sink.upsert(rec("web", "172.17.0.8"))
    assert ask(a.zone, "web.nginx.dev.docker") == (dns.rcode.NOERROR, ["172.17.0.8"])
    wait_for(lambda: ask(b.zone, "web.nginx.dev.docker")[1] == ["172.17.0.8"], 1.0)
    assert ask(b.zone, "web.docker")[1] == ["172.17.0.8"]
    assert ask(b.zone, "_80._tcp.web.nginx.dev.docker", "SRV")[1] == [
        "0 0 80 web.nginx.dev.docker."]
    a.sink.remove(rec("web", "x").cid)
    wait_for(lambda: ask(b.zone, "web.nginx.dev.docker")[0] == dns.rcode.NXDOMAIN, 1.0)
    assert ask(a.zone, "web.nginx.dev.docker")[0] == dns.rcode.NXDOMAIN


def test_collision_answers_both_and_is_logged(hosts, caplog):
    caplog.set_level(logging.WARNING, "devnet.dns.etcd")
    a, b = hosts("vm-a"), hosts("vm-b")
    wait_for(lambda: b.view.connected and a.view.connected)
    a.sink.upsert(rec("db", "172.17.0.5"))
    b.sink.upsert(rec("db", "172.17.0.9"))
    both = ["172.17.0.5", "172.17.0.9"]
    for h in (a, b):
        wait_for(lambda h=h: ask(h.zone, "db.nginx.dev.docker")[1] == both, 1.0)
    assert "db.nginx.dev.docker runs on hosts vm-a, vm-b" in caplog.text
    assert b.union.hosts() == {"vm-a": 1, "vm-b": 1}


def test_resync_replaces_only_this_hosts_records(hosts):
    a, b = hosts("vm-a"), hosts("vm-b")
    wait_for(lambda: b.view.connected and a.publisher.connected)
    a.sink.upsert(rec("one", "172.17.0.2"))
    wait_for(lambda: ask(b.zone, "one.nginx.dev.docker")[1] == ["172.17.0.2"])
    b.sink.replace_all([rec("two", "172.17.0.3")])  # b's registrar resyncs: a's names stay
    assert ask(b.zone, "one.nginx.dev.docker")[1] == ["172.17.0.2"]
    a.sink.replace_all([rec("three", "172.17.0.4")])
    wait_for(lambda: ask(b.zone, "one.nginx.dev.docker")[0] == dns.rcode.NXDOMAIN)
    wait_for(lambda: ask(b.zone, "three.nginx.dev.docker")[1] == ["172.17.0.4"])


def test_a_dead_host_loses_its_names_when_its_lease_expires(hosts):
    a, b = hosts("vm-a", lease_ttl=2), hosts("vm-b")
    wait_for(lambda: b.view.connected and a.publisher.connected)
    a.sink.upsert(rec("gone", "172.17.0.7"))
    wait_for(lambda: ask(b.zone, "gone.nginx.dev.docker")[1] == ["172.17.0.7"])
    a.stop()  # no revoke, no delete: as if powered off
    start = time.monotonic()
    took = wait_for(lambda: ask(b.zone, "gone.nginx.dev.docker")[0] == dns.rcode.NXDOMAIN,
                    4.0) - start
    assert took > 0.5  # the lease, not something else, removed it


def test_last_view_kept_while_etcd_is_away_then_caught_up(tmp_path):
    ip = "127.0.0.72"
    m = Member("away", ip, tmp_path / "away.etcd", free_port(ip), free_port(ip))
    made = []
    try:
        start_cluster([m])
        a, b = Host("vm-a", [m.client_url], "/skydns"), Host("vm-b", [m.client_url], "/skydns")
        made += [a, b]
        wait_for(lambda: b.view.connected and a.publisher.connected)
        a.sink.upsert(rec("kept", "172.17.0.6"))
        wait_for(lambda: ask(b.zone, "kept.nginx.dev.docker")[1] == ["172.17.0.6"])
        m.stop()
        wait_for(lambda: not b.view.connected, 6.0)
        assert b.view.status()["etcd_error"]
        assert ask(b.zone, "kept.nginx.dev.docker")[1] == ["172.17.0.6"]  # the last view
        a.sink.upsert(rec("later", "172.17.0.10"))
        m.start(f"away={m.peer_url}")
        wait_ready([m.client_url])
        wait_for(lambda: ask(b.zone, "later.nginx.dev.docker")[1] == ["172.17.0.10"], 6.0)
        wait_for(lambda: b.view.connected)  # set just after the zone took the view
    finally:
        for h in made:
            h.stop()
        m.stop()


def test_status_lines_and_doctor_follow_the_view(hosts):
    a = hosts("vm-a")
    wait_for(lambda: a.view.connected and a.publisher.connected)
    st = a.status()
    lines = etcd_status.describe(st)
    assert lines[0].startswith("store: etcd /skydns-") and "as host vm-a; watching" in lines[0]
    assert "key(s) under lease" in lines[1]
    assert etcd_status.doctor_check({"store": st}).startswith("following http://127.0.0.71")
    away = {**st, "etcd_connected": False, "etcd_for": 12, "etcd_error": "refused",
            "hosts": {"vm-b": 3}}
    assert "UNREACHABLE for 12s (refused): answering from the last view" in \
        etcd_status.describe(away)[0]
    with pytest.raises(etcd_status.ViewProblem, match=r"last view \(3 container"):
        etcd_status.doctor_check({"store": away})
    with pytest.raises(etcd_status.ViewProblem, match="runs with memory"):
        etcd_status.doctor_check({"store": {"kind": "memory"}})


def test_export_prints_etcdctl_puts_and_a_corefile(member, hosts, capsys):
    a = hosts("vm-a")
    wait_for(lambda: a.publisher.connected)
    a.sink.upsert(rec("api", "172.17.0.11"))
    wait_for(lambda: a.publisher.status()["published"] == 1)
    export.main(["--store", "etcd", "--etcd-endpoint", member.client_url,
                 "--etcd-prefix", a.prefix, "--etcd-host", "vm-a"])
    out = capsys.readouterr().out
    assert f"etcdctl put {a.prefix}/docker/dev/nginx/api/vm-a-api000000000 " in out
    assert '"host":"172.17.0.11"' in out
    assert f"path {a.prefix}" in out and f"endpoint {member.client_url}" in out


def test_three_members_one_killed_the_view_follows(tmp_path):
    ip = "127.0.0.73"
    members = [Member(f"m{i}", ip, tmp_path / f"m{i}.etcd", free_port(ip), free_port(ip))
               for i in range(3)]
    made = []
    try:
        start_cluster(members)
        endpoints = [m.client_url for m in members]
        a, b = Host("vm-a", endpoints, "/skydns"), Host("vm-b", endpoints, "/skydns")
        made += [a, b]
        wait_for(lambda: b.view.connected and a.publisher.connected)
        a.sink.upsert(rec("before", "172.17.0.20"))
        wait_for(lambda: ask(b.zone, "before.nginx.dev.docker")[1] == ["172.17.0.20"])
        members[0].stop()  # the endpoint both were using
        a.sink.upsert(rec("after", "172.17.0.21"))
        wait_for(lambda: ask(b.zone, "after.nginx.dev.docker")[1] == ["172.17.0.21"], 2.0)
        assert ask(b.zone, "before.nginx.dev.docker")[1] == ["172.17.0.20"]
        assert b.view.client.current != members[0].client_url
    finally:
        for h in made:
            h.stop()
        for m in members:
            m.stop()
