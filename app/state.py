"""The heavy objects of one running service, built once in the lifespan."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from app.config import Settings
from app.db import Database
from app.metrics import TimedEmbedder, mark_process_dead
from app.process import embed_threads
from app.services import space
from app.services.grouping import GroupingConfig, GroupingRuntime
from app.services.ingest import Ingestor, LeasePolicy
from app.services.keys import KeyRing, first_admin_key
from app.services.labeller import Labeller
from app.services.periodic import PeriodicJob
from app.services.quota import Quotas, make_quotas
from app.services.readiness import Readiness
from app.services.search import CentroidIndex
from app.services.spread_cache import SpreadCache
from app.services.worker import Worker
from embeddings.protocol import Embedder

if TYPE_CHECKING:
    from app.services.discovery import Discovery

log = logging.getLogger("storyline")

# Synchronous POSTs that may wait for the model at once; above it they get a 503.
MAX_WAITING_REQUESTS = 64


@dataclass(frozen=True, slots=True)
class ModelCall:
    """How this process calls the model: measured constants, not operator settings."""

    # Word pieces of title and lead embedded; vectors are keyed by it ("...@256"),
    # so a change re-embeds everything.
    max_tokens: int = 256
    # Texts per model call: 16 ran 12% faster than 32 on 2 cores, and its
    # activations fit the heap (embeddings/memory.py).
    batch_size: int = 16


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How workers take their work (``storyline worker --batch --poll-seconds``)."""

    # Articles claimed and embedded at once, sorted by length in one model call.
    batch: int = 128
    poll_seconds: float = 0.5  # the pause when nothing waits


@dataclass
class ServiceState:
    settings: Settings
    db: Database
    embedder: Embedder
    runtime: GroupingRuntime
    ingestor: Ingestor
    centroids: CentroidIndex
    labeller: Labeller
    reembedder: space.Reembedder
    keys: KeyRing
    quotas: Quotas
    readiness: Readiness
    worker: Worker | None = None
    spreads: SpreadCache = field(default_factory=SpreadCache)
    jobs: list[PeriodicJob] = field(default_factory=list)  # background threads of serve
    # Synchronous POSTs waiting for the model; beyond the limit they get a 503.
    waiting: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(1)
    )

    @classmethod
    def start(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        *,
        serve: bool = False,
        grouping: GroupingConfig | None = None,
        model_call: ModelCall | None = None,
        worker: WorkerConfig | None = None,
    ) -> ServiceState:
        """Connect, migrate, load the model and rebuild the live grouper.

        With ``serve``, also start the in-process worker (with synchronous ingest
        it only finishes what a killed process left behind); with
        ``serve``, the background labeller and batch discovery threads (each unless
        its interval is 0).
        """
        db = Database.from_url(settings.database_url)
        if settings.migrate_on_start:
            from app.db import migrate

            migrate(db.engine)
        model_call = model_call or ModelCall()
        worker = worker or WorkerConfig()
        if embedder is None:
            embedder = make_embedder(settings, model_call)
        embedder = TimedEmbedder(embedder)  # model time per text, for /metrics
        grouping = replace(grouping or GroupingConfig(), family=settings.embedding_model)
        runtime = GroupingRuntime(grouping, embedder.model_name)
        with db.session() as session:
            space.adopt(
                session,
                embedder.model_name,
                embedder.dimension,
                datetime.now(UTC),
                settings.embedding_model,
            )
            runtime.rebuild(session)
        policy = LeasePolicy(
            lease=timedelta(seconds=settings.lease_seconds),
            max_attempts=settings.max_attempts,
            batch=worker.batch,
        )
        ingestor = Ingestor(db, embedder, runtime, policy, worker_name(), model_call.max_tokens)
        state = cls(
            settings,
            db,
            embedder,
            runtime,
            ingestor,
            CentroidIndex(),
            Labeller(db, runtime),
            space.Reembedder(db, ingestor, runtime),
            KeyRing(db),
            make_quotas(db.engine),
            # Nothing grouped for two leases while articles wait: no worker is alive.
            Readiness(db, embedder, stall_seconds=max(60.0, 2 * settings.lease_seconds)),
            waiting=threading.BoundedSemaphore(MAX_WAITING_REQUESTS),
        )
        if serve:
            with db.session() as session:
                first_admin_key(session, _secret(settings.admin_key), Path(settings.admin_key_file))
        if serve and settings.in_process_worker:
            # Synchronous ingest runs the worker's steps inline; its worker only
            # finishes what a request left behind (a process killed mid-request:
            # rows whose lease lapsed), so it looks rarely.
            poll = worker.poll_seconds
            if not settings.async_ingest:
                poll = max(poll, settings.lease_seconds / 4)
            state.worker = Worker(ingestor, poll)
            state.worker.start()
        if serve and settings.label_interval_seconds > 0:
            labeller = state.labeller
            interval = settings.label_interval_seconds
            state.jobs.append(PeriodicJob("labels", labeller.run, labeller.due, interval))
        if serve and settings.discovery_interval_seconds > 0:
            interval = settings.discovery_interval_seconds
            state.jobs.append(discovery_job(db, runtime, interval))
        if serve:
            # Vectors of another model (the store switched backends): re-embedded
            # off the request path, resumably; /health shows how many are left.
            reembedder = state.reembedder
            state.jobs.append(PeriodicJob("reembed", reembedder.run, reembedder.due, 1.0))
        for job in state.jobs:
            job.start()
        return state

    def close(self, timeout: float = 30.0) -> None:
        """Stop the background threads, all at once and within ``timeout`` seconds, then the
        database.

        A thread still busy then is left to end with the process: its transaction was
        never committed, and an article it had claimed is retaken once its lease ends.
        """
        deadline = time.monotonic() + timeout
        self.reembedder.stopping.set()
        for job in self.jobs:
            job.stop_event.set()
        if self.worker is not None:
            self.worker.stopping.set()
        for job in self.jobs:
            job.stop(max(0.0, deadline - time.monotonic()))
        if self.worker is not None:
            self.worker.stop(max(0.0, deadline - time.monotonic()))
        self.quotas.close()
        self.db.dispose()
        mark_process_dead()


