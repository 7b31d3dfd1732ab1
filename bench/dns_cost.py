"""Where devnet's DNS server spends its CPU per query, by class: the Python each path runs,
apart from the socket calls (measured alone beside it), in one process, no network.

    .venv/bin/python bench/dns_cost.py [--out dns_cost]

Each class is driven through the very functions the service runs: the UDP loop's batch (with
a socket stand-in that hands it queries and takes its answers), the forwarder (its sockets
replaced by stand-ins; each upstream answer, TTL 0 like the sim's upstream, handed to it as
its socket would), the UDP loop's own zone answers with every cache empty (zone_wire_cold:
the first questions after a container event), and the zone lane's slow path. The socket
calls: one sendto + recvfrom pair over loopback. Results: bench/results/<out>.json
(microseconds per query; median and min–max of 5 rounds).
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import dns_load as load  # noqa: E402
from bench.common import write_results  # noqa: E402
from devnet.dns import udp_loop  # noqa: E402
from devnet.dns.names import Naming, Records  # noqa: E402
from devnet.dns.server import Server  # noqa: E402
from devnet.dns.upstream import Upstream  # noqa: E402
from devnet.dns.zone import Zone  # noqa: E402

CLIENT = ("127.0.0.1", 40000)
UPSTREAM = ("192.0.2.53", 53)  # never sent to: the forwarder's sockets are stand-ins
ROUNDS, PER_ROUND = 5, 20000


def query(name: str, qid: int = 7, edns_option: bytes = b"") -> bytes:
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns_option else 0)
    wire += b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    wire += b"\0\0\1\0\1"
    if edns_option:  # an OPT RR with an option the hot path does not understand
        wire += b"\0\0\x29\x04\xd0\0\0\0\0" + struct.pack("!H", len(edns_option)) + edns_option
    return wire


def one_by_one(server, client):
    """The UDP loop's batch in its recvfrom/sendto form, the one a socket stand-in can drive
    (its recvmmsg form runs the same per-packet Python, with one system call per batch)."""
    return udp_loop._batch(server, server.lane, client, batched=False)


class ClientSocket:
    """The clients' socket, as the UDP loop's batch uses it: queries in turn, answers
    counted, EAGAIN after each 64 (the loop then polls)."""

    def __init__(self, packets):
        self.packets, self.i, self.sent = packets, 0, 0

    def recvfrom(self, _size, _flags=0):
        self.i += 1
        if self.i % 65 == 0:
            raise BlockingIOError
        return self.packets[self.i % len(self.packets)], CLIENT

    def sendto(self, _data, _addr):
        self.sent += 1


class UpstreamSocket:
    """One of the forwarder's sockets: keeps what was sent, to be answered by hand."""

    def __init__(self, fd):
        self.fd, self.out = fd, []

    def fileno(self):
        return self.fd

    def sendto(self, data, _addr):
        self.out.append(data)


def answer(q: bytes) -> bytes:
    """The upstream's answer to q: one A record, TTL 0 (never cached)."""
    head = struct.pack("!HHHHHH", int.from_bytes(q[:2]), 0x8180, 1, 1, 0, 0)
    return head + q[12:] + b"\xc0\x0c\0\x01\0\x01\0\0\0\0\0\x04\xc0\x00\x02\x01"


def zone_of(containers: int = 50, aliases: int = 20) -> Zone:
    zone = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    zone.replace_all([Records(cid=f"c{i}", primary=f"bench{i}.img{i % 10}.dev.docker",
                              names=[f"bench{i}.img{i % 10}.dev.docker"]
                              + [f"n{i}-{j}.docker" for j in range(aliases)],
                              ipv4=[f"172.17.1.{i + 2}"]) for i in range(containers)])
    return zone


def per_answer(batch, client: ClientSocket, after=None) -> float:
    """Microseconds of Python per answer: the batch run until PER_ROUND answers."""
    start, t = client.sent, time.perf_counter()
    while client.sent - start < PER_ROUND:
        batch()
        if after:
            after()
    return (time.perf_counter() - t) / (client.sent - start) * 1e6


def classes(rnd: random.Random) -> dict:
    names = [f"n{i}-{j}.docker" for i in range(50) for j in range(20)]
    zone = zone_of()
    server = Server(zone, Upstream([f"{UPSTREAM[0]}:{UPSTREAM[1]}"]), ["127.0.0.0/8"])
    # The forwarder's sockets as stand-ins, its answers handed back as its socket would.
    fw = server.forwarder
    fw.attach()
    fw._socks = [UpstreamSocket(s.fileno()) for s in fw._socks]

    def upstream_answers():
        for s in fw._socks:
            while s.out:
                fw._received(s.fd, answer(s.out.pop()), UPSTREAM)

    out = {}
    exact = [query(n) for n in names]
    for w in exact:  # the first answer of each goes through the zone lane and fills the caches
        server.answer(w, CLIENT[0])
    client = ClientSocket(exact)
    out["exact_cache_hit"] = per_answer(one_by_one(server, client), client)
    # 0x20 variants never seen before: the exact cache misses, the question cache answers
    variants = [query(load.randcase(n, rnd)) for n in names * 40]
    client = ClientSocket(variants)
    out["question_cache_hit"] = per_answer(one_by_one(server, client), client)
    # Right after a container event: every cache empty, each plain A question written by
    # the UDP loop itself (zone_wire); the caches are emptied after each batch of 64.
    client = ClientSocket(exact)
    out["zone_wire_cold"] = per_answer(one_by_one(server, client), client,
                                       server.caches.clear)
    forwards = [query(f"f{i}.example.test", qid=i) for i in range(1000)]
    client = ClientSocket(forwards)
    out["forwarded_ttl_0"] = per_answer(one_by_one(server, client), client,
                                        upstream_answers)
    # The zone lane (what zone_wire cannot write: here an EDNS option the hot path does not
    # understand): dnspython parses, the zone answers, the answer is rendered.
    slow = [query(n, edns_option=b"\x00\x0a\x00\x08abcdefgh") for n in names]  # a cookie
    t = time.perf_counter()
    for i in range(PER_ROUND // 10):
        server.safe_slow(slow[i % len(slow)], CLIENT[0], True, lambda _out: None)
    out["zone_lane_parsed"] = (time.perf_counter() - t) / (PER_ROUND // 10) * 1e6
    return out


def socket_pair_cost() -> float:
    """Microseconds for one sendto + one recvfrom over loopback (the two calls every UDP
    answer costs a server, besides its wait in poll)."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    to, wire = a.getsockname(), query("n1-1.docker")
    t = time.perf_counter()
    for _ in range(PER_ROUND):
        b.sendto(wire, to)
        a.recvfrom(65535)
    cost = (time.perf_counter() - t) / PER_ROUND * 1e6
    a.close()
    b.close()
    return cost


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="dns_cost", help="bench/results/<out>.json")
    args = ap.parse_args()
    rnd = random.Random(20261201)
    rounds: dict = {}
    for _ in range(ROUNDS):
        for name, us in {**classes(rnd), "socket_calls": socket_pair_cost()}.items():
            rounds.setdefault(name, []).append(round(us, 3))
    results = {"machine": load.machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "unit": "microseconds per query, Python apart from socket calls",
               "rounds": ROUNDS, "queries_per_round": PER_ROUND,
               "classes": {k: {"median": statistics.median(v), "min": min(v), "max": max(v)}
                           for k, v in rounds.items()}}
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
