"""The resolver chain called directly: zone answers, the hot path, EDNS and TC, recursion
policy, forwarding, and malformed packets (which get FORMERR or are dropped)."""

import copy
import random
import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from devnet.dns.names import Naming, records
from devnet.dns.query_key import cache_key
from devnet.dns.server import Server
from devnet.dns.upstream import Upstream
from devnet.dns.zone import MEMO_MAX, Zone
from tests.unit.conftest import fixture_json

HOST = "172.16.0.1"  # on the host-only network: may recurse
OUTSIDER = "203.0.113.9"


def container(name, ip, image="ubuntu", expose=None):
    inspect = copy.deepcopy(fixture_json("inspect-u1.json")[0])
    inspect["Id"], inspect["Name"] = f"id-{name}", f"/{name}"
    inspect["Config"]["Image"], inspect["Config"]["Hostname"] = image, name
    inspect["Config"]["ExposedPorts"] = expose or {}
    inspect["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] = ip
    return records(inspect, Naming())


@pytest.fixture
def zone():
    z = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    z.replace_all([container("u1", "172.17.0.8", expose={"7777/tcp": {}}),
                   container("u2", "172.17.0.9")])
    return z


@pytest.fixture
def server(zone):
    return Server(zone, Upstream([]), ["172.16.0.0/16", "172.17.0.0/16"], workers=2)


def ask(server, name, rdtype="A", ip=HOST, udp=True, **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    return dns.message.from_wire(server.answer(q.to_wire(), ip, udp=udp)), q


def addrs(resp):
    return sorted(r.to_text() for rrset in resp.answer for r in rrset)


def test_the_skydock_names(server):
    resp, _ = ask(server, "u1.ubuntu.dev.docker")
    assert addrs(resp) == ["172.17.0.8"] and resp.flags & dns.flags.AA
    assert addrs(ask(server, "ubuntu.dev.docker")[0]) == ["172.17.0.8", "172.17.0.9"]


def test_names_are_case_insensitive_and_the_question_keeps_its_case(server):
    for _ in range(2):  # slow path, then the hot path
        resp, _ = ask(server, "U1.Ubuntu.DEV.docker")
        assert addrs(resp) == ["172.17.0.8"]
        assert resp.question[0].name.to_text() == "U1.Ubuntu.DEV.docker."
    assert server.stats["fast"] == 1


def test_hot_path_answers_carry_the_new_id_and_rd_bit(server):
    ask(server, "u2.docker")
    q = dns.message.make_query("u2.docker", "A")
    q.id, q.flags = 4242, 0  # RD off
    resp = dns.message.from_wire(server.fast(q.to_wire(), HOST))
    assert resp.id == 4242 and not resp.flags & dns.flags.RD
    assert addrs(resp) == ["172.17.0.9"]


def test_nxdomain_and_nodata_carry_the_soa(server):
    nx, _ = ask(server, "nothere.ubuntu.dev.docker")
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.authority[0].rdtype == dns.rdatatype.SOA
    nodata, _ = ask(server, "u1.ubuntu.dev.docker", "MX")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    ent, _ = ask(server, "dev.docker")  # an empty non-terminal exists: NODATA, not NXDOMAIN
    assert ent.rcode() == dns.rcode.NOERROR


def test_ptr_and_srv(server):
    ptr, _ = ask(server, "8.0.17.172.in-addr.arpa", "PTR")
    assert addrs(ptr) == ["u1.ubuntu.dev.docker."]
    srv, _ = ask(server, "_7777._tcp.u1.ubuntu.dev.docker", "SRV")
    assert addrs(srv) == ["0 0 7777 u1.ubuntu.dev.docker."]


def test_apex_has_soa_and_ns(server):
    assert ask(server, "docker", "SOA")[0].answer[0].rdtype == dns.rdatatype.SOA
    assert addrs(ask(server, "ns.docker")[0]) == ["172.17.42.1"]


def test_a_change_in_the_zone_reaches_the_hot_path(server, zone):
    ask(server, "u1.docker")
    zone.remove("id-u1")
    assert ask(server, "u1.docker")[0].rcode() == dns.rcode.NXDOMAIN


def test_sixty_containers_truncate_over_plain_udp_and_fit_over_tcp(server, zone):
    zone.replace_all([container(f"w{i}", f"172.17.1.{i}", image="web") for i in range(1, 61)])
    plain, _ = ask(server, "web.dev.docker")
    assert plain.flags & dns.flags.TC and not plain.answer
    edns, _ = ask(server, "web.dev.docker", use_edns=0, payload=1232)
    assert len(addrs(edns)) == 60 and not edns.flags & dns.flags.TC
    tcp, _ = ask(server, "web.dev.docker", udp=False)
    assert len(addrs(tcp)) == 60


def test_edns_answers_say_so_and_small_buffers_still_get_tc(server, zone):
    zone.replace_all([container(f"w{i}", f"172.17.1.{i}", image="web") for i in range(1, 61)])
    ask(server, "web.dev.docker", use_edns=0, payload=1232)  # fills the hot cache
    small, _ = ask(server, "web.dev.docker", use_edns=0, payload=600)
    assert small.edns == 0 and small.flags & dns.flags.TC


def test_outsiders_get_zone_answers_but_no_recursion(server):
    assert addrs(ask(server, "u1.docker", ip=OUTSIDER)[0]) == ["172.17.0.8"]
    refused, _ = ask(server, "example.com", ip=OUTSIDER)
    assert refused.rcode() == dns.rcode.REFUSED
    assert not refused.flags & dns.flags.RA


def fake_upstream(answer: str | None):
    """A UDP server on loopback answering every A query with `answer` (None: never answers)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def loop():
        while True:
            wire, addr = sock.recvfrom(512)
            if answer:
                q = dns.message.from_wire(wire)
                r = dns.message.make_response(q)
                r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", answer))
                sock.sendto(r.to_wire(), addr)

    threading.Thread(target=loop, daemon=True).start()
    return f"127.0.0.1:{sock.getsockname()[1]}"


def test_other_names_are_forwarded_upstream(zone):
    server = Server(zone, Upstream([fake_upstream("192.0.2.10")]), ["172.16.0.0/16"])
    resp, q = ask(server, "www.example.test")
    assert addrs(resp) == ["192.0.2.10"] and resp.id == q.id and resp.flags & dns.flags.RA


def test_a_dead_upstream_is_servfail_within_two_seconds(zone):
    server = Server(zone, Upstream([fake_upstream(None), fake_upstream(None)]), [HOST + "/32"])
    start = time.monotonic()
    resp, _ = ask(server, "www.example.test")
    assert resp.rcode() == dns.rcode.SERVFAIL
    assert time.monotonic() - start < 2.0


# -- malformed packets: FORMERR or dropped, never an exception ----------------------------

def query_wire(name=b"\x02u1\x06docker\x00"):
    return struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"


@pytest.mark.parametrize("wire, expect", [
    (b"", None),
    (b"\x12", None),
    (b"\xbe\xef\x01\x00\x00\x01", None),  # shorter than a header: dropped
    (query_wire()[:-3], dns.rcode.FORMERR),  # truncated question
    (query_wire(b"\x40" + b"a" * 64 + b"\x00"), dns.rcode.FORMERR),  # label length 64
    (query_wire(b"\x05ab\x00"), dns.rcode.FORMERR),  # label runs past the name
    (query_wire(b"\xc0\x0c"), dns.rcode.FORMERR),  # compression pointer to itself: a loop
    (struct.pack("!HHHHHH", 1, 0x0100, 2, 0, 0, 0) + b"\x00\x00\x01\x00\x01", dns.rcode.FORMERR),
    (struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 5) + b"\x00\x00\x01\x00\x01", dns.rcode.FORMERR),
])
def test_malformed_packets(server, wire, expect):
    out = server.answer(wire, HOST)
    if expect is None:
        assert out is None
    else:
        assert out[:2] == wire[:2] and out[3] & 0x0F == expect and out[2] & 0x80


def test_a_response_packet_is_dropped(server):
    q = dns.message.make_query("u1.docker", "A")
    q.flags |= dns.flags.QR
    assert server.answer(q.to_wire(), HOST) is None


def test_after_garbage_it_still_answers(server):
    rnd = random.Random(7)
    for _ in range(2000):
        server.answer(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 80))), HOST)
    assert addrs(ask(server, "u1.docker")[0]) == ["172.17.0.8"]


def test_cache_key_only_for_plain_queries():
    plain = dns.message.make_query("u1.docker", "A").to_wire()
    assert cache_key(plain)[0][1] == 0
    with_edns = dns.message.make_query("u1.docker", "A", use_edns=0).to_wire()
    assert cache_key(with_edns)[0][1] == 2  # EDNS, buffer >= 1232
    small = dns.message.make_query("u1.docker", "A", use_edns=0, payload=700).to_wire()
    assert cache_key(small)[0][1] == 1
    assert cache_key(query_wire(b"\xc0\x0c")) is None
    # Type 65 (HTTPS) is byte 'A': only the name is folded to lower case.
    https = cache_key(dns.message.make_query("U1.docker", 65).to_wire())[0][0]
    assert https.endswith(b"\x00\x00\x41\x00\x01") and https.startswith(b"\x02u1")


def test_two_containers_claiming_one_name_share_it(server, zone):
    """Documented: a name is a set; both answer it (round robin), each PTR stays its own."""
    zone.upsert(container("a1", "172.17.0.20"))
    twin = container("a2", "172.17.0.21")
    twin.names.append("a1.docker")  # e.g. a2's hostname or alias is "a1"
    zone.upsert(twin)
    assert addrs(ask(server, "a1.docker")[0]) == ["172.17.0.20", "172.17.0.21"]
    assert addrs(ask(server, "21.0.17.172.in-addr.arpa", "PTR")[0]) == ["a2.ubuntu.dev.docker."]
    zone.remove("id-a2")
    assert addrs(ask(server, "a1.docker")[0]) == ["172.17.0.20"]


def test_the_exact_cache_is_dropped_on_every_change(server, zone):
    wire = dns.message.make_query("u2.docker", "A").to_wire()
    server.answer(wire, HOST)
    assert len(server.caches.exact)
    zone.remove("id-u2")
    assert not len(server.caches.exact) and not len(server.caches.question)


def test_the_same_records_again_change_nothing(zone, server):
    ask(server, "u1.docker")
    generation = zone.generation
    assert zone.upsert(container("u1", "172.17.0.8", expose={"7777/tcp": {}})) is False
    assert zone.generation == generation
    assert len(server.caches.exact) + len(server.caches.question) > 0
    assert zone.upsert(container("u1", "172.17.0.18")) is True
    assert zone.generation == generation + 1
    assert addrs(ask(server, "u1.docker")[0]) == ["172.17.0.18"]


def test_answers_built_once_per_generation_follow_every_change(zone):
    for ip in ("172.17.0.8", "172.17.0.18", "172.17.0.8"):
        zone.upsert(container("u1", ip, expose={"7777/tcp": {}}))
        for _ in range(2):  # the second from the zone's memo
            resp, _ = zone.answer(dns.message.make_query("u1.docker", "A"))
            assert [r.address for r in resp.answer[0]] == [ip]
    for i in range(3 * MEMO_MAX // 2):  # names that do not exist are never kept
        resp, _ = zone.answer(dns.message.make_query(f"x{i}.docker", "A"))
        assert resp.rcode() == dns.rcode.NXDOMAIN and resp.authority
    for t in range(1, 3 * MEMO_MAX // 2):  # every type of a name: kept up to the bound
        zone.answer(dns.message.make_query("u1.docker", t))
        assert len(zone._memo) <= MEMO_MAX
