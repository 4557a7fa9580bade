"""The Embedder contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class Embedder(Protocol):
    """Turns texts into vectors.

    ``embed`` returns a 2-D float32 array of shape (len(texts), dimension) whose
    rows have unit L2 norm. ``model_name`` identifies the weights, so vectors of
    different models are never compared.
    """

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...
