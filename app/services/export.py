"""Exports for analysts: a storyline's articles (CSV, JSON lines) and its spread graph
(GraphML, GEXF), one storyline or a whole period.

Article exports stream: rows are read from the database in chunks
(``yield_per``) and written out a chunk at a time, so memory does not grow with
the export. Graphs have outlets as nodes, so they are built whole with networkx
(bounded by the number of outlets) and written out line by line.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import networkx as nx
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.models import Article, ArticleStatus, Outlet, Storyline, StorylineMembership
from app.schemas_spread import Spread
from app.services.membership import member_at
from app.services.spread import storyline_spread

_CHUNK = 1000


class ExportFormat(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    graphml = "graphml"
    gexf = "gexf"

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.csv: "text/csv; charset=utf-8",
            ExportFormat.jsonl: "application/x-ndjson",
            ExportFormat.graphml: "application/graphml+xml",
            ExportFormat.gexf: "application/gexf+xml",
        }[self]

    @property
    def is_graph(self) -> bool:
        return self in (ExportFormat.graphml, ExportFormat.gexf)


# Columns of an article export, in order.
ARTICLE_FIELDS = (
    "storyline_id",
    "article_id",
    "outlet",
    "published_at",
    "effective_at",
    "published_at_missing",
    "url",
    "language",
    "similarity",
    "title",
)


def storyline_articles(storyline_id: int, at: datetime | None = None) -> Select[Any]:
    """The storyline's articles (its members at ``at`` when given), oldest first."""
    if at is None:
        return _articles(Article.storyline_id).where(Article.storyline_id == storyline_id)
    return (
        _articles(StorylineMembership.storyline_id)
        .join(StorylineMembership, StorylineMembership.article_id == Article.id)
        .where(StorylineMembership.storyline_id == storyline_id, member_at(at))
    )


def period_articles(since: datetime, until: datetime) -> Select[Any]:
    """Grouped articles published (effective time) in [since, until], by storyline then time."""
    return _articles(Article.storyline_id).where(
        Article.status == ArticleStatus.grouped,
        Article.effective_at >= since,
        Article.effective_at <= until,
    )


def _articles(storyline: Any) -> Select[Any]:
    return (
        select(
            storyline,
            Article.id,
            Outlet.name,
            Article.published_at,
            Article.effective_at,
            Article.url,
            Article.language,
            Article.similarity,
            Article.title,
        )
        .join(Outlet, Outlet.id == Article.outlet_id)
        .order_by(storyline, Article.effective_at, Article.id)
    )


def article_records(session: Session, query: Select[Any]) -> Iterator[dict[str, Any]]:
    """The query's rows as export records, read ``_CHUNK`` at a time."""
    rows = session.execute(query.execution_options(yield_per=_CHUNK))
    for storyline, article, outlet, published, effective, url, language, sim, title in rows:
        yield {
            "storyline_id": storyline,
            "article_id": article,
            "outlet": outlet,
            "published_at": published.isoformat() if published else None,
            "effective_at": effective.isoformat(),
            "published_at_missing": published is None,
            "url": url,
            "language": language,
            "similarity": None if sim is None else round(sim, 6),
            "title": title,
        }


def encode_records(records: Iterable[dict[str, Any]], fmt: ExportFormat) -> Iterator[bytes]:
    """CSV (with a header) or JSON lines, in chunks of about ``_CHUNK`` records."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ARTICLE_FIELDS, lineterminator="\n")
    if fmt == ExportFormat.csv:
        writer.writeheader()
    for n, record in enumerate(records, start=1):
        if fmt == ExportFormat.csv:
            writer.writerow(record)
        else:
            buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
        if n % _CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def spread_graph(spreads: Iterable[Spread]) -> nx.MultiDiGraph:
    """Outlets as nodes, follower and republish edges with their lags, over ``spreads``.

    Node attributes: ``first_seen`` (ISO time of the outlet's earliest first
    article), ``storylines`` (how many it covered), ``articles``, ``first_publisher``
    (times it was among the first). Edge attributes: ``kind`` (follower or
    republish), ``storyline_id``, ``lag_seconds`` and ``similarity`` or
    ``jaccard``/``containment``. Times are effective times (published, else ingested).
    """
    graph = nx.MultiDiGraph(name="storyline spread")
    for spread in spreads:
        for o in spread.outlets:
            name = o.outlet.name
            seen = o.first_article.effective_at.isoformat()
            if name not in graph:
                graph.add_node(
                    name, outlet_id=o.outlet.id, first_seen=seen, storylines=0, articles=0
                )
                graph.nodes[name]["first_publisher"] = 0
            node = graph.nodes[name]
            node["first_seen"] = min(node["first_seen"], seen)
            node["storylines"] += 1
            node["articles"] += o.article_count
            node["first_publisher"] += int(o.first_publisher)
        for f in spread.follower_edges:
            attributes: dict[str, Any] = {
                "kind": "follower",
                "storyline_id": spread.storyline_id,
                "lag_seconds": f.lag.seconds,
            }
            if f.similarity is not None:
                attributes["similarity"] = f.similarity
            graph.add_edge(f.leader.outlet.name, f.follower.outlet.name, **attributes)
        for r in spread.republish_edges:
            graph.add_edge(
                r.source.outlet.name,
                r.republished.outlet.name,
                kind="republish",
                storyline_id=spread.storyline_id,
                lag_seconds=r.lag.seconds,
                jaccard=r.jaccard,
                containment=r.containment,
            )
    return graph


def encode_graph(graph: nx.MultiDiGraph, fmt: ExportFormat) -> Iterator[bytes]:
    """The graph as GraphML or GEXF 1.2, line by line."""
    lines = nx.generate_graphml(graph) if fmt == ExportFormat.graphml else nx.generate_gexf(graph)
    for line in lines:
        yield (line + "\n").encode("utf-8")


def period_spreads(
    session: Session, since: datetime, until: datetime, tie_window_hours: float = 1.0
) -> Iterator[Spread]:
    """The spread of every unmerged storyline with an article in [since, until], by id."""
    ids = list(
        session.scalars(
            select(Storyline.id)
            .where(
                Storyline.merged_into.is_(None),
                Storyline.last_published_at >= since,
                Storyline.first_published_at <= until,
            )
            .order_by(Storyline.id)
        )
    )
    for storyline_id in ids:
        yield storyline_spread(session, storyline_id, tie_window_hours, 0.5)
