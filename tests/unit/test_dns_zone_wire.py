"""zone_wire: the UDP loop's own A and AAAA answers for zone names are the slow path's
answers (dnspython's), record by record, flag by flag; what it cannot write goes on."""

import itertools

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from devnet.dns.names import Naming, Records
from devnet.dns.query_key import cache_key
from devnet.dns.server import Server
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone

HOST, OUTSIDER = "172.17.0.1", "10.9.9.9"


@pytest.fixture
def server():
    zone = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    zone.replace_all([
        Records(cid="a", primary="web1.nginx.dev.docker",
                names=["web1.nginx.dev.docker", "nginx.dev.docker", "web1.docker"],
                ipv4=["172.17.0.5"], ipv6=["fd00::5"]),
        Records(cid="b", primary="web2.nginx.dev.docker",
                names=["web2.nginx.dev.docker", "nginx.dev.docker", "web2.docker",
                       "web1.nginx.dev.docker"],  # tries to take over web1's name
                ipv4=["172.17.0.6"])])
    return Server(zone, Upstream([]), ["172.17.0.0/16"], workers=0)


def slow(server, wire, ip):
    out = []
    server.slow(wire, ip, True, out.append)
    return out[0]


def same(a: bytes, b: bytes) -> bool:
    x, y = dns.message.from_wire(a), dns.message.from_wire(b)
    return (x == y and x.flags == y.flags and x.edns == y.edns and x.payload == y.payload
            and x.ednsflags == y.ednsflags and x.question[0].name.to_text()
            == y.question[0].name.to_text())


NAMES = ["web1.nginx.dev.docker", "NGINX.dev.Docker", "web2.docker", "nothere.docker",
         "dev.docker", "docker", "ns.docker", "5.0.17.172.in-addr.arpa", "1.2.17.172.in-addr.arpa"]


@pytest.mark.parametrize("name, rdtype", list(itertools.product(NAMES, ["A", "AAAA"])))
def test_the_same_answer_as_the_slow_path(server, name, rdtype):
    for ip, edns, do, cd, rd in itertools.product((HOST, OUTSIDER), (-1, 0), (False, True),
                                                  (False, True), (False, True)):
        q = dns.message.make_query(name, rdtype, use_edns=edns, want_dnssec=do and edns == 0)
        q.flags = (dns.flags.RD if rd else 0) | (dns.flags.CD if cd else 0)
        wire = q.to_wire()
        mine = server.zone_wire.answer(wire, cache_key(wire), server.may_recurse(ip))
        assert mine is not None
        assert same(mine[0], slow(server, wire, ip)), (ip, edns, do, cd, rd)


def test_the_takeover_rule_and_the_rcodes(server):
    def ask(name, rdtype="A"):
        wire = dns.message.make_query(name, rdtype).to_wire()
        return dns.message.from_wire(server.zone_wire.answer(wire, cache_key(wire), True)[0])

    web1 = ask("web1.nginx.dev.docker")
    assert [r.to_text() for r in web1.answer[0]] == ["172.17.0.5"]  # not web2's
    assert sorted(r.to_text() for r in ask("nginx.dev.docker").answer[0]) == \
        ["172.17.0.5", "172.17.0.6"]
    assert ask("nothere.docker").rcode() == dns.rcode.NXDOMAIN
    nodata = ask("web2.docker", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA


def test_what_it_cannot_write_goes_to_the_slow_path(server):
    for rdtype in ("MX", "TXT", "SRV", "PTR", "ANY"):
        wire = dns.message.make_query("web1.docker", rdtype).to_wire()
        assert server.zone_wire.answer(wire, cache_key(wire), True) is None
    many = [Records(cid=f"c{i}", primary=f"c{i}.big.dev.docker", names=["big.dev.docker"],
                    ipv4=[f"172.17.1.{i}"]) for i in range(1, 60)]  # 60 A records: > 512 B
    server.zone.replace_all(many)
    wire = dns.message.make_query("big.dev.docker", "A").to_wire()
    assert server.zone_wire.answer(wire, cache_key(wire), True) is None
    truncated = dns.message.from_wire(server.answer(wire, HOST))
    assert truncated.flags & dns.flags.TC
    edns = dns.message.make_query("big.dev.docker", "A", use_edns=0, payload=1232).to_wire()
    assert len(dns.message.from_wire(server.answer(edns, HOST)).answer[0]) == 59
