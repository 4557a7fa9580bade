"""Single-pass grouping on combined dense, lexical and time evidence.

For each article the grouper shortlists live storylines whose published span
lies within ``window_days`` of the article's date (all of them when either side
is undated), keeps the ``shortlist`` best by dense centroid cosine, computes the
features of :mod:`clustering.join_model` for those, and joins the candidate the
:class:`~clustering.join_model.JoinModel` finds most probable when it clears the
model's threshold.

With ``by_language`` (for vectors of a multilingual model), words are compared
only between articles of one language: against a member
in another language, the lexical cosines count only the terms that read the
same in any language (numbers, dates: terms with a digit), over the same full
norms, so they say what those keys alone add; facts (English patterns) are
compared within a language only. Dense evidence compares across languages
(with a multilingual model), and ``cross_language`` tells the join model when
no recent member of a candidate shares the article's language. Streams of one
language decide exactly as before, and so does every stream without
``by_language``: with vectors of a one-language model, names spelt alike are
the only evidence that can tie two languages.

Body lines that recur across unrelated articles (site furniture, learned from
the stream by :class:`~clustering.boilerplate.BoilerplateLines`) are left out of
the lexical evidence. Lexical weights are tf-idf with document frequencies from
:class:`~clustering.doc_freq.DocumentFrequency`, i.e. only from added articles
and decayed in stream time, so replaying ``add`` over the stored live window
rebuilds nearly the same state. Storylines with no addition for
``evict_after_days`` of stream time (the service's one live horizon, after which
they also go dormant) are dropped, bounding memory and keeping
``decide`` fast. Cost per ``decide``: O(live x d) for the dense shortlist plus
O(shortlist x members x terms) for the lexical features.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from clustering.boilerplate import BoilerplateLines
from clustering.doc_freq import DocumentFrequency
from clustering.join_model import DEFAULT_MODEL, FEATURES, JoinModel
from clustering.online import Decision, Item
from clustering.postings import TermPostings
from clustering.storylines import F64, I64, LexicalBlock, Member, StorylineTable
from clustering.terms import ENTITY_MARK, article_terms, fact_terms, facts_by_kind, title_terms

_DAY = 86_400.0
# Each feature's column in a row of features.
_COLUMN = {name: column for column, name in enumerate(FEATURES)}
# The columns of EvidenceGrouper._lexical, by name.
_LEXICAL_FEATURES = ("word_centroid", "word_max", "entity_centroid", "entity_max", "title_max")
# The lexical centroid cosines: decide computes them only when the model weighs them.
_CENTROID_COLUMNS = (_COLUMN["word_centroid"], _COLUMN["entity_centroid"])
_MARGIN_CAP = 0.1
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class _Reading:
    """One item's text as the grouper uses it (see :meth:`EvidenceGrouper._read`)."""

    line_keys: list[int | None]  # BoilerplateLines.line_key of each body line
    terms: dict[str, float]  # article_terms of the headline and the furniture-cut body
    title_terms: dict[str, float]
    facts: frozenset[str]


