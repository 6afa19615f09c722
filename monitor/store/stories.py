"""Story rows and the story band index: what story clustering reads and writes.

The band index (where a new article finds its candidate stories) lives in memory, as tables of
the state connection's ``temp`` schema, built from the signatures stored with the articles when
first used; when another process has written to the same database since (SQLite's
``data_version`` moved), the articles it placed are added before the next lookup. Why not on
disk: every article adds 64 keys that land in 64 random leaves of the index, so each commit
wrote ~64 pages (256 KB) to the write-ahead log, a fifth of the daemon's CPU per article, and
the table kept 64 rows per article for ever. In memory an entry costs ~15 bytes (17 MB for
20,000 articles), inserts write nothing to disk, and a rolled-back transaction takes its entries
with it. The index is derived data: the durable record is ``articles.signature``.

On PostgreSQL, where several replicas place articles at the same moment, the index is the
shared table ``story_band_keys`` (migration 0013) instead, so every replica sees what the others
placed as soon as they commit; placing takes a transaction-scoped advisory lock
(:func:`sync_band_index`), so two near-duplicates placed together by two replicas join one story
rather than each founding its own.

Band keys are opaque integers here (one per band and bucket, computed by
:mod:`monitor.dedupe.bands`); the functions run in the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from monitor.store.db import is_postgres

_PLACE_LOCK = 0x6D6F6E02     # pg_advisory_xact_lock key: one placement at a time across replicas
_SHARED = "story_band_keys"
_TABLE = "temp.story_bands"
_INDEXED = "temp.story_indexed"     # one row per indexed article: what a catch-up can skip
_STATE = "temp.story_index_state"   # the database's data_version the index is current with
_ADD_KEY = "INSERT INTO {}(key, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
_ADD_ARTICLE = f"INSERT INTO {_INDEXED}(article_id) VALUES (?) ON CONFLICT DO NOTHING"
_LOAD = ("SELECT a.id, a.signature FROM articles a WHERE a.first_seen_at >= ? "
         "AND a.story_id IS NOT NULL AND a.signature IS NOT NULL")

KeysOf = Callable[[bytes], Sequence[int]]
"""The band keys of a stored signature blob."""


class StoryCandidate(NamedTuple):
    """A stored article sharing a band with the one being placed."""

    id: int
    story_id: int
    signature: bytes
    shingles: int


@dataclass(frozen=True)
class IndexSync:
    """What making the band index current did."""

    built: bool     # True: the index did not exist on this connection and was built
    added: int      # articles indexed (all of them on a build, the catch-up otherwise)


# --------------------------------------------------------------------------- story rows


def exact_copy_story(conn: sqlite3.Connection, text_hash: str, *, exclude: int,
                     since: float) -> int | None:
    """The story of the earliest article (other than ``exclude``) with the same ``text_hash``
    first seen at or after ``since``, or None."""
    row = conn.execute(
        "SELECT story_id FROM articles WHERE text_hash = ? AND id != ? AND story_id IS NOT NULL "
        "AND first_seen_at >= ? ORDER BY id LIMIT 1", (text_hash, exclude, since)).fetchone()
    return None if row is None else int(row[0])


def set_story(conn: sqlite3.Connection, article_id: int, *, story_id: int, signature: bytes,
              shingles: int, text_hash: str) -> None:
    """Store an article's story and the fingerprint it was placed with."""
    conn.execute("UPDATE articles SET story_id = ?, signature = ?, shingles = ?, text_hash = ? "
                 "WHERE id = ?", (story_id, signature, shingles, text_hash, article_id))


def save_placement(conn: sqlite3.Connection, article_id: int, *, story_id: int,
                   signature: bytes, shingles: int, text_hash: str,
                   band_keys: Sequence[int]) -> None:
    """Store an article's story with its fingerprint, and index it under its band keys."""
    set_story(conn, article_id, story_id=story_id, signature=signature, shingles=shingles,
              text_hash=text_hash)
    add_band_keys(conn, article_id, band_keys)


def story_outlets(conn: sqlite3.Connection, story_id: int) -> list[str]:
    """Distinct outlets of a story in order of first report; exact copies count once."""
    # Each copy group's first article: written out, where SQLite alone would take a bare column
    # of the MIN(id) row.
    rows = conn.execute(
        "SELECT a.outlet FROM articles a WHERE a.story_id = ? AND a.outlet IS NOT NULL "
        "AND a.id = (SELECT MIN(b.id) FROM articles b WHERE b.story_id = a.story_id "
        "AND b.outlet IS NOT NULL AND COALESCE(b.text_hash, CAST(b.id AS TEXT)) = "
        "COALESCE(a.text_hash, CAST(a.id AS TEXT))) ORDER BY a.id", (story_id,)).fetchall()
    return list(dict.fromkeys(r[0] for r in rows))


# --------------------------------------------------------------------------- band index


def _keys_table(conn: sqlite3.Connection) -> str:
    return _SHARED if is_postgres(conn) else _TABLE


