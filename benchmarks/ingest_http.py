"""End-to-end ingest over loopback HTTP against the model's own limit.

Usage: python benchmarks/ingest_http.py ../shared/data/gva_dev.jsonl -n 400 -c 8 \
           [--stores sqlite,postgresql] [--workers 2] [--batch 8] [--backend torch|onnx] \
           [--prefill 100000]

For each store it starts the real service (`storyline serve`, asynchronous
ingest) as a subprocess on 127.0.0.1: on SQLite with its in-process worker, on
PostgreSQL with the API's worker off and `--workers` separate `storyline
worker` processes. It posts N articles in batches from C concurrent clients,
waits until every article is grouped, and reports articles/s from the first
POST to the last placement (timing starts once every service process, worker
processes included, has loaded its model), POST latency p50/p99 and the peak
RSS of every service process. In the same run, before and after the services, it times bare
encoding of the same texts, each way in a fresh process, and prints the
service's rate against the median of each: "torch plain" is
sentence-transformers' own defaults (32 texts per call, glibc's default
allocator); "torch as served" and "onnx as served" call that backend's model as
the service sets it up (``configure_process`` and ``make_embedder``: its batch
size, threads, passive waiting, activations kept in the heap), so the ratio to
the service's own backend is the service's overhead alone. With
``--service-env STORYLINE_EMBEDDING_MODEL=multilingual`` the bare modes are the
multilingual model's: "use plain" (the wheel's defaults) and "use as served".

CPU time is counted too: core-ms per article of every service process from the
first POST to the last placement, against core-ms per article of bare encode,
so a busy machine shows up as a lower rate but not as a lower efficiency.
``--prefill N`` first fills the store with N synthetic articles (as
benchmarks/queries.py builds them, the last 30 days' storylines live), to
measure memory with a large store.
"""

from __future__ import annotations

import argparse
import json
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
from typing import IO, Any

import httpx

from app.config import Settings
from app.corpus import read_corpus
from app.db import Database, make_engine, migrate, scratch_database
from app.process import configure_process
from app.services.grouping import GroupingRuntime
from app.services.labeller import Labeller
from app.state import make_embedder
from app.text import clean_text
from embeddings.protocol import Embedder
from embeddings.sentence import SentenceTransformerEmbedder
from embeddings.text import embedding_text
from embeddings.universal import UniversalSentenceEmbedder

ROOT = Path(__file__).resolve().parents[1]

