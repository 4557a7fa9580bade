"""Storyline labels: distinctive terms and names, stable date ranges."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from clustering.labels import date_range, make_label, materially_different, tracked_terms

DOCS = [
    (
        "Flood closes bridge in Riverton",
        "Heavy rain flooded the Old Mill bridge on Monday, said Mayor Ana Ruiz of Riverton.",
        "a.com",
    ),
    (
        "Riverton bridge shut after flood",
        "The Old Mill bridge stays closed, Mayor Ana Ruiz told reporters in Riverton.",
        "b.com",
    ),
    ("Council meets", "The council met to discuss the bridge and the flood.", "c.com"),
]
# The rest of the stream: bridges, floods and councils are everyday words there.
BACKGROUND = [
    (f"Flood warning {i}", f"The council checked bridge number {i} after the flood.", "z.com")
    for i in range(60)
]


def _frequencies() -> dict[str, int]:
    df: Counter[str] = Counter()
    for title, body, _ in DOCS + BACKGROUND:
        df.update(tracked_terms(title, body))
    return dict(df)


def test_label_prefers_rare_shared_terms_and_ends_with_dates() -> None:
    df = _frequencies()
    label = make_label(
        DOCS, df, len(DOCS) + len(BACKGROUND), datetime(2021, 3, 1), datetime(2021, 3, 4)
    )
    assert label.text.endswith(" — Mar 2021")
    items = label.text.split(" — ")[0].split(" · ")
    assert len(items) == 3
    assert {"Riverton", "Old Mill"} < set(items)
    assert any("Ana Ruiz" in item for item in items)
    assert "council" not in label.terms  # one outlet only: not the story's word


def test_names_come_from_inside_sentences() -> None:
    terms = tracked_terms(
        "Flood closes bridge", "Mayor Ana Ruiz of Riverton spoke. Then rain fell."
    )
    assert {"ana ruiz", "riverton", "flood", "bridge"} <= terms
    assert "then" not in terms


def test_material_change_needs_half_the_terms_to_differ() -> None:
    assert not materially_different(["a", "b", "c"], ["a", "b", "d"])
    assert materially_different(["a", "b", "c"], ["a", "x", "y"])
    assert materially_different([], ["a"])


def test_date_ranges() -> None:
    assert date_range(datetime(2018, 9, 13), datetime(2018, 9, 22)) == "Sep 2018"
    assert date_range(datetime(2018, 9, 13), datetime(2018, 10, 2)) == "Sep–Oct 2018"
    assert date_range(datetime(2017, 12, 30), datetime(2018, 1, 2)) == "Dec 2017–Jan 2018"
