"""Settings: every knob is documented where operators look for it."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_has_a_row_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    rows = {line for line in text.splitlines() if line.startswith("| `")}
    missing = [
        name
        for name in Settings.model_fields
        if not any(f"`{name.upper()}`" in row for row in rows)
    ]
    assert missing == []
