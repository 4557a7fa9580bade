"""Start-up: with the export present, a service answers without the heavy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.db import make_engine, migrate

# Imported by the torch backend, batch discovery, evaluation and migrations, never
# on the way to a current store's first answer.
HEAVY = ("torch", "sentence_transformers", "transformers", "scipy", "sklearn", "alembic")


def test_a_started_service_answers_without_torch_scipy_or_alembic(
    tmp_path: Path, onnx_dir: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'storyline.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from app.config import Settings\n"
        "from app.main import create_app\n"
        f"settings = Settings(database_url={url!r}, onnx_dir={str(onnx_dir)!r})\n"
        "with TestClient(create_app(settings)) as client:\n"
        "    health = client.get('/health').json()\n"
        f"print(health['model'], sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["all-MiniLM-L6-v2@256+onnx-int8", "[]"], done.stderr
