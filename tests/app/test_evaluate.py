"""`storyline eval` replays a labelled corpus through ingest and scores it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.corpus import CorpusRow
from app.services.evaluate import drop_dates, evaluate_file, replay_order
from embeddings.protocol import Embedder
from tests.conftest import shared_rows

JSON_KEYS = {
    "file", "articles", "bcubed_p", "bcubed_r", "bcubed_f1", "pair_p", "pair_r", "pair_f1",
    "ami", "ari", "gold_stories", "pred_stories", "articles_per_s",
    "grouping_ms_per_article", "method_ms_per_article", "discovery_ms_per_article",
    "labels_ms_per_article", "revised", "unchanged", "embed_ms_per_article", "undated",
    "partition", "embed_cpu_ms_per_article", "other_cpu_ms_per_article",
}  # fmt: skip


def _corpus(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_seed_pair_scores_perfectly(tmp_path: Path, embedder: Embedder) -> None:
    seeds = shared_rows("seeds/idlib_sept2018.jsonl")
    report = evaluate_file(_corpus(tmp_path, seeds), embedder, Settings())
    assert (report.gold_stories, report.pred_stories) == (1, 1)
    assert report.bcubed_f1 == report.pair_f1 == 1.0


def test_basil_sample_groups_its_ten_stories_across_outlets(
    tmp_path: Path, embedder: Embedder
) -> None:
    rows = shared_rows("data/basil.jsonl")[:30]
    report = evaluate_file(_corpus(tmp_path, rows), embedder, Settings())
    assert report.articles == 30
    assert report.gold_stories == len({r["story"] for r in rows}) == 10
    # Ten stories told by three outlets each; measured: all ten found, B3 F1 1.0.
    # One article in the wrong storyline would cost about 0.05.
    assert report.pred_stories == 10
    assert report.bcubed_f1 >= 0.95
    assert report.grouping_ms_per_article > 0


def test_rows_without_gold_story_are_refused(tmp_path: Path, embedder: Embedder) -> None:
    rows = [{"id": "x", "outlet": "a.com", "title": "Flood", "body": "Water", "story": None}]
    with pytest.raises(ValueError, match="no gold 'story'"):
        evaluate_file(_corpus(tmp_path, rows), embedder, Settings())


def test_rows_sharing_a_placeholder_id_are_replayed_as_different_articles(
    tmp_path: Path, embedder: Embedder
) -> None:
    # basil.jsonl gives four different articles the id "basil-empty".
    rows = [
        {"id": "same", "url": f"https://a.com/{i}", "outlet": "a.com", "title": title,
         "body": body, "published_at": f"2020-0{i + 1}-01", "story": f"s{i}"}
        for i, (title, body) in enumerate([
            ("Flood closes the harbour bridge", "Water rose over the harbour bridge at dawn."),
            ("Senate passes the farm bill", "Senators voted 61 to 38 for the farm subsidy bill."),
        ])
    ]  # fmt: skip
    report = evaluate_file(_corpus(tmp_path, rows), embedder, Settings())
    assert (report.articles, report.gold_stories, report.pred_stories) == (2, 2, 2)
    assert report.bcubed_f1 == 1.0


def test_replay_order_sorts_by_date_and_keeps_undated_last() -> None:
    rows = [
        CorpusRow(1, {"published_at": None}, "a"),
        CorpusRow(2, {"published_at": "2020-01-02T00:00:00Z"}, "a"),
        CorpusRow(3, {"published_at": "2020-01-01"}, "a"),
    ]
    assert [r.line for r in replay_order(rows)] == [3, 2, 1]


def test_eval_json_prints_one_object_per_file(tmp_path: Path) -> None:
    seeds = _corpus(tmp_path, shared_rows("seeds/idlib_sept2018.jsonl"))
    result = CliRunner().invoke(
        cli, ["eval", str(seeds), str(seeds), "--json", "--cache-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(lines) == 2
    assert set(lines[0]) == JSON_KEYS


def test_seed_pair_still_joins_with_its_dates_removed(tmp_path: Path, embedder: Embedder) -> None:
    seeds = shared_rows("seeds/idlib_sept2018.jsonl")
    report = evaluate_file(_corpus(tmp_path, seeds), embedder, Settings(), drop_dates=1.0)
    assert report.undated == 2
    assert (report.gold_stories, report.pred_stories) == (1, 1)


def test_drop_dates_blanks_a_repeatable_share_and_keeps_the_rest() -> None:
    rows = [CorpusRow(n, {"published_at": f"2020-01-{n:02d}"}, "a") for n in range(1, 29)]
    half = drop_dates(rows, 0.5)
    undated = [r.line for r in half if r.payload["published_at"] is None]
    assert 7 <= len(undated) <= 21
    assert undated == [r.line for r in drop_dates(rows, 0.5) if r.payload["published_at"] is None]
    kept = {r.line: r.payload["published_at"] for r in half if r.line not in undated}
    assert kept == {n: f"2020-01-{n:02d}" for n in range(1, 29) if n not in undated}
    assert all(r.payload["published_at"] is None for r in drop_dates(rows, 1.0))
    # The stream without dates arrives in file order, which for the corpora is date order.
    assert [r.line for r in replay_order(drop_dates(rows, 1.0))] == list(range(1, 29))
    with pytest.raises(ValueError, match="share"):
        drop_dates(rows, 1.5)


def test_eval_drop_dates_option_replays_undated(tmp_path: Path) -> None:
    seeds = _corpus(tmp_path, shared_rows("seeds/idlib_sept2018.jsonl"))
    args = ["eval", str(seeds), "--json", "--drop-dates", "--cache-dir", str(tmp_path / "c")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])
    assert (report["undated"], report["pred_stories"]) == (2, 1)
