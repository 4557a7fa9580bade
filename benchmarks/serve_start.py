"""Time from `storyline serve` to its first ready answer, and the process's memory.

Usage: python benchmarks/serve_start.py [--runs 5] [--prefill 100000]

Starts the real command (the README's `storyline serve`) as a subprocess on a
SQLite store, with the ONNX export present (made first by `storyline prepare`,
outside the clock), and polls GET /health/ready (or /health where readiness
does not exist) every 10 ms. Reports, per run, seconds from the process start
to the first 200, and its RSS once idle (2 s later). The first run starts on a
fresh file (migrations run); the others on the migrated store, as a restart
does. With --prefill N, one more run starts on a store of N stored articles of
the default model (synthetic, from benchmarks/queries.py) and reports RSS there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def storyline_command() -> list[str]:
    found = shutil.which("storyline")
    return [found] if found else [sys.executable, "-m", "app.cli"]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far: on a loaded host, where wall
    time depends on the neighbours, this is what the start itself costs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answered(port: int) -> bool:
    for path in ("/health/ready", "/health"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
                return bool(r.status == 200)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                continue  # no readiness endpoint yet: ask /health
            return False
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
    return False


def free_port() -> int:
    """A port nobody listens on now (another service on a fixed one would answer instead)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_once(url: str, idle: float) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "STORYLINE_DATABASE_URL": url, "STORYLINE_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*storyline_command(), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not answered(port):
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}: {proc.stderr.read()}")
            if time.perf_counter() - started > 120:
                raise RuntimeError("serve did not answer within 120 s")
            time.sleep(0.01)
        ready = time.perf_counter() - started
        cpu, rss_ready = cpu_seconds(proc.pid), rss_mib(proc.pid)
        time.sleep(idle)
        return {
            "ready_s": ready,
            "cpu_s": cpu,
            "rss_ready_mib": rss_ready,
            "rss_idle_mib": rss_mib(proc.pid),
        }
    finally:
        proc.terminate()
        proc.wait(30)


def prefill(url: str, articles: int) -> None:
    """A migrated store of ``articles`` synthetic rows, marked as the default model's."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import text

    from app.config import Settings
    from app.db import make_engine, migrate
    from benchmarks.queries import build
    from embeddings.onnx import OnnxEmbedder

    model = OnnxEmbedder(Settings().onnx_dir).model_name
    engine = make_engine(url)
    migrate(engine)
    build(engine, articles, outlets=500, storylines=articles // 4, seed=7, live_days=30)
    with engine.begin() as conn:
        conn.execute(text("UPDATE article SET embedding_model = :m"), {"m": model})
        conn.execute(text("DELETE FROM vector_space"))
        conn.execute(
            text("INSERT INTO vector_space (id, model, dimension, since) VALUES (1, :m, 384, :t)"),
            {"m": model, "t": "2026-12-01 00:00:00"},
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=2.0, help="seconds before the idle RSS")
    parser.add_argument("--prefill", type=int, default=0, help="also start on N stored articles")
    args = parser.parse_args()

    subprocess.run([*storyline_command(), "prepare"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory(prefix="serve-start-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'storyline.db'}"
        runs = [start_once(url, args.idle) for _ in range(args.runs)]
        report: dict[str, object] = {
            "first_start_fresh_store": runs[0],
            "restarts": runs[1:],
            "restart_ready_s_median": statistics.median(r["ready_s"] for r in runs[1:])
            if len(runs) > 1
            else None,
            "restart_cpu_s_median": statistics.median(r["cpu_s"] for r in runs[1:])
            if len(runs) > 1
            else None,
            "restart_rss_idle_mib_median": statistics.median(r["rss_idle_mib"] for r in runs[1:])
            if len(runs) > 1
            else None,
            "load_average": os.getloadavg(),
            "cores": os.cpu_count(),
        }
        if args.prefill:
            big = f"sqlite:///{Path(tmp) / 'big.db'}"
            prefill(big, args.prefill)
            report[f"start_with_{args.prefill}_stored"] = start_once(big, args.idle)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
