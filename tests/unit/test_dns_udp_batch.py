"""The UDP loop's batches, on real sockets on loopback: many clients' packets read by one
recvmmsg and answered by one sendmmsg, each client its own answer with its own ID; a
sendmmsg that takes only part of a batch, or refuses one; IPv6 clients; and the same
answers from the one-by-one loop (recvfrom/sendto) where recvmmsg is missing; and the switch
between batches (bursts) and one packet per wake (a quiet moment)."""

import ctypes
import errno
import socket
import threading

import dns.message
import dns.rcode
import pytest

from devnet.dns import mmsg, udp_loop
from devnet.dns.names import Naming
from devnet.dns.server import Server
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone
from tests.unit.test_dns_server import addrs, container

NAMES = {"u1.ubuntu.dev.docker": "172.17.0.8", "u2.ubuntu.dev.docker": "172.17.0.9",
         "U1.Ubuntu.Dev.Docker": "172.17.0.8"}


@pytest.fixture
def server():
    z = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    z.replace_all([container("u1", "172.17.0.8"), container("u2", "172.17.0.9")])
    return Server(z, Upstream([]), ["127.0.0.0/8"], workers=0)


def bound(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.settimeout(2)
    return s


def listening():
    """The server's socket, blocking as the service's own (udp_loop.udp_socket): an empty
    read returns at once, where a socket with a timeout would wait it out."""
    s = bound()
    s.settimeout(None)
    return s


def clients_ask(sock, count, family=socket.AF_INET, host="127.0.0.1"):
    """`count` clients, each with its own socket and ID, ask one of NAMES (A, or AAAA for
    every fifth): the packets all wait on `sock` when this returns (loopback delivers at
    once)."""
    names = list(NAMES)
    asked = []
    for i in range(count):
        c = bound(family, host)
        q = dns.message.make_query(names[i % len(names)], "AAAA" if i % 5 == 4 else "A")
        q.id = 1000 + i
        c.sendto(q.to_wire(), sock.getsockname())
        asked.append((c, q))
    return asked


def check_answers(asked):
    for c, q in asked:
        resp = dns.message.from_wire(c.recv(4096))
        assert resp.id == q.id and resp.question == q.question
        want = [] if q.question[0].rdtype == 28 else [NAMES[str(q.question[0].name)[:-1]]]
        assert resp.rcode() == dns.rcode.NOERROR and addrs(resp) == want
        c.close()


@pytest.mark.parametrize("batched", [True, False], ids=["recvmmsg", "recvfrom"])
def test_many_clients_each_get_their_own_answer(server, batched):
    sock = listening()
    answer = udp_loop._batch(server, server.lane, sock, batched=batched)
    for _ in range(2):  # the zone writes the first answers, the exact cache the second
        asked = clients_ask(sock, 40)
        answer()  # one batch: 40 packets in, 40 answers out
        check_answers(asked)
    assert server.stats["zone_wire"] == 4  # the 3 names' A, and AAAA of one
    assert server.lane.qsize() == 0


def test_a_batch_reads_at_most_its_size_and_leaves_the_rest_waiting(server):
    sock = bound()
    answer = udp_loop._batch(server, server.lane, sock, batched=True)
    asked = clients_ask(sock, mmsg.SIZE + 10)
    answer()
    check_answers(asked[: mmsg.SIZE])
    answer()
    check_answers(asked[mmsg.SIZE :])


def test_clients_over_ipv6(server):
    sock = bound(socket.AF_INET6, "::1")
    answer = udp_loop._batch(server, server.lane, sock, batched=True)
    asked = clients_ask(sock, 10, socket.AF_INET6, "::1")
    answer()
    check_answers(asked)


class Stingy:
    """sendmmsg that takes at most 3 answers per call, and refuses (EAGAIN) every 4th call:
    what a nearly full socket buffer does."""

    def __init__(self, refuse=4):
        self.calls, self.refuse, self.real = 0, refuse, mmsg._CALLS[1]

    def __call__(self, fd, at, count, flags):
        self.calls += 1
        if self.calls % self.refuse == 0:
            ctypes.set_errno(errno.EAGAIN)
            return -1
        return self.real(fd, at, min(count, 3), flags)


def test_a_partial_or_refused_sendmmsg_still_answers_everyone(server):
    sock = bound()
    stingy = Stingy()
    batch = mmsg.Batch(sock, server.stats, calls=(mmsg._CALLS[0], stingy))
    answer = udp_loop._batched(batch, udp_loop._responder(server, server.lane, sock))
    asked = clients_ask(sock, 30)
    answer()
    check_answers(asked)
    assert stingy.calls > 10 and server.stats["send_one_by_one"] == stingy.calls // 4
    assert server.stats["dropped_send"] == 0


def test_an_answer_that_cannot_be_sent_is_counted_not_fatal(server):
    sock = bound()
    refuse_all = Stingy(refuse=1)
    batch = mmsg.Batch(sock, server.stats, calls=(mmsg._CALLS[0], refuse_all))
    asked = clients_ask(sock, 3)
    n = batch.receive()
    assert n == 3
    batch.queue(b"\x00" * 20, 0)
    batch.names[0:2] = (9999).to_bytes(2, "little")  # an address family nobody can send to
    for i in (1, 2):
        batch.queue(b"\x00" * 20, i)
    batch.flush()
    assert server.stats["dropped_send"] == 1 and server.stats["send_one_by_one"] == 3
    for c, _ in asked[1:]:
        assert c.recv(100) == b"\x00" * 20


def test_the_loop_serves_with_either_switch(server, monkeypatch):
    """The whole loop (serve): a zone name, and a large padded query the zone lane answers."""
    server.workers = 1
    monkeypatch.setattr(udp_loop, "BATCHED", False)
    plain = udp_loop.udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(plain,), daemon=True).start()
    monkeypatch.setattr(udp_loop, "BATCHED", True)
    batched = udp_loop.udp_socket(("127.0.0.1", 0))
    threading.Thread(target=server.serve_udp, args=(batched,), daemon=True).start()
    for sock in (plain, batched):
        c = bound()
        for pad in (0, 3000):
            q = dns.message.make_query("u2.ubuntu.dev.docker", "A", use_edns=0, pad=pad)
            c.sendto(q.to_wire(max_size=65535), sock.getsockname())
            resp = dns.message.from_wire(c.recv(4096))
            assert resp.id == q.id and addrs(resp) == ["172.17.0.9"]
        c.close()


