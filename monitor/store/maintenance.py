"""Housekeeping and health of the state database: pruning old text, checkpoints, VACUUM, and
whether the database takes writes. When to run them is the service's decision
(:mod:`monitor.schedule.service`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor.store.db import Database


def is_writable(db: Database) -> bool:
    """Whether a write transaction can be started now (takes and releases the write lock)."""
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        db.conn.execute("ROLLBACK")
        return True
    except sqlite3.Error:
        return False


def drop_text_before(db: Database, cutoff: float) -> int:
    """Drop the text (not the row) of articles fetched, or first seen when never fetched, before
    ``cutoff``; returns how many lost it. Articles an analyst judged keep their text: they are
    the labelled set that ``monitor labels export`` and ``monitor backtest --labels`` use.
    An article that loses its text keeps only its title in the search index, the only field
    scoring then reads."""
    where = ("WHERE text IS NOT NULL AND COALESCE(fetched_at, first_seen_at) < ? "
             "AND id NOT IN (SELECT article_id FROM judgements)")
    with db.transaction() as conn:
        # The index forgets the body with the text (the title stays searchable). Done first:
        # the same condition no longer holds once the text is gone.
        conn.execute("UPDATE article_search SET body = '', body_skel = '' "
                     f"WHERE rowid IN (SELECT id FROM articles {where})", (cutoff,))
        return conn.execute(f"UPDATE articles SET text = NULL, feed_summary = '' {where}",
                            (cutoff,)).rowcount


def checkpoint(db: Database) -> None:
    """Copy the write-ahead log into the database file and truncate it."""
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def optimize(db: Database) -> None:
    """Let SQLite refresh the statistics its query planner uses, where they are stale."""
    db.conn.execute("PRAGMA optimize")


def vacuum(path: Path) -> None:
    """VACUUM on a connection of its own (slow: callers run it in a thread)."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("VACUUM")
    finally:
        conn.close()
