"""Process-wide set-up happens in configure_process alone, never in the service's constructors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.config import Settings
from app.process import embed_threads

# Run in a fresh interpreter: what it reports is the process state after each step.
_PROBE = """
import json, os, sys
import numpy as np
from threadpoolctl import threadpool_info
from app.config import Settings
from app.process import configure_process
from app.state import ServiceState

class Model:
    model_name, dimension = "probe", 4
    def embed(self, texts):
        return np.zeros((len(texts), 4), dtype=np.float32)

def snapshot():
    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    env = {k: os.environ.get(k) for k in
           ("OMP_WAIT_POLICY", "HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM")}
    torch = sys.modules.get("torch")
    return {"blas": blas, "env": env,
            "torch_threads": torch.get_num_threads() if torch else None}

out = {"fresh": snapshot()}
# The torch backend: its thread count is process-wide (ONNX sets it per session).
settings = Settings(
    database_url=sys.argv[1], worker_processes=4096, embedding_backend="torch"
)  # 1 thread each
ServiceState.start(settings, Model()).close()
out["after_start"] = snapshot()
configure_process(settings)
out["configured"] = snapshot()
print(json.dumps(out))
"""


def _probe(tmp_path: Path, **env: str) -> dict[str, Any]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_WAIT_POLICY", "HF_HUB_OFFLINE", "TOKENIZERS_PARALLELISM")
    }
    clean.update(OPENBLAS_NUM_THREADS="2", **env)
    url = f"sqlite:///{tmp_path / 'probe.db'}"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, url],
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    seen: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return seen


def test_service_state_leaves_the_process_alone_and_configure_process_sets_it_up(
    tmp_path: Path,
) -> None:
    seen = _probe(tmp_path)
    assert seen["fresh"]["blas"] and all(n == 2 for n in seen["fresh"]["blas"])
    assert seen["after_start"] == seen["fresh"]
    configured = seen["configured"]
    assert configured["blas"] and all(n == 1 for n in configured["blas"])
    assert configured["env"] == {
        "OMP_WAIT_POLICY": "PASSIVE",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    assert configured["torch_threads"] == 1


def test_configure_process_keeps_what_the_environment_already_says(tmp_path: Path) -> None:
    seen = _probe(tmp_path, OMP_WAIT_POLICY="ACTIVE", HF_HUB_OFFLINE="0")
    env = seen["configured"]["env"]
    assert env == {
        "OMP_WAIT_POLICY": "ACTIVE",
        "HF_HUB_OFFLINE": "0",
        "TOKENIZERS_PARALLELISM": "false",
    }


def test_worker_processes_of_one_host_share_its_cores() -> None:
    cores = len(os.sched_getaffinity(0))
    assert embed_threads(Settings(worker_processes=1)) == cores
    assert embed_threads(Settings(worker_processes=2)) == max(1, cores // 2)
    assert embed_threads(Settings(worker_processes=4 * cores)) == 1
