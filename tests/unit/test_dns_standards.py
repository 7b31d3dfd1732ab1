"""The protocol as the RFCs say it (ISC's EDNS compliance tester's cases as a guide): EDNS
(RFC 6891), CD copied (RFC 6840), other opcodes NOTIMP, the bridge address's PTR, and names
from labels and hostnames that cannot take over devnet's or another container's names."""

import copy

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import pytest

from devnet.dns.names import Naming, records
from devnet.dns.server import Server
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone
from tests.unit.conftest import fixture_json
from tests.unit.test_dns_server import HOST, addrs, ask, container


@pytest.fixture
def zone():
    z = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    z.replace_all([container("u1", "172.17.0.8")])
    return z


@pytest.fixture
def server(zone):
    return Server(zone, Upstream([]), ["172.16.0.0/16"], workers=0)


def twice(server, q):
    """The slow path's answer, then the hot path's: they must agree."""
    return [dns.message.from_wire(server.answer(q.to_wire(), HOST)) for _ in range(2)]


def test_no_edns_in_the_query_no_opt_in_the_answer(server):
    for resp in twice(server, dns.message.make_query("u1.docker", "A")):
        assert resp.edns == -1 and addrs(resp) == ["172.17.0.8"]


def test_edns_query_gets_opt_version_0(server):
    for resp in twice(server, dns.message.make_query("u1.docker", "A", use_edns=0)):
        assert resp.edns == 0 and resp.payload == 1232 and addrs(resp) == ["172.17.0.8"]


def test_unknown_edns_version_is_badvers_with_version_0(server):
    resp = twice(server, dns.message.make_query("u1.docker", "A", use_edns=1))[1]
    assert resp.rcode() == dns.rcode.BADVERS and resp.edns == 0 and not resp.answer
    refused = dns.message.from_wire(server.answer(
        dns.message.make_query("example.test", "A", use_edns=0).to_wire(), "203.0.113.9"))
    assert refused.rcode() == dns.rcode.REFUSED and refused.payload == 1232


def test_unknown_options_are_ignored_and_not_echoed(server):
    q = dns.message.make_query("u1.docker", "A", use_edns=0,
                               options=[dns.edns.GenericOption(65001, b"hello")])
    for resp in twice(server, q):
        assert addrs(resp) == ["172.17.0.8"] and resp.edns == 0 and not resp.options


def test_unknown_edns_flags_are_not_echoed_do_is(server):
    q = dns.message.make_query("u1.docker", "A", use_edns=0, ednsflags=0x4000)  # a Z bit
    assert all(resp.ednsflags == 0 for resp in twice(server, q))
    do = dns.message.make_query("u1.docker", "A", use_edns=0, want_dnssec=True)
    assert all(resp.ednsflags & dns.flags.DO for resp in twice(server, do))


def test_a_buffer_under_512_counts_as_512(server):
    resp = twice(server, dns.message.make_query("u1.docker", "A", use_edns=0, payload=100))[1]
    assert addrs(resp) == ["172.17.0.8"] and not resp.flags & dns.flags.TC


def test_two_opt_records_are_formerr(server):
    wire = dns.message.make_query("u1.docker", "A", use_edns=0).to_wire()
    opt = wire[-11:]
    two = wire[:10] + b"\x00\x02" + wire[12:] + opt
    out = server.answer(two, HOST)
    assert out[3] & 0x0F == dns.rcode.FORMERR


def test_the_cd_bit_is_copied(server):
    q = dns.message.make_query("u1.docker", "A")
    q.flags |= dns.flags.CD
    assert all(resp.flags & dns.flags.CD for resp in twice(server, q))
    plain = twice(server, dns.message.make_query("u1.docker", "A"))
    assert not any(resp.flags & dns.flags.CD for resp in plain)


@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.NOTIFY,
                                    dns.opcode.UPDATE])
def test_other_opcodes_are_notimp(server, opcode):
    q = dns.message.make_query("u1.docker", "SOA")
    q.set_opcode(opcode)
    resp = dns.message.from_wire(server.answer(q.to_wire(), HOST))
    assert resp.rcode() == dns.rcode.NOTIMP and resp.opcode() == opcode


def test_the_bridge_address_has_a_ptr(server):
    resp, _ = ask(server, "1.42.17.172.in-addr.arpa", "PTR")
    assert addrs(resp) == ["ns.docker."] and resp.flags & dns.flags.AA
    assert ask(server, "42.17.172.in-addr.arpa", "PTR")[0].rcode() == dns.rcode.NOERROR


def labelled(name, aliases="", hostname=None, ip="172.17.0.30"):
    inspect = copy.deepcopy(fixture_json("inspect-u1.json")[0])
    inspect["Id"], inspect["Name"] = f"id-{name}", f"/{name}"
    inspect["Config"]["Image"], inspect["Config"]["Hostname"] = "ubuntu", hostname or name
    inspect["Config"]["Labels"] = {"devnet.dns.aliases": aliases}
    inspect["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] = ip
    return records(inspect, Naming())


def test_labels_and_hostnames_cannot_take_over_devnets_names(server, zone):
    zone.upsert(labelled("evil", aliases="docker,ns.docker,u1.ubuntu.dev", hostname="ns"))
    assert addrs(ask(server, "ns.docker")[0]) == ["172.17.42.1"]
    apex, _ = ask(server, "docker")
    assert not apex.answer and apex.authority  # NODATA with the SOA, as before
    assert addrs(ask(server, "u1.ubuntu.dev.docker")[0]) == ["172.17.0.8"]
    assert addrs(ask(server, "evil.docker")[0]) == ["172.17.0.30"]


def test_a_primary_name_is_its_containers_whichever_registers_first(server, zone):
    zone.replace_all([labelled("evil", aliases="u1.ubuntu.dev")])
    assert addrs(ask(server, "u1.ubuntu.dev.docker")[0]) == ["172.17.0.30"]  # nobody's yet
    zone.upsert(container("u1", "172.17.0.8"))
    assert addrs(ask(server, "u1.ubuntu.dev.docker")[0]) == ["172.17.0.8"]
    zone.remove("id-u1")
    assert addrs(ask(server, "u1.ubuntu.dev.docker")[0]) == ["172.17.0.30"]
