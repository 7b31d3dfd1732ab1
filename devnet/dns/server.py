"""The DNS server: UDP and TCP, a resolver chain (zone, then upstream), and a hot path.

The hot path answers a repeated query from bytes rendered the first time: the exact cache
(these very query bytes) is one dict lookup in the UDP loop; the question cache checks the
header, walks the question's labels, and glues the client's ID and question onto the cached
rest. Both are size-bounded LRUs whose entries carry the zone generation they were computed
from. A plain question for a name outside the zone, from a client that may recurse, goes
from the UDP loop straight to the forwarder, whose sockets that loop also reads: one thread,
no parse, the upstream's answer relayed as bytes. Anything else goes to the zone lane (a
bounded queue, a few threads): dnspython parses it, the zone answers its own names at once,
and other names go to the forwarder, which never holds a thread while the upstream thinks.
A malformed packet gets FORMERR, or is dropped when it is not even a DNS header; nothing
stops the server.
"""

from __future__ import annotations

import logging
import queue
import socket
import struct
import sys
import threading
import time
from collections import Counter

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
from devnet.dns import wire as dnswire
from devnet.dns.cache import LRU
from devnet.dns.forwarder import Forwarder, epoll
from devnet.dns.policy import RecursionPolicy
from devnet.dns.tcp import IP_FREEBIND, tcp_server
from devnet.dns.upstream import Upstream
from devnet.dns.wire import EDNS_PAYLOAD
from devnet.dns.zone import Zone

log = logging.getLogger("devnet.dns")
CACHE_BYTES = 5 << 20  # each of the two answer caches: ~15,000 answers
LANE_QUEUE = 2048
INFINITY = float("inf")
SWITCH_INTERVAL = 0.0002
BATCH = 64  # client packets read in a row before the loop looks at the upstream's answers


def question_end(wire: bytes) -> int:
    """Offset just past the question of a plain one-question query, or 0 if not plain."""
    n = len(wire)
    if n < 17 or wire[2] & 0xF8 or wire[4:10] != b"\x00\x01\x00\x00\x00\x00":
        return 0  # a response, another opcode, or not exactly one question
    i = 12
    while i < n:
        length = wire[i]
        if length == 0:
            return i + 5 if i + 5 <= n else 0
        if length > 63:
            return 0  # a compression pointer (or garbage) in the question
        i += length + 1
    return 0


PADDING = 12  # the one EDNS option the hot path understands (RFC 7830): it never matters


def cache_key(wire: bytes):
    """(key, question end, client UDP payload, plain?) for the hot path, or None.

    The key is the question (name lower-cased, type, class) and what changes the answer:
    EDNS present and its buffer size class, DO and CD; never the query's raw bytes, so a
    padded or case-randomised query costs no more memory than a plain one. `plain` (no EDNS
    options at all) marks queries whose exact bytes may key the exact cache too. Packets over
    512 bytes, and EDNS options other than padding, take the slow path.
    """
    n = len(wire)
    if n > 512:
        return None
    qend = question_end(wire)
    if not qend:
        return None
    ar = wire[10:12]
    if ar == b"\x00\x00":
        if qend != n:
            return None
        size_class, payload, do, plain = 0, 512, 0, True
    elif ar == b"\x00\x01":
        # Exactly one OPT RR, version 0: root owner, type 41, then its rdata to the end.
        if n < qend + 11 or wire[qend] != 0 or wire[qend + 1 : qend + 3] != b"\x00\x29":
            return None
        if wire[qend + 6] != 0 or qend + 11 + int.from_bytes(wire[qend + 9 : qend + 11]) != n:
            return None
        i = qend + 11
        while i < n:
            if n < i + 4 or int.from_bytes(wire[i : i + 2]) != PADDING:
                return None
            i += 4 + int.from_bytes(wire[i + 2 : i + 4])
        if i != n:
            return None
        payload = max(512, int.from_bytes(wire[qend + 3 : qend + 5]))
        size_class = 1 if payload < EDNS_PAYLOAD else 2
        do, plain = wire[qend + 7] & 0x80, n == qend + 11
    else:
        return None
    # Names are case-insensitive; the type and class bytes are not text.
    key = (wire[12 : qend - 4].lower() + wire[qend - 4 : qend], size_class, do, wire[3] & 0x10)
    return key, qend, payload, plain


