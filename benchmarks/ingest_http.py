"""End-to-end ingest over loopback HTTP against the model's own limit.

Usage: python benchmarks/ingest_http.py ../shared/data/gva_dev.jsonl -n 400 -c 8 \
           [--stores sqlite,postgresql] [--workers 2] [--batch 8]

For each store it starts the real service (`storyline serve`, asynchronous
ingest) as a subprocess on 127.0.0.1: on SQLite with its in-process worker, on
PostgreSQL with the API's worker off and `--workers` separate `storyline
worker` processes. It posts N articles in batches from C concurrent clients,
waits until every article is grouped, and reports articles/s from the first
POST to the last placement, POST latency p50/p99 and the peak RSS of every
service process. Then, in the same run, it times bare SentenceTransformer
encoding of the same texts (median of 3) and prints the ratio.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.corpus import read_corpus
from app.db import scratch_database
from app.text import clean_text
from embeddings.sentence import SentenceTransformerEmbedder
from embeddings.text import embedding_text

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a live process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def database(kind: str, postgres_url: str) -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(kind, postgres_url, Path(tmp)) as url,
    ):
        yield url


@contextmanager
def service(url: str, workers: int) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": url,
        "STORYLINE_ASYNC_INGEST": "true",
        "STORYLINE_IN_PROCESS_WORKER": "false" if workers else "true",
        "STORYLINE_MAX_BACKLOG": "1000000",
        "STORYLINE_WORKER_POLL_SECONDS": "0.1",
        # Worker processes share the host's cores instead of each taking all.
        "STORYLINE_EMBED_THREADS": str(max(1, (os.cpu_count() or 1) // max(workers, 1))),
    }
    run = [sys.executable, "-m", "app.cli"]
    quiet: dict[str, Any] = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL}
    log = open(os.environ.get("STORYLINE_BENCH_LOG", os.devnull), "ab")  # noqa: SIM115
    api = subprocess.Popen([*run, "serve", "--port", str(port)], **quiet, stderr=log)
    procs = [api]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or api.poll() is not None:
            api.kill()
            raise RuntimeError("service did not start")
        time.sleep(0.3)
    # Workers start after the API has migrated the database.
    procs += [subprocess.Popen([*run, "worker"], **quiet, stderr=log) for _ in range(workers)]
    try:
        yield base, procs
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def post_all(base: str, batches: list[list[dict[str, Any]]], clients: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(reversed(batches))

    def client() -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    batch = queue.pop()
                t0 = time.perf_counter()
                response = http.post("/articles", json=batch)
                elapsed = time.perf_counter() - t0
                if response.status_code not in (200, 202):
                    raise RuntimeError(f"POST answered {response.status_code}: {response.text}")
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def wait_grouped(base: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        counts = httpx.get(f"{base}/health", timeout=10).json()["articles"]
        if counts.get("grouped", 0) + counts.get("failed", 0) >= n:
            if counts.get("failed"):
                print(f"  warning: {counts['failed']} articles failed")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"not all grouped after {timeout} s: {counts}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("-n", type=int, default=400)
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8, help="articles per POST")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=2, help="worker processes on PostgreSQL")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()

    rows = [r.payload for r in read_corpus(args.corpus) if r.payload][: args.n]
    batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
    results = []
    for kind in args.stores.split(","):
        workers = args.workers if kind == "postgresql" else 0
        with database(kind, args.postgres_url) as url, service(url, workers) as (base, procs):
            t0 = time.perf_counter()
            latencies = post_all(base, batches, args.concurrency)
            wait_grouped(base, len(rows), timeout=3600)
            elapsed = time.perf_counter() - t0
            rss = sum(peak_rss_mb(p.pid) for p in procs)
            cuts = statistics.quantiles(latencies, n=100, method="inclusive")
            results.append((kind, workers, len(rows) / elapsed, cuts[49], cuts[98], rss))

    texts = [embedding_text(clean_text(str(r["title"])), clean_text(str(r["body"]))) for r in rows]
    model = SentenceTransformerEmbedder()
    model.embed(texts[:8])
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        model.embed(texts)
        rates.append(len(texts) / (time.perf_counter() - t0))
    bare = statistics.median(rates)

    print(f"\n{len(rows)} articles of {args.corpus.name}, {args.batch} per POST, ", end="")
    print(f"{args.concurrency} clients")
    print(f"bare encode: {bare:.1f} articles/s (median of 3)\n")
    print("| store | worker processes | articles/s | x bare | POST p50 ms | POST p99 ms ", end="")
    print("| peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, workers, rate, p50, p99, rss in results:
        print(
            f"| {kind} | {workers or 'in-process'} | {rate:.1f} | {rate / bare:.2f} | "
            f"{p50 * 1000:.0f} | {p99 * 1000:.0f} | {rss:.0f} |"
        )


if __name__ == "__main__":
    main()
