"""Forward questions outside devnet's zones the way a caching resolver does.

A handful of non-blocking sockets serve every question in flight (no thread waits per query);
identical questions in flight share one upstream query; answers are kept for their TTL,
negative ones for the SOA's minimum (RFC 2308). Each try waits the budget divided among the
servers not tried yet; a question nobody answers in time is SERVFAIL. Each query leaves from a
random one of the sockets with a random ID, and an answer counts only from the server asked,
with that ID and the same question.

The sockets are read by one loop: the server's UDP loop when it runs (`attach`: the clients'
socket and these in one selector, so a forwarded question costs no thread switch and no
wake-up), else a thread of the forwarder's own. Callbacks run in that loop: they must not
block.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import select
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import dns.exception
import dns.message
import dns.query
from devnet.dns import wire
from devnet.dns.cache import LRU
from devnet.dns.upstream import Upstream

log = logging.getLogger("devnet.dns.forwarder")
SOCKET_BITS = 3  # 8 sockets: one picked at random per query
MAX_PENDING = 4096  # distinct questions in flight; beyond, SERVFAIL at once (counted)
CACHE_BYTES = 3 << 20
GOOD = (wire.NOERROR, wire.NXDOMAIN)
READS = 32  # upstream answers read from one socket per poll at most


@dataclass(slots=True)
class Answer:
    """An upstream's answer as it came (with the ID of our query), and its shape."""

    raw: bytes
    qend: int
    opt_at: int  # offset of its OPT RR, -1 without
    keep: float  # seconds it stays fresh from now
    age: float = 0.0  # seconds since it came: 0 straight from the upstream
    parsed: dns.message.Message | None = None

    def message(self) -> dns.message.Message:
        if self.parsed is None:
            self.parsed = dns.message.from_wire(self.raw)
        return self.parsed


class _Pending:
    __slots__ = ("key", "wire", "waiters", "tries", "sent_to", "ident")

    def __init__(self, key: tuple, query: bytes, waiter: tuple):
        # wire: the query, ID 0; waiters: (deliver, arg) pairs, each called deliver(answer, arg)
        self.key, self.wire, self.waiters = key, query, [waiter]
        self.tries, self.sent_to = 0, ()
        self.ident = ()  # (socket fileno, query ID) of the try in flight


