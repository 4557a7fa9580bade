"""Embedding backends side by side: torch vs ONNX Runtime fp32 vs ONNX Runtime int8.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.embedding_backends [--n 400] [--repeats 3] \
        [--quality ../shared/data/basil.jsonl ../shared/seeds/idlib_sept2018.jsonl]

In one run: exports the bundled model to ONNX in a temporary directory (or
uses ``--onnx-dir``), then on the first N articles of gva_dev (title and body
through ``app.text.clean_text``, then ``embeddings.text.embedding_text``):

- articles/s at 256 and at 128 tokens and titles/s, median of ``--repeats``,
  the backends interleaved within each repeat so a noisy neighbour hits all,
- cold start to the first embedding and RSS after it, each in a fresh
  subprocess (median of ``--repeats``),
- cosine agreement with torch at the same token limit (mean / min),
- the grouping quality of ``storyline eval`` (``evaluate_file`` with default
  ``Settings``) on each ``--quality`` file, per backend and token limit.

``--skip-speed`` runs only the quality part (e.g. for gva_dev in the background).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.config import Settings
from app.services.evaluate import evaluate_file
from app.state import ModelCall
from app.text import clean_text
from embeddings.cache import CachedEmbedder
from embeddings.onnx import OnnxEmbedder, Weights
from embeddings.onnx_export import export
from embeddings.protocol import Embedder
from embeddings.sentence import SentenceTransformerEmbedder
from embeddings.text import embedding_text

SHARED = Path(__file__).resolve().parents[2] / "shared"
BACKENDS = ("torch", "onnx-fp32", "onnx-int8")

_CHILD = """
import json, sys, time
started = time.perf_counter()
backend, onnx_dir = sys.argv[1], sys.argv[2]
if backend == "torch":
    from embeddings.sentence import SentenceTransformerEmbedder
    embedder = SentenceTransformerEmbedder()
else:
    from embeddings.onnx import OnnxEmbedder, Weights
    embedder = OnnxEmbedder(onnx_dir, weights=backend.removeprefix("onnx-"))
embedder.embed(["Storm floods the coast as residents flee inland"])
first = time.perf_counter() - started
status = open("/proc/self/status").read().split("\\n")
rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
print(json.dumps({"in_process_s": first, "rss_mib": rss_kib / 1024,
                  "torch_loaded": "torch" in sys.modules}), flush=True)
