"""The OnlineGrouper contract, run over every implementation.

Vectors are tiny hand-made unit vectors and texts a few words, so the tests
exercise pure decision logic, not a language model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from clustering import CentroidGrouper, EvidenceGrouper
from clustering.online import Item, OnlineGrouper

DAY = 86_400.0
T0 = 1_500_000_000.0

GROUPERS: dict[str, Callable[[], OnlineGrouper]] = {
    "centroid": lambda: CentroidGrouper(threshold=0.5, window_days=7.0),
    "evidence": lambda: EvidenceGrouper(window_days=7.0),
}


@pytest.fixture(params=sorted(GROUPERS))
def make(request: pytest.FixtureRequest) -> Callable[[], OnlineGrouper]:
    return GROUPERS[request.param]


def unit(*xs: float) -> np.ndarray:
    v = np.zeros(8, dtype=np.float32)
    v[: len(xs)] = xs
    return (v / np.linalg.norm(v)).astype(np.float32)


FIRE = (
    "Warehouse fire in Springfield",
    "A fire destroyed the Acme warehouse on Elm Street in Springfield on Monday, "
    "chief Dana Ruiz said. Crews from Springfield and Shelbyville fought the blaze.",
)
VOTE = (
    "Senate passes budget bill",
    "The Senate passed the budget bill by 52 votes to 48, Majority Leader Ortiz said, "
    "sending the spending plan to the House.",
)


def item(vec: np.ndarray, text: tuple[str, str], ts: float | None) -> Item:
    return Item(vector=vec, title=text[0], body=text[1], timestamp=ts)


def test_identical_article_joins_its_storyline(make: Callable[[], OnlineGrouper]) -> None:
    g = make()
    g.add(item(unit(1, 0), FIRE, T0), 7)
    decision = g.decide(item(unit(1, 0), FIRE, T0 + 3600))
    assert decision.storyline == 7
    assert 0.0 <= decision.similarity <= 1.0


def test_unrelated_article_opens_a_new_storyline(make: Callable[[], OnlineGrouper]) -> None:
    g = make()
    g.add(item(unit(1, 0), FIRE, T0), 7)
    decision = g.decide(item(unit(0, 1), VOTE, T0 + 3600))
    assert decision.storyline is None
    assert 0.0 <= decision.similarity <= 1.0


def test_empty_grouper_opens_a_new_storyline(make: Callable[[], OnlineGrouper]) -> None:
    assert make().decide(item(unit(1), FIRE, T0)).storyline is None


def test_storyline_outside_the_time_window_is_not_joined(
    make: Callable[[], OnlineGrouper],
) -> None:
    g = make()
    g.add(item(unit(1, 0), FIRE, T0), 7)
    assert g.decide(item(unit(1, 0), FIRE, T0 + 400 * DAY)).storyline is None


def test_missing_timestamps_are_compared_with_everything(
    make: Callable[[], OnlineGrouper],
) -> None:
    g = make()
    g.add(item(unit(1, 0), FIRE, None), 1)
    assert g.decide(item(unit(1, 0), FIRE, T0)).storyline == 1
    g.add(item(unit(0, 1), VOTE, T0), 2)
    assert g.decide(item(unit(0, 1), VOTE, None)).storyline == 2


def test_merge_folds_source_into_target(make: Callable[[], OnlineGrouper]) -> None:
    g = make()
    g.add(item(unit(1, 0), FIRE, T0), 1)
    g.add(item(unit(0, 1), VOTE, T0), 2)
    assert len(g) == 2
    g.merge(2, 1)
    assert len(g) == 1
    assert g.decide(item(unit(0, 1), VOTE, T0 + 60)).storyline == 1


def test_a_detached_article_no_longer_draws_its_copies(
    make: Callable[[], OnlineGrouper],
) -> None:
    g = make()
    fire, vote = item(unit(1, 0), FIRE, T0), item(unit(0, 1), VOTE, T0)
    g.add(fire, 1)
    g.add(vote, 1)  # a bad join: the vote story went into the fire storyline
    g.detach(vote, 1)
    g.attach(vote, 2)
    assert len(g) == 2
    assert g.decide(item(unit(0, 1), VOTE, T0 + 60)).storyline == 2
    assert g.decide(item(unit(1, 0), FIRE, T0 + 60)).storyline == 1


def test_detaching_the_only_article_drops_the_storyline(
    make: Callable[[], OnlineGrouper],
) -> None:
    g = make()
    fire = item(unit(1, 0), FIRE, T0)
    g.add(fire, 1)
    g.add(item(unit(0, 1), VOTE, T0), 2)
    g.detach(fire, 1)
    g.attach(fire, 2)
    assert len(g) == 1
    assert g.decide(item(unit(1, 0), FIRE, T0 + 60)).storyline != 1
    g.detach(fire, 99)  # an unknown storyline is left alone
    assert len(g) == 1


def test_same_sequence_gives_same_decisions(make: Callable[[], OnlineGrouper]) -> None:
    rng = np.random.default_rng(0)
    centres = [unit(*rng.normal(size=8)) for _ in range(4)]
    texts = [FIRE, VOTE, ("Flood in Riverton", "The river rose over Main Street."), VOTE]
    stream = []
    for n in range(40):
        c = n % 4
        v = centres[c] + 0.05 * rng.normal(size=8).astype(np.float32)
        stream.append(item((v / np.linalg.norm(v)).astype(np.float32), texts[c], T0 + n * 600))

    def run() -> list[tuple[int | None, float]]:
        g = make()
        out = []
        for n, it in enumerate(stream):
            d = g.decide(it)
            out.append((d.storyline, d.similarity))
            g.add(it, d.storyline if d.storyline is not None else 1000 + n)
        return out

    assert run() == run()
