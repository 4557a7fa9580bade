"""Keeping storyline labels readable and stable as storylines grow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models import Article, ArticleStatus, ChangeKind, Outlet, Storyline, Term
from app.services.changes import ChangeRecorder
from clustering.labels import Label, make_label, materially_different, tracked_terms

# A label is rebuilt when the storyline has grown by half since the last build,
# so the work is amortised O(1) per article and labels settle as stories grow.
_GROWTH = 1.5
_MEMBERS_READ = 200
_IN_CHUNK = 500


# How many documents the frequencies count, kept as the df of the empty string
# (never a term): labels read it instead of counting every stored article, which
# at 100k articles cost more than the rest of a placement.
_DOCUMENTS = ""


@dataclass(frozen=True, slots=True)
class StorylineLabels:
    """A storyline's label in its majority language, and one per language it spans.

    ``variants`` maps each language code to the label built from that language's
    members alone; it is empty when the members are all in one language.
    """

    main: Label
    variants: dict[str, Label] = field(default_factory=dict)


def count_term_sets(session: Session, term_sets: Iterable[set[str]]) -> None:
    """Add each article's :func:`tracked_terms` once to the stream's frequencies.

    Call once per batch of newly grouped articles, after they are flushed.
    """
    counts: Counter[str] = Counter()
    documents = 0
    for terms in term_sets:
        documents += 1
        counts.update(t[:128] for t in terms if t)
    if not documents:
        return
    _count_documents(session, documents)
    if not counts:
        return
    rows = [{"term": t, "df": c} for t, c in sorted(counts.items())]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Term)
    statement = statement.on_conflict_do_update(
        index_elements=[Term.term], set_={"df": Term.df + statement.excluded.df}
    )
    session.execute(statement, rows)


def refresh_label(
    session: Session,
    storyline: Storyline,
    changes: ChangeRecorder,
    known: Mapping[int, set[str]] | None = None,
) -> None:
    """Rebuild the label once the storyline has grown enough; record material changes.

    ``known`` maps article ids to their :func:`tracked_terms` where the caller
    has them already (the articles it just counted), to spare extracting them twice.
    """
    if not label_due(storyline):
        return
    labels = compute_labels(session, [storyline], known)[storyline.id]
    apply_label(storyline, labels, storyline.article_count, changes)


def label_due(storyline: Storyline) -> bool:
    """True when the label was never computed or the storyline grew by half since.

    Also for a label an editor set (``label_pinned``): its per-language variants
    are still rebuilt; :func:`apply_label` keeps the editor's main label.
    """
    return storyline.label_basis == 0 or storyline.article_count >= storyline.label_basis * _GROWTH


def label_due_clause() -> ColumnElement[bool]:
    """:func:`label_due` as a SQL condition on ``Storyline``, to select due storylines."""
    return (Storyline.label_basis == 0) | (
        Storyline.article_count >= Storyline.label_basis * _GROWTH
    )


def compute_labels(
    session: Session, storylines: Sequence[Storyline], known: Mapping[int, set[str]] | None = None
) -> dict[int, StorylineLabels]:
    """Storyline id -> labels, from each one's latest members and the stream's term counts.

    The main label is read in one language: the one most of the members are in
    (on a tie, the latest article's), built from those members alone. A storyline
    whose members span two or more (known) languages also gets a variant per
    language, built the same way from that language's members alone.
    The term counts of all of them are read together, and the document count once.
    """
    known = known or {}
    # storyline id -> language -> its members (title, body, outlet), latest first
    members: dict[int, dict[str, list[tuple[str, str, str]]]] = {}
    majority: dict[int, str] = {}
    terms: dict[int, dict[str, set[str]]] = {}
    # Built once, run per storyline: building it anew each time cost 2/3 of running it.
    latest = (
        select(Article.id, Article.title, Article.body, Outlet.name, Article.language)
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Article.storyline_id == bindparam("storyline_id"))
        .order_by(Article.effective_at.desc(), Article.id.desc())
        .limit(_MEMBERS_READ)
    )
    for storyline in storylines:
        read = session.execute(latest, {"storyline_id": storyline.id}).all()
        by_language: dict[str, list[tuple[str, str, str]]] = {}
        language_terms: dict[str, set[str]] = {}
        for article_id, title, body, outlet, language in read:
            by_language.setdefault(language, []).append((title, body, outlet))
            language_terms.setdefault(language, set()).update(
                known.get(article_id) or tracked_terms(title, body)
            )
        top = Counter(row.language for row in read).most_common(1)
        majority[storyline.id] = top[0][0] if top else ""
        members[storyline.id] = by_language
        terms[storyline.id] = language_terms
    wanted = sorted({t[:128] for by in terms.values() for ts in by.values() for t in ts})
    df: dict[str, int] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        counts = session.execute(select(Term.term, Term.df).where(Term.term.in_(chunk)))
        df.update({term: count for term, count in counts})
    documents = session.scalar(select(Term.df).where(Term.term == _DOCUMENTS))
    if documents is None:
        documents = _grouped(session)
    labels = {}
    for s in storylines:

        def label_of(language: str, s: Storyline = s) -> Label:
            # Each label sees the counts of its own terms only, as if read alone: a
            # phrase counted for another storyline must not change how this one scores it.
            own_terms = terms[s.id].get(language, set())
            own = {k: df[k] for k in {t[:128] for t in own_terms} if k in df}
            return make_label(
                members[s.id].get(language, []),
                own,
                documents,
                s.first_published_at,
                s.last_published_at,
            )

        main = label_of(majority[s.id])
        spoken = sorted(language for language in members[s.id] if language)
        variants: dict[str, Label] = {}
        if len(spoken) >= 2:
            variants = {
                language: main if language == majority[s.id] else label_of(language)
                for language in spoken
            }
        labels[s.id] = StorylineLabels(main, variants)
    return labels


def apply_label(
    storyline: Storyline, labels: StorylineLabels, basis: int, changes: ChangeRecorder
) -> bool:
    """Store ``labels`` (computed at ``basis`` articles); True when recorded as a change.

    The per-language variants are stored as they are. A first label over an empty
    one is set silently; after that only a material change of terms, or of the
    date range, is shown and put in the change feed. A label an editor set
    (``label_pinned``) is kept; only its variants follow the members.
    """
    storyline.label_basis = basis
    storyline.label_variants = {code: v.text for code, v in labels.variants.items()}
    if storyline.label_pinned:
        return False
    label = labels.main
    old_terms = storyline.label_terms or []
    if not storyline.label:
        storyline.label, storyline.label_terms = label.text, list(label.terms)
        return False
    dates_moved = storyline.label.rsplit(" — ", 1)[-1] != label.text.rsplit(" — ", 1)[-1]
    if materially_different(old_terms, label.terms) or dates_moved:
        changes.note(storyline, ChangeKind.relabelled, previous_label=storyline.label)
        storyline.label, storyline.label_terms = label.text, list(label.terms)
        return True
    return False


def _count_documents(session: Session, added: int) -> None:
    stored = session.scalar(select(Term.df).where(Term.term == _DOCUMENTS))
    if stored is None:
        # First batch counted since the counter exists: start it from the articles
        # grouped so far, this batch included (already flushed).
        session.execute(insert(Term).values(term=_DOCUMENTS, df=_grouped(session)))
    else:
        session.execute(update(Term).where(Term.term == _DOCUMENTS).values(df=Term.df + added))


def _grouped(session: Session) -> int:
    grouped = select(func.count(Article.id)).where(Article.status == ArticleStatus.grouped)
    return session.scalar(grouped) or 0
