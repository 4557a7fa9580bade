"""Time of every text step on the largest, most hostile article the API accepts.

Usage: python benchmarks/pathological_text.py [--repeats 3]

Each step that reads an article's text after validation (cleaning, language
detection, label terms, labels, lexical terms, facts, boilerplate keys, MinHash)
runs on texts at the default limits (a 1,000-character title, a 200,000-byte
body) built to hurt: capitalised words only (every word a name candidate),
unclosed markup and comments, bracket runs, entity soup, mojibake. Prints the
median seconds per step and text; every figure must stay far below a second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from app.config import Settings
from app.services.prepare import detect_language
from app.text import clean_text
from clustering import minhash
from clustering.boilerplate import BoilerplateLines
from clustering.labels import make_label, tracked_terms
from clustering.terms import article_terms, fact_terms, title_terms


def texts(body_bytes: int, title_chars: int) -> dict[str, tuple[str, str]]:
    """Named (title, body) pairs at the limits."""

    def fill(unit: str, size: int) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    capitals = "Alpha Bravo Charlie-Delta O'Neil Echo, Foxtrot. "
    return {
        "capitalised words": (fill("Name Word ", title_chars), fill(capitals, body_bytes)),
        "one long word": (fill("A", title_chars), fill("Ab", body_bytes)),
        "unclosed script tags": ("<script " * (title_chars // 8), fill("<script x ", body_bytes)),
        "unclosed comments": ("<!--" * (title_chars // 4), fill("<!-- a ", body_bytes)),
        "unclosed p tags": ("<p " * (title_chars // 3), fill("<p a ", body_bytes)),
        "open brackets": ("[" * title_chars, fill("[a](", body_bytes)),
        "entities": ("&amp;" * (title_chars // 5), fill("&amp;amp;#", body_bytes)),
        "mojibake": (fill("Ã© ", title_chars), fill("â€” Ã© ", body_bytes // 2)),
        "blank lines": (fill("a\n \n", title_chars), fill("\n \t \n", body_bytes)),
        "hyphen runs": (fill("a-", title_chars), fill("a" + "-" * 1000 + " ", body_bytes)),
    }


def steps() -> dict[str, Callable[[str, str], object]]:
    boilerplate = BoilerplateLines()
    when = datetime(2020, 1, 1, tzinfo=UTC)
    return {
        "clean_text": lambda t, b: (clean_text(t), clean_text(b)),
        "detect_language": detect_language,
        "tracked_terms": tracked_terms,
        "make_label": lambda t, b: make_label([(t, b, "a"), (t, b, "b")], {}, 10, when, when),
        "article_terms": article_terms,
        "title_terms": lambda t, _: title_terms(t),
        "fact_terms": fact_terms,
        "boilerplate keys": lambda _, b: boilerplate.line_keys(b),
        "minhash": lambda t, b: minhash.signature(minhash.shingles(f"{t}\n{b}")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    cases = texts(settings.max_body_bytes, settings.max_title_chars)
    print(f"{'text':<22}{'step':<18}{'median s':>10}")
    worst = 0.0
    for name, (title, body) in cases.items():
        clean_title, clean_body = clean_text(title), clean_text(body)
        for step, run in steps().items():
            run("Warm up", "Models and caches load on first use.")
            # Cleaning sees the raw text; every later step sees what is stored.
            t, b = (title, body) if step == "clean_text" else (clean_title, clean_body)
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                run(t, b)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"{name:<22}{step:<18}{median:>10.4f}")
    print(f"worst step: {worst:.4f} s")


if __name__ == "__main__":
    main()