class Server:
    def __init__(self, zone: Zone, upstream: Upstream, allowed_networks, workers: int = 2):
        self.zone, self.upstream = zone, upstream
        # A RecursionPolicy the registrar keeps current, or a fixed list of networks.
        self.policy = allowed_networks if isinstance(allowed_networks, RecursionPolicy) \
            else RecursionPolicy(allowed_networks)
        self._allowed_memo = self.policy.memo
        self.stats: Counter = Counter()
        generation = lambda: zone.generation  # noqa: E731
        # (question key, may recurse) -> (header, answer after the question)
        self.cache = LRU(CACHE_BYTES, generation)
        # (query bytes after the ID, may recurse) -> (answer after the ID,): zone answers only,
        # which never expire (only a zone change ends them), so the UDP loop checks no clock
        self.exact = LRU(CACHE_BYTES, generation)
        self.forwarder = Forwarder(upstream)
        # The zone lane: what the hot path could not answer. Bounded: when full, dropped
        # (counted); forwarded questions leave it at once for the forwarder's own loop.
        self.lane: queue.Queue = queue.Queue(LANE_QUEUE)
        self.workers = workers
        zone.listeners.append(self.clear_cache)

    def clear_cache(self) -> None:
        """For memory only: entries of an older zone generation are never served."""
        self.cache.clear()
        self.exact.clear()

    def counters(self) -> dict:
        """What `invoke dns.status` shows: queries by path, drops, forwarding, cache use."""
        return {**self.stats, **self.forwarder.stats,
                "cache_entries": len(self.cache) + len(self.exact),
                "cache_bytes": self.cache.bytes + self.exact.bytes,
                "cache_evicted": self.cache.evicted + self.exact.evicted}

    def may_recurse(self, ip: str) -> bool:
        return self.policy.allows(ip)

    # -- the two paths -------------------------------------------------------------------

    def fast(self, wire: bytes, ip: str):
        found = cache_key(wire)
        return None if found is None else self._cached(wire, found, self.may_recurse(ip))

    def _cached(self, wire: bytes, found, recurse: bool):
        """The question cache's answer for this query, or None."""
        key, qend, payload, plain = found
        hit = self.cache.get((key, recurse), time.monotonic())
        if hit is None:
            return None
        head, tail, _, generation, until = hit
        if qend + len(tail) > payload:
            return None  # this client takes less than the cached answer: let the slow path cut
        self.stats["fast"] += 1
        out = wire[:2] + bytes((head[0] | (wire[2] & 0x01), head[1])) + head[2:] + \
            wire[12:qend] + tail
        if plain and until == INFINITY:
            self.exact.put((wire[2:], recurse), (out[2:],), len(wire) + len(out),
                           generation, until)
        return out

    def slow(self, wire: bytes, ip: str, udp: bool, reply) -> None:
        """Answer anything: reply(bytes) now or when the upstream answers; None means drop."""
        self.stats["slow"] += 1
        try:
            query = dns.message.from_wire(wire)
        except dns.message.ShortHeader:
            self.stats["dropped"] += 1
            return reply(None)
        except Exception:  # any malformation dnspython detects: FORMERR
            return reply(self._formerr(wire))
        if query.flags & dns.flags.QR:
            self.stats["dropped"] += 1
            return reply(None)
        if query.opcode() != dns.opcode.QUERY:
            return reply(self._error(query, dns.rcode.NOTIMP))
        if len(query.question) != 1:
            return reply(self._formerr(wire))
        if query.edns > 0:  # RFC 6891 6.1.3: a version we do not speak
            return reply(self._error(query, dns.rcode.BADVERS))
        recurse = self.may_recurse(ip)
        if self.zone.owns(query.question[0].name):
            resp, generation = self.zone.answer(query)
            return reply(self._finish(query, resp, wire, recurse, udp, generation, INFINITY))
        if not recurse:
            self.stats["refused"] += 1
            return reply(self._error(query, dns.rcode.REFUSED))
        self._forward(query, wire, udp, reply)

    def _forward(self, query, wire: bytes, udp: bool, reply) -> None:
        q = query.question[0]
        edns = query.edns >= 0
        do = bool(edns and query.ednsflags & dns.flags.DO)
        cd = bool(query.flags & dns.flags.CD)
        question = q.name.canonicalize().to_wire() + struct.pack("!HH", q.rdtype, q.rdclass)
        self._ask_upstream(wire, question_end(wire), question, edns, do, cd, query.payload,
                           udp, query, reply)

    def forward_plain(self, wire: bytes, found, reply) -> None:
        """A plain query (cache_key's `found`) for a name outside the zone, from a client that
        may recurse: to the forwarder with no parse; reply(bytes) when it is answered."""
        (question, size_class, do, cd), qend, payload, _ = found
        self._ask_upstream(wire, qend, question, size_class != 0, bool(do), bool(cd), payload,
                           True, None, reply)

    def _ask_upstream(self, wire, qend, question, edns, do, cd, payload, udp, query,
                      reply) -> None:
        """qend: where the client's question ends when it is plain (0: it is not, and its
        answer is rendered with dnspython); query: the parsed query, or None."""
        generation = self.zone.generation
        limit = min(max(512, payload), EDNS_PAYLOAD) if edns and udp else 512 if udp else 65535

        def answered(up) -> None:
            out = None
            if up is None:
                if qend:
                    out = dnswire.empty(wire, qend, edns, do, dns.rcode.SERVFAIL)
            elif qend == up.qend:
                out = dnswire.reply(wire, qend, edns, do, limit, up.raw, up.opt_at, up.age)
                if out is not None and out[2] & 0x02:
                    self.stats["truncated"] += 1
            if out is None:
                out = self._rendered(wire, query, up, udp, generation)
            # The hot path may repeat it for a second at most: the TTLs it shows stay true.
            if udp and up is not None and up.keep > 0 and out is not None:
                until = time.monotonic() + min(up.keep, 1.0)
                self._remember(wire, out, True, generation, until)
            reply(out)

        key = (question, do, cd, edns)
        self.forwarder.submit(key, dnswire.query(question, edns, do, cd), answered)

    def _rendered(self, wire, query, up, udp, generation) -> bytes | None:
        """The upstream's answer (None: SERVFAIL) rendered with dnspython: the rare case of a
        question with compression in it, or an answer whose bytes cannot be patched."""
        try:
            query = query or dns.message.from_wire(wire)
            resp = self._from_upstream(query, up)
        except dns.exception.DNSException:  # malformed beyond what wire.shape checks
            query = query or dns.message.from_wire(wire)
            resp = self._from_upstream(query, None)
        return self._finish(query, resp, wire, True, udp, generation, 0.0)

    @staticmethod
    def _from_upstream(query, up) -> dns.message.Message:
        resp = dns.message.make_response(query, pad=0)
        if up is None:
            resp.set_rcode(dns.rcode.SERVFAIL)
            return resp
        theirs = up.message()
        resp.set_rcode(theirs.rcode())
        resp.flags |= theirs.flags & dns.flags.AD
        for mine, their in ((resp.answer, theirs.answer), (resp.authority, theirs.authority),
                            (resp.additional, theirs.additional)):
            for rrset in their:
                aged = rrset.copy()
                aged.ttl = max(0, rrset.ttl - int(up.age))
                mine.append(aged)
        return resp

    def _finish(self, query, resp, wire, recurse, udp, generation, until) -> bytes:
        if recurse:
            resp.flags |= dns.flags.RA
        resp.flags |= query.flags & dns.flags.CD  # RFC 6840 5.9: CD copied
        out = self._render(resp, query, udp)
        if udp and until > 0:
            self._remember(wire, out, recurse, generation, until)
        return out

    def _render(self, resp, query, udp: bool) -> bytes:
        if query.edns >= 0:  # OPT in the answer when the query had one; DO echoed (RFC 3225)
            resp.use_edns(0, query.ednsflags & dns.flags.DO, EDNS_PAYLOAD, pad=0)
        if not udp:
            try:
                return resp.to_wire(max_size=65535)
            except dns.exception.TooBig:  # not even TCP can carry it
                self.stats["too_big"] += 1
                return self._emptied(resp, dns.rcode.SERVFAIL).to_wire()
        limit = min(max(512, query.payload), EDNS_PAYLOAD) if query.edns >= 0 else 512
        try:
            return resp.to_wire(max_size=limit)
        except dns.exception.TooBig:
            self.stats["truncated"] += 1
            resp = self._emptied(resp, resp.rcode())
            resp.flags |= dns.flags.TC
            return resp.to_wire(max_size=limit)

    @staticmethod
    def _emptied(resp, rcode):
        resp.answer.clear()
        resp.authority.clear()
        resp.additional.clear()
        resp.set_rcode(rcode)
        return resp

    def _remember(self, wire: bytes, out: bytes, recurse: bool, generation, until) -> None:
        found = cache_key(wire)
        if found is None:
            return
        key, qend, _, plain = found
        if plain and until == INFINITY:  # the exact cache never expires: zone answers only
            self.exact.put((wire[2:], recurse), (out[2:],), len(wire) + len(out),
                           generation, until)
        if key[1] == 1 and out[2] & 0x02:
            return  # truncated for a buffer between 512 and 1232: depends on the exact size
        head = bytes((out[2] & 0xFE, out[3])) + out[4:12]
        self.cache.put((key, recurse), (head, out[qend:]), len(key[0]) + len(out),
                       generation, until)

    def _formerr(self, wire: bytes) -> bytes:
        self.stats["formerr"] += 1
        flags = 0x8000 | (wire[2] & 0x79) << 8 | dns.rcode.FORMERR  # QR, opcode, RD kept
        return wire[:2] + struct.pack("!HHHHH", flags, 0, 0, 0, 0)

    def _error(self, query, rcode) -> bytes:
        resp = dns.message.make_response(query, pad=0)
        resp.flags |= query.flags & dns.flags.CD
        if query.edns >= 0:  # OPT back, in the version we speak (BADVERS included)
            resp.use_edns(0, query.ednsflags & dns.flags.DO, EDNS_PAYLOAD, pad=0)
        resp.set_rcode(rcode)
        return resp.to_wire()

    def answer(self, wire: bytes, ip: str, udp: bool = True) -> bytes | None:
        """The whole chain for one packet, waiting for the upstream if it must; never raises."""
        try:
            out = self.fast(wire, ip) if udp else None
        except Exception:
            out = None
        if out is not None:
            return out
        done, box = threading.Event(), []

        def reply(out):
            box.append(out)
            done.set()

        self.safe_slow(wire, ip, udp, reply)
        done.wait(self.upstream.budget + 1.0)
        return box[0] if box else None

    def safe_slow(self, wire: bytes, ip: str, udp: bool, reply) -> None:
        try:
            self.slow(wire, ip, udp, reply)
        except Exception:
            log.exception("answering a query from %s failed", ip)
            self.stats["errors"] += 1
            reply(None)

    # -- transports ----------------------------------------------------------------------

    def serve_udp(self, sock: socket.socket) -> None:
        # A thread holding the GIL keeps it up to the switch interval (5 ms by default) while
        # this loop waits with an answer ready: a short interval keeps hot answers' tail short.
        sys.setswitchinterval(SWITCH_INTERVAL)
        for i in range(self.workers):
            threading.Thread(target=self._zone_lane, args=(sock,), name=f"dns-zone-{i}",
                             daemon=True).start()
        # One poll: the clients' socket and the forwarder's sockets, so upstream answers are
        # handled here too, without a thread switch.
        handlers = self.forwarder.attach()
        handlers[sock.fileno()] = self._udp_batch(sock)
        poll, timeout, expire = epoll(handlers).poll, self.forwarder.timeout, self.forwarder.expire
        while True:
            try:
                for fd, _ in poll(timeout()):
                    handlers[fd]()
                expire()
            except Exception:  # never stop serving
                log.exception("the UDP loop failed; going on")

    def _udp_batch(self, sock: socket.socket):
        """A function that answers up to BATCH waiting client packets (the socket stays
        blocking for the lane's senders: reads here never wait)."""
        # Every name here is a local: this loop is the whole hot path.
        recv, send, zone = sock.recvfrom, sock.sendto, self.zone
        exact_get, exact_move = self.exact.data.get, self.exact.data.move_to_end
        memo, may_recurse, enqueue = self._allowed_memo, self.may_recurse, self.lane.put_nowait
        cached, forward, owns, stats = self._cached, self.forward_plain, zone.owns_wire, self.stats
        dontwait, counter = socket.MSG_DONTWAIT, [0]

        def batch() -> None:
            for _ in range(BATCH):
                try:
                    wire, addr = recv(65535, dontwait)
                except BlockingIOError:
                    return
                except OSError:
                    return
                try:
                    recurse = memo.get(addr[0])
                    if recurse is None:
                        recurse = may_recurse(addr[0])
                    key = (wire[2:], recurse)
                    hit = exact_get(key)
                    if hit is not None and hit[2] == zone.generation:
                        send(wire[:2] + hit[0], addr)
                        try:
                            exact_move(key)
                        except KeyError:
                            pass
                        counter[0] += 1
                        if counter[0] & 0xFFF == 0:
                            stats["exact"] += 0x1000
                        continue
                    found = cache_key(wire)
                    if found is not None:
                        out = cached(wire, found, recurse)
                        if out is not None:
                            send(out, addr)
                            continue
                        if recurse and not owns(found[0][0][:-4]):
                            forward(wire, found, _sender(send, addr))
                            continue
                except Exception:  # a send error, an odd source: never stop serving
                    continue
                try:
                    enqueue((wire, addr))
                except queue.Full:
                    stats["dropped_busy"] += 1

        return batch

    def _zone_lane(self, sock) -> None:
        send = sock.sendto
        while True:
            wire, addr = self.lane.get()
            self.safe_slow(wire, addr[0], True, _sender(send, addr))

    def tcp_server(self, address: tuple[str, int]):
        return tcp_server(self, address)


def _sender(send, addr):
    """reply(bytes or None) for a UDP client: None sends nothing."""
    def reply(out):
        if out is not None:
            try:
                send(out, addr)
            except OSError as err:
                log.warning("cannot answer %s: %s", addr[0], err)
    return reply


def udp_socket(address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(address)
    return sock
