"""Agreement between a predicted grouping and gold stories.

All measures take two label arrays of the same length n (any integer labels;
one entry per article). A label of -1 in either array means "no storyline":
each such article counts as a singleton cluster of its own, which is how an
unassigned article looks to a reader.

BCubed (Bagga & Baldwin 1998; Amigó et al. 2009) averages over articles: for
article i with predicted cluster C(i) and gold story G(i),
precision_i = |C(i) ∩ G(i)| / |C(i)| and recall_i = |C(i) ∩ G(i)| / |G(i)|;
BCubed P and R are the means over i, F1 their harmonic mean.

Pairwise (Miranda et al. 2018) counts unordered pairs of distinct articles:
precision = pairs together in both / pairs together in the prediction,
recall = pairs together in both / pairs together in gold. When a denominator
is zero (no pairs predicted, or no gold pairs) the ratio is defined as 1.0:
no claim was made, so none was wrong (resp. nothing was missed). F1 is 0.0
when both precision and recall are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score


@dataclass(frozen=True, slots=True)
class Scores:
    """Every measure of one prediction against gold; ratios in [0, 1] (ARI, AMI in [-1, 1])."""

    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    pair_precision: float
    pair_recall: float
    pair_f1: float
    ami: float
    ari: float
    gold_clusters: int
    pred_clusters: int


def score(gold_labels: ArrayLike, pred_labels: ArrayLike) -> Scores:
    """Score ``pred_labels`` against ``gold_labels`` (both shape (n,), integer labels)."""
    gold = _singletons_for_unassigned(np.asarray(gold_labels))
    pred = _singletons_for_unassigned(np.asarray(pred_labels))
    if gold.shape != pred.shape or gold.ndim != 1:
        raise ValueError(f"label arrays must be 1-D and equal length: {gold.shape} vs {pred.shape}")
    n = gold.size
    if n == 0:
        raise ValueError("cannot score an empty grouping")

    table = _contingency(gold, pred)  # rows gold, columns predicted
    joint = table.data.astype(np.float64)  # n_ij > 0 only
    gold_sizes = np.asarray(table.sum(axis=1)).ravel().astype(np.float64)
    pred_sizes = np.asarray(table.sum(axis=0)).ravel().astype(np.float64)

    # Article i in cell (g, p) has precision n_gp / |p| and recall n_gp / |g|; a cell
    # holds n_gp such articles, hence the n_gp ** 2 weights.
    coo = table.tocoo()
    b3_p = float((joint**2 / pred_sizes[coo.col]).sum() / n)
    b3_r = float((joint**2 / gold_sizes[coo.row]).sum() / n)

    together_both = _pairs(joint).sum()
    pair_p = _ratio(together_both, _pairs(pred_sizes).sum())
    pair_r = _ratio(together_both, _pairs(gold_sizes).sum())

    return Scores(
        bcubed_precision=b3_p,
        bcubed_recall=b3_r,
        bcubed_f1=_harmonic(b3_p, b3_r),
        pair_precision=pair_p,
        pair_recall=pair_r,
        pair_f1=_harmonic(pair_p, pair_r),
        ami=float(adjusted_mutual_info_score(gold, pred)),
        ari=float(adjusted_rand_score(gold, pred)),
        gold_clusters=int(gold_sizes.size),
        pred_clusters=int(pred_sizes.size),
    )


def _singletons_for_unassigned(labels: NDArray[np.generic]) -> NDArray[np.int64]:
    """Dense labels 0..k-1, each -1 entry replaced by a fresh label of its own."""
    _, dense = np.unique(labels, return_inverse=True)
    dense = dense.astype(np.int64).ravel()
    if np.issubdtype(labels.dtype, np.integer):
        missing = np.flatnonzero(labels.ravel() == -1)
        dense[missing] = dense.max(initial=-1) + 1 + np.arange(missing.size)
        _, dense = np.unique(dense, return_inverse=True)
    out: NDArray[np.int64] = np.asarray(dense, dtype=np.int64)
    return out


def _contingency(gold: NDArray[np.int64], pred: NDArray[np.int64]) -> sparse.csr_matrix:
    ones = np.ones(gold.size, dtype=np.int64)
    shape = (int(gold.max()) + 1, int(pred.max()) + 1)
    table = sparse.coo_matrix((ones, (gold, pred)), shape=shape).tocsr()
    table.sum_duplicates()
    return table


def _pairs(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    return counts * (counts - 1.0) / 2.0


def _ratio(num: float, den: float) -> float:
    return 1.0 if den == 0 else float(num / den)


def _harmonic(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)
