"""What the hot path reads from a query's bytes without parsing it: where a plain question
ends, and the cache key of the question (name lower-cased, type, class, and what changes the
answer)."""

from __future__ import annotations

from devnet.dns.wire import EDNS_PAYLOAD

PADDING = 12  # the one EDNS option the hot path understands (RFC 7830): it never matters


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
