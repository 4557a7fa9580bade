"""The contract between the service and an online grouping method.

The service feeds articles one at a time, in arrival order. For each it asks the
grouper for a :class:`Decision` (join an existing storyline or open a new one),
persists the outcome, then tells the grouper with :meth:`OnlineGrouper.add`.
Storyline keys are the service's own integer ids: the grouper never invents ids,
so a storyline keeps its id for ever whatever method runs behind it.

At start-up the service rebuilds a grouper by calling ``add`` for the stored
articles of the live window in their original order; a grouper must therefore
reach the same state from the same sequence of ``add`` calls (determinism).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Item:
    """One article as grouping sees it.

    ``vector`` is 1-D float32 with unit L2 norm. ``timestamp`` is seconds since
    the Unix epoch (UTC) of publication, or None when the article carries no
    date. ``title`` and ``body`` are the cleaned texts, for lexical evidence.
    ``language`` is its ISO 639-1 code ("" when unknown): words are compared
    only between articles of one language.
    """

    vector: Vector
    title: str
    body: str
    timestamp: float | None
    language: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """Where an item goes: ``storyline`` is an existing key, or None for a new one.

    ``similarity`` is the method's score for the chosen storyline in [0, 1]
    (for a new storyline, the best score that was rejected, 0.0 if none).
    """

    storyline: int | None
    similarity: float


class OnlineGrouper(Protocol):
    """A single-pass grouping method. Implementations are deterministic."""

    def decide(self, item: Item) -> Decision:
        """Choose a storyline for ``item`` without changing any state."""
        ...

    def add(self, item: Item, storyline: int) -> None:
        """Record ``item`` as a member of ``storyline`` (new or existing key)."""
        ...

    def merge(self, source: int, target: int) -> None:
        """Fold storyline ``source`` into ``target``; ``source`` stops existing."""
        ...

    def detach(self, item: Item, storyline: int) -> None:
        """Take ``item``, added earlier, out of ``storyline`` (it was moved or split off).

        Stream-wide statistics (term frequencies, the clock) keep counting it;
        only the storyline changes. A storyline left empty stops existing; an
        unknown one (never held, or evicted) is left alone.
        """
        ...

    def attach(self, item: Item, storyline: int) -> None:
        """Record ``item``, counted by an earlier :meth:`add`, as a member of ``storyline``."""
        ...

    def __len__(self) -> int:
        """Number of storylines the grouper currently holds."""
        ...
