"""Seconds from SIGTERM to exit of `storyline serve` with one /changes/stream client.

Usage: python benchmarks/shutdown.py [--runs 3]

Starts a real serve process on a fresh SQLite file and a free port, waits for
/health, connects one Server-Sent Events client, sends SIGTERM and times the
exit. Prints each run and the median.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def one_run() -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="storyline-shutdown-")
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": f"sqlite:///{tmp}/s.db",
        "STORYLINE_PORT": str(port),
    }
    command = [sys.executable, "-m", "app.cli", "serve"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)

        def listen() -> None:
            with httpx.stream("GET", f"{base}/changes/stream", timeout=600) as stream:
                for _ in stream.iter_lines():
                    pass

        threading.Thread(target=listen, daemon=True).start()
        time.sleep(2)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(120)
        return time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = [one_run() for _ in range(args.runs)]
    for seconds in times:
        print(f"exit after {seconds:.2f} s")
    print(f"median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
