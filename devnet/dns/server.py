"""The DNS server: UDP and TCP, a resolver chain (zone, then upstream), and a hot path.

The hot path (udp_loop) answers a repeated query from bytes rendered the first time
(answer_cache), writes a plain A or AAAA answer for a zone name itself (zone_wire), and
sends a plain question for a name outside the zone, from a client that may recurse,
straight to the forwarder (relay): no parse, no thread.
Anything else takes the slow path here, on the zone lane's threads or a TCP connection's:
dnspython parses it, the zone answers its own names at once, and other names go to the
forwarder, which never holds a thread while the upstream thinks. A malformed packet gets
FORMERR, or is dropped when it is not even a DNS header; nothing stops the server.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections import Counter

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
from devnet.dns import render, udp_loop
from devnet.dns.answer_cache import INFINITY, AnswerCaches
from devnet.dns.forwarder import Forwarder
from devnet.dns.policy import RecursionPolicy
from devnet.dns.query_key import cache_key
from devnet.dns.relay import Relay
from devnet.dns.tcp import tcp_server
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone
from devnet.dns.zone_wire import ZoneWire

log = logging.getLogger("devnet.dns")
LANE_QUEUE = 2048


class Server:
    def __init__(self, zone: Zone, upstream: Upstream, allowed_networks, workers: int = 2):
        self.zone, self.upstream = zone, upstream
        # A RecursionPolicy the registrar keeps current, or a fixed list of networks.
        self.policy = allowed_networks if isinstance(allowed_networks, RecursionPolicy) \
            else RecursionPolicy(allowed_networks)
        self.stats: Counter = Counter()
        generation = lambda: zone.generation  # noqa: E731
        self.caches = AnswerCaches(generation, self.stats)
        self.forwarder = Forwarder(upstream)
        self.relay = Relay(self.forwarder, self.caches, generation, self.stats)
        # The zone lane: what the hot path could not answer. Bounded: when full, dropped
        # (counted); forwarded questions leave it at once for the forwarder's own loop.
        self.lane: queue.Queue = queue.Queue(LANE_QUEUE)
        self.workers = workers
        zone.listeners.append(self.caches.clear)
        self.zone_wire = ZoneWire(zone)

    def counters(self) -> dict:
        """What `invoke dns.status` shows: queries by path, drops, forwarding, cache use."""
        return {**self.stats, **self.forwarder.stats, **self.caches.counters()}

    def may_recurse(self, ip: str) -> bool:
        return self.policy.allows(ip)

    # -- the two paths -------------------------------------------------------------------

    def fast(self, wire: bytes, ip: str):
        found = cache_key(wire)
        if found is None:
            return None
        recurse = self.may_recurse(ip)
        out = self.caches.lookup(wire, found, recurse)
        if out is None and self.zone.owns_wire(found[0][0][:-4]):
            out = self.zone_fast(wire, found, recurse)
        return out

    def zone_fast(self, wire: bytes, found, recurse: bool) -> bytes | None:
        """A plain A/AAAA question for a zone name, answered and remembered without the
        zone lane (zone_wire), or None."""
        done = self.zone_wire.answer(wire, found, recurse)
        if done is None:
            return None
        out, generation = done
        self.stats["zone_wire"] += 1
        self.caches.remember(wire, out, recurse, generation, INFINITY, found)
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
            return reply(render.formerr(wire, self.stats))
        if query.flags & dns.flags.QR:
            self.stats["dropped"] += 1
            return reply(None)
        if query.opcode() != dns.opcode.QUERY:
            return reply(render.error(query, dns.rcode.NOTIMP))
        if len(query.question) != 1:
            return reply(render.formerr(wire, self.stats))
        if query.edns > 0:  # RFC 6891 6.1.3: a version we do not speak
            return reply(render.error(query, dns.rcode.BADVERS))
        recurse = self.may_recurse(ip)
        if self.zone.owns(query.question[0].name):
            resp, generation = self.zone.answer(query)
            out = render.finish(query, resp, recurse, udp, self.stats)
            if udp:
                self.caches.remember(wire, out, recurse, generation, INFINITY)
            return reply(out)
        if not recurse:
            self.stats["refused"] += 1
            return reply(render.error(query, dns.rcode.REFUSED))
        self.relay.parsed(query, wire, udp, reply)

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
        udp_loop.serve(self, sock)

    def tcp_server(self, address: tuple[str, int]):
        return tcp_server(self, address)
