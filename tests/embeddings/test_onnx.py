"""The ONNX Runtime embedder (the default backend) against the torch one, on the local export."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.onnx import ExportMismatch, OnnxEmbedder, ensure_export, sha256
from embeddings.onnx_export import COPIED_FILES, MANIFEST, export
from embeddings.sentence import SentenceTransformerEmbedder

SENTENCES = [
    "Storm floods the coast as residents flee inland",
    "Parliament passes the budget after a late-night vote",
    "Police say two men were shot outside a bar on Main Street early Sunday.",
    "White Helmets making staged video of Idlib chemical attack, SANA reports",
    "",
]


@pytest.fixture(scope="module")
def onnx_embedder(onnx_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(onnx_dir)


def test_vectors_are_unit_float32_rows(onnx_embedder: OnnxEmbedder) -> None:
    vectors = onnx_embedder.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), onnx_embedder.dimension) == (5, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert onnx_embedder.embed([]).shape == (0, 384)


def test_model_name_differs_from_the_torch_backend(
    onnx_embedder: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    assert onnx_embedder.model_name == "all-MiniLM-L6-v2@256+onnx-int8"
    assert onnx_embedder.model_name != torch_embedder.model_name


def test_int8_vectors_agree_with_torch(
    onnx_embedder: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    cosines = (onnx_embedder.embed(SENTENCES) * torch_embedder.embed(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.95, cosines


def test_fp32_graph_matches_torch(
    onnx_dir: Path, torch_embedder: SentenceTransformerEmbedder
) -> None:
    fp32 = OnnxEmbedder(onnx_dir, weights="fp32")
    cosines = (fp32.embed(SENTENCES) * torch_embedder.embed(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_truncation_and_batching_match_torch_on_long_text(
    onnx_dir: Path, torch_embedder: SentenceTransformerEmbedder
) -> None:
    long_text = " ".join(f"word{i} of a long article on council budgets" for i in range(200))
    texts = [long_text, "short", long_text[:500], "a medium length sentence about rain"]
    # batch_size=3 splits the four texts, and sorting by length must not reorder rows.
    fp32 = OnnxEmbedder(onnx_dir, weights="fp32", batch_size=3)
    cosines = (fp32.embed(texts) * torch_embedder.embed(texts)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines
    short = OnnxEmbedder(onnx_dir, max_tokens=128)
    assert short.model_name == "all-MiniLM-L6-v2@128+onnx-int8"
    assert float(short.embed([long_text])[0] @ fp32.embed([long_text])[0]) < 0.999


def test_long_texts_split_into_bounded_batches_without_reordering_rows(
    onnx_dir: Path, torch_embedder: SentenceTransformerEmbedder
) -> None:
    # Twelve texts at the 256-token limit exceed one batch's token budget (eight
    # of them), interleaved with short ones that all fit in one batch.
    longs = [
        " ".join(f"item{k}-{i} in report {k} on harbour dredging" for i in range(80))
        for k in range(12)
    ]
    shorts = [f"brief note {k} on the weather" for k in range(12)]
    texts = [t for pair in zip(longs, shorts, strict=True) for t in pair]
    fp32 = OnnxEmbedder(onnx_dir, weights="fp32", batch_size=64)
    cosines = (fp32.embed(texts) * torch_embedder.embed(texts)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_similar_texts_are_closer_than_unrelated(onnx_embedder: OnnxEmbedder) -> None:
    a, b, c = onnx_embedder.embed(
        ["Earthquake shakes Tokyo", "Strong quake hits Japan's capital", "Recipe for apple pie"]
    )
    assert a @ b > a @ c + 0.3


def test_export_is_reproducible(onnx_dir: Path, tmp_path: Path) -> None:
    manifest = export(tmp_path)
    assert manifest == json.loads((onnx_dir / MANIFEST).read_text())
    assert manifest["source_sha256"]["model.safetensors"]
    np.testing.assert_array_equal(
        OnnxEmbedder(tmp_path).embed(SENTENCES), OnnxEmbedder(onnx_dir).embed(SENTENCES)
    )


def test_missing_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ONNX model directory not found"):
        OnnxEmbedder(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"manifest\.json missing"):
        OnnxEmbedder(tmp_path)


def test_a_changed_file_fails_its_checksum_and_ensure_export_repairs_it(
    onnx_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "onnx"
    shutil.copytree(onnx_dir, copy)
    tokenizer = copy / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"[UNK]"', '"[UNKNOWN]"', 1))
    with pytest.raises(ExportMismatch, match=r"tokenizer\.json .* does not match the checksum"):
        OnnxEmbedder(copy)
    manifest = ensure_export(copy)
    assert manifest["files_sha256"] == json.loads((onnx_dir / MANIFEST).read_text())["files_sha256"]
    assert sha256(copy / "tokenizer.json") == sha256(onnx_dir / "tokenizer.json")
    np.testing.assert_array_equal(
        OnnxEmbedder(copy).embed(SENTENCES[:2]), OnnxEmbedder(onnx_dir).embed(SENTENCES[:2])
    )


def test_the_manifest_checksums_every_file_of_the_export(onnx_dir: Path) -> None:
    manifest = json.loads((onnx_dir / MANIFEST).read_text())
    assert set(manifest["files_sha256"]) == {"model_fp32.onnx", "model_int8.onnx", *COPIED_FILES}
    for name, digest in manifest["files_sha256"].items():
        assert sha256(onnx_dir / name) == digest


def test_the_service_loads_the_export_without_importing_torch(onnx_dir: Path) -> None:
    # A fresh interpreter does what `storyline serve` does before it answers.
    script = (
        "import sys\n"
        "from app.config import Settings\n"
        "from app.main import create_app\n"
        "from app.state import make_embedder\n"
        f"e = make_embedder(Settings(onnx_dir={str(onnx_dir)!r}))\n"
        "create_app(Settings())\n"
        "assert e.embed(['ok']).shape == (1, 384)\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules)\n"
        "print(e.model_name, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["all-MiniLM-L6-v2@256+onnx-int8", "[]"], done.stderr
