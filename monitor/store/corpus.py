"""Stored article texts for re-scoring (``monitor backtest``), read on a read-only connection
of their own so that a backtest never blocks the daemon."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from monitor.store.db import is_postgres, open_read_only

ArticleText = tuple[int, str, str, str | None]
"""(id, title, text, url): the text is the extracted one, else the feed's summary, else ''."""

# The rows a backtest reads; count_texts and iter_texts must agree on them.
STORED = "FROM articles WHERE extraction_status != 'pending' AND first_seen_at >= ?"
_TEXTS = "SELECT id, title, COALESCE(text, feed_summary, ''), canonical_url FROM articles"


def pg_chunks(conn: Any, ids_sql: str, args: Sequence[object],
              chunk: int) -> Iterator[list[ArticleText]]:
    """PostgreSQL: the texts of the articles ``ids_sql`` selects (their ids, in order), in
    lists of up to ``chunk``. psycopg's plain cursor holds a whole result in memory, so only
    the ids are read at once and the texts a chunk at a time, all in one snapshot (as SQLite's
    streamed read is). Rows are plain tuples: chunks go to worker processes."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    ids = [int(r[0]) for r in conn.execute(ids_sql, tuple(args)).fetchall()]
    for i in range(0, len(ids), chunk):
        rows = conn.execute(f"{_TEXTS} WHERE id = ANY(?) ORDER BY id",
                            (ids[i:i + chunk],)).fetchall()
        yield [tuple(r) for r in rows]


def count_texts(db_path: Path, since: float) -> int:
    """How many articles :func:`iter_texts` will yield."""
    conn = open_read_only(db_path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) {STORED}", (since,)).fetchone()[0])
    finally:
        conn.close()


def iter_texts(db_path: Path, since: float, chunk: int) -> Iterator[list[ArticleText]]:
    """Articles past extraction first seen at or after ``since`` (unix time), by id, in lists of
    up to ``chunk``, streamed: 100,000 articles are never in memory at once."""
    conn = open_read_only(db_path)
    try:
        if is_postgres(conn):
            yield from pg_chunks(conn, f"SELECT id {STORED} ORDER BY id", (since,), chunk)
            return
        cursor = conn.execute(
            f"SELECT id, title, COALESCE(text, feed_summary, ''), canonical_url {STORED} "
            "ORDER BY id", (since,))
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        conn.close()
