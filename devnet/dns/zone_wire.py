"""Zone answers to plain A and AAAA questions, written as bytes without dnspython.

After a container event every rendered answer is dropped, and each first question used to go
to the zone lane: a thread switch, then dnspython parsing the query, building records from
text and rendering them, ~150 µs of Python a question (bench/results/dns_cost.json). These
questions are most of what clients ask, and their answers are simple: the client's header
and question, the addresses (owner: a pointer to the question), or for a name without them the
origin's SOA in the authority section (RFC 2308), and our OPT when the query had one. The UDP
loop writes them here, itself; anything else (other types, answers that do not fit) still
takes the zone lane. Same answer as the slow path's, checked record by record in the tests.
"""

from __future__ import annotations

import io
import socket
import struct

import dns.name
from devnet.dns import wire as dnswire
from devnet.dns.wire import EDNS_PAYLOAD

QTYPES = {b"\x00\x01": (1, socket.AF_INET), b"\x00\x1c": (28, socket.AF_INET6)}
IN = b"\x00\x01"
NOERROR, NXDOMAIN = 0, 3


class ZoneWire:
    def __init__(self, zone):
        self.zone = zone
        self._soa: dict = {}  # (origin's wire name, generation) -> the SOA record's bytes

    def answer(self, wire: bytes, found, recurse: bool) -> tuple[bytes, int] | None:
        """(answer, zone generation it was computed from) to the plain UDP query `wire`
        (cache_key's `found`) for a name in the zone, or None: the slow path answers it."""
        (question, size_class, do, cd), qend, payload, _ = found
        kind = QTYPES.get(question[-4:-2])
        if kind is None or question[-2:] != IN:
            return None
        rdtype, family = kind
        generation, values, known = self.zone.addresses(question[:-4], rdtype)
        ttl = self.zone.ttl
        if values:
            head = struct.pack("!HHIH", rdtype, 1, ttl, 4 if rdtype == 1 else 16)
            body = b"".join(b"\xc0\x0c" + head + socket.inet_pton(family, v) for v in values)
            counts, rcode = (len(values), 0), NOERROR
        else:
            body, counts = self._negative(question, generation), (0, 1)
            rcode = NOERROR if known else NXDOMAIN
        edns = size_class != 0
        limit = min(max(512, payload), EDNS_PAYLOAD) if edns else 512
        if qend + len(body) + (11 if edns else 0) > limit:
            return None  # the slow path truncates it
        # QR, AA, RD as asked; RA when the client may recurse, CD copied (RFC 6840 5.9)
        flags = bytes((0x84 | (wire[2] & 0x01), (0x80 if recurse else 0) | cd | rcode))
        out = wire[:2] + flags + struct.pack("!HHHH", 1, *counts, 1 if edns else 0) + \
            wire[12:qend] + body
        return (out + dnswire.opt(bool(do)) if edns else out), generation

    def _negative(self, question: bytes, generation: int) -> bytes:
        """The SOA record for a negative answer, rendered once per origin and generation."""
        key = (self.zone.origin_of(dns.name.from_wire(question, 0)[0]), generation)
        out = self._soa.get(key)
        if out is None:
            if len(self._soa) > 64:
                self._soa.clear()  # old generations' records
            buf = io.BytesIO()
            self.zone.soa(key[0], generation).to_wire(buf)
            out = self._soa[key] = buf.getvalue()
        return out
