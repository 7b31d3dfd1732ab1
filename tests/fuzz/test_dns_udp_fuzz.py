"""Mutated and random packets through the real UDP loop on loopback (exact cache, question
cache, zone lane), interleaved with valid queries in random case, with and without EDNS: each
valid query's answer must equal the one built independently with dnspython, before and after
the garbage, from every cache."""

import random
import socket
import threading
import time

import dns.message
import dns.rcode
import dns.rrset

from devnet.dns.server import Server
from devnet.dns.udp_loop import udp_socket
from devnet.dns.upstream import Upstream
from tests.fuzz.test_dns_fuzz import mutate, seeds
from tests.fuzz.test_dns_fuzz import server as make_server

PACKETS = 200_000
# (name, type) -> (rcode, answer records as text): what the zone of make_server() holds
TRUTH = {
    ("u1.ubuntu.dev.docker", "A"): (dns.rcode.NOERROR, ["172.17.0.8"]),
    ("ubuntu.dev.docker", "A"): (dns.rcode.NOERROR, ["172.17.0.8"]),
    ("u1.ubuntu.dev.docker", "AAAA"): (dns.rcode.NOERROR, []),
    ("dev.docker", "A"): (dns.rcode.NOERROR, []),  # an empty non-terminal
    ("x.docker", "A"): (dns.rcode.NXDOMAIN, []),
    ("ns.docker", "A"): (dns.rcode.NOERROR, ["172.17.42.1"]),
    ("_80._tcp.u1.ubuntu.dev.docker", "SRV"): (dns.rcode.NOERROR,
                                               ["0 0 80 u1.ubuntu.dev.docker."]),
    ("8.0.17.172.in-addr.arpa", "PTR"): (dns.rcode.NOERROR, ["u1.ubuntu.dev.docker."]),
    ("1.42.17.172.in-addr.arpa", "PTR"): (dns.rcode.NOERROR, ["ns.docker."]),
    ("example.test", "A"): (dns.rcode.SERVFAIL, []),  # may recurse, but no upstream
}


def expected(q: dns.message.Message) -> dns.message.Message:
    qn = q.question[0]
    rcode, values = TRUTH[(qn.name.to_text(omit_final_dot=True).lower(),
                           dns.rdatatype.to_text(qn.rdtype))]
    exp = dns.message.make_response(q)
    exp.set_rcode(rcode)
    if values:
        exp.answer.append(dns.rrset.from_text_list(qn.name, 30, "IN", qn.rdtype, values))
    return exp


def valid(rnd: random.Random) -> dns.message.Message:
    name, rdtype = rnd.choice(list(TRUTH))
    name = "".join(c.upper() if rnd.random() < 0.3 else c for c in name)
    return dns.message.make_query(name, rdtype, use_edns=rnd.choice([None, 0]),
                                  payload=rnd.choice([512, 1232, 4096]))


def ask(sock, addr, q) -> dns.message.Message:
    for _ in range(5):  # a real client retries: the zone lane may drop under the flood
        sock.sendto(q.to_wire(), addr)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            try:
                resp = dns.message.from_wire(sock.recv(4096))
            except TimeoutError:
                break
            if resp.id == q.id:
                return resp
    raise AssertionError(f"no answer to {q.question[0]}")


def same(resp, exp) -> bool:
    def records(m):
        return sorted(r.to_text() for rrset in m.answer for r in rrset)

    return (resp.rcode() == exp.rcode() and records(resp) == records(exp)
            and resp.question == exp.question and resp.question[0].name.to_text()
            == exp.question[0].name.to_text()  # the client's case, byte for byte
            and resp.edns == exp.edns and resp.flags & 0x8100 == exp.flags & 0x8100)


def test_the_udp_loop_answers_valid_queries_right_through_garbage():
    zone = make_server().zone
    server = Server(zone, Upstream([]), ["127.0.0.0/8"])
    sock = udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(sock,), daemon=True).start()
    addr, rnd, base = sock.getsockname(), random.Random(20261130), seeds()
    noise, checker = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    checker.settimeout(0.5)
    noise.setblocking(False)
    wrong, checked = [], 0
    for n in range(PACKETS):
        if n % 10 == 0:
            q = valid(rnd)
            resp = ask(checker, addr, q)
            checked += 1
            if not same(resp, expected(q)):
                wrong.append((q.to_text(), resp.to_text()))
            continue
        wire = mutate(rnd, rnd.choice(base)) if n % 2 else rnd.randbytes(rnd.randint(0, 96))
        try:
            noise.sendto(wire, addr)
        except BlockingIOError:
            pass
        try:
            while noise.recv(4096):
                pass
        except BlockingIOError:
            pass
    assert not wrong, f"{len(wrong)} of {checked} valid queries answered wrong: {wrong[:2]}"
    assert server.stats["errors"] == 0, "an exception escaped the chain"
    assert server.stats["formerr"] > 1_000 and server.stats["fast"] > 100
    print(f"{PACKETS} packets, {checked} valid checked: {dict(server.stats)}")
