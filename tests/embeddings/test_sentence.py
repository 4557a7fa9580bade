"""The sentence-transformers adapter with the bundled model, and the disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.cache import CachedEmbedder
from embeddings.sentence import SentenceTransformerEmbedder
from embeddings.text import embedding_text


def test_vectors_are_unit_float32_rows(torch_embedder: SentenceTransformerEmbedder) -> None:
    vectors = torch_embedder.embed(["Storm floods the coast", "Parliament passes budget", ""])
    assert vectors.shape == (3, torch_embedder.dimension) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert torch_embedder.embed([]).shape == (0, 384)


def test_similar_texts_are_closer_than_unrelated(
    torch_embedder: SentenceTransformerEmbedder,
) -> None:
    a, b, c = torch_embedder.embed(
        ["Earthquake shakes Tokyo", "Strong quake hits Japan's capital", "Recipe for apple pie"]
    )
    assert a @ b > a @ c + 0.3


def test_missing_model_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        SentenceTransformerEmbedder(tmp_path / "nowhere")


def test_cache_returns_the_same_vectors_without_the_model(
    torch_embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    cached = CachedEmbedder(torch_embedder, tmp_path)
    texts = ["one story", "another story", "one story"]
    first = cached.embed(texts)
    assert cached.misses == 3 and cached.hits == 0
    second = CachedEmbedder(torch_embedder, tmp_path).embed(texts)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, torch_embedder.embed(texts), atol=1e-6)


def test_embedding_text_is_title_then_lead() -> None:
    assert embedding_text("Title", "Body text") == "Title.\nBody text"
    assert embedding_text("", "Body") == "Body"
    assert len(embedding_text("T", "word " * 10_000, max_tokens=128)) <= 128 * 6
