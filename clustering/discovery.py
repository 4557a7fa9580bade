"""Batch repair of what single-pass grouping got wrong, over a recent window.

The online grouper decides once per article, from what it has seen so far; a
storyline can grow by chaining (each article close to one recent member, the
first and last about different events: "teen shot in North Lawndale" then "4
wounded in North Lawndale" then "boy shot in Austin"), and one story can open
twice. Discovery looks at the whole window at once and proposes:

* **splits**: within each storyline, average-linkage clustering of its articles
  on a blended similarity (dense cosine and tf-idf cosine over words, names and
  numbers); parts whose average similarity to each other falls below the
  split threshold separate. The part holding the storyline's first article
  keeps the storyline; the others are proposed as new storylines.
* **merges**: two storylines (after splits) whose average article-to-article
  similarity reaches the merge threshold and whose spans lie within
  ``merge_gap_days``. With unit vectors, the average over all cross pairs of
  ``a . b`` is the dot product of the two mean vectors, so a merge check costs
  one dot product per channel. Both thresholds are set relative to the
  window's chance similarity (see :class:`DiscoveryConfig`).

Average linkage, unlike the max-member evidence the online step uses, does not
chain. The tf-idf rows come from :mod:`clustering.window_terms` (document
frequencies from the window itself, recurring site furniture left out). The
functions are pure: the same window gives the same proposals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from clustering.window_terms import TermCache, lexical_vectors, time_key

_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class WindowArticle:
    """One article of the window: its id, its current storyline, and what it says."""

    key: int
    storyline: int
    vector: NDArray[np.float32]
    title: str
    body: str
    timestamp: float | None


@dataclass(frozen=True, slots=True)
class SplitProposal:
    """Move each of ``parts`` (tuples of article keys) out of ``storyline`` as a new one."""

    storyline: int
    parts: tuple[tuple[int, ...], ...]
    cohesion: float  # average similarity across the cut, below ``threshold``
    threshold: float


@dataclass(frozen=True, slots=True)
class MergeProposal:
    """Fold ``storylines`` together; ``similarity`` is their average, at least ``threshold``."""

    storylines: tuple[int, ...]
    similarity: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Proposals:
    """What discovery would change; merges name storylines that exist after the splits."""

    splits: list[SplitProposal] = field(default_factory=list)
    merges: list[MergeProposal] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """The knobs of discovery; the defaults are the service's.

    Both thresholds are in units of the window's own background: ``mean + t *
    spread`` of the blended similarity of random article pairs from different
    storylines. Absolute cut-offs do not carry
    across corpora (headline-only streams score far lower than long reports of
    one topic), a distance from what the stream usually shows does. Chosen on
    the three dev corpora at once: splits at 2 spreads, merges at 4, dense
    weight 0.3.
    """

    dense_weight: float = 0.3
    split_threshold: float = 2.0
    merge_threshold: float = 4.0
    background_pairs: int = 4000
    min_window: int = 100
    merge_floor: float = 0.15
    merge_gap_days: float = 7.0
    merge_neighbours: int = 8
    min_split_size: int = 3
    max_split_size: int = 2000


def discover(
    articles: Sequence[WindowArticle], config: DiscoveryConfig, cache: TermCache | None = None
) -> Proposals:
    """Splits and merges for the window ``articles`` (any order).

    ``cache`` carries per-article work over to the next run on a similar window.
    """
    if len(articles) < config.min_window:
        return Proposals()  # too few to tell what unrelated articles look like
    lexical = lexical_vectors(articles, cache)
    dense = np.stack([a.vector for a in articles]).astype(np.float32)
    owners = np.array([a.storyline for a in articles])
    mu, sd = background(dense, lexical, owners, config.dense_weight, config.background_pairs)
    split_at = mu + config.split_threshold * sd
    merge_at = max(mu + config.merge_threshold * sd, config.merge_floor)
    members: dict[int, list[int]] = {}
    for i, a in enumerate(articles):
        members.setdefault(a.storyline, []).append(i)
    splits = []
    kept: list[tuple[int, list[int]]] = []  # each storyline with the rows it keeps
    for storyline in sorted(members):
        parts, cohesion = _split(members[storyline], dense, lexical, articles, config, split_at)
        kept.append((storyline, parts[0]))
        if len(parts) > 1:
            moved = tuple(tuple(sorted(articles[r].key for r in p)) for p in parts[1:])
            splits.append(SplitProposal(storyline, moved, cohesion, split_at))
    # Split-off parts are new and small; they take part in merges at the next run.
    merges = _merges(kept, dense, lexical, articles, config, merge_at)
    return Proposals(splits, merges)


def background(
    dense: NDArray[np.float32],
    lexical: sparse.csr_matrix,
    storylines: NDArray[np.int64],
    dense_weight: float,
    pairs: int,
) -> tuple[float, float]:
    """Mean and spread of the blended similarity of random pairs from different storylines."""
    n = dense.shape[0]
    rng = np.random.default_rng(n)
    a = rng.integers(0, n, pairs)
    b = rng.integers(0, n, pairs)
    keep = storylines[a] != storylines[b]
    if not keep.any():
        return 0.0, 1.0
    sim = _blend_pairs(dense, lexical, a[keep], b[keep], dense_weight)
    return float(sim.mean()), max(float(sim.std()), 1e-3)


def _blend_pairs(
    dense: NDArray[np.floating],
    lexical: sparse.csr_matrix,
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    w: float,
) -> NDArray[np.float64]:
    """Blended similarity of rows ``a[i]`` and ``b[i]``: w x dense dot + (1 - w) x tf-idf dot."""
    d = np.einsum("ij,ij->i", dense[a], dense[b]).astype(np.float64)
    lex = np.asarray(lexical[a].multiply(lexical[b]).sum(axis=1)).ravel()
    out: NDArray[np.float64] = w * d + (1.0 - w) * lex
    return out


def _similarity(
    rows: Sequence[int], dense: NDArray[np.float32], lexical: sparse.csr_matrix, w: float
) -> NDArray[np.float64]:
    d = dense[rows]
    lex = lexical[rows]
    sim: NDArray[np.float64] = w * (d @ d.T).astype(np.float64) + (1.0 - w) * (
        (lex @ lex.T).toarray()
    )
    return sim


def _split(
    rows: list[int],
    dense: NDArray[np.float32],
    lexical: sparse.csr_matrix,
    articles: Sequence[WindowArticle],
    config: DiscoveryConfig,
    threshold: float,
) -> tuple[list[list[int]], float]:
    """Parts of one storyline (the part with its first article first) and the cut's linkage."""
    rows = sorted(rows, key=lambda r: time_key(articles[r]))
    if not config.min_split_size <= len(rows) <= config.max_split_size:
        return [rows], 1.0
    sim = _similarity(rows, dense, lexical, config.dense_weight)
    dist = np.clip(1.0 - (sim + sim.T) / 2.0, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
    cohesion = 1.0 - float(tree[-1, 2])  # the last join: average similarity across the top cut
    if labels.max() == 1:
        return [rows], cohesion
    parts: dict[int, list[int]] = {}
    for r, label in zip(rows, labels.tolist(), strict=True):
        parts.setdefault(label, []).append(r)
    # rows are in time order, so dict order puts the part with the first article first.
    return list(parts.values()), cohesion


def _merges(
    kept: list[tuple[int, list[int]]],
    dense: NDArray[np.float32],
    lexical: sparse.csr_matrix,
    articles: Sequence[WindowArticle],
    config: DiscoveryConfig,
    threshold: float,
) -> list[MergeProposal]:
    """Storylines (id, rows kept after splits) to fold together, by greedy average linkage."""
    if len(kept) < 2:
        return []
    w = config.dense_weight
    sizes = np.array([len(rows) for _, rows in kept], dtype=np.float64)
    owner = np.concatenate([np.full(len(rows), g) for g, (_, rows) in enumerate(kept)])
    cols = np.concatenate([rows for _, rows in kept])
    means = sparse.csr_matrix((1.0 / sizes[owner], (owner, cols)), shape=(len(kept), len(articles)))
    d_mean = np.asarray(means @ dense.astype(np.float64))
    l_mean = (means @ lexical).tocsr()
    spans = np.array([_span(articles, rows) for _, rows in kept])  # (n, 2), nan if undated
    # Neighbours by dense mean: the blended score cannot be high when the dense part is low.
    d_unit = (d_mean / np.maximum(np.linalg.norm(d_mean, axis=1, keepdims=True), 1e-12)).astype(
        np.float32
    )
    k = min(config.merge_neighbours, len(kept) - 1)
    found: set[tuple[int, int]] = set()
    for start in range(0, len(kept), 1024):
        block = d_unit[start : start + 1024] @ d_unit.T
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = -np.inf
        nearest = np.argpartition(-block, k - 1, axis=1)[:, :k]
        for off, row in enumerate(nearest.tolist()):
            i = start + off
            for j in row:
                a, b = min(i, j), max(i, j)
                if _near(spans[a], spans[b], config.merge_gap_days):
                    found.add((a, b))
    if not found:
        return []
    pair = np.array(sorted(found), dtype=np.int64)
    scores = _blend_pairs(d_mean, l_mean, pair[:, 0], pair[:, 1], w)
    # Greedy average linkage: best pair first, re-scored against the merged means.
    parent = list(range(len(kept)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    merged_lex: dict[int, sparse.csr_matrix] = {}
    weakest = [math.inf] * len(kept)  # lowest score of the joins that formed each cluster
    order = np.lexsort((pair[:, 1], pair[:, 0], -scores))
    for n in order[scores[order] >= threshold].tolist():
        ra, rb = root(int(pair[n, 0])), root(int(pair[n, 1]))
        if ra == rb:
            continue
        la, lb = merged_lex.get(ra, l_mean[ra]), merged_lex.get(rb, l_mean[rb])
        score = w * float(d_mean[ra] @ d_mean[rb]) + (1.0 - w) * float(la.multiply(lb).sum())
        if score < threshold:
            continue
        total = sizes[ra] + sizes[rb]
        d_mean[ra] = (sizes[ra] * d_mean[ra] + sizes[rb] * d_mean[rb]) / total
        merged_lex[ra] = ((la * sizes[ra] + lb * sizes[rb]) / total).tocsr()
        sizes[ra] = total
        parent[rb] = ra
        weakest[ra] = min(weakest[ra], weakest[rb], score)
    clusters: dict[int, list[int]] = {}
    for i in range(len(kept)):
        clusters.setdefault(root(i), []).append(kept[i][0])
    found_merges = [
        MergeProposal(tuple(sorted(ids)), weakest[r], threshold)
        for r, ids in clusters.items()
        if len(ids) > 1
    ]
    return sorted(found_merges, key=lambda m: m.storylines)


def _span(articles: Sequence[WindowArticle], rows: list[int]) -> tuple[float, float]:
    times = [t for t in (articles[r].timestamp for r in rows) if t is not None]
    if not times:
        return (math.nan, math.nan)
    return (min(times), max(times))


def _near(a: NDArray[np.float64], b: NDArray[np.float64], gap_days: float) -> bool:
    """Spans within ``gap_days`` of each other; undated storylines are near everything."""
    if math.isnan(a[0]) or math.isnan(b[0]):
        return True
    gap = max(float(a[0] - b[1]), float(b[0] - a[1]), 0.0)
    return gap <= gap_days * _DAY


def apply(labels: Mapping[int, int], proposals: Proposals, new_id: int) -> dict[int, int]:
    """Article key -> storyline after ``proposals`` (new storylines numbered from ``new_id``).

    For replays and tests; the service applies proposals through its lineage code.
    """
    out = dict(labels)
    for split in proposals.splits:
        for part in split.parts:
            for key in part:
                out[key] = new_id
            new_id += 1
    for merge in proposals.merges:
        target = min(merge.storylines)
        for key, storyline in out.items():
            if storyline in merge.storylines:
                out[key] = target
    return out