class EvidenceGrouper:
    """Join-or-new by a calibrated logistic model over dense, lexical and time features."""

    def __init__(
        self,
        model: JoinModel = DEFAULT_MODEL,
        window_days: float = 30.0,
        shortlist: int = 32,
        lexical_shortlist: int = 32,
        max_postings: int = 2000,
        max_members: int = 8,
        half_life_days: float | None = 14.0,
        evict_after_days: float = 30.0,
        dormant_kept: int = 0,
        title_weight: float = 2.0,
        max_body_tokens: int = 400,
        background_prior: tuple[float, float] = (0.10, 0.11),
        background_weight: float = 0.0,
        strip_boilerplate: bool = True,
        by_language: bool = False,
    ) -> None:
        self.model = model
        self.window_days = window_days
        self.shortlist = shortlist
        self.lexical_shortlist = lexical_shortlist
        self.max_postings = max_postings
        self.max_members = max_members
        self.half_life_days = half_life_days
        self.evict_after_days = evict_after_days
        self.dormant_kept = dormant_kept
        self.title_weight = title_weight
        self.max_body_tokens = max_body_tokens
        self.background_prior = background_prior
        self.background_weight = background_weight
        self.by_language = by_language
        self.boilerplate_ = BoilerplateLines() if strip_boilerplate else None
        self.df_ = DocumentFrequency(half_life_days)
        self.table_: StorylineTable | None = None
        self.postings_ = TermPostings()
        self.is_entity_ = np.zeros(0, dtype=bool)  # per term id
        self.is_key_ = np.zeros(0, dtype=bool)  # per term id: has a digit, any language's
        self.clock_ = -math.inf  # latest timestamp added, Unix seconds
        self.evicted_at_ = -math.inf
        self.horizon_ = -math.inf  # storylines last active before it are dormant
        self.vocab_at_compact_ = 0
        self.last_item_: Item | None = None
        self.last_reading_: _Reading | None = None
        self.recent_ = np.zeros((0, 0), dtype=np.float32)  # ring of last added vectors
        self.query_ = np.zeros(0, dtype=np.float64)  # scratch, all zeros between calls
        self.added_ = 0

    def __len__(self) -> int:
        return 0 if self.table_ is None else len(self.table_)

    def decide(self, item: Item) -> Decision:
        keys, features = self.candidates(item, all_features=False)
        if not keys:
            return Decision(None, 0.0)
        p = self.model.probability(features)
        best = int(np.argmax(p))
        if p[best] >= self.model.threshold:
            return Decision(keys[best], float(p[best]))
        return Decision(None, float(p[best]))

    def add(self, item: Item, storyline: int) -> None:
        if self.table_ is None:
            self.table_ = StorylineTable(item.vector.shape[0], self.max_members)
        if item.timestamp is not None:
            self.clock_ = max(self.clock_, item.timestamp)
        if self.recent_.shape[0] == 0:
            self.recent_ = np.zeros((512, item.vector.shape[0]), dtype=np.float32)
        self.recent_[self.added_ % self.recent_.shape[0]] = item.vector
        self.added_ += 1
        reading = self._read(item)
        terms = reading.terms
        ids = self.df_.add(terms, item.timestamp)
        if self.is_entity_.size < len(self.df_):
            size = max(1024, 2 * len(self.df_))
            self.is_entity_ = _grown(self.is_entity_, size)
            self.is_key_ = _grown(self.is_key_, size)
        self.is_entity_[ids] = _entity_flags(terms)
        self.is_key_[ids] = _key_flags(terms)
        weights = np.fromiter(terms.values(), dtype=np.float64, count=len(terms))
        t_terms = reading.title_terms
        member = Member(
            np.asarray(item.vector, dtype=np.float32),
            ids,
            weights,
            self.df_.lookup(t_terms),
            np.fromiter(t_terms.values(), dtype=np.float64, count=len(t_terms)),
            reading.facts,
            item.language,
        )
        self.table_.add(storyline, member, item.timestamp, self.clock_)
        self.postings_.add(storyline, ids.tolist())
        if self.boilerplate_ is not None:
            keys = {k for k in reading.line_keys if k is not None}
            self.boilerplate_.observe_keys(keys, item.timestamp)
        self._housekeeping()

    def detach(self, item: Item, storyline: int) -> None:
        if self.table_ is None:
            return
        dropped = self.table_.detach(storyline, self._known_member(item))
        self.postings_.remove(storyline, dropped.tolist())

    def attach(self, item: Item, storyline: int) -> None:
        if self.table_ is None:
            self.table_ = StorylineTable(item.vector.shape[0], self.max_members)
        member = self._known_member(item)
        self.table_.add(storyline, member, item.timestamp, self.clock_)
        self.postings_.add(storyline, member.term_ids.tolist())

    def _known_member(self, item: Item) -> Member:
        """``item`` as a member, with the terms the vocabulary still knows (no counting)."""
        reading = self._read(item)
        ids = self.df_.lookup(reading.terms)
        weights = np.fromiter(reading.terms.values(), dtype=np.float64, count=len(reading.terms))
        t_ids = self.df_.lookup(reading.title_terms)
        t_weights = np.fromiter(
            reading.title_terms.values(), dtype=np.float64, count=len(reading.title_terms)
        )
        keep, t_keep = ids >= 0, t_ids >= 0
        return Member(
            np.asarray(item.vector, dtype=np.float32),
            ids[keep],
            weights[keep],
            t_ids[t_keep],
            t_weights[t_keep],
            reading.facts,
            item.language,
        )

    def merge(self, source: int, target: int) -> None:
        if self.table_ is None:
            return
        row = self.table_.rows.get(source)
        if row is not None:
            self.postings_.rename(source, target, self.table_.lexicons[row].term_ids.tolist())
        self.table_.merge(source, target)

    def candidates(self, item: Item, *, all_features: bool = True) -> tuple[list[int], F64]:
        """Shortlisted storyline keys and their features, shape (k, len(FEATURES)).

        With ``all_features`` False, the lexical centroid cosines (word_centroid,
        entity_centroid), the costliest features, are left at 0 when the model
        gives them no weight: its probabilities stay exactly the same.
        """
        table = self.table_
        if table is None or len(table) == 0:
            return [], np.zeros((0, len(FEATURES)))
        rows = self._rows_in_window(table, item.timestamp)
        if rows.size == 0:
            return [], np.zeros((0, len(FEATURES)))
        reading = self._read(item)
        terms = reading.terms
        q_ids = self.df_.lookup(terms)
        q_w = np.fromiter(terms.values(), dtype=np.float64, count=len(terms))
        q_w *= self.df_.idf(q_ids)
        q_ent = _entity_flags(terms)
        n = table.size
        dense_c = ((table.sums[:n] @ item.vector) / np.maximum(table.norms[:n], 1e-12))[rows]
        if rows.size > self.shortlist:
            keep = np.zeros(rows.size, dtype=bool)
            keep[_top(dense_c, self.shortlist)] = True
            keep |= self._lexical_hits(table, rows, q_ids, q_w)
            rows, dense_c = rows[keep], dense_c[keep]
        feats = np.zeros((rows.size, len(FEATURES)), dtype=np.float64)
        f = _COLUMN
        feats[:, f["dense_centroid"]] = dense_c
        blocks = [table.block(r, self.is_entity_) for r in rows.tolist()]
        members = np.fromiter((b.members for b in blocks), dtype=np.int64, count=rows.size)
        # Best member cosine per candidate. vecdot takes each row's dot product as
        # ``m.vector @ item.vector`` does (a matrix product may round differently).
        sims = np.vecdot(np.concatenate([b.vectors for b in blocks]), item.vector)
        feats[:, f["dense_max"]] = np.maximum.reduceat(sims, np.cumsum(members) - members)
        dense_max = feats[:, f["dense_max"]]
        centroids = all_features or any(self.model.weights[c] != 0.0 for c in _CENTROID_COLUMNS)
        # Members in another language than the article's (None: none is).
        cross = _cross_members(blocks, item.language) if self.by_language else None
        lexical = self._lexical(
            blocks, members, q_ids, q_w, q_ent, reading.title_terms, centroids, cross
        )
        for column, name in enumerate(_LEXICAL_FEATURES):
            feats[:, f[name]] = lexical[:, column]
        title_max, entity_max = feats[:, f["title_max"]], feats[:, f["entity_max"]]
        log_gap = np.log1p(self._gap_days(table, rows, item.timestamp))
        feats[:, f["log_gap_days"]] = log_gap
        feats[:, f["log_size"]] = np.log(table.counts[rows])
        feats[:, f["log_gap_weak_title"]] = log_gap * (1.0 - title_max)
        mu, sd = self._background(item.vector)
        feats[:, f["dense_z"]] = (dense_max - mu) / sd
        if rows.size > 1:
            top2 = np.sort(dense_max)[-2:]
            margin = dense_max - np.where(dense_max >= top2[1], top2[0], top2[1])
        else:
            margin = dense_max - mu
        feats[:, f["dense_margin"]] = margin
        feats[:, f["dense_margin_capped"]] = np.clip(margin, -_MARGIN_CAP, _MARGIN_CAP)
        feats[:, f["log_gap_weak_evidence"]] = log_gap * (1.0 - title_max) * (1.0 - entity_max)
        conflict, tie = self._fact_evidence(blocks, reading.facts, cross)
        feats[:, f["fact_conflict"]], feats[:, f["street_tie"]] = conflict, tie
        feats[:, f["log_gap_untied"]] = feats[:, f["log_gap_weak_title"]] * (1.0 - tie)
        undated = np.isnan(table.first[rows]) if item.timestamp is not None else True
        feats[:, f["undated"]] = undated
        feats[:, f["undated_dense_max"]] = undated * dense_max
        feats[:, f["undated_title_max"]] = undated * title_max
        feats[:, f["undated_entity_max"]] = undated * entity_max
        feats[:, f["undated_margin"]] = undated * feats[:, f["dense_margin_capped"]]
        if cross is not None:
            # No recent member shares the article's language: the words said nothing.
            apart = np.logical_and.reduceat(cross, np.cumsum(members) - members)
            feats[:, f["cross_language"]] = apart
            feats[:, f["cross_dense_max"]] = apart * dense_max
        return [table.keys[r] for r in rows.tolist()], feats

    def _background(self, vector: NDArray[np.float32]) -> tuple[float, float]:
        """Mean and spread of ``vector``'s cosine with the last added articles.

        With ``background_weight`` k > 0 both are shrunk towards
        ``background_prior`` (mean, sd), which counts as k pseudo-articles: a
        history of a few articles says little about what usual closeness is.
        The default prior (0.10, 0.11) is the random-pair cosine of the most
        varied dev corpus (uci_headlines: 0.077, 0.113). k = 0 is the raw
        statistic the default model was fitted on.
        """
        n = min(self.added_, self.recent_.shape[0])
        k = self.background_weight
        if k <= 0.0:
            if n < 2:
                return 0.0, 0.1
            raw = self.recent_[:n] @ vector
            return float(raw.mean()), max(float(raw.std()), 0.05)
        mu0, sd0 = self.background_prior
        sims = self.recent_[:n] @ vector
        mu = (float(sims.sum()) + k * mu0) / (n + k)
        sq = float(((sims - mu) ** 2).sum())
        var = (sq + k * (sd0 * sd0 + (mu0 - mu) ** 2)) / (n + k)
        return mu, max(math.sqrt(var), 0.05)

    def _read(self, item: Item) -> _Reading:
        """What the grouper reads from ``item``'s text, once per item.

        The service calls decide(item) then add(item), and both need the terms,
        the headline's terms and the facts; the body's lines are cut and hashed
        once for all of them. (Line keys depend on the text alone; the cut on
        the furniture learned so far, taken when the item is first read.)
        """
        if self.last_item_ is not item or self.last_reading_ is None:
            keys: list[int | None] = []
            body = item.body
            if self.boilerplate_ is not None:
                keys = self.boilerplate_.line_keys(item.body)
                body = self.boilerplate_.cut(item.body, keys)
            self.last_reading_ = _Reading(
                line_keys=keys,
                terms=article_terms(
                    item.title,
                    body,
                    title_weight=self.title_weight,
                    max_body_tokens=self.max_body_tokens,
                ),
                title_terms=title_terms(item.title),
                facts=fact_terms(item.title, body),
            )
            self.last_item_ = item
        return self.last_reading_

    @staticmethod
    def _fact_evidence(
        blocks: list[LexicalBlock],
        facts: frozenset[str],
        cross: NDArray[np.bool_] | None = None,
    ) -> tuple[F64, F64]:
        """Per candidate, the fact conflict share and the street tie, each (k,).

        Conflict: a member is comparable when it states a fact of a kind the
        article states too (an age, a street); it contradicts the article when
        on some such kind their values are disjoint and on none do they share a
        value. The share of comparable members that contradict, 0 where none is
        comparable. Street tie: 1 where the candidate's members name a street
        the article names that no other candidate's members name. ``blocks`` are
        the candidates', holding each member's facts already split by kind;
        members flagged in ``cross`` (another language) are left out.
        """
        conflict = np.zeros(len(blocks))
        tie = np.zeros(len(blocks))
        if not facts:
            return conflict, tie
        mine = facts_by_kind(facts)
        my_streets = mine.get("street", set())
        streets: list[set[str]] = []
        at = 0  # index of the block's first member in ``cross``
        for n, block in enumerate(blocks):
            comparable = contradicting = 0
            shared: set[str] = set()
            apart = cross[at : at + block.members] if cross is not None else None
            at += block.members
            for m, their_facts in enumerate(block.facts):
                if apart is not None and apart[m]:
                    continue
                agree = clash = False
                for k, v in mine.items():
                    theirs = their_facts.get(k)
                    if theirs:
                        agree |= not theirs.isdisjoint(v)
                        clash |= theirs.isdisjoint(v)
                if agree or clash:
                    comparable += 1
                    contradicting += clash and not agree
                if my_streets:
                    shared |= my_streets & their_facts.get("street", set())
            if comparable:
                conflict[n] = contradicting / comparable
            streets.append(shared)
        holders = Counter(itertools.chain.from_iterable(streets))
        for n, shared in enumerate(streets):
            tie[n] = any(holders[x] == 1 for x in shared)
        return conflict, tie

    def _rows_in_window(self, table: StorylineTable, ts: float | None) -> I64:
        n = table.size
        ok = table.alive[:n].copy()
        if ts is not None:
            # Dormant storylines are kept for undated articles only: a dated one
            # reaches exactly the storylines it would without them.
            ok &= table.active[:n] >= self.horizon_
            slack = self.window_days * _DAY
            with np.errstate(invalid="ignore"):
                near = (ts >= table.first[:n] - slack) & (ts <= table.last[:n] + slack)
            ok &= near | np.isnan(table.first[:n])
        return np.flatnonzero(ok)

    def _gap_days(self, table: StorylineTable, rows: I64, ts: float | None) -> F64:
        """Days from the storyline's published span to ``ts``; 0 when either is undated."""
        if ts is None:
            return np.zeros(rows.size)
        with np.errstate(invalid="ignore"):
            gap = np.maximum(np.maximum(table.first[rows] - ts, ts - table.last[rows]), 0.0)
        return np.nan_to_num(gap, nan=0.0) / _DAY

    def _lexical_hits(
        self, table: StorylineTable, rows: I64, q_ids: I64, q_w: F64
    ) -> NDArray[np.bool_]:
        """Mask over ``rows``: the ``lexical_shortlist`` best by shared tf-idf weight."""
        known = q_ids >= 0
        hit_all = self.postings_.match_rows(
            q_ids[known], q_w[known], self.max_postings, table.rows, table.size
        )
        hit = hit_all[rows]
        mask = np.zeros(rows.size, dtype=bool)
        top = _top(hit, self.lexical_shortlist)
        mask[top[hit[top] > 0]] = True
        return mask

    def _lexical(
        self,
        blocks: list[LexicalBlock],
        members: I64,
        q_ids: I64,
        q_w: F64,
        q_ent: NDArray[np.bool_],
        t_terms: dict[str, float],
        centroids: bool = True,
        cross: NDArray[np.bool_] | None = None,
    ) -> F64:
        """Word, entity and title tf-idf cosines: shape (k, 5), columns ``_LEXICAL_FEATURES``.

        Columns: word (centroid, best member), entity (centroid, best member),
        title (best member). Where either side has no entity terms (headline-only
        text), the entity cosine is missing and takes the word cosine instead.
        ``blocks`` are the candidates' (:meth:`StorylineTable.block`), ``members``
        their numbers of members; ``q_ids``/``q_w``/``q_ent`` are the article's
        term ids (-1: unknown), tf-idf weights and entity flags. Without
        ``centroids`` the centroid columns stay 0 and only members are read.
        ``cross`` flags members (all candidates', in order) in another language:
        with them only language-independent terms (``is_key_``) are shared.
        """
        q_norm = (
            math.sqrt(float((q_w[~q_ent] ** 2).sum())),
            math.sqrt(float((q_w[q_ent] ** 2).sum())),
        )
        n = len(blocks)
        # Segments: per candidate its centroid (unless left out), then its members.
        parts = members + 1 if centroids else members
        first_seg = np.cumsum(parts) - parts
        n_seg = int(parts.sum())
        # Each block's terms, from its members' on when the centroid is left out.
        cut = [(b, 0 if centroids else b.lexicon_size) for b in blocks]
        ids = np.concatenate([b.term_ids[c:] for b, c in cut])
        w = np.concatenate([b.term_weights[c:] for b, c in cut])
        channel = np.concatenate([b.channel[c:] for b, c in cut])
        sizes = np.fromiter((b.term_ids.size - c for b, c in cut), dtype=np.int64, count=n)
        w *= self.df_.idf(ids, known=True)
        # Word and entity channels of segment s are bins 2s and 2s + 1: one pass for both.
        # A block's channels count its centroid as segment 0: 2 less where it is left out.
        channel += np.repeat(2 * (first_seg if centroids else first_seg - 1), sizes)
        known = q_ids >= 0
        query = self._scatter(q_ids[known], q_w[known])
        try:
            q = query[ids]
        finally:
            query[q_ids[known]] = 0.0
        if cross is not None:
            is_member_seg = np.ones(n_seg, dtype=bool)
            if centroids:
                is_member_seg[first_seg] = False
            apart = np.zeros(n_seg, dtype=bool)
            apart[is_member_seg] = cross
            q = np.where(apart[channel // 2] & ~self.is_key_[ids], 0.0, q)
        # Only terms the article shares add to a dot product; the rest would add 0.0.
        shared = np.flatnonzero(q)
        dot = np.bincount(channel[shared], weights=w[shared] * q[shared], minlength=2 * n_seg)
        dot = dot.reshape(n_seg, 2)
        norm = np.sqrt(np.bincount(channel, weights=w * w, minlength=2 * n_seg)).reshape(n_seg, 2)
        word = dot[:, 0] / np.maximum(norm[:, 0] * q_norm[0], 1e-12)
        entity = dot[:, 1] / np.maximum(norm[:, 1] * q_norm[1], 1e-12)
        entity = word if q_norm[1] == 0.0 else np.where(norm[:, 1] > 0.0, entity, word)
        out = np.zeros((n, 5))
        if centroids:
            is_member = np.ones(n_seg, dtype=bool)
            is_member[first_seg] = False
            out[:, 0], out[:, 2] = word[first_seg], entity[first_seg]
            word, entity = word[is_member], entity[is_member]
        # Each candidate's members are one run of at least one: a maximum per run.
        first_member = np.cumsum(members) - members
        out[:, 1] = np.maximum.reduceat(word, first_member)
        out[:, 3] = np.maximum.reduceat(entity, first_member)
        out[:, 4] = self._title_cosine(t_terms, blocks, first_member, int(members.sum()), cross)
        return out

    def _title_cosine(
        self,
        t_terms: dict[str, float],
        blocks: list[LexicalBlock],
        first_member: I64,
        n_members: int,
        cross: NDArray[np.bool_] | None = None,
    ) -> F64:
        """Best tf-idf cosine of a headline's terms with each candidate's member titles, (n,).

        ``first_member`` gives the index of each candidate's first member (in
        block order; every candidate has at least one), ``n_members`` their total;
        against members flagged in ``cross`` only language-independent terms count.
        """
        out = np.zeros(len(blocks))
        if not t_terms or n_members == 0:
            return out
        q_ids = self.df_.lookup(t_terms)
        q_w = np.fromiter(t_terms.values(), dtype=np.float64, count=len(t_terms))
        q_w *= self.df_.idf(q_ids)
        q_norm = math.sqrt(float((q_w**2).sum()))
        sizes = np.fromiter((b.title_ids.size for b in blocks), dtype=np.int64, count=len(blocks))
        ids = np.concatenate([b.title_ids for b in blocks])
        w = np.concatenate([b.title_weights for b in blocks]) * self.df_.idf(ids, known=True)
        seg = np.concatenate([b.title_member for b in blocks]) + np.repeat(first_member, sizes)
        known = q_ids >= 0
        query = self._scatter(q_ids[known], q_w[known])
        try:
            q = query[ids]
            if cross is not None:
                q = np.where(cross[seg] & ~self.is_key_[ids], 0.0, q)
            dot = np.bincount(seg, weights=w * q, minlength=n_members)
        finally:
            query[q_ids[known]] = 0.0
        norm = np.sqrt(np.bincount(seg, weights=w * w, minlength=n_members))
        cos = dot / np.maximum(norm * q_norm, 1e-12)
        out[:] = np.maximum.reduceat(cos, first_member)
        return out

    def _scatter(self, ids: I64, weights: F64) -> F64:
        """``weights`` at ``ids`` in a vocabulary-sized array of zeros, for gathering.

        The array is reused across calls (a fresh one per call cost as much as
        the products it serves once the vocabulary is large); the caller must
        zero ``ids`` again when done.
        """
        if self.query_.size < len(self.df_):
            self.query_ = np.zeros(max(1024, 2 * len(self.df_)), dtype=np.float64)
        self.query_[ids] = weights
        return self.query_

    def _housekeeping(self) -> None:
        table = self.table_
        assert table is not None
        if self.clock_ - self.evicted_at_ >= _DAY:
            self.horizon_ = self.clock_ - self.evict_after_days * _DAY
            dropped = table.evict_inactive(self.horizon_, self.dormant_kept)
            for key, term_ids in dropped:
                self.postings_.remove(key, term_ids.tolist())
            self.evicted_at_ = self.clock_
        if len(self.df_) > max(50_000, 2 * self.vocab_at_compact_):
            remap = self.df_.compact()
            if remap is not None:
                table.remap_terms(remap)
                self.postings_.remap_terms(remap)
                size = max(1024, 2 * len(self.df_))
                self.is_entity_ = _remapped(self.is_entity_, remap, size)
                self.is_key_ = _remapped(self.is_key_, remap, size)
            self.vocab_at_compact_ = len(self.df_)


def _entity_flags(terms: dict[str, float]) -> NDArray[np.bool_]:
    """Which of ``terms`` are entity terms, in iteration order, (len(terms),)."""
    # map over str.startswith runs in C: no Python frame per term (~120 per article).
    flags = map(str.startswith, terms, itertools.repeat(ENTITY_MARK))
    return np.fromiter(flags, dtype=bool, count=len(terms))


def _key_flags(terms: dict[str, float]) -> NDArray[np.bool_]:
    """Which of ``terms`` read the same in any language (have a digit), in iteration order."""
    search = _DIGIT.search
    return np.fromiter((search(t) is not None for t in terms), dtype=bool, count=len(terms))


def _cross_members(blocks: list[LexicalBlock], language: str) -> NDArray[np.bool_] | None:
    """Per member of ``blocks`` (in order): in another language than ``language``.

    None when no member is (the one-language case, left exactly as it was);
    an unknown language ("") on either side counts as the same.
    """
    if not language:
        return None
    flags = [bool(x) and x != language for b in blocks for x in b.languages]
    if not any(flags):
        return None
    return np.asarray(flags, dtype=bool)


def _grown(flags: NDArray[np.bool_], size: int) -> NDArray[np.bool_]:
    out = np.zeros(size, dtype=bool)
    out[: flags.size] = flags
    return out


def _remapped(flags: NDArray[np.bool_], remap: I64, size: int) -> NDArray[np.bool_]:
    """Per-term flags after a vocabulary compaction (``remap``: old id -> new, -1 dropped)."""
    out = np.zeros(size, dtype=bool)
    kept = remap >= 0
    out[remap[kept]] = flags[: remap.size][kept]
    return out


def _top(values: F64, k: int) -> I64:
    """Indices of the ``k`` largest values, largest first, ties by index (deterministic)."""
    if values.size > k:
        part = np.argpartition(-values, k - 1)[:k]
        # argpartition leaves ties at the cut arbitrary but repeatable; order for readability.
        out: I64 = part[np.lexsort((part, -values[part]))]
        return out
    order: I64 = np.argsort(-values, kind="stable")
    return order