def _state(conn: sqlite3.Connection) -> int | None:
    try:
        return int(conn.execute(f"SELECT data_version FROM {_STATE}").fetchone()[0])
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise


def sync_band_index(conn: sqlite3.Connection, since: float, keys_of: KeysOf) -> IndexSync:
    """Make the band index current: on first use on this connection build it from the stored
    articles first seen at or after ``since``; afterwards add what other connections stored
    since (nothing to do, and nothing read, while this connection is the only writer).

    On PostgreSQL: wait for the placement lock (held to the end of the caller's transaction),
    and build the shared table only when it is empty (a state moved in by ``import-state``)."""
    if is_postgres(conn):
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_PLACE_LOCK,))
        if conn.execute(f"SELECT 1 FROM {_SHARED} LIMIT 1").fetchone() is not None:
            return IndexSync(False, 0)
        return IndexSync(True, _index_rows(conn, conn.execute(_LOAD, (since,)).fetchall(),
                                           keys_of))
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    state = _state(conn)
    if state is None:
        conn.execute(f"CREATE TABLE {_TABLE} (key INTEGER NOT NULL, article_id INTEGER NOT NULL, "
                     "PRIMARY KEY (key, article_id)) WITHOUT ROWID")
        conn.execute(f"CREATE TABLE {_INDEXED} (article_id INTEGER PRIMARY KEY)")
        conn.execute(f"CREATE TABLE {_STATE} (data_version INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {_STATE} VALUES (?)", (version,))
        return IndexSync(True, _index_rows(conn, conn.execute(_LOAD, (since,)), keys_of))
    if state == version:
        # PRAGMA data_version moves only when another connection commits.
        return IndexSync(False, 0)
    added = _index_rows(conn, conn.execute(
        _LOAD + f" AND a.id NOT IN (SELECT article_id FROM {_INDEXED})", (since,)).fetchall(),
        keys_of)
    conn.execute(f"UPDATE {_STATE} SET data_version = ?", (version,))
    return IndexSync(False, added)


def _index_rows(conn: sqlite3.Connection, rows: Iterable[tuple[int, bytes]], keys_of: KeysOf
                ) -> int:
    ids: list[tuple[int]] = []
    conn.executemany(_ADD_KEY.format(_keys_table(conn)), _stored_entries(rows, ids, keys_of))
    if not is_postgres(conn):
        conn.executemany(_ADD_ARTICLE, ids)
    return len(ids)


def _stored_entries(rows: Iterable[tuple[int, bytes]], ids: list[tuple[int]], keys_of: KeysOf
                    ) -> Iterator[tuple[int, int]]:
    # Streamed: a first build never holds every article's keys in memory at once.
    for article_id, blob in rows:
        ids.append((article_id,))
        for key in keys_of(blob):
            yield key, article_id


def add_band_keys(conn: sqlite3.Connection, article_id: int, keys: Sequence[int]) -> None:
    """Index ``article_id`` under ``keys`` (the index must exist: :func:`sync_band_index`)."""
    conn.executemany(_ADD_KEY.format(_keys_table(conn)), [(key, article_id) for key in keys])
    if not is_postgres(conn):
        conn.execute(_ADD_ARTICLE, (article_id,))


def band_candidates(conn: sqlite3.Connection, keys: Sequence[int], *, since: float, exclude: int,
                    limit: int) -> list[StoryCandidate]:
    """Stored articles in a story, other than ``exclude``, first seen at or after ``since``,
    indexed under any of ``keys``; at most ``limit``."""
    marks = ",".join("?" * len(keys))
    rows = conn.execute(
        f"SELECT DISTINCT a.id, a.story_id, a.signature, a.shingles FROM {_keys_table(conn)} s "
        f"JOIN articles a ON a.id = s.article_id WHERE s.key IN ({marks}) "
        f"AND a.first_seen_at >= ? AND a.id != ? AND a.story_id IS NOT NULL LIMIT ?",
        (*keys, since, exclude, limit)).fetchall()
    return [StoryCandidate(*r) for r in rows]


def prune_band_index(conn: sqlite3.Connection, since: float) -> int:
    """Drop the entries of articles first seen before ``since``; returns how many went (0 when
    the index was never built on this connection).

    Article ids grow with time, so everything below the oldest id still in the window is out of
    it. (Should the clock ever step back, a few stale entries stay: lookups check the time anyway.)
    """
    shared = is_postgres(conn)
    if not shared and _state(conn) is None:
        return 0
    row = conn.execute("SELECT MIN(id) FROM articles WHERE first_seen_at >= ?", (since,)).fetchone()
    # Without any article in the window, every id is below the cutoff.
    cutoff = row[0] if row and row[0] is not None else 1 << 62
    if not shared:
        conn.execute(f"DELETE FROM {_INDEXED} WHERE article_id < ?", (cutoff,))
    return conn.execute(f"DELETE FROM {_keys_table(conn)} WHERE article_id < ?",
                        (cutoff,)).rowcount
