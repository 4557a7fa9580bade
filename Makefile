# Two entry points: `make serve` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup serve test check bench clean

setup: $(STAMP)

# torch goes in first, pinned to the CPU build: a bare requirement from
# sentence-transformers would otherwise pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# prepare exports the ONNX model once (seconds, importing torch); later it only
# verifies the export's checksums, so the service itself starts without torch.
serve: $(STAMP)
	$(BIN)/storyline prepare
	$(BIN)/storyline serve

test: $(STAMP)
	scripts/ensure-chromium
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
