"""The full-text index of stored articles (table ``article_search``, migration 0011): an FTS5
table on SQLite, tsvector columns with GIN indexes on PostgreSQL (docs/search.md).

The index holds, for each article, what :func:`monitor.search.fields.index_fields` makes of its
title and of the text scoring reads (the extracted text, else the feed's summary). It is kept in
step by the store itself: :func:`index_articles` runs in the transaction of every write that
changes an article's title or text (:mod:`monitor.store.articles`), and retention empties the
body in the transaction that drops the text (:mod:`monitor.store.maintenance`). Articles stored
before the index existed are indexed by a resumable backfill (:func:`backfill_batch`).

Queries take expressions built by :mod:`monitor.search.query` from normalised tokens, never
user text: a tree (:mod:`monitor.search.expr`), or an FTS5 string of the subset it writes. Each
query function asks :func:`~monitor.store.db.is_postgres` and writes FTS5 ``MATCH`` and bm25, or a
tsquery condition and ts_rank.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.search.expr import Expression, rank_query, to_fts5, to_postgres
from monitor.search.fields import INDEX_FORMAT, index_fields
from monitor.store.corpus import STORED, ArticleText, pg_chunks
from monitor.store.db import Database, is_postgres, open_read_only

__all__ = ["index_articles", "BackfillState", "backfill_state", "ensure_format",
           "backfill_batch", "matching", "Found", "found_rows", "first_id_since",
           "count_candidates", "iter_candidates", "entity_mentioned", "index_state"]

# What is indexed for an article, read from its row: the same text the backtest scores.
_SOURCE = "SELECT id, title, COALESCE(text, feed_summary, '') FROM articles"
# bm25 weights of the columns: a word in the title counts three times one in the body; the
# skeleton columns only serve the backtest and never rank.
_WEIGHTS = "3.0, 1.0, 0.0, 0.0"
# ts_rank's weights, in its order {D, C, B, A}: the body is at D, the title at A, three times it.
# Normalisation 1 divides by 1 + log(length), as bm25 too favours the shorter of two articles.
_PG_RANK = "-ts_rank('{0.1, 0, 0, 0.3}', terms, ?::tsquery, 1)"


def _write(conn: sqlite3.Connection, rows: Iterable[tuple[int, str | None, str | None]]) -> int:
    n = 0
    for art_id, title, body in rows:
        f = index_fields(title, body)
        conn.execute("DELETE FROM article_search WHERE rowid = ?", (art_id,))
        conn.execute("INSERT INTO article_search(rowid, title, body, title_skel, body_skel) "
                     "VALUES (?,?,?,?,?)", (art_id, f.title, f.body, f.title_skel, f.body_skel))
        n += 1
    return n


def index_articles(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """(Re)index these articles from their stored rows, in the caller's transaction."""
    n = 0
    for art_id in ids:
        n += _write(conn, conn.execute(f"{_SOURCE} WHERE id = ?", (art_id,)).fetchall())
    return n


@dataclass(frozen=True)
class BackfillState:
    """How far the backfill is: the articles up to ``upto`` (the last one when the index was
    created or its format changed) are (re)indexed up to ``done``; later ones are indexed as
    they are stored. ``format`` is what the index was built with ('' before any backfill)."""

    done: int
    upto: int
    last: int
    format: str

    @property
    def finished(self) -> bool:
        return self.done >= self.upto and self.format == INDEX_FORMAT

    @property
    def remaining(self) -> int:
        """Article ids still to look at (an upper bound on the articles left to index)."""
        return max(0, self.upto - self.done)


def backfill_state(conn: sqlite3.Connection) -> BackfillState:
    """The backfill's progress (works on a read-only connection)."""
    row = conn.execute("SELECT done, upto, format FROM search_backfill WHERE id = 1").fetchone()
    last = conn.execute("SELECT COALESCE(MAX(id), 0) FROM articles").fetchone()[0]
    return BackfillState(int(row[0]), int(row[1]), int(last), str(row[2]))


