"""The LSH band index of recent fingerprints: where a new article finds its candidate stories.

It lives in memory, as tables of the state connection's ``temp`` schema, built from the
signatures stored with the articles when first used; when another process has written to the
same database since (SQLite's ``data_version`` moved), the articles it placed are added before
the next lookup. Why not on disk: every article adds 64 keys that land in 64 random leaves of
the index, so each commit wrote ~64 pages (256 KB) to the write-ahead log, a fifth of the
daemon's CPU per article, and the table kept 64 rows per article for ever. In memory an entry
costs ~15 bytes (17 MB for 20,000 articles), inserts write nothing to disk, and a rolled-back
transaction takes its entries with it. The index is derived data: the durable record is
``articles.signature``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator

from monitor.dedupe.fingerprint import Fingerprint, bands_of_blob

_TABLE = "temp.story_bands"
_INDEXED = "temp.story_indexed"     # one row per indexed article: what a catch-up can skip
_STATE = "temp.story_index_state"   # the database's data_version the index is current with
_ADD_KEY = f"INSERT OR IGNORE INTO {_TABLE}(key, article_id) VALUES (?, ?)"
_ADD_ARTICLE = f"INSERT OR IGNORE INTO {_INDEXED}(article_id) VALUES (?)"
_LOAD = ("SELECT a.id, a.signature FROM articles a WHERE a.first_seen_at >= ? "
         "AND a.story_id IS NOT NULL AND a.signature IS NOT NULL")

log = logging.getLogger(__name__)


def _keys(bands: list[tuple[int, int]]) -> list[int]:
    # One integer per (band, bucket): a single-column key keeps the table one B-tree.
    return [band << 32 | bucket for band, bucket in bands]


def _state(conn: sqlite3.Connection) -> int | None:
    try:
        return int(conn.execute(f"SELECT data_version FROM {_STATE}").fetchone()[0])
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise


def ensure(conn: sqlite3.Connection, since: float) -> int | None:
    """Make the index current (in the caller's transaction): on first use build it from the
    stored articles first seen at or after ``since``; afterwards add what other connections
    (another ``monitor`` process on the same state) stored since. Returns how many articles a
    first build loaded, None when the index already existed."""
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    state = _state(conn)
    if state is None:
        conn.execute(f"CREATE TABLE {_TABLE} (key INTEGER NOT NULL, article_id INTEGER NOT NULL, "
                     "PRIMARY KEY (key, article_id)) WITHOUT ROWID")
        conn.execute(f"CREATE TABLE {_INDEXED} (article_id INTEGER PRIMARY KEY)")
        conn.execute(f"CREATE TABLE {_STATE} (data_version INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {_STATE} VALUES (?)", (version,))
        return _index_rows(conn, conn.execute(_LOAD, (since,)))
    if state != version:
        # PRAGMA data_version moves only when another connection commits: catching up costs
        # nothing while this process is the only writer.
        added = _index_rows(conn, conn.execute(
            _LOAD + f" AND a.id NOT IN (SELECT article_id FROM {_INDEXED})", (since,)).fetchall())
        conn.execute(f"UPDATE {_STATE} SET data_version = ?", (version,))
        if added:
            log.info("story index: %d articles stored by another process added", added)
    return None


def _index_rows(conn: sqlite3.Connection, rows: Iterable[tuple[int, bytes]]) -> int:
    ids: list[tuple[int]] = []
    conn.executemany(_ADD_KEY, _stored_entries(rows, ids))
    conn.executemany(_ADD_ARTICLE, ids)
    return len(ids)


def _stored_entries(rows: Iterable[tuple[int, bytes]], ids: list[tuple[int]]
                    ) -> Iterator[tuple[int, int]]:
    for article_id, blob in rows:
        ids.append((article_id,))
        for key in _keys(bands_of_blob(blob)):
            yield key, article_id


def add(conn: sqlite3.Connection, article_id: int, fp: Fingerprint) -> None:
    """Index ``article_id`` under its fingerprint's bands (in the caller's transaction)."""
    conn.executemany(_ADD_KEY, [(key, article_id) for key in _keys(fp.bands())])
    conn.execute(_ADD_ARTICLE, (article_id,))


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
    if _state(conn) is None:
        return 0
    row = conn.execute("SELECT MIN(id) FROM articles WHERE first_seen_at >= ?", (since,)).fetchone()
    # Without any article in the window, every id is below the cutoff.
    cutoff = row[0] if row and row[0] is not None else 1 << 62
    conn.execute(f"DELETE FROM {_INDEXED} WHERE article_id < ?", (cutoff,))
    return conn.execute(f"DELETE FROM {_TABLE} WHERE article_id < ?", (cutoff,)).rowcount
