"""An Embedder wrapper that remembers vectors on disk, keyed by model and text."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from embeddings.protocol import Embedder


class CachedEmbedder:
    """Serves repeated texts from ``directory`` instead of re-running the model.

    Each vector is one small ``.npy`` file named by the SHA-256 of the model name
    and the text, written atomically, so concurrent processes may share the
    directory. Used by evaluation and benchmarks, where the same corpus is
    embedded many times.
    """

    def __init__(self, inner: Embedder, directory: str | Path) -> None:
        self._inner = inner
        self._dir = Path(directory) / _safe(inner.model_name)
        self._dir.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing: list[int] = []
        paths = [self._path(t) for t in texts]
        for i, path in enumerate(paths):
            if path.exists():
                out[i] = np.load(path)
            else:
                missing.append(i)
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self._inner.embed([texts[i] for i in missing])
            for row, i in enumerate(missing):
                out[i] = fresh[row]
                self._store(paths[i], fresh[row])
        return out

    def _path(self, text: str) -> Path:
        key = hashlib.sha256(f"{self.model_name}\0{text}".encode()).hexdigest()
        return self._dir / key[:2] / f"{key}.npy"

    @staticmethod
    def _store(path: Path, vector: NDArray[np.float32]) -> None:
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, vector)
        os.replace(tmp, path)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name)