class Reads:
    """Fakes for _adaptive: `many` reads `burst` packets, `one` one; which ran, in order."""

    def __init__(self):
        self.calls, self.burst, self.now = [], 1, 0.0

    def many(self):
        self.calls.append("many")
        return self.burst

    def one(self):
        self.calls.append("one")
        return True


def test_a_quiet_moment_reads_one_packet_per_wake_and_a_burst_reads_batches():
    r = Reads()
    answer = udp_loop._adaptive(r.many, r.one, clock=lambda: r.now)
    answer()  # starts with a batch: it found one packet alone
    for _ in range(3):  # wakes 1 ms apart: one packet each, no batch bookkeeping
        r.now += 0.001
        answer()
    assert r.calls == ["many", "one", "one", "one"]
    r.now += udp_loop.BURST / 2  # the next wake came right after: a burst
    answer()
    r.burst = 40
    answer()
    answer()  # the batch was full of packets: stay with batches
    assert r.calls[4:] == ["one", "many", "many"]
    r.burst = 1
    answer()  # a batch found one alone: back to one at a time
    r.now += 0.001
    answer()
    assert r.calls[7:] == ["many", "one"]


def test_lone_packets_and_a_burst_after_them_are_all_answered(server):
    """On real sockets: packets one at a time (the recvfrom path), then 40 at once."""
    sock = listening()
    answer = udp_loop._batch(server, server.lane, sock, batched=True)
    for _ in range(3):
        asked = clients_ask(sock, 1)
        answer()
        check_answers(asked)
    asked = clients_ask(sock, 40)
    for _ in range(40):  # however the wakes split it, every client gets its own answer
        answer()
    check_answers(asked)
