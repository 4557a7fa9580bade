"""Live storylines as the evidence grouper sees them: dense, lexical and time state.

One row per live storyline holds the running sum of member vectors (dense
centroid), the summed term frequencies of all members (lexical centroid, as
sorted term-id / weight arrays), the last ``max_members`` members themselves
(vector and terms) for member-level comparison, the published span and the
stream time of the last addition. Rows of storylines inactive for longer than
an eviction horizon are dropped, so memory is bounded by the live window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from clustering.terms import facts_by_kind

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(slots=True)
class Member:
    """One article kept for member-level comparison.

    ``vector`` is the unit embedding (d,); ``term_ids``/``term_weights`` its
    article terms (k,); ``title_ids``/``title_weights`` the word terms of its
    title alone (t,), for title-to-title comparison; ``facts`` its typed facts
    (:func:`clustering.terms.fact_terms`), for spotting contradictions;
    ``language`` its ISO 639-1 code ("" when unknown).
    """

    vector: F32
    term_ids: I64
    term_weights: F64
    title_ids: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    title_weights: F64 = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    facts: frozenset[str] = frozenset()
    language: str = ""


@dataclass(slots=True)
class Lexicon:
    """Summed term weights of a storyline: sorted unique ids (k,) and weights (k,)."""

    term_ids: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    term_weights: F64 = field(default_factory=lambda: np.zeros(0, dtype=np.float64))

    def absorb(self, ids: I64, weights: F64) -> None:
        """Add ``weights`` at ``ids`` (ids may be unsorted, unique within the call)."""
        if self.term_ids.size > 2 * ids.size:
            self._merge_in(ids, weights)
            return
        all_ids = np.concatenate([self.term_ids, ids])
        all_w = np.concatenate([self.term_weights, weights])
        uniq, inverse = np.unique(all_ids, return_inverse=True)
        self.term_ids = uniq
        self.term_weights = np.bincount(inverse, weights=all_w, minlength=uniq.size).astype(
            np.float64
        )

    def _merge_in(self, ids: I64, weights: F64) -> None:
        """:meth:`absorb` for a lexicon much longer than ``ids``, without sorting it again.

        A big storyline's lexicon (thousands of terms on a headline stream) took
        a full ``np.unique`` per article added; here the held terms are found by
        binary search and the new ones inserted. Each sum is the held weight plus
        the new one, as ``np.bincount`` adds them, so the weights are the same bits.
        """
        at = np.searchsorted(self.term_ids, ids)
        held = at < self.term_ids.size
        held[held] = self.term_ids[at[held]] == ids[held]
        summed = self.term_weights.copy()
        summed[at[held]] += weights[held]
        new = np.flatnonzero(~held)
        new = new[np.argsort(ids[new], kind="stable")]
        self.term_ids = np.insert(self.term_ids, at[new], ids[new])
        self.term_weights = np.insert(summed, at[new], weights[new])

    def remap(self, old_to_new: I64) -> None:
        """Follow a vocabulary compaction; terms mapped to -1 are dropped."""
        ids = old_to_new[self.term_ids]
        keep = ids >= 0
        self.term_ids, self.term_weights = ids[keep], self.term_weights[keep]


@dataclass(slots=True)
class LexicalBlock:
    """A storyline's lexicon and its recent members' terms laid end to end.

    Scoring an article against a shortlist reads every candidate's lexicon and
    members. Gathering them from the member objects on each ``decide`` is a
    Python loop over a few hundred small arrays; a row changes far more rarely
    than it is read, so the table keeps them joined per row (see
    :meth:`StorylineTable.block`). Part ``s`` is the lexicon for s = 0 and
    member ``s - 1`` after; ``channel`` gives each term's bin, ``2s`` for a word
    term and ``2s + 1`` for an entity term. The members' terms start at
    ``lexicon_size``. ``title_member`` gives the member
    of each title term. ``vectors`` stacks the members' embeddings, (members,
    d); ``facts`` holds each member's facts by kind, ``languages`` each
    member's language. ``members`` is the number of members.
    """

    term_ids: I64
    term_weights: F64
    channel: I64
    title_ids: I64
    title_weights: F64
    title_member: I64
    vectors: F32
    facts: list[dict[str, set[str]]]
    members: int
    lexicon_size: int
    languages: tuple[str, ...] = ()


class StorylineTable:
    """Row store of live storylines keyed by the service's storyline ids."""

    def __init__(self, dim: int, max_members: int) -> None:
        self.max_members = max_members
        self.rows: dict[int, int] = {}
        self.keys: list[int] = []
        self.sums: F32 = np.zeros((0, dim), dtype=np.float32)
        self.norms: F32 = np.zeros(0, dtype=np.float32)  # L2 norm of each row of sums
        self.counts: I64 = np.zeros(0, dtype=np.int64)
        self.first: F64 = np.zeros(0, dtype=np.float64)  # NaN: no dated member
        self.last: F64 = np.zeros(0, dtype=np.float64)
        self.active: F64 = np.zeros(0, dtype=np.float64)  # stream time of last addition
        self.alive: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self.members: list[deque[Member]] = []
        self.lexicons: list[Lexicon] = []
        self.blocks: list[LexicalBlock | None] = []  # per row, None until read after a change

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def size(self) -> int:
        """Rows in use, alive or not; arrays are valid up to this length."""
        return len(self.keys)

    def add(self, key: int, member: Member, timestamp: float | None, clock: float) -> None:
        """Record ``member`` in storyline ``key`` (created if new) at stream time ``clock``."""
        row = self.rows.get(key)
        if row is None:
            row = self._new_row(key)
        self.sums[row] += member.vector
        self.norms[row] = np.linalg.norm(self.sums[row])
        self.counts[row] += 1
        self.members[row].append(member)
        self.lexicons[row].absorb(member.term_ids, member.term_weights)
        if timestamp is not None:
            self.first[row] = np.fmin(self.first[row], timestamp)
            self.last[row] = np.fmax(self.last[row], timestamp)
        self.active[row] = max(self.active[row], clock)
        self.blocks[row] = None

    def block(self, row: int, is_entity: NDArray[np.bool_]) -> LexicalBlock:
        """The lexicon and members of ``row`` joined (cached until the row changes).

        ``is_entity`` flags entity terms by id; a stored id's flag never changes
        (ids are renumbered only through :meth:`remap_terms`, which drops the
        cache).
        """
        cached = self.blocks[row]
        if cached is not None:
            return cached
        lexicon, members = self.lexicons[row], self.members[row]
        parts = [lexicon.term_ids, *(m.term_ids for m in members)]
        sizes = [a.size for a in parts]
        titles = [m.title_ids for m in members]
        term_ids = np.concatenate(parts)
        segment = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
        block = LexicalBlock(
            term_ids=term_ids,
            term_weights=np.concatenate([lexicon.term_weights, *(m.term_weights for m in members)]),
            channel=2 * segment + is_entity[term_ids],
            title_ids=np.concatenate([np.zeros(0, dtype=np.int64), *titles]),
            title_weights=np.concatenate(
                [np.zeros(0, dtype=np.float64), *(m.title_weights for m in members)]
            ),
            title_member=np.repeat(
                np.arange(len(titles), dtype=np.int64), [a.size for a in titles]
            ),
            vectors=np.stack([m.vector for m in members]),
            facts=[facts_by_kind(m.facts) for m in members],
            members=len(members),
            lexicon_size=lexicon.term_ids.size,
            languages=tuple(m.language for m in members),
        )
        self.blocks[row] = block
        return block

    def merge(self, source: int, target: int) -> None:
        """Fold storyline ``source`` into ``target``; either may be unknown (evicted)."""
        src = self.rows.pop(source, None)
        if src is None:
            return
        dst = self.rows.get(target)
        if dst is None:  # target was evicted: the source row simply takes its key
            self.rows[target] = src
            self.keys[src] = target
            return
        self.sums[dst] += self.sums[src]
        self.norms[dst] = np.linalg.norm(self.sums[dst])
        self.counts[dst] += self.counts[src]
        self.first[dst] = np.fmin(self.first[dst], self.first[src])
        self.last[dst] = np.fmax(self.last[dst], self.last[src])
        self.active[dst] = max(self.active[dst], self.active[src])
        merged = [*self.members[dst], *self.members[src]]
        self.members[dst] = deque(merged[-self.max_members :], maxlen=self.max_members)
        src_lex = self.lexicons[src]
        self.lexicons[dst].absorb(src_lex.term_ids, src_lex.term_weights)
        self.blocks[dst] = None
        self._kill(src)

    def detach(self, key: int, member: Member) -> I64:
        """Take ``member`` out of storyline ``key``; returns the term ids it no longer holds.

        Sums, count and lexicon lose the member's share; the published span stays
        (a slightly wider window, never a missed candidate). A storyline left
        empty is dropped. When the member was the last one kept for member-level
        comparison, a stand-in built from the storyline's mean takes its place.
        """
        row = self.rows.get(key)
        if row is None:
            return np.zeros(0, dtype=np.int64)
        lexicon = self.lexicons[row]
        held = lexicon.term_ids
        if self.counts[row] <= 1:
            del self.rows[key]
            self._kill(row)
            return held
        self.sums[row] -= member.vector
        self.norms[row] = np.linalg.norm(self.sums[row])
        self.counts[row] -= 1
        lexicon.absorb(member.term_ids, -member.term_weights)
        keep = lexicon.term_weights > 1e-9
        lexicon.term_ids, lexicon.term_weights = lexicon.term_ids[keep], lexicon.term_weights[keep]
        kept = list(self.members[row])
        for i, m in enumerate(kept):
            if np.array_equal(m.vector, member.vector):
                del kept[i]
                break
        if not kept:
            kept = [self._stand_in(row)]
        self.members[row] = deque(kept, maxlen=self.max_members)
        self.blocks[row] = None
        return np.setdiff1d(held, lexicon.term_ids)

    def _stand_in(self, row: int) -> Member:
        """A member that is the storyline's mean: its direction and its average terms."""
        lexicon = self.lexicons[row]
        vector = (self.sums[row] / max(float(self.norms[row]), 1e-12)).astype(np.float32)
        return Member(vector, lexicon.term_ids.copy(), lexicon.term_weights / self.counts[row])

    def evict_inactive(self, before: float, keep: int = 0) -> list[tuple[int, I64]]:
        """Drop storylines whose last addition happened at stream time < ``before``.

        The ``keep`` most recently active of them stay (dormant: the caller
        decides who may still reach them). Returns (key, lexicon term ids) of
        each dropped storyline.
        """
        n = self.size
        stale = np.flatnonzero(self.alive[:n] & (self.active[:n] < before))
        if keep > 0:
            # Oldest first, ties by row: the last ``keep`` stay.
            by_age = stale[np.lexsort((stale, self.active[stale]))]
            stale = np.sort(by_age[: max(by_age.size - keep, 0)])
        dropped = []
        for row in stale.tolist():
            key = self.keys[row]
            dropped.append((key, self.lexicons[row].term_ids))
            del self.rows[key]
            self._kill(row)
        if n > 1024 and len(self.rows) < n // 2:
            self._compact()
        return dropped

    def remap_terms(self, old_to_new: I64) -> None:
        """Follow a vocabulary compaction in every live member and lexicon."""
        self.blocks = [None] * len(self.blocks)
        for row in self.rows.values():
            self.lexicons[row].remap(old_to_new)
            for m in self.members[row]:
                ids = old_to_new[m.term_ids]
                keep = ids >= 0
                m.term_ids, m.term_weights = ids[keep], m.term_weights[keep]
                ids = old_to_new[m.title_ids]
                keep = ids >= 0
                m.title_ids, m.title_weights = ids[keep], m.title_weights[keep]

    def _kill(self, row: int) -> None:
        self.alive[row] = False
        self.members[row] = deque(maxlen=self.max_members)
        self.lexicons[row] = Lexicon()
        self.blocks[row] = None

    def _new_row(self, key: int) -> int:
        row = self.size
        if row >= self.sums.shape[0]:
            self._resize(max(64, 2 * self.sums.shape[0]))
        self.keys.append(key)
        self.rows[key] = row
        self.alive[row] = True
        self.sums[row] = 0.0
        self.norms[row] = 0.0
        self.counts[row] = 0
        self.first[row] = self.last[row] = np.nan
        self.active[row] = -np.inf
        self.members.append(deque(maxlen=self.max_members))
        self.lexicons.append(Lexicon())
        self.blocks.append(None)
        return row

    def _resize(self, cap: int) -> None:
        n = self.size
        dim = self.sums.shape[1]

        def grow(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
            out = np.zeros(shape, dtype=a.dtype)
            out[:n] = a[:n]
            return out

        self.sums = grow(self.sums, (cap, dim))
        self.norms = grow(self.norms, (cap,))
        self.counts = grow(self.counts, (cap,))
        self.first = grow(self.first, (cap,))
        self.last = grow(self.last, (cap,))
        self.active = grow(self.active, (cap,))
        self.alive = grow(self.alive, (cap,))

    def _compact(self) -> None:
        """Renumber live rows densely, preserving their order (keeps decisions deterministic)."""
        order = sorted(self.rows.values())
        idx = np.asarray(order, dtype=np.int64)
        self.keys = [self.keys[r] for r in order]
        self.members = [self.members[r] for r in order]
        self.lexicons = [self.lexicons[r] for r in order]
        self.blocks = [self.blocks[r] for r in order]
        self.rows = {k: i for i, k in enumerate(self.keys)}
        for name in ("sums", "norms", "counts", "first", "last", "active", "alive"):
            arr = getattr(self, name)
            fresh = np.zeros_like(arr)
            fresh[: idx.size] = arr[idx]
            setattr(self, name, fresh)
