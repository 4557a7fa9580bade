"""ONNX Runtime adapter: the exported transformer, mean pooling and L2 normalisation.

The directory comes from ``python -m embeddings.onnx_export DIR`` (or
:func:`ensure_export`, which exports once and reuses a verified directory).
Importing this module is cheap; building an ``OnnxEmbedder`` loads the graph
in a fraction of a second, without torch or transformers, after checking the
files it reads against the checksums of the directory's manifest.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Weights = Literal["int8", "fp32"]
_FILES: dict[str, str] = {"int8": "model_int8.onnx", "fp32": "model_fp32.onnx"}
_MANIFEST = "manifest.json"
_TOKENIZER = "tokenizer.json"
_BATCH_TOKENS = 2048

log = logging.getLogger("storyline.embeddings")


class ExportMismatch(ValueError):
    """A file of an ONNX export differs from the checksum its manifest recorded."""


class OnnxEmbedder:
    """Embeds with an ONNX export of a mean-pooled sentence-transformers model.

    Reproduces the model's sentence-transformers pipeline: the same tokenizer
    (``tokenizer.json``), truncation at ``max_tokens`` word pieces (capped at the
    model's own limit), the transformer, mean pooling over the attention mask,
    L2 normalisation. ``weights="int8"`` runs the dynamically quantised graph.

    ``model_name`` carries the backend (``all-MiniLM-L6-v2@256+onnx-int8``), so
    its vectors are never stored or compared beside the torch ones: they agree
    closely but not exactly.
    """

    def __init__(
        self,
        model_dir: str | Path,
        max_tokens: int = 256,
        batch_size: int = 32,
        weights: Weights = "int8",
        threads: int | None = None,
    ) -> None:
        path = Path(model_dir)
        if not path.is_dir():
            raise FileNotFoundError(
                f"ONNX model directory not found: {path} "
                "(create it with: python -m embeddings.onnx_export DIR)"
            )
        graph = path / _FILES[weights]
        manifest = verify_export(path, [_FILES[weights], _TOKENIZER])
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._dim = int(manifest["dimension"])
        self._max_tokens = min(max_tokens, int(manifest["max_seq_length"]))
        self._batch_size = batch_size
        self._name = f"{manifest['model_name']}@{self._max_tokens}+onnx-{weights}"

        self._tokenizer = Tokenizer.from_file(str(path / _TOKENIZER))
        # tokenizer.json ships with fixed 128-token padding and truncation; padding
        # is done per batch below, truncation is ours to set.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self._max_tokens)

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads sleep instead of spinning: the service's API,
        # grouping and labelling threads share these cores (as OMP_WAIT_POLICY
        # does for torch in app.state).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: Any = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        self._output = str(manifest["output"])

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit rows, float32, shape (len(texts), dimension), in input order."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        # Longest first, as sentence-transformers does, so batches pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        start = 0
        while start < len(order):
            rows = order[start : start + self._rows_per_batch(len(encodings[order[start]].ids))]
            out[rows] = self._embed_batch([encodings[i].ids for i in rows])
            start += len(rows)
        return out

    def _rows_per_batch(self, width: int) -> int:
        """Rows in a batch whose longest text has ``width`` tokens.

        Capped at ``_BATCH_TOKENS`` padded tokens: ONNX Runtime keeps its peak
        activations in its memory arena, and a batch of 32 texts of 256 tokens
        took the process from 120 to 670 MiB, where batches of 8 peak at 270
        MiB at the same speed (measured). Short texts still go many at a time.
        """
        return max(1, min(self._batch_size, _BATCH_TOKENS // max(width, 1)))

    def _embed_batch(self, ids: list[list[int]]) -> NDArray[np.float32]:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, row in enumerate(ids):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        # Single-segment inputs: every token type is 0.
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": 0 * mask}
        (hidden,) = self._session.run([self._output], feeds)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.asarray(pooled / norms, dtype=np.float32)


def verify_export(directory: Path, names: Sequence[str]) -> dict[str, Any]:
    """The manifest of the export in ``directory``, once ``names`` match its checksums.

    Raises FileNotFoundError for a missing file and :class:`ExportMismatch` for
    one whose SHA-256 differs from the manifest's (or that it does not list).
    About 20 ms for the int8 graph and the tokenizer.
    """
    hint = "(re-create it with: storyline prepare, or python -m embeddings.onnx_export DIR)"
    for name in (_MANIFEST, *names):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{name} missing in ONNX model directory {directory} {hint}")
    manifest: dict[str, Any] = json.loads((directory / _MANIFEST).read_text())
    recorded = manifest.get("files_sha256", {})
    for name in names:
        if recorded.get(name) != sha256(directory / name):
            raise ExportMismatch(
                f"{name} in {directory} does not match the checksum in its manifest {hint}"
            )
    return manifest


def ensure_export(
    directory: str | Path, model_dir: str | Path | None = None, *, check_source: bool = False
) -> dict[str, Any]:
    """Export the model to ``directory`` unless a verified export is there; its manifest.

    A directory whose files fail their checksums, or (with ``check_source``)
    whose recorded source weights differ from ``model_dir``'s (default: the
    bundled model), is exported again. Exporting imports torch and takes
    seconds; processes that start together wait on one file lock, so one of
    them exports and the others reuse it.
    """
    path = Path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_name(path.name + ".lock")):
        try:
            manifest = verify_export(path, [*_FILES.values(), _TOKENIZER])
            if not check_source or _source_matches(manifest, model_dir):
                return manifest
            reason = "its source model changed"
        except (FileNotFoundError, ExportMismatch, json.JSONDecodeError) as exc:
            reason = str(exc) if path.exists() else "none yet"
        from embeddings.onnx_export import export

        log.info("exporting the ONNX model to %s (%s)", path, reason)
        return export(path, model_dir)


def _source_matches(manifest: dict[str, Any], model_dir: str | Path | None) -> bool:
    from embeddings.sentence import bundled_model_path

    source = Path(model_dir) if model_dir is not None else bundled_model_path()
    recorded = manifest.get("source_sha256", {}).get("model.safetensors")
    return bool(recorded == sha256(source / "model.safetensors"))


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
