"""Bounded, never stale: cache keys, the byte-bounded LRU, zone generations, the bounded
zone lane and TCP limits, and answers too big for any transport."""

import random
import socket
import struct
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest

from devnet.dns.cache import LRU
from devnet.dns.names import Naming, Records
from devnet.dns.query_key import cache_key
from devnet.dns.server import Server
from devnet.dns.tcp import tcp_server
from devnet.dns.udp_loop import udp_socket
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone
from tests.unit.test_dns_server import HOST, addrs, ask, container


def rec(i, ip=None, image="ubuntu"):
    return Records(cid=f"c{i}", primary=f"c{i}.{image}.dev.docker",
                   names=[f"c{i}.{image}.dev.docker", f"{image}.dev.docker", f"c{i}.docker"],
                   ipv4=[ip or f"172.17.{i // 250}.{i % 250 + 1}"])


@pytest.fixture
def zone():
    z = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    z.replace_all([container("u1", "172.17.0.8"), container("u2", "172.17.0.9")])
    return z


@pytest.fixture
def server(zone):
    return Server(zone, Upstream([]), ["172.16.0.0/16"], workers=0)


def randcase(name, rnd):
    return "".join(c.upper() if rnd.random() < 0.5 else c for c in name)


@pytest.mark.parametrize("path, rdtype", [("answer", "TXT"), ("addresses", "A")])
def test_an_answer_computed_before_a_change_is_never_stored(server, zone, path, rdtype):
    """The race of the old server: the answer is computed, the zone changes, then the fill;
    on the slow path (zone.answer: dnspython) and on zone_wire's (zone.addresses)."""
    real = getattr(zone, path)

    def answer_then_change(*args):
        out = real(*args)
        zone.remove("id-u1")  # the container stops between computing and caching
        return out

    setattr(zone, path, answer_then_change)
    stale, _ = ask(server, "u1.docker", rdtype)
    assert stale.rcode() == dns.rcode.NOERROR  # computed before the change: fine to send
    assert addrs(stale) == (["172.17.0.8"] if rdtype == "A" else [])
    setattr(zone, path, real)
    assert not len(server.caches.question) and not len(server.caches.exact)
    assert server.caches.question.refused and server.caches.exact.refused
    assert ask(server, "u1.docker", rdtype)[0].rcode() == dns.rcode.NXDOMAIN


def test_an_entry_of_an_older_generation_is_never_served():
    lru = LRU(1 << 20, lambda: generation[0])
    generation = [1]
    assert lru.put("k", ("v",), 10, 1, float("inf"))
    assert lru.get("k", 0)[0] == "v"
    generation[0] = 2
    assert lru.get("k", 0) is None
    assert not lru.put("k2", ("v",), 10, 1, float("inf"))  # computed at 1, zone now at 2


def test_the_lru_is_bounded_by_bytes_and_keeps_what_is_used():
    lru = LRU(100_000)
    for i in range(10_000):
        lru.put(i, (b"x" * 100,), 100, 0, float("inf"))
        lru.get(0, 0)  # the one used all the time stays
    assert lru.bytes <= 100_000 and len(lru) < 300 and lru.evicted > 9_000
    assert lru.get(0, 0) is not None and lru.get(1, 0) is None


def test_expired_entries_are_not_served():
    lru = LRU(1 << 20)
    lru.put("k", ("v",), 10, 0, until=5.0)
    assert lru.get("k", 4.9) and lru.get("k", 5.1) is None


def test_case_variants_and_padding_share_one_key(server):
    rnd = random.Random(13)
    for _ in range(300):
        q = dns.message.make_query(randcase("u1.ubuntu.dev.docker", rnd), "A", use_edns=0,
                                   pad=rnd.choice([64, 128, 468]))
        resp = dns.message.from_wire(server.answer(q.to_wire(), HOST))
        assert addrs(resp) == ["172.17.0.8"] and resp.question[0].name == q.question[0].name
    assert len(server.caches.question) == 1  # one question, one entry
    assert not len(server.caches.exact)  # padded bytes never key anything
    assert server.stats["fast"] == 299


def test_do_cd_and_buffer_size_are_part_of_the_key():
    base = dns.message.make_query("u1.docker", "A", use_edns=0)
    keys = {cache_key(base.to_wire())[0]}
    do = dns.message.make_query("u1.docker", "A", use_edns=0, want_dnssec=True)
    cd = dns.message.make_query("u1.docker", "A", use_edns=0)
    cd.flags |= dns.flags.CD
    small = dns.message.make_query("u1.docker", "A", use_edns=0, payload=600)
    plain = dns.message.make_query("u1.docker", "A")
    for q in (do, cd, small, plain):
        keys.add(cache_key(q.to_wire())[0])
    assert len(keys) == 5


