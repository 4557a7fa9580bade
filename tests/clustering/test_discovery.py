"""Batch discovery on synthetic windows: chained storylines split, twins merge."""

from __future__ import annotations

import numpy as np

from clustering.discovery import DiscoveryConfig, WindowArticle, apply, discover

DAY = 86_400.0
T0 = 1_600_000_000.0


def _unit(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def _window(rng: np.random.Generator, n_background: int = 150) -> list[WindowArticle]:
    """Unrelated singletons: random directions, random vocabulary."""
    out = []
    for k in range(n_background):
        words = " ".join(f"filler{rng.integers(0, 5000)}" for _ in range(30))
        out.append(
            WindowArticle(
                key=k,
                storyline=10_000 + k,
                vector=_unit(rng.normal(size=384)),
                title=f"note {k}",
                body=words,
                timestamp=T0 + rng.uniform(0, 20) * DAY,
            )
        )
    return out


def _story(
    rng: np.random.Generator,
    topic: np.ndarray,
    words: str,
    keys: range,
    storyline: int,
    day: float,
) -> list[WindowArticle]:
    return [
        WindowArticle(
            key=k,
            storyline=storyline,
            vector=_unit(topic + 0.35 * rng.normal(size=384) / np.sqrt(384)),
            title=words.split(".")[0],
            body=f"{words} Reported on day {day:.0f}.",
            timestamp=T0 + (day + 0.1 * i) * DAY,
        )
        for i, k in enumerate(keys)
    ]


FLOOD = "Floodwater closes Riverside bridge. The Kettle River rose above the Riverside bridge deck."
AUCTION = "Painting by Ilse Marten sold. An auction house in Lyon sold the Marten canvas."
STRIKE = "Dockworkers strike at Port Halden. Cranes idle as the Halden union walks out."


def test_a_chained_storyline_is_split_and_its_first_part_keeps_the_id() -> None:
    rng = np.random.default_rng(1)
    flood = _story(rng, rng.normal(size=384), FLOOD, range(1000, 1005), storyline=1, day=5)
    auction = _story(rng, rng.normal(size=384), AUCTION, range(2000, 2005), storyline=1, day=7)
    proposals = discover(_window(rng) + flood + auction, DiscoveryConfig())
    assert len(proposals.splits) == 1
    split = proposals.splits[0]
    assert split.storyline == 1
    assert split.parts == (tuple(range(2000, 2005)),)
    assert split.cohesion < split.threshold
    assert proposals.merges == []


def test_one_story_opened_twice_is_merged_into_the_older_storyline() -> None:
    rng = np.random.default_rng(2)
    topic = rng.normal(size=384)
    first = _story(rng, topic, STRIKE, range(1000, 1004), storyline=7, day=3)
    second = _story(rng, topic, STRIKE, range(2000, 2003), storyline=9, day=4)
    window = _window(rng) + first + second
    proposals = discover(window, DiscoveryConfig())
    assert proposals.splits == []
    assert [m.storylines for m in proposals.merges] == [(7, 9)]
    assert proposals.merges[0].similarity >= proposals.merges[0].threshold
    labels = apply({a.key: a.storyline for a in window}, proposals, new_id=50_000)
    assert {labels[k] for k in range(2000, 2003)} == {7}


def test_twins_far_apart_in_time_are_not_merged() -> None:
    rng = np.random.default_rng(3)
    topic = rng.normal(size=384)
    first = _story(rng, topic, STRIKE, range(1000, 1004), storyline=7, day=1)
    later = _story(rng, topic, STRIKE, range(2000, 2003), storyline=9, day=19)
    proposals = discover(_window(rng) + first + later, DiscoveryConfig(merge_gap_days=7.0))
    assert proposals.merges == []


def test_coherent_storylines_and_small_windows_are_left_alone() -> None:
    rng = np.random.default_rng(4)
    flood = _story(rng, rng.normal(size=384), FLOOD, range(1000, 1006), storyline=1, day=5)
    strike = _story(rng, rng.normal(size=384), STRIKE, range(2000, 2006), storyline=2, day=6)
    assert discover(_window(rng) + flood + strike, DiscoveryConfig()) == discover(
        _window(np.random.default_rng(4)) + flood + strike, DiscoveryConfig()
    )
    proposals = discover(_window(rng) + flood + strike, DiscoveryConfig())
    assert proposals.splits == [] and proposals.merges == []
    tiny = _story(rng, rng.normal(size=384), FLOOD, range(5), storyline=1, day=1)
    tiny += _story(rng, rng.normal(size=384), AUCTION, range(5, 10), storyline=1, day=2)
    assert discover(tiny, DiscoveryConfig()).splits == []


def test_the_term_cache_changes_nothing_but_the_cost() -> None:
    from clustering.window_terms import TermCache, lexical_vectors

    rng = np.random.default_rng(5)
    window = _window(rng, 120)
    window += _story(rng, rng.normal(size=384), FLOOD, range(1000, 1006), storyline=1, day=5)
    # Furniture that only becomes furniture once the later articles are seen.
    late = [
        WindowArticle(
            3000 + n,
            3000 + n,
            a.vector,
            a.title,
            f"{a.body}\nSubscribe to our alerts.",
            T0 + (2 + 4 * n) * DAY,
        )
        for n, a in enumerate(window[:3])
    ]
    cache = TermCache()
    first = lexical_vectors(window, cache)
    assert (first != lexical_vectors(window)).nnz == 0
    grown = window + late
    again = lexical_vectors(grown, cache)
    assert abs(again - lexical_vectors(grown)).max() < 1e-12
