"""Questions for names outside the zone, from clients that may recurse: handed to the
forwarder, and its answer relayed to the client as bytes (the client's ID, flags and question
patched in, TTLs aged), rendered with dnspython only when the bytes cannot be patched. A
plain query comes here from the UDP loop without being parsed at all."""

from __future__ import annotations

import logging
import struct
import time

import dns.exception
import dns.flags
import dns.message
import dns.rcode
from devnet.dns import render
from devnet.dns import wire as dnswire
from devnet.dns.query_key import question_end
from devnet.dns.wire import EDNS_PAYLOAD

log = logging.getLogger("devnet.dns")


class Relay:
    def __init__(self, forwarder, caches, generation, stats):
        """generation(): the zone's current generation, carried by what is remembered."""
        self.forwarder, self.caches = forwarder, caches
        self.generation, self.stats = generation, stats
        self._deliver_udp = self._to_udp  # one bound method, not one per question

    def parsed(self, query, wire: bytes, udp: bool, reply) -> None:
        """A query the slow path parsed."""
        q = query.question[0]
        edns = query.edns >= 0
        do = bool(edns and query.ednsflags & dns.flags.DO)
        cd = bool(query.flags & dns.flags.CD)
        question = q.name.canonicalize().to_wire() + struct.pack("!HH", q.rdtype, q.rdclass)
        self._ask(wire, question_end(wire), question, edns, do, cd, query.payload, udp,
                  query, reply)

    def plain(self, wire: bytes, found, addr, send) -> None:
        """A plain UDP query (cache_key's `found`) from the UDP loop, not parsed: its answer
        goes to `addr` with send(bytes, addr). The hot path of a forwarded name: no closure,
        and the upstream's query made only when the question is not in flight already."""
        (question, size_class, do, cd), qend, payload, _ = found
        edns, do = size_class != 0, bool(do)
        self.forwarder.ask((question, do, bool(cd), edns), self._deliver_udp,
                           (wire, qend, edns, do, _limit(edns, payload, True), addr, send,
                            self.generation()))

    def _to_udp(self, up, arg) -> None:
        wire, qend, edns, do, limit, addr, send, generation = arg
        out = self._answer(wire, qend, edns, do, limit, up, None, True)
        try:
            send(out, addr)
        except OSError as err:
            log.warning("cannot answer %s: %s", addr[0], err)
        self._keep(wire, out, up, True, generation)

    def _ask(self, wire, qend, question, edns, do, cd, payload, udp, query, reply) -> None:
        """qend: where the client's question ends when it is plain (0: it is not, and its
        answer is rendered with dnspython); query: the parsed query, or None."""
        generation = self.generation()
        limit = _limit(edns, payload, udp)

        def answered(up, _arg) -> None:
            out = self._answer(wire, qend, edns, do, limit, up, query, udp)
            reply(out)  # the client first, then what is kept for the next one
            self._keep(wire, out, up, udp, generation)

        self.forwarder.ask((question, do, cd, edns), answered, None)

    def _answer(self, wire, qend, edns, do, limit, up, query, udp) -> bytes:
        """The client's answer from the upstream's (None: SERVFAIL): patched bytes where the
        question is plain, else rendered."""
        out = None
        if up is None:
            if qend:
                out = dnswire.empty(wire, qend, edns, do, dns.rcode.SERVFAIL)
        elif qend == up.qend:
            out = dnswire.reply(wire, qend, edns, do, limit, up.raw, up.opt_at, up.age)
            if out is not None and out[2] & 0x02:
                self.stats["truncated"] += 1
        return out if out is not None else self._rendered(wire, query, up, udp)

    def _keep(self, wire, out, up, udp, generation) -> None:
        # The hot path may repeat it for a second at most: the TTLs it shows stay true.
        if udp and up is not None and up.keep > 0 and out is not None:
            until = time.monotonic() + min(up.keep, 1.0)
            self.caches.remember(wire, out, True, generation, until)

    def _rendered(self, wire, query, up, udp) -> bytes:
        """The upstream's answer (None: SERVFAIL) rendered with dnspython: the rare case of a
        question with compression in it, or an answer whose bytes cannot be patched."""
        try:
            query = query or dns.message.from_wire(wire)
            resp = _from_upstream(query, up)
        except dns.exception.DNSException:  # malformed beyond what wire.shape checks
            query = query or dns.message.from_wire(wire)
            resp = _from_upstream(query, None)
        return render.finish(query, resp, True, udp, self.stats)


def _limit(edns: bool, payload: int, udp: bool) -> int:
    """The most bytes the client's answer may have: its EDNS buffer (at most ours), 512
    without EDNS, anything over TCP."""
    if not udp:
        return 65535
    return min(max(512, payload), EDNS_PAYLOAD) if edns else 512


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
