"""Typed facts (ages, street addresses) and the fact_conflict feature they feed."""

from __future__ import annotations

import numpy as np

from clustering import EvidenceGrouper
from clustering.join_model import FEATURES
from clustering.online import Item
from clustering.terms import fact_terms

T0 = 1_500_000_000.0
CONFLICT = FEATURES.index("fact_conflict")
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