# Registered as the admin key of each scratch database; the POSTs send it.
BENCH_KEY = "sl_benchmark-admin-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {BENCH_KEY}"}


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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a live process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def database(kind: str, postgres_url: str, prefill: int) -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(kind, postgres_url, Path(tmp)) as url,
    ):
        if prefill:
            from queries import build  # the sibling script: its synthetic store

            engine = make_engine(url)
            migrate(engine)
            t0 = time.perf_counter()
            build(engine, prefill, 500, max(1, prefill // 5), seed=7, live_days=30.0)
            engine.dispose()
            t1 = time.perf_counter()
            # Labels and their term counts as a service that had ingested these
            # would have left them; else its labeller's first pass, counting
            # every prefilled article, would run inside the timed span.
            db = Database.from_url(url)
            Labeller(db, GroupingRuntime()).run()
            db.dispose()
            print(
                f"{kind}: prefilled {prefill} articles in {t1 - t0:.0f} s, "
                f"labelled them in {time.perf_counter() - t1:.0f} s",
                flush=True,
            )
        yield url


@contextmanager
def service(
    url: str, workers: int, backend: str, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    env = {
        **os.environ,
        "STORYLINE_DATABASE_URL": url,
        "STORYLINE_ASYNC_INGEST": "true",
        "STORYLINE_IN_PROCESS_WORKER": "false" if workers else "true",
        "STORYLINE_MAX_BACKLOG": "1000000",
        "STORYLINE_EMBEDDING_BACKEND": backend,
        # The worker processes of this host, so each takes its share of the cores.
        "STORYLINE_WORKER_PROCESSES": str(max(workers, 1)),
        "STORYLINE_ADMIN_KEY": BENCH_KEY,
        **(extra_env or {}),
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
    # Workers start after the API has migrated the database. The timed span starts
    # once each has loaded its model, as the API's own worker has before /health.
    for _ in range(workers):
        procs.append(subprocess.Popen([*run, "worker"], **quiet, stderr=subprocess.PIPE))
        wait_ready(procs[-1], log)
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


def wait_ready(worker: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Block until ``worker`` says it started, then copy its stderr to ``log`` in a thread."""
    assert worker.stderr is not None
    stderr = worker.stderr
    for line in iter(stderr.readline, b""):
        log.write(line)
        if b" started" in line:
            break
    else:
        raise RuntimeError("worker exited before it started")

    def drain() -> None:
        for line in iter(stderr.readline, b""):
            log.write(line)

    threading.Thread(target=drain, daemon=True).start()


def post_all(base: str, batches: list[list[dict[str, Any]]], clients: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(reversed(batches))

    def client() -> None:
        with httpx.Client(base_url=base, timeout=120, headers=AUTH) as http:
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

    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            client()
        except Exception as exc:  # re-raised below: a refused POST ends the run
            failures.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return latencies


def wait_grouped(base: str, n: int, timeout: float) -> None:
    """Poll /health until ``n`` articles are grouped (or failed).

    The poller shares the cores with the service: polling five times a second
    on a fresh connection each time slowed the model by ~13% (23.3 s of model
    time for 1,000 texts in process against 26.4 s in the service). So it keeps
    one connection and polls once a second until the last 100 articles, then
    every 0.1 s so the end is seen promptly.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=10) as http:
        while True:
            counts = http.get("/health").json()["articles"]
            done = counts.get("grouped", 0) + counts.get("failed", 0)
            if done >= n:
                if counts.get("failed"):
                    print(f"  warning: {counts['failed']} articles failed")
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"not all grouped after {timeout} s: {counts}")
            time.sleep(1.0 if n - done > 100 else 0.1)


BARE_MODES = ("torch plain", "torch as served", "onnx as served")
# With --service-env STORYLINE_EMBEDDING_MODEL=multilingual: the multilingual USE
# model, with the wheel's own defaults (USE(threads=4)) and as the service sets it up.
MULTILINGUAL_MODES = ("use plain", "use as served")


def bare_rates(texts: list[str], repeats: int, mode: str) -> tuple[list[float], list[float]]:
    """Articles/s and core-ms per article of bare encode of ``texts``, per repeat.

    Runs in this process: call it through ``bare_in_subprocess`` so an allocator
    setting of one mode never leaks into the other.
    """
    if mode == "torch plain":
        model: Embedder = SentenceTransformerEmbedder()
    elif mode == "use plain":
        model = UniversalSentenceEmbedder(threads=4)
    elif mode == "use as served":
        settings = Settings(embedding_model="multilingual")
        configure_process(settings)
        model = make_embedder(settings)
    else:  # the service's own model set-up for that backend, from its environment
        settings = Settings(embedding_backend=mode.split()[0])
        configure_process(settings)
        model = make_embedder(settings)
    model.embed(texts[:8])
    rates, core_ms = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        model.embed(texts)
        rates.append(len(texts) / (time.perf_counter() - t0))
        core_ms.append((time.process_time() - c0) * 1000 / len(texts))
    return rates, core_ms


def bare_in_subprocess(
    corpus: Path, n: int, repeats: int, mode: str, service_env: dict[str, str]
) -> tuple[list[float], list[float]]:
    """``bare_rates`` in a fresh interpreter (this script with ``--bare MODE``).

    It gets the services' extra environment, so "as served" follows settings
    such as ``STORYLINE_EMBEDDING_BACKEND`` given with ``--service-env``.
    """
    cmd = [sys.executable, __file__, str(corpus), "-n", str(n)]
    cmd += ["--repeats", str(repeats), "--bare", mode]
    env = {**os.environ, **service_env}
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    rates, core_ms = json.loads(out.strip().splitlines()[-1])
    return rates, core_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("-n", type=int, default=400)
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8, help="articles per POST")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=2, help="worker processes on PostgreSQL")
    parser.add_argument(
        "--backend",
        default=Settings.model_fields["embedding_backend"].default,
        choices=["torch", "onnx"],
    )
    parser.add_argument("--prefill", type=int, default=0, help="synthetic articles stored first")
    parser.add_argument(
        "--repeats", type=int, default=2, help="bare encodes before and after (0: none)"
    )
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment of the service processes only (repeatable)",
    )
    parser.add_argument("--bare", choices=BARE_MODES + MULTILINGUAL_MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.service_env)
    multilingual = extra_env.get("STORYLINE_EMBEDDING_MODEL") == "multilingual"
    modes = MULTILINGUAL_MODES if multilingual else BARE_MODES
    if args.repeats == 0:  # the service alone, e.g. its memory with --prefill
        modes = ()

    rows = [r.payload for r in read_corpus(args.corpus) if r.payload][: args.n]
    batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
    texts = [embedding_text(clean_text(str(r["title"])), clean_text(str(r["body"]))) for r in rows]
    if args.bare:  # the child of bare_in_subprocess
        print(json.dumps(bare_rates(texts, args.repeats, args.bare)))
        return
    # Bare runs before and after the services, so load drift shows as spread.
    bare: dict[str, tuple[list[float], list[float]]] = {
        mode: bare_in_subprocess(args.corpus, args.n, args.repeats, mode, extra_env)
        for mode in modes
    }
    results = []
    for kind in args.stores.split(","):
        workers = args.workers if kind == "postgresql" else 0
        with (
            database(kind, args.postgres_url, args.prefill) as url,
            service(url, workers, args.backend, extra_env) as (base, procs),
        ):
            c0 = sum(cpu_seconds(p.pid) for p in procs)
            t0 = time.perf_counter()
            latencies = post_all(base, batches, args.concurrency)
            wait_grouped(base, len(rows) + args.prefill, timeout=3600)
            elapsed = time.perf_counter() - t0
            core_ms = (sum(cpu_seconds(p.pid) for p in procs) - c0) * 1000 / len(rows)
            rss = [peak_rss_mb(p.pid) for p in procs]
            cuts = statistics.quantiles(latencies, n=100, method="inclusive")
            results.append((kind, workers, len(rows) / elapsed, cuts[49], cuts[98], core_ms, rss))
            # Each store's figures as soon as they exist: a long run stopped later keeps them.
            print(f"{kind}: {results[-1]}", flush=True)
    for mode in modes:
        more, more_cpu = bare_in_subprocess(args.corpus, args.n, args.repeats, mode, extra_env)
        bare[mode] = (bare[mode][0] + more, bare[mode][1] + more_cpu)
    medians = {m: (statistics.median(r), statistics.median(c)) for m, (r, c) in bare.items()}

    print(f"\n{len(rows)} articles of {args.corpus.name}, {args.batch} per POST, ", end="")
    print(f"{args.concurrency} clients, service backend {args.backend}, prefill {args.prefill}")
    if extra_env:
        print(f"service environment: {extra_env}")
    for mode, (rates, _) in bare.items():
        rate, cpu = medians[mode]
        runs = ", ".join(f"{r:.1f}" for r in rates)
        print(f"bare encode, {mode}: {rate:.1f} articles/s (median of {runs}), ", end="")
        print(f"{cpu:.0f} core-ms/article")
    print(
        "\n| store | worker processes | articles/s | " + " | ".join(f"x bare {m}" for m in modes),
        end="",
    )
    print(
        " | POST p50 ms | POST p99 ms | core-ms/article (bare: " + ", ".join(modes) + ") ",
        end="",
    )
    print("| peak RSS MiB: API (+ workers) |")
    print("|---|---:|---:|" + "---:|" * len(modes) + "---:|---:|---:|---:|")
    for kind, workers, service_rate, p50, p99, core_ms, rss in results:
        memory = f"{rss[0]:.0f}" + "".join(f" + {r:.0f}" for r in rss[1:])
        ratios = " | ".join(f"{service_rate / medians[m][0]:.2f}" for m in modes)
        bare_cpu = ", ".join(f"{medians[m][1]:.0f}" for m in modes)
        print(
            f"| {kind} | {workers or 'in-process'} | {service_rate:.1f} | {ratios} | "
            f"{p50 * 1000:.0f} | {p99 * 1000:.0f} | {core_ms:.0f} ({bare_cpu}) | {memory} |"
        )


if __name__ == "__main__":
    main()
