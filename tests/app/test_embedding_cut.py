"""The text the model is given is cut where the model call's token budget says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from app.config import Settings
from app.services.prepare import Limits, parse_payload
from app.state import ModelCall, ServiceState


class _Recorder:
    """An embedder that keeps what it was asked to embed (the cut is not the model's)."""

    model_name, dimension = "recorder", 8

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        out[:, 0] = 1.0
        return out


def test_ingest_cuts_the_embedded_text_to_the_model_calls_max_tokens(settings: Settings) -> None:
    recorder = _Recorder()
    state = ServiceState.start(settings, recorder, model_call=ModelCall(max_tokens=16))
    try:
        now = datetime.now(UTC)
        article = {"outlet": "a.com", "title": "Flood", "body": "water " * 2000}
        batch = parse_payload(article, Limits(10, 10**6, timedelta(days=1)), now)
        state.ingestor.ingest(batch, now)
    finally:
        state.close()
    # about six characters per word piece: 16 pieces, 96 characters (256 would give 1,536)
    assert [len(t) for t in recorder.texts] == [96]
