"""Spreads already computed, kept per storyline version: a read of an unchanged
storyline costs a lookup instead of MinHashing every member's text again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from app.schemas_spread import Spread

# (storyline id, change-feed version, tie window hours, least Jaccard)
SpreadKey = tuple[int, int, float, float]


class SpreadCache:
    """The ``size`` most recently read spreads (LRU).

    Keys carry the storyline's change-feed version, which moves with every change
    to the storyline (members, texts, merges, splits, edits): the ETag of the same
    answer relies on that too. An entry is therefore never stale; a changed
    storyline is asked under a new key and its old entries age out.
    """

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[SpreadKey, Spread] = OrderedDict()

    def get(self, key: SpreadKey, compute: Callable[[], Spread]) -> Spread:
        """The cached spread for ``key``, or ``compute()``'s (kept for next time)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        spread = compute()  # outside the lock: reads of other storylines go on meanwhile
        with self._lock:
            self._entries[key] = spread
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return spread
