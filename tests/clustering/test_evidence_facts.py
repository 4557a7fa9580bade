"""Typed facts (ages, street addresses) and the features they feed: conflicts, street ties."""

from __future__ import annotations

import numpy as np
import pytest

from clustering import EvidenceGrouper
from clustering.join_model import DEFAULT_MODEL, FEATURES, JoinModel
from clustering.online import Item
from clustering.terms import fact_terms
from embeddings.protocol import Embedder
from embeddings.text import embedding_text

T0 = 1_500_000_000.0
CONFLICT = FEATURES.index("fact_conflict")
TIE = FEATURES.index("street_tie")
VEC = np.eye(16, dtype=np.float32)[0]


def test_ages_and_block_addresses_are_facts() -> None:
    facts = fact_terms(
        "2 shot in Englewood",
        "A 23-year-old man and a 17 year old boy were shot in the 6300 block of "
        "South Halsted and the 100 block of W. Garfield Boulevard.",
    )
    assert facts == {"age:23", "age:17", "street:halsted", "street:garfield"}


def test_text_without_ages_or_addresses_has_no_facts() -> None:
    assert fact_terms("Senate passes the budget", "The vote was 51 to 49 on Tuesday.") == set()


def conflict_with(*members: str, probe: str) -> float:
    g = EvidenceGrouper()
    for k, body in enumerate(members):
        g.add(Item(VEC, "shooting", body, T0 + k), 0)
    keys, feats = g.candidates(Item(VEC, "shooting", probe, T0 + len(members)))
    return float(feats[keys.index(0), CONFLICT])


def test_a_different_age_and_street_is_a_conflict() -> None:
    report = "A 23-year-old man was shot in the 6300 block of South Halsted."
    probe = "A 41-year-old man was shot in the 200 block of Main."
    assert conflict_with(report, probe=probe) == 1.0


def test_one_shared_fact_outweighs_a_differing_one() -> None:
    report = "A 23-year-old man was shot in the 6300 block of South Halsted."
    probe = "A 24-year-old man was shot in the 6300 block of South Halsted."
    assert conflict_with(report, probe=probe) == 0.0


def test_conflict_is_the_share_of_comparable_members() -> None:
    members = ("A 23-year-old was shot.", "A 41-year-old was shot.", "Police said nothing more.")
    assert conflict_with(*members, probe="A 23-year-old man died.") == 0.5


def test_no_facts_on_either_side_is_no_conflict() -> None:
    assert conflict_with("Police are investigating.", probe="A 23-year-old was shot.") == 0.0


def features_of(storylines: dict[int, str], probe: str, days_later: float) -> dict[int, np.ndarray]:
    g = EvidenceGrouper()
    for key, body in storylines.items():
        g.add(Item(VEC, "shooting", body, T0), key)
    keys, feats = g.candidates(Item(VEC, "charges filed", probe, T0 + days_later * 86_400))
    return {k: feats[n] for n, k in enumerate(keys)}


NEWBURGH = "A girl was shot in the 4000 block of Newburgh Drive."
PROBE = "Her mother was charged; the girl was shot in the 4000 block of Newburgh Drive."


def test_a_street_one_storyline_alone_shares_is_a_tie_and_lifts_the_gap() -> None:
    feats = features_of({0: NEWBURGH, 1: "A man was shot in the 200 block of Main."}, PROBE, 12)
    assert feats[0][TIE] == 1.0 and feats[1][TIE] == 0.0
    untied, weak_title = FEATURES.index("log_gap_untied"), FEATURES.index("log_gap_weak_title")
    assert feats[0][weak_title] > 2.0  # twelve days apart, headlines unrelated
    assert feats[0][untied] == 0.0
    assert feats[1][untied] == feats[1][weak_title]


def test_a_street_two_storylines_share_ties_neither() -> None:
    other = "A teen was shot in the 4100 block of Newburgh Drive."
    feats = features_of({0: NEWBURGH, 1: other}, PROBE, 12)
    assert feats[0][TIE] == feats[1][TIE] == 0.0


OTHER_SHOOTINGS = [
    (
        "Man wounded in drive-by on west side",
        "A 31-year-old man was wounded Friday night in a "
        "drive-by shooting in the 1200 block of Oak Street, police said.",
    ),
    (
        "Two hurt in shooting outside bar",
        "Two men were shot early Sunday outside a bar in the "
        "700 block of Elm Avenue. Police said both are expected to survive.",
    ),
    (
        "Teen shot while walking home",
        "A 16-year-old boy was shot in the leg Tuesday evening in "
        "the 300 block of Pine Road while walking home from school, police said.",
    ),
    (
        "Woman killed in domestic shooting",
        "A 45-year-old woman was shot and killed Wednesday in "
        "a home in the 900 block of Maple Court. Her husband was taken into custody.",
    ),
]
FIRST = (
    "5-year-old girl shot in the head on northeast side",
    "A 5-year-old girl was shot in "
    "the head Saturday afternoon inside an apartment in the 4000 block of Newburgh Drive, "
    "police said. She was taken to a children's hospital in critical condition.",
)
FOLLOW_UP = (
    "Mother charged with neglect after daughter's shooting death",
    "Prosecutors have "
    "charged the mother of a girl who died after being shot in the head at the family's "
    "apartment in the 4000 block of Newburgh Drive with neglect of a dependent.",
)


@pytest.mark.parametrize("days_later", [8, 20])
def test_the_tie_decides_a_late_follow_up(embedder: Embedder, days_later: int) -> None:
    """A follow-up in other words, days later: joined for its street, refused on the gap alone."""
    w = list(DEFAULT_MODEL.weights)
    untied, weak_title = FEATURES.index("log_gap_untied"), FEATURES.index("log_gap_weak_title")
    w[weak_title], w[untied] = w[untied], 0.0  # the gap counted whatever the street
    gap_only = JoinModel(tuple(w), DEFAULT_MODEL.bias, DEFAULT_MODEL.threshold)
    texts = [*OTHER_SHOOTINGS, FIRST, FOLLOW_UP]
    vectors = embedder.embed([embedding_text(t, b) for t, b in texts])
    # The other shootings in the days before, the first report at T0: storylines 0 .. 4.
    days = [-4, -3, -2, -1, 0, days_later]
    items = [
        Item(v, *text, T0 + d * 86_400) for v, text, d in zip(vectors, texts, days, strict=True)
    ]
    follow_up = items.pop()
    decided = {}
    for name, model in (("tie", DEFAULT_MODEL), ("gap_only", gap_only)):
        g = EvidenceGrouper(model)
        for key, item in enumerate(items):
            g.add(item, key)
        decided[name] = g.decide(follow_up).storyline
    assert decided == {"tie": len(OTHER_SHOOTINGS), "gap_only": None}
