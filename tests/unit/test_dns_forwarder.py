"""Forwarding like a resolver: answers kept for their TTL (negative: the SOA minimum),
identical questions in flight coalesced, no thread per query, and the zone's names answered
at once while forwarded questions hang on a silent upstream."""

import socket
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rrset
import pytest

from devnet.dns.forwarder import Answer
from devnet.dns.names import Naming
from devnet.dns.server import Server
from devnet.dns.udp_loop import udp_socket
from devnet.dns.upstream import Upstream
from devnet.dns.wire import aged, reply, shape
from devnet.dns.zone import Zone
from tests.unit.conftest import tcp_and_udp_on_one_port
from tests.unit.test_dns_server import HOST, addrs, ask, container


class FakeUpstream:
    """A UDP server on loopback: `a.test` has an A (TTL 60), `gone.test` is NXDOMAIN (SOA TTL
    300, minimum 5); it answers after `delay` seconds, or never when silent."""

    def __init__(self, delay=0.0, silent=False, sock=None):
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
        self.sock = sock
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


def response(q, answer=(), authority=()) -> bytes:
    """The wire form of an answer to q with these (name, ttl, type, value) records."""
    r = dns.message.make_response(q)
    for section, records in ((r.answer, answer), (r.authority, authority)):
        for name, ttl, rdtype, value in records:
            section.append(dns.rrset.from_text(name, ttl, "IN", rdtype, value))
    return r.to_wire()


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
    w = response(q, [("a.test.", 60, "CNAME", "b.test."), ("b.test.", 20, "A", "192.0.2.1")])
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


def test_plain_questions_in_flight_from_the_udp_loop_are_coalesced_each_client_its_answer(
        zone):
    up = FakeUpstream(delay=0.3)
    server = Server(zone, Upstream([up.spec]), ["127.0.0.0/8"])
    sock = udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(sock,), daemon=True).start()
    asked = []
    for i in range(10):
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(3)
        q = dns.message.make_query("A.Test" if i % 2 else "a.test", "A", use_edns=i % 3 == 0)
        client.sendto(q.to_wire(), sock.getsockname())
        asked.append((client, q))
    for client, q in asked:
        resp = dns.message.from_wire(client.recv(4096))
        assert resp.id == q.id and resp.question[0].name.to_text() == q.question[0].name.to_text()
        assert addrs(resp) == ["192.0.2.10"] and resp.edns == q.edns
        client.close()
    # one upstream query per distinct question: with EDNS and without
    assert sorted(up.asked) == ["a.test.", "a.test."] and server.stats["slow"] == 0
    assert server.forwarder.stats["forward_coalesced"] == 8


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
    # Answered while all 500 still hang: none has timed out, none was answered.
    assert len(server.forwarder.pending) == 500 and not server.forwarder.stats["forward_timeout"]
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


class BigUpstream(FakeUpstream):
    """Answers `big.*` with 60 A records (over 512 bytes), in the form dnspython renders."""

    def _answer(self, q, addr):
        if not q.question[0].name.to_text().startswith("big."):
            return super()._answer(q, addr)
        r = dns.message.make_response(q)
        r.answer.append(dns.rrset.from_text_list(q.question[0].name, 60, "IN", "A",
                                                 [f"192.0.2.{i}" for i in range(1, 61)]))
        self.sock.sendto(r.to_wire(), addr)


@pytest.fixture
def loop(zone):
    """A server's real UDP loop (forwarder attached) and a client asking it."""
    up = BigUpstream()
    server = Server(zone, Upstream([up.spec]), ["127.0.0.0/8"])
    sock = udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(sock,), daemon=True).start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(3)

    def ask_loop(q):
        client.sendto(q.to_wire(), sock.getsockname())
        return dns.message.from_wire(client.recv(65535))

    return server, up, ask_loop


@pytest.mark.parametrize("edns", [None, 0])
def test_plain_forwarded_questions_are_relayed_by_the_udp_loop(loop, edns):
    server, up, ask_loop = loop
    q = dns.message.make_query("A.tEsT", "A", use_edns=edns, want_dnssec=edns == 0)
    q.flags |= dns.flags.CD
    resp = ask_loop(q)
    assert resp.id == q.id and resp.question[0].name.to_text() == "A.tEsT."  # the case kept
    assert addrs(resp) == ["192.0.2.10"] and resp.flags & dns.flags.RA
    assert resp.flags & dns.flags.CD and not resp.flags & dns.flags.AA
    assert resp.edns == (-1 if edns is None else 0)
    if edns == 0:
        assert resp.payload == 1232 and resp.ednsflags & dns.flags.DO
    assert server.stats["slow"] == 0 and up.asked == ["a.test."]  # no parse, no lane


def test_an_answer_over_the_clients_size_is_truncated_and_tcp_gets_it_whole(loop, zone):
    server, _, ask_loop = loop
    resp = ask_loop(dns.message.make_query("big.test", "A"))
    assert resp.flags & dns.flags.TC and not resp.answer and server.stats["truncated"] == 1
    assert len(addrs(ask_loop(dns.message.make_query("big.test", "A", use_edns=0)))) == 60
    tcp, _ = ask(server, "big.test", ip="127.0.0.1", udp=False)
    assert len(addrs(tcp)) == 60


