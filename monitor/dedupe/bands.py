"""The LSH band index of recent fingerprints: where a new article finds its candidate stories.

It lives in memory, as a table of the state connection's ``temp`` schema, and is rebuilt from the
signatures stored with the articles when first used. Why not on disk: every article adds 64 keys
that land in 64 random leaves of the index, so each commit wrote ~64 pages (256 KB) to the
write-ahead log, a fifth of the daemon's CPU per article, and the table kept 64 rows per article
for ever. In memory an entry costs ~17 bytes (about 22 MB for 20,000 articles), inserts write
nothing to disk, and a rolled-back transaction takes its entries with it. The index is derived
data: the durable record is ``articles.signature``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from monitor.dedupe.fingerprint import Fingerprint, bands_of_blob

_TABLE = "temp.story_bands"


def _keys(bands: list[tuple[int, int]]) -> list[int]:
    # One integer per (band, bucket): a single-column key keeps the table one B-tree.
    return [band << 32 | bucket for band, bucket in bands]


def _exists(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = 'story_bands'"
                        ).fetchone() is not None


def ensure(conn: sqlite3.Connection, since: float) -> int | None:
    """Build the index from the stored articles first seen at or after ``since`` unless this
    connection has it already. Returns how many articles were loaded, or None if it existed."""
    if _exists(conn):
        return None
    conn.execute(f"CREATE TABLE {_TABLE} (key INTEGER NOT NULL, article_id INTEGER NOT NULL, "
                 "PRIMARY KEY (key, article_id)) WITHOUT ROWID")
    rows = conn.execute(
        "SELECT id, signature FROM articles WHERE first_seen_at >= ? "
        "AND story_id IS NOT NULL AND signature IS NOT NULL", (since,))
    loaded = [0]
    conn.executemany(f"INSERT OR IGNORE INTO {_TABLE}(key, article_id) VALUES (?, ?)",
                     _stored_entries(rows, loaded))
    return loaded[0]


def _stored_entries(rows: Iterable[tuple[int, bytes]], count: list[int]
                    ) -> Iterator[tuple[int, int]]:
    for article_id, blob in rows:
        count[0] += 1
        for key in _keys(bands_of_blob(blob)):
            yield key, article_id


def add(conn: sqlite3.Connection, article_id: int, fp: Fingerprint) -> None:
    """Index ``article_id`` under its fingerprint's bands (in the caller's transaction)."""
    conn.executemany(f"INSERT OR IGNORE INTO {_TABLE}(key, article_id) VALUES (?, ?)",
                     [(key, article_id) for key in _keys(fp.bands())])


def candidates(conn: sqlite3.Connection, fp: Fingerprint, *, since: float, exclude: int,
               limit: int) -> list[tuple[int, int, bytes, int]]:
    """(id, story_id, signature, shingles) of stored articles sharing a band with ``fp`` and
    first seen at or after ``since``."""
    keys = _keys(fp.bands())
    marks = ",".join("?" * len(keys))
    return conn.execute(
        f"SELECT DISTINCT a.id, a.story_id, a.signature, a.shingles FROM {_TABLE} s "
        f"JOIN articles a ON a.id = s.article_id WHERE s.key IN ({marks}) "
        f"AND a.first_seen_at >= ? AND a.id != ? AND a.story_id IS NOT NULL LIMIT ?",
        (*keys, since, exclude, limit)).fetchall()


def prune(conn: sqlite3.Connection, since: float) -> int:
    """Drop the entries of articles first seen before ``since``; returns how many went.

    Article ids grow with time, so everything below the oldest id still in the window is out of
    it. (Should the clock ever step back, a few stale entries stay: lookups check the time anyway.)
    """
    if not _exists(conn):
        return 0
    row = conn.execute("SELECT MIN(id) FROM articles WHERE first_seen_at >= ?", (since,)).fetchone()
    oldest_kept = row[0] if row and row[0] is not None else None
    if oldest_kept is None:
        return conn.execute(f"DELETE FROM {_TABLE}").rowcount
    return conn.execute(f"DELETE FROM {_TABLE} WHERE article_id < ?", (oldest_kept,)).rowcount
