"""The `storyline` command line: prepare, serve, worker, migrate, import, eval, stats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.config import Settings
from app.process import configure_process

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

cli = typer.Typer(help="Storyline: cross-outlet story clustering.", no_args_is_help=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
) -> None:
    """Run the HTTP service (migrates the database and loads the model first).

    SIGTERM or Ctrl-C ends open change streams and stops within seconds.
    """
    from app.main import create_app
    from app.server import serve as run_server

    settings = Settings()
    configure_process(settings)
    _log_to_stderr(settings)
    run_server(create_app(settings), host=host or settings.host, port=port or settings.port)


@cli.command()
def prepare() -> None:
    """Export the default (ONNX int8) model once; later runs verify it and return at once.

    Exports again when a file fails its checksum or the source model changed.
    `make serve` runs it first; serve, worker, import and eval then start without torch.
    """
    from embeddings.onnx import ensure_export

    settings = Settings()
    _log_to_stderr(settings)
    if settings.embedding_model == "multilingual":
        typer.echo("the multilingual model is read from its wheel: nothing to export")
        return
    manifest = ensure_export(settings.onnx_dir, settings.model_path, check_source=True)
    graph = manifest["files_sha256"]["model_int8.onnx"]
    typer.echo(f"ONNX export ready in {settings.onnx_dir} (model_int8.onnx sha256 {graph[:16]})")


@cli.command()
def worker(
    batch: Annotated[
        int, typer.Option(min=1, max=1024, help="Most articles claimed and embedded at once.")
    ] = 128,
    poll_seconds: Annotated[float, typer.Option(min=0.001, help="Pause when nothing waits.")] = 0.5,
) -> None:
    """Embed and group pending articles until stopped (SIGTERM or Ctrl-C).

    Run any number of these, on any hosts, against one PostgreSQL database.
    """
    import signal

    from app.services.worker import Worker
    from app.state import ServiceState, WorkerConfig

    settings = Settings()
    configure_process(settings)
    _log_to_stderr(settings)
    config = WorkerConfig(batch=batch, poll_seconds=poll_seconds)
    state = ServiceState.start(settings, worker=config)
    loop = Worker(state.ingestor, config.poll_seconds)
    signal.signal(signal.SIGTERM, lambda *_: loop.stopping.set())
    typer.echo(f"worker {state.ingestor.worker_id} started", err=True)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    finally:
        state.close()


@cli.command()
def migrate() -> None:
    """Apply every pending schema migration to STORYLINE_DATABASE_URL."""
    from app.db import Database
    from app.db import migrate as upgrade

    db = Database.from_url(Settings().database_url)
    upgrade(db.engine)
    db.dispose()
    typer.echo("database is at the latest revision")


@cli.command("import")
def import_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL corpus.")],
    batch: Annotated[int, typer.Option(min=1, help="Articles embedded per step.")] = 64,
) -> None:
    """Ingest a JSONL corpus; a re-run skips what is already stored.

    A line naming an article stored before (same id, else same URL) with other
    text revises it, as a re-post to the API would; the summary counts them.
    """
    from tqdm import tqdm

    from app.corpus import read_corpus
    from app.errors import InvalidInput
    from app.services.prepare import Limits, PreparedArticle, parse_payload
    from app.state import ServiceState

    settings = Settings()
    configure_process(settings)
    state = ServiceState.start(settings)
    limits = Limits(
        settings.batch_limit,
        settings.max_body_bytes,
        timedelta(hours=settings.future_tolerance_hours),
        title_chars=settings.max_title_chars,
        metadata_bytes=settings.max_metadata_bytes,
    )
    created = revised = existing = rejected = 0
    started = time.perf_counter()
    rows = list(read_corpus(path))
    with tqdm(total=len(rows), unit="article", dynamic_ncols=True) as bar:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            now = datetime.now(UTC)
            good: list[PreparedArticle] = []
            for row in chunk:
                try:
                    good.extend(parse_payload(row.payload, limits, now))
                except InvalidInput as exc:
                    rejected += 1
                    bar.write(f"line {row.line}: rejected: {exc}")
            for result in state.ingestor.ingest(good, now) if good else []:
                created += result.outcome == "created"
                revised += result.outcome == "revised"
                existing += result.outcome == "unchanged"
            bar.update(len(chunk))
    state.reembedder.run()  # vectors of another backend, if the store had any
    state.labeller.run()  # serve would do it in the background
    elapsed = time.perf_counter() - started
    state.close()
    typer.echo(
        f"{created} stored, {existing} already present, {rejected} rejected, "
        f"{revised} revised (an id or URL seen before, with other text: the article keeps "
        "its id and its old text is a revision) "
        f"in {elapsed:.1f} s ({len(rows) / max(elapsed, 1e-9):.1f} articles/s)"
    )


@cli.command("eval")
def eval_(
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="Labelled JSONL corpora.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")] = False,
    cache_dir: Annotated[
        Path, typer.Option(help="Embedding cache, keyed by model and text.")
    ] = Path(".cache/embeddings"),
    grouping_method: Annotated[
        str, typer.Option(help="evidence (the service's) or centroid (a baseline).")
    ] = "evidence",
    window_days: Annotated[
        float, typer.Option(min=0.001, help="How far from a storyline's dates an article joins.")
    ] = 30.0,
    join_threshold: Annotated[
        float, typer.Option(help="Centroid method only: the cosine needed to join.")
    ] = 0.5,
    discovery_every: Annotated[
        int, typer.Option(min=0, help="Run discovery after this many articles (0: never).")
    ] = 256,
    drop_dates: Annotated[
        bool, typer.Option("--drop-dates", help="Replay with published_at removed.")
    ] = False,
    undated_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="With --drop-dates: share of dates removed.")
    ] = 1.0,
) -> None:
    """Replay each corpus in published order through ingest and score its storylines."""
    import json

    from app.services.evaluate import evaluate_file
    from app.services.grouping import GroupingConfig
    from app.state import make_embedder
    from embeddings.cache import CachedEmbedder

    settings = Settings()
    configure_process(settings)
    embedder = CachedEmbedder(make_embedder(settings), cache_dir)
    if grouping_method not in ("evidence", "centroid"):
        raise typer.BadParameter("evidence or centroid", param_hint="--grouping-method")
    grouping = GroupingConfig(
        method="centroid" if grouping_method == "centroid" else "evidence",
        window_days=window_days,
        join_threshold=join_threshold,
    )
    header = (
        f"{'file':<24}{'n':>6}{'B3 P':>7}{'B3 R':>7}{'B3 F1':>7}{'pair P':>8}{'pair R':>8}"
        f"{'pair F1':>8}{'AMI':>7}{'ARI':>7}{'gold':>6}{'pred':>6}{'art/s':>8}{'ms/art':>8}"
        f"{'disc ms':>8}{'lab ms':>8}{'emb ms':>8}{'undated':>8}"
    )
    if not as_json:
        typer.echo(header)
    for path in files:
        report = evaluate_file(
            path,
            embedder,
            settings,
            grouping=grouping,
            discovery_every=discovery_every,
            drop_dates=undated_share if drop_dates else 0.0,
        )
        if as_json:
            typer.echo(json.dumps(report.as_dict()))
            continue
        r = report
        typer.echo(
            f"{r.file[:23]:<24}{r.articles:>6}{r.bcubed_p:>7.3f}{r.bcubed_r:>7.3f}"
            f"{r.bcubed_f1:>7.3f}{r.pair_p:>8.3f}{r.pair_r:>8.3f}{r.pair_f1:>8.3f}"
            f"{r.ami:>7.3f}{r.ari:>7.3f}{r.gold_stories:>6}{r.pred_stories:>6}"
            f"{r.articles_per_s:>8.1f}{r.grouping_ms_per_article:>8.2f}"
            f"{r.discovery_ms_per_article:>8.2f}{r.labels_ms_per_article:>8.2f}"
            f"{r.embed_ms_per_article:>8.2f}{r.undated:>8}"
        )
        if r.revised or r.unchanged:
            typer.echo(
                f"  {r.file}: {r.revised} rows revised an article an earlier row stored "
                f"(same id or URL, other text) and {r.unchanged} repeated one unchanged; "
                "each is scored with the storyline of that article"
            )


@cli.command()
def export(
    since: Annotated[datetime, typer.Option(help="Start of the period (ISO 8601, UTC).")],
    until: Annotated[datetime, typer.Option(help="End of the period, included.")],
    fmt: Annotated[
        str, typer.Option("--format", help="csv or jsonl (articles), graphml or gexf (spread).")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option(help="File to write; standard output when left out.")
    ] = None,
) -> None:
    """Export a period: its articles with their storylines, or its spread graph.

    Articles are those published (else ingested) in [since, until]; the graph has
    every storyline active in the period, outlets as nodes, edges per storyline.
    """
    import sys

    from app.db import Database
    from app.models import as_utc
    from app.services.export import (
        ExportFormat,
        article_records,
        encode_graph,
        encode_records,
        period_articles,
        period_spreads,
        spread_graph,
    )

    try:
        chosen = ExportFormat(fmt)
    except ValueError:
        raise typer.BadParameter("use csv, jsonl, graphml or gexf", param_hint="--format") from None
    start, end = as_utc(since), as_utc(until)
    if end < start:
        raise typer.BadParameter("--until lies before --since", param_hint="--until")
    db = Database.from_url(Settings().database_url)
    sink = output.open("wb") if output is not None else sys.stdout.buffer
    try:
        with db.session() as session:
            if chosen.is_graph:
                chunks = encode_graph(spread_graph(period_spreads(session, start, end)), chosen)
            else:
                records = article_records(session, period_articles(start, end))
                chunks = encode_records(records, chosen)
            for chunk in chunks:
                sink.write(chunk)
    finally:
        if output is not None:
            sink.close()
        db.dispose()


@cli.command()
def stats() -> None:
    """Counts of outlets, articles and storylines by status."""
    from sqlalchemy import func, select

    from app.db import Database
    from app.models import Article, Outlet, Storyline

    db = Database.from_url(Settings().database_url)
    with db.session() as session:
        articles = session.scalar(select(func.count(Article.id))) or 0
        outlets = session.scalar(select(func.count(Outlet.id))) or 0
        by_status = session.execute(
            select(Storyline.status, func.count(Storyline.id)).group_by(Storyline.status)
        ).all()
        multi = session.scalar(select(func.count(Storyline.id)).where(Storyline.outlet_count >= 2))
    db.dispose()
    typer.echo(f"articles:   {articles}")
    typer.echo(f"outlets:    {outlets}")
    for status, count in sorted(by_status, key=lambda r: r[0].value):
        typer.echo(f"storylines {status.value}: {count}")
    typer.echo(f"storylines with >= 2 outlets: {multi}")


keys_cli = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")


@keys_cli.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A name for the key's holder, e.g. 'crawler'.")],
    scope: Annotated[
        list[str], typer.Option(help="read, ingest or admin (admin implies the others); repeat.")
    ],
) -> None:
    """Create a key and print it (the only time it is shown)."""
    from app.services.keys import KeyRefused, create_key

    with _session() as session:
        try:
            key, info = create_key(session, name, scope)
        except KeyRefused as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    scopes = " ".join(sorted(info.scopes))
    typer.echo(f"created key {info.name!r} with scopes [{scopes}]; it is shown only now:", err=True)
    typer.echo(key)


@keys_cli.command("list")
def keys_list() -> None:
    """Every key: name, scopes, created, last used, revoked (never the key itself)."""
    from app.services.keys import list_keys

    with _session() as session:
        rows = list_keys(session)
    typer.echo(f"{'name':<24}{'scopes':<20}{'created':<22}{'last used':<22}revoked")
    for k in rows:
        typer.echo(
            f"{k.name:<24}{' '.join(sorted(k.scopes)):<20}{_when(k.created_at):<22}"
            f"{_when(k.last_used_at):<22}{_when(k.revoked_at)}"
        )


@keys_cli.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key for good (running services notice within seconds)."""
    from app.services.keys import KeyRefused, revoke_key

    with _session() as session:
        try:
            revoke_key(session, name)
        except KeyRefused as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"revoked key {name!r}")


@contextmanager
def _session() -> Iterator[Session]:
    """A session on STORYLINE_DATABASE_URL, migrated first so keys can come before serve."""
    from app.db import Database
    from app.db import migrate as upgrade

    settings = Settings()
    db = Database.from_url(settings.database_url)
    try:
        if settings.migrate_on_start:
            upgrade(db.engine)
        with db.session() as session:
            yield session
    finally:
        db.dispose()


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def _log_to_stderr(settings: Settings) -> None:
    """Every project logger (``storyline.*``, ``app.*``) to stderr, as the settings say."""
    from app.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
