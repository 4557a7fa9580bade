"""The join-or-new decision: a logistic model over a few similarity features.

For an article and one candidate storyline, ``p = sigmoid(bias + weights . x)``
estimates the chance that the article reports that storyline's story; the
grouper joins the candidate with the highest ``p`` when it reaches the model's
``threshold`` and opens a new storyline otherwise.

Features (one row per candidate, in this order):

==================  ==========================================================
dense_centroid      cosine of the article vector with the storyline centroid
dense_max           highest cosine with the storyline's recent members
word_centroid       tf-idf cosine over words with the storyline's summed terms
word_max            highest tf-idf word cosine with a recent member
entity_centroid     tf-idf cosine over names, places and numbers (centroid);
                    the word cosine stands in where either side has no entities
entity_max          highest entity cosine with a recent member (same fallback)
title_max           highest tf-idf cosine of the title with a member's title
log_gap_days        ln(1 + days between the article and the storyline's span)
log_size            ln(number of articles in the storyline)
log_gap_weak_title  log_gap_days x (1 - title_max): time counts against a join
                    only as far as the headlines do not already tie them
dense_z             (dense_max - mean) / spread of the article's cosine with the
                    last 512 added articles: closeness relative to what the
                    stream usually shows, so comparable across corpora
dense_margin        dense_max minus the best dense_max of the other candidates
                    (minus the background mean when there is no other): how
                    clearly this storyline stands out
dense_margin_capped dense_margin clipped to [-0.1, 0.1]: a lead of one
                    background spread counts in full, so a merely topical
                    rival cannot cost a clear favourite more than that
log_gap_weak_evidence
                    log_gap_days x (1 - title_max) x (1 - entity_max): time
                    counts only as far as neither headlines nor names tie them
fact_conflict       share of the storyline's recent members stating an age or a
                    street address as the article does that contradict it (on
                    some such kind disjoint values, on none a shared one):
                    templated look-alike reports share words, not facts
street_tie          1 when a recent member names a street ("the 4000 block of
                    Newburgh Drive") the article names and no other shortlisted
                    storyline's recent members do, else 0
log_gap_untied      log_gap_weak_title x (1 - street_tie): a follow-up days later
                    (charges, a vigil) that names the same street as one
                    storyline alone is not held apart by the gap
undated             1 when the article or the storyline carries no date, else
                    0: the gap features then read 0, which means "unknown",
                    not "the same day" (weight 0 so far; see benchmarks.md)
undated_dense_max   undated x dense_max: how far content alone is trusted
                    when time is unknown
undated_title_max   undated x title_max
undated_entity_max  undated x entity_max
undated_margin      undated x dense_margin_capped
cross_language      1 when no recent member of the storyline shares the
                    article's language (both known), else 0: its lexical
                    features then count only numbers and dates
cross_dense_max     cross_language x dense_max
==================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FEATURES: tuple[str, ...] = (
    "dense_centroid",
    "dense_max",
    "word_centroid",
    "word_max",
    "entity_centroid",
    "entity_max",
    "title_max",
    "log_gap_days",
    "log_size",
    "log_gap_weak_title",
    "dense_z",
    "dense_margin",
    "dense_margin_capped",
    "log_gap_weak_evidence",
    "fact_conflict",
    "street_tie",
    "log_gap_untied",
    "undated",
    "undated_dense_max",
    "undated_title_max",
    "undated_entity_max",
    "undated_margin",
    "cross_language",
    "cross_dense_max",
)


@dataclass(frozen=True, slots=True)
class JoinModel:
    """Frozen logistic coefficients; ``weights`` align with :data:`FEATURES`."""

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"need {len(FEATURES)} weights, got {len(self.weights)}")

    def probability(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Join probability per candidate: features (k, len(FEATURES)) -> (k,) in (0, 1)."""
        z = features @ np.asarray(self.weights, dtype=np.float64) + self.bias
        out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        return out