def test_big_packets_and_unknown_options_take_the_slow_path(server):
    big = dns.message.make_query("u1.docker", "A", use_edns=0, pad=600).to_wire()
    odd = dns.message.make_query("u1.docker", "A", use_edns=0,
                                 options=[dns.edns.GenericOption(65001, b"hi")]).to_wire()
    assert len(big) > 512 and cache_key(big) is None and cache_key(odd) is None
    for wire in (big, odd, big, odd):
        assert addrs(dns.message.from_wire(server.answer(wire, HOST))) == ["172.17.0.8"]
    assert server.stats["fast"] == 0 and server.stats["slow"] == 4


def test_distinct_names_case_variants_and_padding_stay_within_the_budget(server):
    server.caches.question.max_bytes = server.caches.exact.max_bytes = 200_000
    rnd = random.Random(5)
    for i in range(4_000):
        q = dns.message.make_query(randcase(f"n{i}.docker", rnd), "A",
                                   use_edns=0 if i % 2 else None, pad=128 if i % 4 == 1 else 0)
        server.answer(q.to_wire(), HOST)
        server.answer(q.to_wire(), HOST)  # a hit also fills the exact cache
    for lru in (server.caches.question, server.caches.exact):
        assert 150_000 < lru.bytes <= 200_000 and lru.evicted > 1_000


def test_a_full_zone_lane_drops_and_counts(zone):
    server = Server(zone, Upstream([]), ["127.0.0.0/8"], workers=0)  # nobody empties the lane
    server.lane.maxsize = 3
    sock = udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(sock,), daemon=True).start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(10):  # MX: the UDP loop writes only A and AAAA answers itself
        client.sendto(dns.message.make_query(f"x{i}.docker", "MX").to_wire(), sock.getsockname())
    deadline = time.monotonic() + 2
    while server.stats["dropped_busy"] < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.lane.qsize() == 3 and server.stats["dropped_busy"] == 7


def test_an_answer_no_transport_can_carry_is_servfail(zone):
    zone.replace_all([rec(i, image="web") for i in range(5000)])  # 5,000 A records: 80 KB
    server = Server(zone, Upstream([]), [], workers=0)
    tcp, _ = ask(server, "web.dev.docker", udp=False)
    assert tcp.rcode() == dns.rcode.SERVFAIL and not tcp.answer
    udp, _ = ask(server, "web.dev.docker")
    assert udp.flags & dns.flags.TC
    assert addrs(ask(server, "c7.docker", udp=False)[0]) == ["172.17.0.8"]


# -- TCP limits -------------------------------------------------------------------------

@pytest.fixture
def tcp(server):
    srv = tcp_server(server, ("127.0.0.1", 0), max_connections=2, idle=0.3, total=1.0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address
    srv.shutdown()
    srv.server_close()


def tcp_ask(sock, name="u1.docker"):
    wire = dns.message.make_query(name, "A").to_wire()
    sock.sendall(struct.pack("!H", len(wire)) + wire)
    n = struct.unpack("!H", sock.recv(2))[0]
    return dns.message.from_wire(sock.recv(n))


def closed(sock, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_tcp_connections_are_capped(tcp, server):
    a, b, c = (socket.create_connection(tcp) for _ in range(3))
    assert addrs(tcp_ask(a)) == ["172.17.0.8"] and addrs(tcp_ask(b)) == ["172.17.0.8"]
    assert closed(c, 1.0) and server.stats["tcp_refused"] == 1
    a.close()
    time.sleep(0.1)
    d = socket.create_connection(tcp)
    assert addrs(tcp_ask(d)) == ["172.17.0.8"]  # a slot came free


def test_an_idle_tcp_connection_is_closed(tcp):
    s = socket.create_connection(tcp)
    assert addrs(tcp_ask(s)) == ["172.17.0.8"]
    assert closed(s, 1.0)


def test_a_trickling_tcp_client_is_cut_at_the_total_timeout(tcp):
    s = socket.create_connection(tcp)
    start = time.monotonic()
    try:
        for _ in range(20):  # one byte every 0.2 s: never idle for 0.3 s
            s.sendall(b"\x00")
            time.sleep(0.2)
            if closed(s, 0.01):
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert time.monotonic() - start < 1.6
