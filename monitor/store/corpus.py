"""Stored article texts for re-scoring (``monitor backtest``), read on a read-only connection
of their own so that a backtest never blocks the daemon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from monitor.store.db import open_read_only

ArticleText = tuple[int, str, str, str | None]
"""(id, title, text, url): the text is the extracted one, else the feed's summary, else ''."""

# The rows a backtest reads; count_texts and iter_texts must agree on them.
STORED = "FROM articles WHERE extraction_status != 'pending' AND first_seen_at >= ?"


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
        cursor = conn.execute(
            f"SELECT id, title, COALESCE(text, feed_summary, ''), canonical_url {STORED} "
            "ORDER BY id", (since,))
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        conn.close()