"""


def build(backend: str, onnx_dir: Path, max_tokens: int) -> Embedder:
    if backend == "torch":
        return SentenceTransformerEmbedder(max_tokens=max_tokens)
    weights: Weights = "fp32" if backend == "onnx-fp32" else "int8"
    return OnnxEmbedder(onnx_dir, max_tokens=max_tokens, weights=weights)


def read_rows(path: Path, n: int | None = None) -> list[dict[str, str]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
            if n is not None and len(rows) == n:
                break
    return rows


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cold_start(backend: str, onnx_dir: Path) -> dict[str, float]:
    """Wall time from spawning a fresh interpreter to its first embedding, and its RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, backend, str(onnx_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    wall = time.perf_counter() - started
    child.wait()
    return {"wall_s": wall, **json.loads(line)}


def speed(args: argparse.Namespace, onnx_dir: Path) -> None:
    rows = read_rows(args.corpus, args.n)
    titles = [clean_text(r.get("title") or "") for r in rows]
    articles = [
        embedding_text(t, clean_text(r.get("body") or ""))
        for t, r in zip(titles, rows, strict=True)
    ]
    print(f"{len(articles)} articles of {args.corpus.name}, cpu_count={os.cpu_count()}")

    embedders = {(b, m): build(b, onnx_dir, m) for b in BACKENDS for m in (256, 128)}
    for e in embedders.values():
        e.embed(articles[:8])  # warm-up: first-call allocations and kernel selection
    tasks = {
        (b, kind): (m, texts)
        for b in BACKENDS
        for kind, m, texts in (
            ("a256", 256, articles),
            ("a128", 128, articles),
            ("titles", 256, titles),
        )
    }
    seconds: dict[tuple[str, str], list[float]] = {k: [] for k in tasks}
    vectors: dict[tuple[str, str], np.ndarray] = {}
    for repeat in range(args.repeats):
        for key, (m, texts) in tasks.items():
            started = time.perf_counter()
            out = embedders[(key[0], m)].embed(texts)
            seconds[key].append(time.perf_counter() - started)
            vectors[key] = out
        print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)

    colds = {b: [cold_start(b, onnx_dir) for _ in range(args.repeats)] for b in BACKENDS}

    def rate(key: tuple[str, str], n: int) -> float:
        return n / statistics.median(seconds[key])

    def cos(b: str, kind: str) -> str:
        c = (vectors[(b, kind)] * vectors[("torch", kind)]).sum(axis=1)
        return f"{c.mean():.4f} / {c.min():.4f}"

    base = {k: rate(("torch", k), len(articles)) for k in ("a256", "a128", "titles")}
    print()
    print(
        "| backend | articles/s @256 | articles/s @128 | titles/s | cold start s | RSS MiB "
        "| cos vs torch @256 mean/min | @128 | titles |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for b in BACKENDS:
        r = {k: rate((b, k), len(articles)) for k in ("a256", "a128", "titles")}
        cold = statistics.median(c["wall_s"] for c in colds[b])
        rss = statistics.median(c["rss_mib"] for c in colds[b])
        cells = [f"{r[k]:.1f} ({r[k] / base[k]:.2f}x)" for k in ("a256", "a128", "titles")]
        print(
            f"| {b} | {' | '.join(cells)} | {cold:.2f} | {rss:.0f} | {cos(b, 'a256')} "
            f"| {cos(b, 'a128')} | {cos(b, 'titles')} |"
        )
    c128 = (vectors[("torch", "a128")] * vectors[("torch", "a256")]).sum(axis=1)
    print(
        f"\ntorch 128 vs 256 tokens on the same articles: cosine {c128.mean():.4f} / "
        f"{c128.min():.4f}; torch loaded in ONNX children: "
        f"{any(c['torch_loaded'] for b in BACKENDS[1:] for c in colds[b])}"
    )


def quality(args: argparse.Namespace, onnx_dir: Path, cache: Path) -> None:
    configs = [("torch", 256), ("onnx-int8", 256), ("torch", 128), ("onnx-int8", 128)]
    print(
        "\n| file | backend | tokens | BCubed P / R / F1 | pairwise P / R / F1 | pred / gold "
        "stories | s |"
    )
    print("|---|---|---|---|---|---|---|")
    for path in args.quality:
        for backend, tokens in configs:
            embedder = CachedEmbedder(build(backend, onnx_dir, tokens), cache)
            started = time.perf_counter()
            r = evaluate_file(path, embedder, Settings(), model_call=ModelCall(max_tokens=tokens))
            print(
                f"| {path.name} | {backend} | {tokens} | {r.bcubed_p:.3f} / {r.bcubed_r:.3f} "
                f"/ **{r.bcubed_f1:.3f}** | {r.pair_p:.3f} / {r.pair_r:.3f} / "
                f"**{r.pair_f1:.3f}** | {r.pred_stories} / {r.gold_stories} | "
                f"{time.perf_counter() - started:.0f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "data" / "gva_dev.jsonl")
    parser.add_argument("--n", type=int, default=400, help="articles for the speed part")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--onnx-dir", type=Path, default=None, help="default: export afresh")
    parser.add_argument("--cache", type=Path, default=None, help="vector cache; default: temp")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument(
        "--quality",
        type=Path,
        nargs="*",
        default=[SHARED / "data" / "basil.jsonl", SHARED / "seeds" / "idlib_sept2018.jsonl"],
    )
    args = parser.parse_args()
    print(
        "$ "
        + shlex.join(
            [Path(sys.executable).name, "-m", "benchmarks.embedding_backends", *sys.argv[1:]]
        )
    )
    with tempfile.TemporaryDirectory(prefix="embedding-backends-") as tmp:
        onnx_dir = args.onnx_dir
        if onnx_dir is None:
            onnx_dir = Path(tmp) / "onnx"
            seconds = timed(lambda: export(onnx_dir))
            print(f"exported to ONNX fp32 + int8 in {seconds:.1f} s (in process)")
        if not args.skip_speed:
            speed(args, onnx_dir)
        quality(args, onnx_dir, args.cache or Path(tmp) / "cache")


if __name__ == "__main__":
    main()
