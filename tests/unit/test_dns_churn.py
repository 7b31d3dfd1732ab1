"""1,000 container start/stop events applied to the zone while clients query the real server
on loopback flat out (plain, EDNS and case-randomised queries of the names that change):
after each event returns, every answer agrees with the zone."""

import random
import socket
import threading

import dns.message
import dns.rcode

from devnet.dns.names import Naming
from devnet.dns.server import Server
from devnet.dns.udp_loop import udp_socket
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone
from tests.unit.test_dns_cache import randcase, rec

EVENTS, NAMES = 1000, 8


def query(i: int, rnd) -> bytes:
    name = randcase(f"c{i}.docker", rnd) if rnd.random() < 0.3 else f"c{i}.docker"
    return dns.message.make_query(name, "A", use_edns=rnd.choice([None, 0])).to_wire()


def flood(addr, stop: threading.Event, seed: int) -> None:
    rnd, s = random.Random(seed), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    while not stop.is_set():
        s.sendto(query(rnd.randrange(NAMES), rnd), addr)
        try:
            s.recv(4096)
        except TimeoutError:
            pass


def test_no_answer_contradicts_the_zone_after_an_event():
    zone = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    server = Server(zone, Upstream([]), ["127.0.0.0/8"])
    sock = udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(sock,), daemon=True).start()
    addr, stop = sock.getsockname(), threading.Event()
    flooders = [threading.Thread(target=flood, args=(addr, stop, n), daemon=True)
                for n in range(3)]
    for t in flooders:
        t.start()
    rnd, running = random.Random(1), {}
    checker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    checker.settimeout(3)
    wrong, checked = [], 0
    try:
        for event in range(EVENTS):
            i = rnd.randrange(NAMES)
            if i in running and rnd.random() < 0.5:
                zone.remove(f"c{i}")  # stop
                del running[i]
            else:  # start (again): a new address each time
                running[i] = f"172.17.{event // 250}.{event % 250 + 1}"
                zone.upsert(rec(i, running[i]))
            for j in {i, rnd.randrange(NAMES)}:  # the changed name, and another one
                for _ in range(2):  # the second one may come from a cache
                    checker.sendto(query(j, rnd), addr)
                    resp = dns.message.from_wire(checker.recv(4096))
                    got = [r.to_text() for rr in resp.answer for r in rr]
                    want = [running[j]] if j in running else []
                    rcode = dns.rcode.NOERROR if j in running else dns.rcode.NXDOMAIN
                    checked += 1
                    if got != want or resp.rcode() != rcode:
                        wrong.append((event, j, got, want))
    finally:
        stop.set()
    assert not wrong, f"{len(wrong)} of {checked} answers contradict the zone: {wrong[:5]}"
    assert server.stats["fast"] > 0  # the caches really were in play
