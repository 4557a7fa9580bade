"""Decayed document frequencies over the stream of added articles."""

from __future__ import annotations

import numpy as np

from clustering.doc_freq import DocumentFrequency

DAY = 86_400.0
T0 = 1_500_000_000.0


def test_ids_are_stable_and_unknown_terms_are_minus_one() -> None:
    df = DocumentFrequency()
    first = df.add({"fire": 1.0, "town": 1.0}, T0)
    second = df.add({"town": 1.0, "flood": 1.0}, T0)
    assert first[1] == second[0]
    assert df.lookup(["fire", "nope"]).tolist() == [int(first[0]), -1]
    assert len(df) == 3


def test_rare_terms_get_higher_idf_than_common_ones() -> None:
    df = DocumentFrequency(half_life_days=None)
    for n in range(10):
        df.add({"police": 1.0, f"name{n}": 1.0}, T0 + n)
    idf = df.idf(df.lookup(["police", "name3", "never-seen"]))
    assert idf[0] < idf[1] < idf[2]
    assert df.documents == 10.0


def test_old_documents_fade_with_the_half_life() -> None:
    df = DocumentFrequency(half_life_days=14.0)
    df.add({"old": 1.0}, T0)
    df.add({"new": 1.0}, T0 + 14 * DAY)
    assert abs(df.documents - 1.5) < 1e-9
    idf = df.idf(df.lookup(["old", "new"]))
    assert idf[0] > idf[1]


def test_undated_documents_do_not_move_stream_time() -> None:
    df = DocumentFrequency(half_life_days=14.0)
    df.add({"a": 1.0}, T0)
    df.add({"b": 1.0}, None)
    df.add({"c": 1.0}, T0 - 30 * DAY)  # late arrival: no decay backwards
    assert abs(df.documents - 3.0) < 1e-9


def test_long_streams_do_not_overflow() -> None:
    df = DocumentFrequency(half_life_days=1.0)
    for n in range(200):
        df.add({"x": 1.0}, T0 + n * 5 * DAY)
    assert np.isfinite(df.idf(df.lookup(["x"]))).all()
    assert 0.9 < df.documents < 1.1


def test_compact_drops_faded_terms_and_returns_the_id_map() -> None:
    df = DocumentFrequency(half_life_days=1.0)
    df.add({"faded": 1.0}, T0)
    df.add({"fresh": 1.0}, T0 + 30 * DAY)
    remap = df.compact()
    assert remap is not None
    assert remap.tolist() == [-1, 0]
    assert df.lookup(["faded", "fresh"]).tolist() == [-1, 0]
    assert df.compact() is None
