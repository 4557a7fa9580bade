"""The multilingual USE v3 adapter: shape, norms, name, and translations that land together."""

from __future__ import annotations

import numpy as np

from embeddings.text import embedding_text
from embeddings.universal import UniversalSentenceEmbedder
from tests.app.cross_lingual_texts import FERRY_DHAKA, FERRY_MWANZA


def test_rows_are_unit_float32_512_in_input_order(
    multilingual_embedder: UniversalSentenceEmbedder,
) -> None:
    texts = ["Ferry capsizes on Lake Victoria", "", "Паром перевернулся"]
    vectors = multilingual_embedder.embed(texts)
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    alone = multilingual_embedder.embed([texts[2]])
    np.testing.assert_allclose(vectors[2], alone[0], atol=1e-5)
    assert multilingual_embedder.embed([]).shape == (0, 512)


def test_its_name_says_model_cut_and_backend(
    multilingual_embedder: UniversalSentenceEmbedder,
) -> None:
    assert multilingual_embedder.model_name == "use-multilingual-v3@256+numpy"
    assert multilingual_embedder.dimension == 512


def test_one_event_in_four_languages_is_closer_than_a_look_alike_in_the_same_language(
    multilingual_embedder: UniversalSentenceEmbedder,
) -> None:
    same = multilingual_embedder.embed([embedding_text(*t) for t in FERRY_MWANZA.values()])
    other = multilingual_embedder.embed([embedding_text(*t) for t in FERRY_DHAKA.values()])
    across = same @ same.T
    look_alike = same @ other.T
    # Every translation pair of one event beats every pair of the two events,
    # even where the look-alike shares the language.
    assert across[np.triu_indices(4, 1)].min() > look_alike.max()
