"""The ONNX Runtime embedder against the torch one, on a fresh local export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is the optional extra: pip install .[onnx]")
pytest.importorskip("onnx", reason="onnx is the optional extra: pip install .[onnx]")

from embeddings.onnx import OnnxEmbedder
from embeddings.onnx_export import MANIFEST, export
from embeddings.sentence import SentenceTransformerEmbedder

SENTENCES = [
    "Storm floods the coast as residents flee inland",
    "Parliament passes the budget after a late-night vote",
    "Police say two men were shot outside a bar on Main Street early Sunday.",
    "White Helmets making staged video of Idlib chemical attack, SANA reports",
    "",
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("onnx")
    export(directory)
    return directory


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
    onnx_embedder: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    assert onnx_embedder.model_name == "all-MiniLM-L6-v2@256+onnx-int8"
    assert onnx_embedder.model_name != embedder.model_name


def test_int8_vectors_agree_with_torch(
    onnx_embedder: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    cosines = (onnx_embedder.embed(SENTENCES) * embedder.embed(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.95, cosines


def test_fp32_graph_matches_torch(onnx_dir: Path, embedder: SentenceTransformerEmbedder) -> None:
    fp32 = OnnxEmbedder(onnx_dir, weights="fp32")
    cosines = (fp32.embed(SENTENCES) * embedder.embed(SENTENCES)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_truncation_and_batching_match_torch_on_long_text(
    onnx_dir: Path, embedder: SentenceTransformerEmbedder
) -> None:
    long_text = " ".join(f"word{i} of a long article on council budgets" for i in range(200))
    texts = [long_text, "short", long_text[:500], "a medium length sentence about rain"]
    # batch_size=3 splits the four texts, and sorting by length must not reorder rows.
    fp32 = OnnxEmbedder(onnx_dir, weights="fp32", batch_size=3)
    cosines = (fp32.embed(texts) * embedder.embed(texts)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines
    short = OnnxEmbedder(onnx_dir, max_tokens=128)
    assert short.model_name == "all-MiniLM-L6-v2@128+onnx-int8"
    assert float(short.embed([long_text])[0] @ fp32.embed([long_text])[0]) < 0.999


def test_long_texts_split_into_bounded_batches_without_reordering_rows(
    onnx_dir: Path, embedder: SentenceTransformerEmbedder
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
    cosines = (fp32.embed(texts) * embedder.embed(texts)).sum(axis=1)
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
    with pytest.raises(FileNotFoundError, match=r"model_int8\.onnx missing"):
        OnnxEmbedder(tmp_path)
