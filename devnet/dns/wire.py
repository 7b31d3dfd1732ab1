"""DNS messages as bytes, for the forwarder: build a query, and read an answer's shape (where
its question ends, how long it may be kept, where its OPT is) without parsing it whole, so an
answer that cannot be cached is relayed for the cost of a few slices."""

from __future__ import annotations

import struct

OPT, SOA = 41, 6
NOERROR, NXDOMAIN = 0, 3
MAX_TTL = 86400
EDNS_PAYLOAD = 1232  # the DNS flag day's safe UDP size


def query(name_wire: bytes, rdtype: int, rdclass: int, edns: bool, do: bool, cd: bool) -> bytes:
    """A recursive query with ID 0: RD, CD as asked, EDNS (buffer 1232, DO as asked) or not."""
    flags = 0x0100 | (0x0010 if cd else 0)
    out = struct.pack("!HHHHHH", 0, flags, 1, 0, 0, 1 if edns else 0) + name_wire + \
        struct.pack("!HH", rdtype, rdclass)
    if edns:
        out += b"\x00" + struct.pack("!HHBBHH", OPT, EDNS_PAYLOAD, 0, 0,
                                     0x8000 if do else 0, 0)
    return out


def _skip_name(w: bytes, i: int) -> int:
    while True:
        n = w[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        if n > 63:
            raise ValueError("bad label")
        i += n + 1


def shape(w: bytes) -> tuple[int, int, int]:
    """(question end, seconds it may be kept, offset of its OPT RR or -1) of one answer.

    Kept: the smallest answer TTL; a negative answer the SOA's TTL and minimum, whichever is
    less (RFC 2308); nothing without an SOA, or for other rcodes. ValueError if malformed.
    """
    try:
        return _shape(w)
    except (IndexError, struct.error) as err:
        raise ValueError(f"malformed answer: {err}") from err


def _shape(w: bytes) -> tuple[int, int, int]:
    qd, an, ns, ar = struct.unpack_from("!HHHH", w, 4)
    if qd != 1:
        raise ValueError("not one question")
    i = qend = _skip_name(w, 12) + 4
    answer_ttl, negative_ttl, opt_at = None, 0, -1
    for k in range(an + ns + ar):
        start = i
        i = _skip_name(w, i)
        rtype, _, ttl, rdlen = struct.unpack_from("!HHIH", w, i)
        i += 10
        if rtype == OPT:
            opt_at = start
        elif k < an:
            answer_ttl = ttl if answer_ttl is None else min(answer_ttl, ttl)
        elif k < an + ns and rtype == SOA and rdlen >= 20:
            negative_ttl = min(ttl, struct.unpack_from("!I", w, i + rdlen - 4)[0])
        i += rdlen
    if i != len(w):
        raise ValueError("trailing or missing bytes")
    rcode = w[3] & 0x0F
    if rcode == NOERROR and answer_ttl is not None:
        keep = answer_ttl
    elif rcode in (NOERROR, NXDOMAIN):
        keep = negative_ttl
    else:
        keep = 0
    return qend, min(keep, MAX_TTL), opt_at
