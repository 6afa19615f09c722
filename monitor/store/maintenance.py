"""Housekeeping and health of the state database: pruning old text, checkpoints, VACUUM, and
whether the database takes writes. When to run them is the service's decision
(:mod:`monitor.schedule.service`).

On PostgreSQL the server keeps its own log and statistics (autovacuum): checkpoints and
``optimize`` have nothing to do there, and ``vacuum`` is a plain ``VACUUM (ANALYZE)``."""

from __future__ import annotations

import sqlite3

import psycopg

from monitor.store.db import STORE_ERRORS, Database, Target, is_postgres, is_url


def is_writable(db: Database) -> bool:
    """Whether a write transaction can be started now (takes and releases the write lock; on
    PostgreSQL, whether the server takes writes: not a read-only standby)."""
    try:
        if is_postgres(db):
            row = db.conn.execute("SELECT pg_is_in_recovery()").fetchone()
            return not row[0]
        db.conn.execute("BEGIN IMMEDIATE")
        db.conn.execute("ROLLBACK")
        return True
    except STORE_ERRORS:
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
    if not is_postgres(db):
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def optimize(db: Database) -> None:
    """Let SQLite refresh the statistics its query planner uses, where they are stale."""
    if not is_postgres(db):
        db.conn.execute("PRAGMA optimize")


def vacuum(path: Target) -> None:
    """VACUUM on a connection of its own (slow: callers run it in a thread)."""
    if is_url(path):
        with psycopg.connect(str(path), autocommit=True) as pg:
            pg.execute("VACUUM (ANALYZE)")
        return
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("VACUUM")
    finally:
        conn.close()