# Fitted once, then frozen; `python -m benchmarks.fit provenance gva_dev.jsonl basil.jsonl`
# runs the whole recipe below on today's code and prints its weights beside these.
# How: oracle replay of basil + gva_dev (every article added to its gold story, window
# 30 days, evict 60), features of every shortlisted candidate with label
# "is the gold story", sklearn LogisticRegression (C=1, L2), each corpus weighing the same in
# total, on the seven features dense_max .. dense_margin with non-zero weight (the others stay
# computed for analysis). uci_headlines left out of the fit (aggregator labels, titles only)
# and used as the held-out corpus. Threshold 0.3 (not 0.5): a join costs one wrong merge, a
# refusal a fragment, and on the dev files 0.3 keeps basil at 0.990 while joining the seeds in
# every stream (at 0.5 the seeds, p=0.34 in the gva stream, stay apart).
# fact_conflict was then fitted alone on top, the other weights and the bias frozen (same
# replay and loss, the frozen score an offset), so that where no article states an age or a
# street (uci_headlines, most of basil, the seeds) every decision is the seven-feature one:
#   python -m benchmarks.fit refit <corpora> --fit gva_dev.jsonl basil.jsonl --on-top \
#       --features fact_conflict --param threshold=0.3
# Refitting all eight jointly loosens the others (the conflict takes over part of the
# precision work), which cost uci_headlines up to 0.07 B3 F1 in held-out halves.
# Replay with seeds mixed in, threshold 0.3: basil B3 F1 0.990, gva_dev 0.891 (pair 0.645;
# 0.882 / 0.620 without fact_conflict), uci_headlines 0.669, seeds together in all.
# Last, log_gap_weak_title's weight moved unchanged to log_gap_untied (nothing refitted): the
# gap no longer counts against a storyline that alone shares the article's street. Decisions
# change only where such a tie exists: gva_dev 0.893 / 0.670 single pass, basil and
# uci_headlines identical (no tie ever arises in them).
# undated (the article or the storyline has no date) was then fitted alone on top, from
# oracle replays of gva_dev, basil and uci_headlines with every date removed: -3.26, a
# stricter join where no time evidence can refuse a look-alike (the gap features read 0,
# which the dated fit took for "the same day"). Left out in turn, each corpus's fit on the
# other two gives -2.5 to -4.4; a dated decision is unchanged by construction:
#   python -m benchmarks.undated gva_dev.jsonl basil.jsonl uci_headlines.jsonl \
#       --features undated --train-shares 1 --shares 1 --all
# Its products with the content features, fitted likewise, did worse on basil left out
# (benchmarks.md, "Undated streams").
DEFAULT_MODEL = JoinModel(
    weights=(
        *(0.0, 6.136, 0.0, 5.063, 0.0, 9.253, 1.73, 0.0),
        *(0.0, 0.0, 0.315, 7.746, 0.0, 0.0, -2.139, 0.0, -4.342),
        *(-3.26, 0.0, 0.0, 0.0, 0.0),
        *(0.0, 0.0),
    ),
    bias=-6.716,
    threshold=0.3,
)


# STORYLINE_EMBEDDING_MODEL=multilingual: DEFAULT_MODEL's weights over the multilingual
# USE v3 vectors, plus cross_language and cross_dense_max fitted on top of them (frozen,
# as fact_conflict was) on an oracle replay of semeval22_dev.jsonl, the one dev corpus with
# stories told in two languages (13 stories, de+en):
#   STORYLINE_EMBEDDING_MODEL=multilingual python -m benchmarks.cross_language \
#       semeval22_dev.jsonl semeval22_dev_pairs.jsonl
# Wherever a candidate shares the article's language both are 0, so every one-language
# decision is DEFAULT_MODEL's. The fit is a penalty of about -2.2 on the logit: a
# storyline with no member in the article's language has no words to confirm it, and
# topical neighbours in another language are many. Held out (fit on one story half, replay
# the other): B3 F1 0.886 -> 0.899 and 0.880 -> 0.889, de-en same-story pairs joined 3/5
# -> 3/5 and 7/8 -> 6/8 (benchmarks.md, "Cross-lingual storylines").
MULTILINGUAL_MODEL = JoinModel(
    # undated stays 0 here: cross_language was fitted on semeval22_dev (no dates at
    # all) on top of DEFAULT_MODEL before undated had a weight; refit both together.
    weights=(*DEFAULT_MODEL.weights[:-7], 0.0, *DEFAULT_MODEL.weights[-6:-2], -2.234, 0.039),
    bias=DEFAULT_MODEL.bias,
    threshold=DEFAULT_MODEL.threshold,
)
