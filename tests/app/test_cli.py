"""The storyline CLI against a real database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import SHARED


def test_import_is_resumable_and_stats_count_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORYLINE_DATABASE_URL", database_url)
    seeds = SHARED / "seeds" / "idlib_sept2018.jsonl"
    runner = CliRunner()
    first = runner.invoke(cli, ["import", str(seeds)])
    assert first.exit_code == 0, first.output
    assert "2 stored, 0 already present, 0 rejected" in first.output
    second = runner.invoke(cli, ["import", str(seeds)])
    assert "0 stored, 2 already present" in second.output
    stats = runner.invoke(cli, ["stats"])
    assert "articles:   2" in stats.output
    assert "storylines active: 1" in stats.output


def test_import_reports_bad_lines_and_keeps_going(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv("STORYLINE_DATABASE_URL", database_url)
    corpus = tmp_path / "mixed.jsonl"  # type: ignore[operator]
    corpus.write_text(
        '{"id": "ok-1", "outlet": "a.com", "title": "Flood hits town", "body": "Water rose."}\n'
        "not json\n"
        '{"id": "bad-2", "outlet": "a.com", "title": "", "body": ""}\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "line 2: rejected" in result.output
    assert "line 3: rejected" in result.output
    assert "1 stored, 0 already present, 2 rejected" in result.output


def test_migrate_command(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYLINE_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 0
    assert "latest revision" in result.output