def _secret(value: SecretStr | None) -> str | None:
    return (value.get_secret_value() or None) if value is not None else None


def discovery_job(db: Database, runtime: GroupingRuntime, interval: float) -> PeriodicJob:
    """Batch discovery on its own thread, which also builds it there.

    Discovery needs scipy, whose import (0.3-1 s) would otherwise come before
    the service's first answer; its first run is a minute away anyway.
    """
    built: list[Discovery] = []

    def discovery() -> Discovery:
        if not built:
            from app.services.discovery import Discovery

            built.append(Discovery(db, runtime))
        return built[0]

    return PeriodicJob("discovery", lambda: discovery().run(), lambda: discovery().due(), interval)


def make_embedder(settings: Settings, call: ModelCall | None = None) -> Embedder:
    """The model the settings name, loaded (and for ONNX exported once) now.

    Process-wide set-up (threads, heap, environment) is the entry point's:
    :func:`app.process.configure_process`.
    """
    call = call or ModelCall()
    if settings.embedding_model == "multilingual":
        from embeddings.universal import UniversalSentenceEmbedder

        return UniversalSentenceEmbedder(call.max_tokens, threads=embed_threads(settings))
    if settings.embedding_backend == "onnx":
        from embeddings.onnx import ExportMismatch, OnnxEmbedder, ensure_export

        directory = Path(settings.onnx_dir)
        args = (directory, call.max_tokens, call.batch_size)
        threads = embed_threads(settings)
        try:
            return OnnxEmbedder(*args, threads=threads)
        except (FileNotFoundError, ExportMismatch) as exc:
            # First start (or a damaged export): export once, importing torch this time only.
            log.info("ONNX export not usable (%s): exporting it now", exc)
            ensure_export(directory, settings.model_path)
            return OnnxEmbedder(*args, threads=threads)
    from embeddings.sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model_path, call.max_tokens, call.batch_size)


def worker_name() -> str:
    """Unique per process and host, so leases say who holds them."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
