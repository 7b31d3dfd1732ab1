"""The server's two answer caches, which let a repeated query be answered from bytes
rendered the first time.

The exact cache (these very query bytes after the ID) is one dict lookup in the UDP loop; it
holds zone answers only, which never expire (only a zone change ends them), so the loop checks
no clock. The question cache checks the header, walks the question's labels (query_key), and
glues the client's ID and question onto the cached rest. Both are size-bounded LRUs whose
entries carry the zone generation they were computed from.
"""

from __future__ import annotations

import time

from devnet.dns.cache import LRU
from devnet.dns.query_key import cache_key

CACHE_BYTES = 5 << 20  # each of the two answer caches: ~15,000 answers
INFINITY = float("inf")


class AnswerCaches:
    def __init__(self, generation, stats):
        """generation(): the zone's current generation; stats: the server's Counter."""
        self.stats = stats
        # (question key, may recurse) -> (header, answer after the question)
        self.question = LRU(CACHE_BYTES, generation)
        # (query bytes after the ID, may recurse) -> (answer after the ID,)
        self.exact = LRU(CACHE_BYTES, generation)

    def clear(self) -> None:
        self.question.clear()
        self.exact.clear()

    def counters(self) -> dict:
        both = (self.question, self.exact)
        return {"cache_entries": sum(len(c) for c in both),
                "cache_bytes": sum(c.bytes for c in both),
                "cache_evicted": sum(c.evicted for c in both)}

    def lookup(self, wire: bytes, found, recurse: bool):
        """The question cache's answer for this query (cache_key's `found`), or None."""
        key, qend, payload, plain = found
        hit = self.question.get((key, recurse), time.monotonic())
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

    def remember(self, wire: bytes, out: bytes, recurse: bool, generation, until,
                 found=None) -> None:
        """Keep the answer `out` to the query `wire` until `until` (INFINITY: zone answers,
        which the exact cache keeps too), unless the zone moved past `generation`;
        found: cache_key(wire) when the caller has it."""
        found = found or cache_key(wire)
        if found is None:
            return
        key, qend, _, plain = found
        if plain and until == INFINITY:
            self.exact.put((wire[2:], recurse), (out[2:],), len(wire) + len(out),
                           generation, until)
        if key[1] == 1 and out[2] & 0x02:
            return  # truncated for a buffer between 512 and 1232: depends on the exact size
        head = bytes((out[2] & 0xFE, out[3])) + out[4:12]
        self.question.put((key, recurse), (head, out[qend:]), len(key[0]) + len(out),
                          generation, until)
