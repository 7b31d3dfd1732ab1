"""Forwarding like a resolver: answers kept for their TTL (negative: the SOA minimum),
identical questions in flight coalesced, no thread per query, and the zone's names answered
at once while forwarded questions hang on a silent upstream."""

import socket
import threading
import time

import dns.message
import dns.rcode
import dns.rrset
import pytest

from devnet.dns.names import Naming
from devnet.dns.server import Server, udp_socket
from devnet.dns.upstream import Upstream
from devnet.dns.wire import shape
from devnet.dns.zone import Zone
from tests.unit.test_dns_server import HOST, addrs, ask, container


class FakeUpstream:
    """A UDP server on loopback: `a.test` has an A (TTL 60), `gone.test` is NXDOMAIN (SOA TTL
    300, minimum 5); it answers after `delay` seconds, or never when silent."""

    def __init__(self, delay=0.0, silent=False):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.asked: list[str] = []
        self.delay, self.silent = delay, silent
        threading.Thread(target=self._loop, daemon=True).start()

    @property
    def spec(self):
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _loop(self):
        while True:
            wire, addr = self.sock.recvfrom(4096)
            q = dns.message.from_wire(wire)
            self.asked.append(q.question[0].name.to_text())
            if not self.silent:
                threading.Timer(self.delay, self._answer, (q, addr)).start()

    def _answer(self, q, addr):
        r = dns.message.make_response(q)
        name = q.question[0].name
        if name.to_text().startswith("gone."):
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(dns.rrset.from_text(
                "test.", 300, "IN", "SOA", "ns.test. h.test. 1 2 3 4 5"))
        else:
            r.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.10"))
        self.sock.sendto(r.to_wire(), addr)


@pytest.fixture
def zone():
    z = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    z.replace_all([container("u1", "172.17.0.8")])
    return z


def test_answers_are_cached_for_their_ttl(zone):
    up = FakeUpstream()
    server = Server(zone, Upstream([up.spec]), ["172.16.0.0/16"])
    for name in ("a.test", "A.Test", "a.TEST"):
        resp, q = ask(server, name)
        assert addrs(resp) == ["192.0.2.10"] and resp.question[0].name == q.question[0].name
        assert 59 <= resp.answer[0].ttl <= 60
    assert up.asked == ["a.test."]


def test_negative_answers_are_cached_by_the_soa_minimum(zone):
    up = FakeUpstream()
    server = Server(zone, Upstream([up.spec]), ["172.16.0.0/16"])
    for _ in range(3):
        assert ask(server, "gone.test")[0].rcode() == dns.rcode.NXDOMAIN
    assert up.asked == ["gone.test."]
    nx = dns.message.make_response(dns.message.make_query("gone.test", "A"))
    nx.set_rcode(dns.rcode.NXDOMAIN)
    nx.authority.append(dns.rrset.from_text("test.", 300, "IN", "SOA", "a. b. 1 2 3 4 5"))
    assert shape(nx.to_wire())[1] == 5
    nx.authority.clear()
    assert shape(nx.to_wire())[1] == 0  # no SOA: not cached (RFC 2308 5)
    nx.set_rcode(dns.rcode.SERVFAIL)
    assert shape(nx.to_wire())[1] == 0


def test_an_answer_is_kept_for_its_smallest_ttl_and_its_opt_found():
    q = dns.message.make_query("a.test", "A", use_edns=0)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("a.test.", 60, "IN", "CNAME", "b.test."))
    r.answer.append(dns.rrset.from_text("b.test.", 20, "IN", "A", "192.0.2.1"))
    w = r.to_wire()
    qend, keep, opt_at = shape(w)
    assert keep == 20 and opt_at == len(w) - 11 and w[12:qend] == q.to_wire()[12:qend]
    with pytest.raises(ValueError):
        shape(w[:-3])


def test_identical_questions_in_flight_are_coalesced(zone):
    up = FakeUpstream(delay=0.3)
    server = Server(zone, Upstream([up.spec]), ["172.16.0.0/16"])
    results = []
    threads = [threading.Thread(target=lambda: results.append(ask(server, "a.test")[0]))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and all(addrs(r) == ["192.0.2.10"] for r in results)
    assert up.asked == ["a.test."] and server.forwarder.stats["forward_coalesced"] >= 10


def test_forwarding_holds_no_thread_per_query_and_zone_names_never_wait(zone):
    """500 distinct questions hang on a silent upstream; the zone's names are still answered
    at once through the real UDP loop, and the process gained a fixed few threads."""
    up = FakeUpstream(silent=True)
    server = Server(zone, Upstream([up.spec]), ["127.0.0.0/8"])
    sock = udp_socket(("127.0.0.1", 0))
    before = threading.active_count()
    threading.Thread(target=server.serve_udp, args=(sock,), daemon=True).start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(1.0)
    for i in range(500):
        client.sendto(dns.message.make_query(f"h{i}.test", "A").to_wire(), sock.getsockname())
    time.sleep(0.3)
    assert len(server.forwarder.pending) == 500
    for i in range(20):  # each a new question: the zone lane, not the hot path
        q = dns.message.make_query("u1.docker" if i % 2 else f"x{i}.docker", "A")
        client.sendto(q.to_wire(), sock.getsockname())
        while True:
            resp = dns.message.from_wire(client.recv(4096))
            if resp.id == q.id:
                break
        assert resp.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
    assert threading.active_count() - before <= 6  # UDP loop, 2 zone workers, forwarder
    deadline = time.monotonic() + 3
    while server.forwarder.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.forwarder.pending and server.forwarder.stats["forward_timeout"] == 500


def test_an_answer_from_the_wrong_source_or_id_is_ignored(zone):
    up = FakeUpstream(delay=0.2)
    server = Server(zone, Upstream([up.spec]), ["172.16.0.0/16"])
    got = []
    t = threading.Thread(target=lambda: got.append(ask(server, "a.test")[0]))
    t.start()
    time.sleep(0.05)
    spoof = dns.message.make_response(dns.message.make_query("a.test", "A"))
    spoof.answer.append(dns.rrset.from_text("a.test.", 60, "IN", "A", "6.6.6.6"))
    liar = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in server.forwarder._socks:
        for qid in range(1, 64):  # from the wrong address: never taken, whatever the ID
            spoof.id = qid
            liar.sendto(spoof.to_wire(), s.getsockname())
    t.join()
    assert addrs(got[0]) == ["192.0.2.10"]
    assert addrs(ask(server, "a.test")[0]) == ["192.0.2.10"]


def test_recursion_still_refused_for_outsiders(zone):
    up = FakeUpstream()
    server = Server(zone, Upstream([up.spec]), ["172.16.0.0/16"])
    assert ask(server, "a.test", ip="203.0.113.9")[0].rcode() == dns.rcode.REFUSED
    assert not up.asked and ask(server, "a.test", ip=HOST)[0].answer
