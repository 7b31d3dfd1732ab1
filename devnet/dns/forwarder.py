"""Forward questions outside devnet's zones the way a caching resolver does.

One thread and a handful of non-blocking sockets serve every question in flight (no thread
waits per query); identical questions in flight share one upstream query; answers are kept
for their TTL, negative ones for the SOA's minimum (RFC 2308). Each try waits the budget
divided among the servers not tried yet; a question nobody answers in time is SERVFAIL.
Each query leaves from a random one of the sockets with a random ID, and an answer counts
only from the server asked, with that ID and the same question.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import selectors
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.query
from devnet.dns import wire
from devnet.dns.cache import LRU
from devnet.dns.upstream import Upstream

log = logging.getLogger("devnet.dns.forwarder")
SOCKETS = 8
MAX_PENDING = 4096  # distinct questions in flight; beyond, SERVFAIL at once (counted)
CACHE_BYTES = 3 << 20
GOOD = (wire.NOERROR, wire.NXDOMAIN)


@dataclass
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


@dataclass
class _Pending:
    key: tuple
    wire: bytes  # the upstream query, ID 0
    waiters: list = field(default_factory=list)
    tries: int = 0
    sent_to: tuple = ()
    ident: tuple = ()  # (socket fileno, query ID) of the try in flight


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
        self._started = False
        self._tcp = ThreadPoolExecutor(2, thread_name_prefix="dns-tcp-retry")  # TC only: rare

    def submit(self, key: tuple, query: bytes, callback) -> None:
        """callback(Answer or None), now or later; None: no answer in time (SERVFAIL).

        key: (lower-cased name, type, class, DO, CD, EDNS); query: the bytes to send, ID 0.
        """
        now = time.monotonic()
        hit = self.answers.get(key, now)
        if hit is not None:
            self.stats["forward_cached"] += 1
            kept = hit[0]
            callback(Answer(kept.raw, kept.qend, kept.opt_at, hit[-1] - now, now - hit[1],
                            kept.parsed))
            return
        if not self.upstream.servers:
            callback(None)
            return
        with self._lock:
            p = self.pending.get(key)
            if p is not None:
                self.stats["forward_coalesced"] += 1
                p.waiters.append(callback)
                return
            if len(self.pending) >= MAX_PENDING:
                self.stats["forward_full"] += 1
                full = True
            else:
                full = False
                p = self.pending[key] = _Pending(key, query, [callback])
                self._start()
                # The loop sleeps until the earliest deadline at most: wake it only when this
                # query's deadline comes sooner (a syscall and a thread switch saved per query).
                earliest = self._deadlines[0][0] if self._deadlines else None
                self._send(p, now)
                wake = earliest is None or self._deadlines[0][0] < earliest
        if full:
            callback(None)
            return
        self.stats["forwarded"] += 1
        if wake:
            self._wake_w.send(b"\0")

    # -- the loop ------------------------------------------------------------------------

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._sel = selectors.DefaultSelector()
        self._socks = []
        for _ in range(SOCKETS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind(("0.0.0.0", 0))
            self._sel.register(s, selectors.EVENT_READ)
            self._socks.append(s)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        threading.Thread(target=self._loop, name="dns-forwarder", daemon=True).start()

    def _send(self, p: _Pending, now: float) -> None:
        """Send try number p.tries (under the lock): the next server, a fresh ID and socket."""
        servers = self.upstream.servers
        server = servers[p.tries % len(servers)]
        left = len(servers) - p.tries
        wait = self.upstream.budget / len(servers) if left > 0 else 0
        sock = random.choice(self._socks)
        qid = random.randrange(1, 65536)
        while (sock.fileno(), qid) in self._by_ident:
            qid = random.randrange(1, 65536)
        self._by_ident.pop(p.ident, None)
        p.ident, p.sent_to = (sock.fileno(), qid), server
        self._by_ident[p.ident] = p.key
        heapq.heappush(self._deadlines, (now + wait, next(self._seq), p.key, p.tries))
        try:
            sock.sendto(qid.to_bytes(2, "big") + p.wire[2:], server)
        except OSError as err:
            self.upstream.last_error = f"{server[0]}:{server[1]}: {err}"

    def _loop(self) -> None:
        socks = {s.fileno(): s for s in self._socks}
        while True:
            with self._lock:
                timeout = self._deadlines[0][0] - time.monotonic() if self._deadlines else None
            for key, _ in self._sel.select(None if timeout is None else max(timeout, 0)):
                if key.fileobj is self._wake_r:
                    try:
                        self._wake_r.recv(4096)
                    except BlockingIOError:
                        pass
                    continue
                self._drain(socks[key.fd])
            self._expire(time.monotonic())

    def _drain(self, sock: socket.socket) -> None:
        while True:
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable from a closed server: its deadline ends it
                continue
            try:
                self._received(sock, data, addr)
            except Exception:
                log.exception("handling an upstream answer from %s failed", addr[0])

    def _received(self, sock, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        ident = (sock.fileno(), int.from_bytes(data[:2], "big"))
        with self._lock:
            key = self._by_ident.get(ident)
            p = self.pending.get(key) if key else None
            if p is None or p.ident != ident or tuple(addr[:2]) != p.sent_to:
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
            answer = Answer(raw, *wire.shape(raw))
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

    def _expire(self, now: float) -> None:
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
        if answer is not None and answer.keep > 0:
            try:  # parsed once now, so hits from the cache need not parse it again
                answer.message()
                # A parsed message takes several times its wire size in memory.
                self.answers.put(key, (answer, now), len(answer.raw) * 8 + 1024, 0,
                                 now + answer.keep)
            except dns.exception.DNSException:
                answer = None  # malformed beyond what shape() checks: SERVFAIL
        for callback in p.waiters:
            try:
                callback(answer)
            except Exception:
                log.exception("answering a forwarded question failed")
