"""Questions for names outside the zone, from clients that may recurse: handed to the
forwarder, and its answer relayed to the client as bytes (the client's ID, flags and question
patched in, TTLs aged), rendered with dnspython only when the bytes cannot be patched. A
plain query comes here from the UDP loop without being parsed at all."""

from __future__ import annotations

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


class Relay:
    def __init__(self, forwarder, caches, generation, stats):
        """generation(): the zone's current generation, carried by what is remembered."""
        self.forwarder, self.caches = forwarder, caches
        self.generation, self.stats = generation, stats

    def parsed(self, query, wire: bytes, udp: bool, reply) -> None:
        """A query the slow path parsed."""
        q = query.question[0]
        edns = query.edns >= 0
        do = bool(edns and query.ednsflags & dns.flags.DO)
        cd = bool(query.flags & dns.flags.CD)
        question = q.name.canonicalize().to_wire() + struct.pack("!HH", q.rdtype, q.rdclass)
        self._ask(wire, question_end(wire), question, edns, do, cd, query.payload, udp,
                  query, reply)

    def plain(self, wire: bytes, found, reply) -> None:
        """A plain UDP query (cache_key's `found`), not parsed; reply(bytes) when answered."""
        (question, size_class, do, cd), qend, payload, _ = found
        self._ask(wire, qend, question, size_class != 0, bool(do), bool(cd), payload, True,
                  None, reply)

    def _ask(self, wire, qend, question, edns, do, cd, payload, udp, query, reply) -> None:
        """qend: where the client's question ends when it is plain (0: it is not, and its
        answer is rendered with dnspython); query: the parsed query, or None."""
        generation = self.generation()
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
                out = self._rendered(wire, query, up, udp)
            # The hot path may repeat it for a second at most: the TTLs it shows stay true.
            if udp and up is not None and up.keep > 0 and out is not None:
                until = time.monotonic() + min(up.keep, 1.0)
                self.caches.remember(wire, out, True, generation, until)
            reply(out)

        key = (question, do, cd, edns)
        self.forwarder.submit(key, dnswire.query(question, edns, do, cd), answered)

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