def test_a_silent_upstream_gives_servfail_for_the_question_asked():
    z = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    server = Server(z, Upstream([FakeUpstream(silent=True).spec], budget=0.2), ["127.0.0.0/8"])
    sock = udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(sock,), daemon=True).start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(3)
    q = dns.message.make_query("Quiet.test", "AAAA", use_edns=0)
    client.sendto(q.to_wire(), sock.getsockname())
    resp = dns.message.from_wire(client.recv(4096))
    assert resp.rcode() == dns.rcode.SERVFAIL and resp.id == q.id and resp.edns == 0
    assert resp.question == q.question and resp.question[0].name.to_text() == "Quiet.test."


def test_a_cached_answer_is_relayed_with_its_ttls_aged():
    q = dns.message.make_query("a.test", "A", use_edns=0)
    raw = response(q, [("a.test.", 60, "A", "192.0.2.1")], [("test.", 300, "NS", "ns.test.")])
    qend, _, opt_at = shape(raw)
    out = dns.message.from_wire(reply(q.to_wire(), qend, True, False, 1232, raw, opt_at, 7.9))
    assert out.answer[0].ttl == 53 and out.authority[0].ttl == 293 and out.edns == 0
    assert aged(raw, 100).count(b"\x00\x00\x00\x00") >= 1  # never below 0
    assert dns.message.from_wire(aged(raw, 100)).answer[0].ttl == 0


def test_the_zone_knows_its_names_in_wire_form(zone):
    for name, owned in (("u1.docker.", True), ("docker.", True), ("xdocker.", False),
                        ("docker.test.", False), ("8.0.17.172.in-addr.arpa.", True),
                        ("8.0.18.172.in-addr.arpa.", False), (".", False)):
        wire = dns.name.from_text(name).to_wire()
        assert zone.owns_wire(wire) is owned, name


@pytest.mark.parametrize("edns,rcode", [(None, "NOERROR"), (0, "NOERROR"), (0, "NXDOMAIN")])
def test_the_relayed_bytes_say_what_dnspython_would_render(zone, edns, rcode):
    server = Server(zone, Upstream([]), ["127.0.0.0/8"])
    q = dns.message.make_query("Www.Example.test", "A", use_edns=edns)
    up_q = dns.message.make_query("www.example.test", "A", use_edns=edns)
    r = dns.message.make_response(up_q)
    r.set_rcode(dns.rcode.from_text(rcode))
    if rcode == "NOERROR":
        r.answer.append(dns.rrset.from_text("www.example.test.", 60, "IN", "CNAME", "b.test."))
        r.answer.append(dns.rrset.from_text("b.test.", 60, "IN", "A", "192.0.2.1"))
    else:
        r.authority.append(dns.rrset.from_text("test.", 30, "IN", "SOA", "a. b. 1 2 3 4 5"))
    raw = r.to_wire()
    qend, keep, opt_at = shape(raw)
    up = Answer(raw, qend, opt_at, keep)
    wire = q.to_wire()
    fast = dns.message.from_wire(reply(wire, up.qend, edns == 0, False, 1232, raw, up.opt_at))
    slow = dns.message.from_wire(server.relay._rendered(wire, q, up, True))
    assert fast == slow and fast.flags == slow.flags and fast.id == q.id
    assert (fast.edns, fast.payload, fast.rcode()) == (slow.edns, slow.payload, slow.rcode())


class TcUpstream(BigUpstream):
    """Over UDP every answer is empty with TC; over TCP (the same port) it is whole."""

    def __init__(self):
        self.tcp, udp = tcp_and_udp_on_one_port()
        self.tcp.listen()
        super().__init__(sock=udp)
        threading.Thread(target=self._tcp_loop, daemon=True).start()

    def _answer(self, q, addr):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.TC
        self.sock.sendto(r.to_wire(), addr)

    def _tcp_loop(self):
        while True:
            conn, _ = self.tcp.accept()
            with conn:
                q = dns.query.receive_tcp(conn)[0]
                r = dns.message.make_response(q)
                r.answer.append(dns.rrset.from_text_list(
                    q.question[0].name, 60, "IN", "A", [f"192.0.2.{i}" for i in range(1, 61)]))
                dns.query.send_tcp(conn, r)


def test_a_truncated_upstream_answer_is_asked_again_over_tcp(zone):
    server = Server(zone, Upstream([TcUpstream().spec]), ["127.0.0.0/8"])
    resp, _ = ask(server, "big.test", ip="127.0.0.1", use_edns=0)
    assert len(addrs(resp)) == 60 and not resp.flags & dns.flags.TC
    assert 59 <= resp.answer[0].ttl <= 60
    (kept, _, _, _, expiry), = server.forwarder.answers.data.values()
    assert kept.opt_at == len(kept.raw) - 11 and 59 <= expiry - time.monotonic() <= 60
