"""The synthetic store of benchmarks/queries.py, generated inside PostgreSQL for a million articles.

``queries.build`` makes every row in Python and sends it by executemany: fine for
100k articles, hours for a million on a shared host. Here PostgreSQL generates the
rows itself (``generate_series`` over the same storyline sizes), so a million
articles take minutes. The shape follows ``queries.build``: storyline sizes from
:func:`queries.storyline_sizes` (same seed, same sizes, so "largest" picks agree),
outlets drawn with popularity ~ 1/rank (log-uniform ranks), articles of a storyline
spread over hours after its start (exponential, mean 36 h), 5% undated, bodies of
four paragraphs from a pool of 6,000, a 1,536-byte vector on every row (as wide as a
real one), one change-feed entry per article in publication order, coverage counted.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.services import counts
from app.services.coverage import recount_all
from benchmarks.queries import DIM, StubEmbedder, storyline_sizes

_COUNTED = ("article", "storyline")  # tables with row-count triggers (migration 0021)

_STEPS = (
    """
    INSERT INTO outlet (id, name, first_seen_at, article_count, storyline_count)
    SELECT i, 'outlet' || i || '.example', '2024-01-01+00', 0, 0
    FROM generate_series(1, :outlets) AS i
    """,
    """
    CREATE TEMPORARY TABLE bench_story AS
    SELECT s.id::int AS id, s.size::int AS size,
           timestamptz '2024-01-01+00' + random() * interval '730 days' AS start
    FROM unnest(CAST(:sizes AS int[])) WITH ORDINALITY AS s(size, id)
    """,
    """
    CREATE TEMPORARY TABLE bench_article AS
    SELECT row_number() OVER (ORDER BY s.id, g.k)::int AS id, s.id AS storyline_id, g.k,
           s.start + CASE WHEN g.k = 1 THEN interval '0'
                          ELSE -ln(1 - random()) * interval '36 hours' END AS at,
           least(:outlets, floor(exp(random() * ln(:outlets + 1)))::int) AS outlet_id,
           random() < 0.05 AS undated
    FROM bench_story s, generate_series(1, s.size) AS g(k)
    """,
    """
    CREATE TEMPORARY TABLE bench_seq AS
    SELECT id, at, storyline_id, row_number() OVER (ORDER BY at, id) AS seq,
           row_number() OVER (PARTITION BY storyline_id ORDER BY at, id) AS nth
    FROM bench_article
    """,
    # Each storyline is written once, its version already known: an UPDATE after would
    # leave a dead version of every row that a shared server's VACUUM may not yet remove.
    """
    INSERT INTO storyline (id, created_at, updated_at, first_published_at, last_published_at,
        article_count, outlet_count, centroid, status, version, label, label_basis,
        locked, label_pinned)
    SELECT a.storyline_id, min(a.at), max(a.at), min(a.at), max(a.at), count(*),
        count(DISTINCT a.outlet_id), decode(repeat('00', :width), 'hex'), 'dormant',
        max(q.seq), '', 0, false, false
    FROM bench_article a JOIN bench_seq q ON q.id = a.id GROUP BY a.storyline_id
    """,
    """
    INSERT INTO article (id, external_id, url, outlet_id, title, body, language,
        published_at, ingested_at, effective_at, content_hash, embedding, embedding_model,
        embedding_dim, storyline_id, similarity, status, attempts, pinned)
    SELECT a.id, 'bench-' || a.id, 'https://outlet' || a.outlet_id || '.example/' || a.id,
        a.outlet_id, 'story ' || a.storyline_id || ' article ' || (a.k - 1),
        array_to_string(ARRAY[
            (CAST(:paragraphs AS text[]))[1 + (a.storyline_id * 7 + a.k) % 6000],
            (CAST(:paragraphs AS text[]))[1 + (a.storyline_id * 13 + a.k * 3) % 6000],
            (CAST(:paragraphs AS text[]))[1 + (a.storyline_id * 17) % 6000],
            (CAST(:paragraphs AS text[]))[1 + (a.storyline_id * 19 + a.k) % 6000]], E'\\n\\n'),
        'en', CASE WHEN a.undated THEN NULL ELSE a.at END, a.at, a.at, md5(a.id::text),
        decode(repeat('00', :width), 'hex'), :model, :dim, a.storyline_id, 1.0,
        'grouped', 0, false
    FROM bench_article a
    """,
    """
    INSERT INTO storyline_change (seq, at, storyline_id, kind, article_count, outlet_count,
        label, details)
    SELECT seq, at, storyline_id, CASE WHEN nth = 1 THEN 'created' ELSE 'grew' END, nth, 1,
        'story ' || storyline_id, NULL
    FROM bench_seq
    """,
    "SELECT setval(pg_get_serial_sequence('outlet', 'id'), (SELECT max(id) FROM outlet))",
    "SELECT setval(pg_get_serial_sequence('storyline', 'id'), (SELECT max(id) FROM storyline))",
    "SELECT setval(pg_get_serial_sequence('article', 'id'), (SELECT max(id) FROM article))",
    "DROP TABLE bench_seq",
    "DROP TABLE bench_article",
    "DROP TABLE bench_story",
)


def build_postgres(
    engine: Engine, articles: int, outlets: int, storylines: int, seed: int
) -> np.ndarray:
    """Fill a migrated, empty PostgreSQL store in SQL; returns the storyline sizes."""
    rng = np.random.default_rng(seed)
    sizes = storyline_sizes(rng, storylines, articles)  # first draw, as queries.build
    vocabulary = np.array([f"w{i:04d}" for i in range(3000)])
    paragraphs = [" ".join(vocabulary[rng.integers(0, 3000, 60)]) for _ in range(6000)]
    params = {
        "outlets": outlets,
        "sizes": [int(s) for s in sizes],
        "paragraphs": paragraphs,
        "width": DIM * 4,
        "model": StubEmbedder.model_name,
        "dim": DIM,
    }
    with engine.begin() as conn:
        # Row-count triggers would fire a million times: off for the load, recounted after.
        for table in _COUNTED:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER row_count_{table}"))
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        for step in _STEPS:
            names = {k for k in params if f":{k}" in step}
            conn.execute(text(step), {k: params[k] for k in names})
        for table in _COUNTED:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER row_count_{table}"))
        recount_all(Session(bind=conn))
        counts.recount(Session(bind=conn))
    # A settled store, as autovacuum keeps one: the updates above leave dead row versions
    # and pages not yet all-visible, which would make every index-only count read the heap.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("outlet", "storyline", "article", "outlet_storyline", "storyline_change"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
    return sizes