class Forwarder:
    def __init__(self, upstream: Upstream, cache_bytes: int = CACHE_BYTES):
        self.upstream = upstream
        self.answers = LRU(cache_bytes)  # key -> (Answer, stored at) + (size, 0, expiry)
        self.pending: dict[tuple, _Pending] = {}
        self.stats: Counter = Counter()
        self._by_ident: dict[tuple, tuple] = {}
        self._deadlines: list = []  # heap of (deadline, seq, key, try number)
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._handlers: dict | None = None  # file descriptor -> what reads it
        self._socks: list[socket.socket] = []
        self._loop_thread = None  # ident of the thread reading the sockets, once one does
        self._tcp = ThreadPoolExecutor(2, thread_name_prefix="dns-tcp-retry")  # TC only: rare

    def ask(self, key: tuple, deliver, arg) -> None:
        """deliver(Answer or None, arg), now or later; None: no answer in time (SERVFAIL).
        A function and its argument rather than a closure per question: the UDP loop's
        questions make no object but `arg`.

        key: (question: lower-cased name in wire form, type, class; DO, CD, EDNS); the query
        sent upstream is made from it (ID 0 until sent), only when the question goes out.
        """
        now = time.monotonic()
        hit = self.answers.get(key, now)
        if hit is not None:
            self.stats["forward_cached"] += 1
            kept = hit[0]
            deliver(Answer(kept.raw, kept.qend, kept.opt_at, hit[-1] - now, now - hit[1],
                           kept.parsed), arg)
            return
        if not self.upstream.servers:
            deliver(None, arg)
            return
        with self._lock:
            p = self.pending.get(key)
            if p is not None:
                self.stats["forward_coalesced"] += 1
                p.waiters.append((deliver, arg))
                return
            if len(self.pending) >= MAX_PENDING:
                self.stats["forward_full"] += 1
                full = True
            else:
                full = False
                question, do, cd, edns = key
                p = self.pending[key] = _Pending(key, wire.query(question, edns, do, cd),
                                                 (deliver, arg))
                if self._handlers is None:
                    self._open()
                    threading.Thread(target=self._loop, name="dns-forwarder",
                                     daemon=True).start()
                # The loop sleeps until the earliest deadline at most: wake it only when this
                # query's deadline comes sooner, and never from the loop itself.
                earliest = self._deadlines[0][0] if self._deadlines else None
                self._send(p, now)
                wake = (earliest is None or self._deadlines[0][0] < earliest) and \
                    threading.get_ident() != self._loop_thread
        if full:
            deliver(None, arg)
            return
        self.stats["forwarded"] += 1
        if wake:
            self._wake_w.send(b"\0")

    # -- the loop ------------------------------------------------------------------------

    def attach(self) -> dict:
        """For the caller's own loop (the server's UDP loop): {file descriptor: what to call
        when it is readable} for the forwarder's sockets. That loop waits at most
        `timeout()` and calls `expire()` after each wait."""
        with self._lock:
            if self._handlers is None:
                self._open()
            self._loop_thread = threading.get_ident()
        return dict(self._handlers)

    def _open(self) -> None:
        """The sockets and what reads each (under the lock)."""
        handlers = {}
        for _ in range(1 << SOCKET_BITS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind(("0.0.0.0", 0))
            handlers[s.fileno()] = partial(self._read, s, s.fileno())
            self._socks.append(s)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        handlers[self._wake_r.fileno()] = self._woken
        self._handlers = handlers

    def _send(self, p: _Pending, now: float) -> None:
        """Send try number p.tries (under the lock): the next server, a fresh ID and socket."""
        servers = self.upstream.servers
        server = servers[p.tries % len(servers)]
        left = len(servers) - p.tries
        wait = self.upstream.budget / len(servers) if left > 0 else 0
        sock = self._socks[random.getrandbits(SOCKET_BITS)]
        fd = sock.fileno()
        qid = random.getrandbits(16)
        while not qid or (fd, qid) in self._by_ident:
            qid = random.getrandbits(16)
        try:  # sent first, the bookkeeping after (under the lock: the answer waits for it)
            sock.sendto(qid.to_bytes(2) + p.wire[2:], server)
        except OSError as err:
            self.upstream.last_error = f"{server[0]}:{server[1]}: {err}"
        self._by_ident.pop(p.ident, None)
        p.ident, p.sent_to = (fd, qid), server
        self._by_ident[p.ident] = p.key
        heapq.heappush(self._deadlines, (now + wait, next(self._seq), p.key, p.tries))

    def timeout(self) -> float | None:
        """Seconds until the earliest deadline (None: nothing in flight)."""
        deadlines = self._deadlines
        return max(deadlines[0][0] - time.monotonic(), 0) if deadlines else None

    def _loop(self) -> None:
        """The forwarder's own loop, while no server loop has attached."""
        self._loop_thread = threading.get_ident()
        handlers = self._handlers
        poll = epoll(handlers).poll
        while True:
            for fd, _ in poll(self.timeout()):
                handlers[fd]()
            self.expire()

    def _woken(self) -> None:
        try:
            self._wake_r.recv(4096)
        except BlockingIOError:
            pass

    def _read(self, sock: socket.socket, fd: int) -> None:
        """Up to READS datagrams: the UDP loop reads up to 64 client packets between two
        polls, and ~1 in 8 of them is forwarded, so one answer per socket and poll let the
        answers queue up in flat-out runs, their clients' queries waiting meanwhile."""
        recv, received = sock.recvfrom, self._received
        for _ in range(READS):
            try:
                data, addr = recv(65535)
            except OSError:  # EAGAIN, or ICMP port unreachable: the deadline ends that query
                return
            try:
                received(fd, data, addr)
            except Exception:
                log.exception("handling an upstream answer from %s failed", addr[0])

    def _received(self, fd: int, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        ident = (fd, int.from_bytes(data[:2]))
        with self._lock:
            key = self._by_ident.get(ident)
            p = self.pending.get(key) if key else None
            if p is None or p.ident != ident or addr != p.sent_to:  # (ip, port)
                self.stats["forward_unexpected"] += 1
                return
        try:
            qend, keep, opt_at = wire.shape(data)
        except ValueError:
            return  # not an answer: keep waiting for the real one until the deadline
        if data[12:qend].lower() != p.wire[12:qend]:
            return  # another question
        if data[2] & 0x02:  # TC: ask again over TCP
            self._tcp.submit(self._over_tcp, p)
            return
        if data[3] & 0x0F not in GOOD and self._retry(p):
            return
        self._complete(key, Answer(data, qend, opt_at, keep))

    def _over_tcp(self, p: _Pending) -> None:
        host, port = p.sent_to
        try:
            query = dns.message.from_wire(p.wire)
            raw = dns.query.tcp(query, host, timeout=self.upstream.budget, port=port).to_wire()
            qend, keep, opt_at = wire.shape(raw)
            answer = Answer(raw, qend, opt_at, keep)
        except (dns.exception.DNSException, OSError, ValueError) as err:
            self.upstream.last_error = f"{host}:{port}: TCP {type(err).__name__} {err}".strip()
            answer = None
        self._complete(p.key, answer)

    def _retry(self, p: _Pending) -> bool:
        """Ask the next server, when there is one not asked yet."""
        with self._lock:
            if self.pending.get(p.key) is not p or p.tries + 1 >= len(self.upstream.servers):
                return False
            p.tries += 1
            self._send(p, time.monotonic())
        return True

    def expire(self) -> None:
        """Move each question past its deadline on to the next server, or SERVFAIL it."""
        deadlines = self._deadlines
        if not deadlines:
            return
        now = time.monotonic()
        if deadlines[0][0] > now:
            return
        gone = []
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                _, _, key, tries = heapq.heappop(self._deadlines)
                p = self.pending.get(key)
                if p is None or p.tries != tries:
                    continue  # answered, or already moved on to the next server
                host, port = p.sent_to
                self.upstream.last_error = f"{host}:{port}: no answer in time"
                if p.tries + 1 < len(self.upstream.servers):
                    p.tries += 1
                    self._send(p, now)
                else:
                    gone.append(key)
        for key in gone:
            self.stats["forward_timeout"] += 1
            self._complete(key, None)

    def _complete(self, key: tuple, answer: Answer | None) -> None:
        now = time.monotonic()
        with self._lock:
            p = self.pending.pop(key, None)
            if p is None:
                return
            self._by_ident.pop(p.ident, None)
        for deliver, arg in p.waiters:  # the clients first, what is kept after
            try:
                deliver(answer, arg)
            except Exception:
                log.exception("answering a forwarded question failed")
        if answer is not None and answer.keep > 0:
            # Room for a parsed copy too (several times the wire size), should a client's
            # answer ever need dnspython to render it.
            self.answers.put(key, (answer, now), len(answer.raw) * 8 + 1024, 0,
                             now + answer.keep)


def epoll(handlers: dict) -> select.epoll:
    """An epoll set waiting for input on every file descriptor of `handlers`."""
    ep = select.epoll()
    for fd in handlers:
        ep.register(fd, select.EPOLLIN)
    return ep
