"""DNS messages as bytes, for the forwarder: build a query, read an answer's shape (where its
question ends, how long it may be kept, where its OPT is) without parsing it whole, and turn
the upstream's answer into the client's (its ID, flags and question; TTLs aged; OPT rewritten;
emptied with TC when it does not fit), so a forwarded question costs a few slices, no parse."""

from __future__ import annotations

import struct

OPT, SOA = 41, 6
NOERROR, NXDOMAIN = 0, 3
MAX_TTL = 86400
EDNS_PAYLOAD = 1232  # the DNS flag day's safe UDP size


def query(question: bytes, edns: bool, do: bool, cd: bool) -> bytes:
    """A recursive query with ID 0 for `question` (name in wire form, type, class): RD, CD as
    asked, EDNS (buffer 1232, DO as asked) or not."""
    flags = 0x0100 | (0x0010 if cd else 0)
    out = struct.pack("!HHHHHH", 0, flags, 1, 0, 0, 1 if edns else 0) + question
    return out + opt(do) if edns else out


def opt(do: bool, ext_rcode: int = 0) -> bytes:
    """Our OPT RR: root owner, buffer 1232, version 0, DO as given, no options."""
    return b"\x00" + struct.pack("!HHBBHH", OPT, EDNS_PAYLOAD, ext_rcode, 0,
                                 0x8000 if do else 0, 0)


def reply(wire: bytes, qend: int, edns: bool, do: bool, limit: int, raw: bytes,
          opt_at: int, age: float = 0.0) -> bytes | None:
    """The upstream's answer `raw` as the answer to the client's query `wire` (questions of
    the same length, ending at `qend`): the client's ID, RD, CD and question (its case too);
    RA, AD and the rcode from upstream; TTLs less `age` seconds; our OPT when the client sent
    one (options dropped, as a re-rendered answer drops them). Over `limit` bytes: emptied,
    with TC (RFC 2181 9). None when the bytes cannot be patched (an OPT that is not the last
    record): the caller renders it with dnspython."""
    if age >= 1:
        raw = aged(raw, int(age))
    if opt_at == -1:
        body, ar = raw[qend:], raw[10:12]
    elif opt_at + 11 + int.from_bytes(raw[opt_at + 9 : opt_at + 11]) == len(raw):
        body, ar = raw[qend:opt_at], (int.from_bytes(raw[10:12]) - 1).to_bytes(2)
    else:
        return None
    if edns:
        body += opt(do, raw[opt_at + 5] if opt_at != -1 else 0)
        ar = (int.from_bytes(ar) + 1).to_bytes(2)
    flags = bytes((0x80 | (wire[2] & 0x01),  # QR, RD as asked; AA and TC clear
                   0x80 | (raw[3] & 0x20) | (wire[3] & 0x10) | (raw[3] & 0x0F)))  # RA AD CD
    out = wire[:2] + flags + raw[4:10] + ar + wire[12:qend] + body
    return out if len(out) <= limit else empty(wire, qend, edns, do, raw[3] & 0x0F, tc=True)


def empty(wire: bytes, qend: int, edns: bool, do: bool, rcode: int, tc: bool = False) -> bytes:
    """An answer with no records to the client's query `wire` (RA set: only clients that may
    recurse get here): SERVFAIL when the upstream did not answer, or a truncated answer."""
    flags = bytes((0x80 | (0x02 if tc else 0) | (wire[2] & 0x01),
                   0x80 | (wire[3] & 0x10) | rcode))
    out = wire[:2] + flags + struct.pack("!HHHH", 1, 0, 0, 1 if edns else 0) + wire[12:qend]
    return out + opt(do) if edns else out


def aged(raw: bytes, seconds: int) -> bytes:
    """`raw` with every record's TTL less `seconds` (never below 0); the OPT left alone."""
    out = bytearray(raw)
    an, ns, ar = struct.unpack_from("!HHH", raw, 6)
    i = _skip_name(raw, 12) + 4
    for _ in range(an + ns + ar):
        i = _skip_name(raw, i)
        rtype, _, ttl, rdlen = struct.unpack_from("!HHIH", raw, i)
        if rtype != OPT:
            struct.pack_into("!I", out, i + 4, max(0, ttl - seconds))
        i += 10 + rdlen
    return bytes(out)


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
