"""Rendered answers, bounded by bytes, least recently used evicted first.

Each entry carries the zone generation it was computed from and when it stops being valid:
a reader serves it only while both hold, and a fill is refused under the lock when the zone
moved since the answer was computed. So an answer computed before a change can never be
stored, or served, after that change has been applied.

The UDP loop reads `data` directly (a dict lookup and a move to the end, no lock: each is one
atomic step under the GIL); every change goes through `put` and `clear`, under the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

ENTRY_OVERHEAD = 460  # bytes per entry beyond key and value (measured with tracemalloc)


class LRU:
    def __init__(self, max_bytes: int, current_generation=lambda: 0):
        self.data: OrderedDict = OrderedDict()
        self.max_bytes, self.bytes = max_bytes, 0
        self.generation = current_generation
        self.lock = threading.Lock()
        self.evicted = self.refused = 0

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key, now: float):
        """(value, …) while valid, else None; a hit becomes the most recently used."""
        hit = self.data.get(key)
        if hit is None or hit[-1] < now or hit[-2] != self.generation():
            return None
        try:
            self.data.move_to_end(key)
        except KeyError:  # evicted by another thread since the lookup
            pass
        return hit

    def put(self, key, value: tuple, size: int, generation: int, until: float) -> bool:
        """Store `value + (size, generation, until)`; refused when the zone moved since."""
        size += ENTRY_OVERHEAD
        if size > self.max_bytes // 16:
            return False  # one huge answer must not flush everything else
        with self.lock:
            if generation != self.generation():
                self.refused += 1
                return False
            old = self.data.pop(key, None)
            self.bytes += size - (old[-3] if old else 0)
            self.data[key] = (*value, size, generation, until)
            while self.bytes > self.max_bytes:
                self.bytes -= self.data.popitem(last=False)[1][-3]
                self.evicted += 1
        return True

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.bytes = 0