def ensure_format(db: Database) -> BackfillState:
    """Start the backfill over every stored article when the index was built by another
    normalisation (:data:`~monitor.search.fields.INDEX_FORMAT`), or by none yet: the first
    backfill after the migration also redoes the articles stored since, which cannot tell what
    code wrote them. Old rows keep answering until their turn comes."""
    with db.transaction() as conn:
        state = backfill_state(conn)
        if state.format != INDEX_FORMAT:
            conn.execute("UPDATE search_backfill SET done = 0, upto = ?, format = ? WHERE id = 1",
                         (state.last, INDEX_FORMAT))
            state = backfill_state(conn)
    return state


def backfill_batch(db: Database, size: int = 500) -> tuple[BackfillState, int]:
    """(Re)index the next ``size`` articles up to ``upto``, in one transaction (read, normalise,
    write and the cursor move together: an interrupted backfill resumes where its last
    committed batch ended, and a text saved meanwhile is never overwritten by a stale one).
    Returns the new state and how many were indexed."""
    with db.transaction() as conn:
        state = backfill_state(conn)
        rows = conn.execute(f"{_SOURCE} WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                            (state.done, state.upto, size)).fetchall()
        n = _write(conn, rows)
        done = int(rows[-1][0]) if len(rows) == size else state.upto
        conn.execute("UPDATE search_backfill SET done = ? WHERE id = 1", (max(done, state.done),))
        return backfill_state(conn), n


# ---------------------------------------------------------------------------- queries


def first_id_since(conn: sqlite3.Connection, since: float) -> int:
    """The smallest id of an article first seen at or after ``since`` (0 when none is): ids
    grow with time, so the index can stop there instead of reading every older match."""
    # By the time index: MIN(id) alone would walk the ids from the oldest.
    row = conn.execute("SELECT MIN(id) FROM articles INDEXED BY articles_seen "
                       "WHERE first_seen_at >= ?", (since,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _fts5(expr: Expression) -> str:
    return expr if isinstance(expr, str) else to_fts5(expr)


def matching(conn: sqlite3.Connection, expr: Expression, *, since: float | None = None,
             entity: str | None = None, window: int = 1000,
             before: int | None = None) -> list[tuple[int, float, float]]:
    """(id, relevance, first_seen_at) of the ``window`` newest articles matching an expression
    (older than article ``before`` when given), newest first (relevance: bm25, or ts_rank
    negated on PostgreSQL; lower is better)."""
    if is_postgres(conn):
        return _pg_matching(conn, expr, since, entity, window, before)
    sql = (f"SELECT s.rowid, bm25(article_search, {_WEIGHTS}), a.first_seen_at "
           "FROM article_search s CROSS JOIN articles a ON a.id = s.rowid "
           "WHERE article_search MATCH ?")
    window_sql, window_args = _window(conn, since, entity, before, window)
    return [(int(r[0]), float(r[1]), float(r[2]))
            for r in conn.execute(sql + window_sql, [_fts5(expr), *window_args])]


def _window(conn: sqlite3.Connection, since: float | None, entity: str | None,
            before: int | None, window: int) -> tuple[str, list[object]]:
    """The conditions and order every search query ends with (either engine)."""
    sql, args = "", []
    if before is not None:
        sql += " AND s.rowid < ?"
        args.append(before)
    if since is not None:
        sql += " AND s.rowid >= ? AND a.first_seen_at >= ?"
        args += [first_id_since(conn, since), since]
    if entity is not None:
        sql += " AND EXISTS (SELECT 1 FROM mentions m WHERE m.entity = ? AND m.article_id = s.rowid)"
        args.append(entity)
    return sql + " ORDER BY s.rowid DESC LIMIT ?", [*args, window]


def _pg_matching(conn: sqlite3.Connection, expr: Expression, since: float | None,
                 entity: str | None, window: int,
                 before: int | None) -> list[tuple[int, float, float]]:
    cond, args = to_postgres(expr)
    sql = ("SELECT s.rowid, s.terms, a.first_seen_at FROM article_search s "
           f"JOIN articles a ON a.id = s.rowid WHERE {cond}")
    window_sql, window_args = _window(conn, since, entity, before, window)
    sql += window_sql
    filters: list[object] = [*args, *window_args]
    # Ranked outside the LIMIT: only the window's rows are scored, not every match.
    rank = rank_query(expr)
    score = _PG_RANK if rank is not None else "0.0"
    rows = conn.execute(f"SELECT rowid, {score}, first_seen_at FROM ({sql}) m "
                        "ORDER BY rowid DESC", ([rank] if rank is not None else []) + filters)
    return [(int(r[0]), float(r[1]), float(r[2])) for r in rows]


@dataclass(frozen=True)
class Found:
    """A stored article as a search result shows it: its original title and text, and the
    indexed (normalised) title and body the match was verified on."""

    id: int
    title: str
    text: str
    url: str | None
    outlet: str | None
    first_seen_at: float
    published_at: float | None
    indexed_title: str
    indexed_body: str


def found_rows(conn: sqlite3.Connection, ids: list[int]) -> dict[int, Found]:
    """The rows of these articles (any order), with their indexed fields."""
    out: dict[int, Found] = {}
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        marks = ",".join("?" * len(part))
        for r in conn.execute(
                "SELECT a.id, a.title, COALESCE(a.text, a.feed_summary, ''), a.canonical_url, "
                "COALESCE(a.outlet, a.source_outlet, f.name), a.first_seen_at, a.published_at, "
                "s.title, s.body FROM articles a JOIN article_search s ON s.rowid = a.id "
                f"LEFT JOIN feeds f ON f.id = a.feed_id WHERE a.id IN ({marks})", part):
            out[int(r[0])] = Found(int(r[0]), r[1] or "", r[2] or "", r[3], r[4], float(r[5]),
                                   r[6], r[7] or "", r[8] or "")
    return out


# ---------------------------------------------------------------------------- backtest


def _candidates(conn: sqlite3.Connection, expr: Expression) -> tuple[str, list[object]]:
    """The subquery of the articles matching ``expr``, and its parameters."""
    if is_postgres(conn):
        cond, args = to_postgres(expr)
        return f"(SELECT s.rowid FROM article_search s WHERE {cond})", list(args)
    return "(SELECT rowid FROM article_search WHERE article_search MATCH ?)", [_fts5(expr)]


def count_candidates(db_path: Path, expr: Expression, since: float) -> int:
    """How many stored articles past extraction, first seen since ``since``, match ``expr``."""
    conn = open_read_only(db_path)
    try:
        sub, args = _candidates(conn, expr)
        return int(conn.execute(f"SELECT COUNT(*) {STORED} AND id IN {sub}",
                                (since, *args)).fetchone()[0])
    finally:
        conn.close()


def iter_candidates(db_path: Path, expr: Expression, since: float,
                    chunk: int) -> Iterator[list[ArticleText]]:
    """The articles :func:`count_candidates` counts, as :func:`monitor.store.corpus.iter_texts`
    gives them (by id, in lists of up to ``chunk``, streamed)."""
    conn = open_read_only(db_path)
    try:
        sub, args = _candidates(conn, expr)
        if is_postgres(conn):
            yield from pg_chunks(conn, f"SELECT id {STORED} AND id IN {sub} ORDER BY id",
                                 [since, *args], chunk)
            return
        cursor = conn.execute(
            f"SELECT id, title, COALESCE(text, feed_summary, ''), canonical_url {STORED} "
            f"AND id IN {sub} ORDER BY id", (since, *args))
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        conn.close()


def entity_mentioned(conn: sqlite3.Connection, entity: str) -> bool:
    """Whether any stored article mentions this entity (to tell a typo from no result)."""
    return conn.execute("SELECT 1 FROM mentions WHERE entity = ? LIMIT 1",
                        (entity,)).fetchone() is not None


def index_state(db_path: Path) -> BackfillState:
    """The index's backfill state, read on a read-only connection of its own (backtests)."""
    conn = open_read_only(db_path)
    try:
        return backfill_state(conn)
    finally:
        conn.close()
