"""Feed rows: configured sources, conditional-GET validators, health and back-off."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from monitor.config import FeedSource
from monitor.store.db import Database, is_postgres


@dataclass(frozen=True)
class FeedState:
    """A feed's stored state, as the poller needs it."""

    id: int
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    error_count: int
    next_poll_at: float | None
    poll_interval: float | None = None
    last_success_at: float | None = None


def sync_feeds(db: Database, sources: list[FeedSource], now: float) -> dict[str, FeedState]:
    """Make sure each configured source has a row (URL changes reset the cache validators).

    One read of the whole table; a write only for sources that are new or whose URL changed.
    """
    stored = {r["name"]: r for r in db.conn.execute("SELECT * FROM feeds")}
    changed = [s for s in sources if s.name not in stored or stored[s.name]["url"] != s.feed_url]
    if changed:
        with db.transaction() as conn:
            for src in changed:
                if src.name not in stored:
                    # ON CONFLICT: replicas starting together add the same feeds.
                    conn.execute("INSERT INTO feeds(name, url, created_at) VALUES (?, ?, ?) "
                                 "ON CONFLICT(name) DO NOTHING",
                                 (src.name, src.feed_url, now))
                else:
                    conn.execute("UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, "
                                 "error_count = 0, next_poll_at = NULL WHERE name = ?",
                                 (src.feed_url, src.name))
        stored = {r["name"]: r for r in db.conn.execute("SELECT * FROM feeds")}
    return {s.name: _state(stored[s.name]) for s in sources}


def get_feed(db: Database, name: str) -> FeedState:
    """The stored state of one feed (it must exist)."""
    row = db.conn.execute("SELECT * FROM feeds WHERE name = ?", (name,)).fetchone()
    return _state(row)


def _state(row: sqlite3.Row) -> FeedState:
    return FeedState(row["id"], row["name"], row["url"], row["etag"], row["last_modified"],
                     row["error_count"], row["next_poll_at"], row["poll_interval"],
                     row["last_success_at"])


def record_success(db: Database, feed_id: int, *, now: float, status: str, etag: str | None,
                   last_modified: str | None, next_poll_at: float, bozo_note: str | None,
                   new_items: int, interval: float | None = None,
                   link_note: str | None = None, links_checked: bool = False) -> None:
    """A poll that got 200 or 304: store validators and the interval, clear the error state,
    and (when it brought news) the feed's rhythm, all in one transaction. ``link_note`` is the
    state of its aggregator links, replaced only by a poll that resolved some
    (``links_checked``)."""
    update = (
        "UPDATE feeds SET etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
        "last_polled_at = ?, last_success_at = ?, last_status = ?, error_count = 0, "
        "error_kind = NULL, next_poll_at = ?, bozo_note = ?, items_seen = items_seen + ?, "
        "poll_interval = COALESCE(?, poll_interval), "
        "link_note = CASE WHEN ? = 1 THEN ? ELSE link_note END WHERE id = ?")
    args = (etag, last_modified, now, now, status, next_poll_at, bozo_note, new_items, interval,
            int(links_checked), link_note, feed_id)
    if not new_items:
        # A lone statement is its own transaction (autocommit): the cheap path for the bulk of
        # polls, which bring nothing new.
        db.conn.execute(update, args)
        return
    with db.transaction() as conn:
        conn.execute(update, args)
        _record_rhythm(conn, feed_id, new_items, now)


def _record_rhythm(conn: sqlite3.Connection, feed_id: int, new_items: int, now: float) -> None:
    """When a feed last published and its average gap (EWMA) between publications."""
    row = conn.execute("SELECT last_new_item_at, avg_gap FROM feeds WHERE id = ?",
                       (feed_id,)).fetchone()
    avg = None
    if row["last_new_item_at"]:
        gap = (now - row["last_new_item_at"]) / new_items
        avg = gap if row["avg_gap"] is None else 0.7 * row["avg_gap"] + 0.3 * gap
    conn.execute("UPDATE feeds SET last_new_item_at = ?, avg_gap = COALESCE(?, avg_gap) "
                 "WHERE id = ?", (now, avg, feed_id))


def failures_in_a_row(db: Database, feed_id: int) -> int:
    """How many polls of the feed failed since its last success."""
    row = db.conn.execute("SELECT error_count FROM feeds WHERE id = ?", (feed_id,)).fetchone()
    return int(row["error_count"]) if row else 0


def record_failure(db: Database, feed_id: int, *, now: float, error: str, kind: str,
                   failures: int, next_poll_at: float) -> None:
    """A failed poll: its error, the count of failures in a row and when to try again (decided
    by monitor.schedule.policy)."""
    db.conn.execute(
        "UPDATE feeds SET last_polled_at = ?, last_status = 'failed', last_error = ?, "
        "error_kind = ?, error_count = ?, next_poll_at = ? WHERE id = ?",
        (now, error[:500], kind, failures, next_poll_at, feed_id))


def set_active(db: Database, names: list[str]) -> None:
    """The feeds the running configuration polls (rows of removed feeds stay, for history).
    Kept in a temporary table of the daemon's connection, which :func:`due_feeds` reads."""
    with db.transaction() as conn:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS active_feeds(name TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.active_feeds")
        conn.executemany("INSERT INTO temp.active_feeds(name) VALUES (?) ON CONFLICT DO NOTHING",
                         [(n,) for n in names])
    if is_postgres(db):     # a replaced session loses the table: monitor.store.leases rewrites it
        db.active_feeds = (db.generation, list(names))      # type: ignore[attr-defined]


def due_feeds(db: Database, now: float, limit: int) -> list[str]:
    """Names of the active feeds whose next poll is due (never polled, or ``next_poll_at``
    passed), the longest overdue first."""
    rows = db.conn.execute(
        "SELECT f.name FROM feeds f JOIN temp.active_feeds a ON a.name = f.name "
        "WHERE f.next_poll_at IS NULL OR f.next_poll_at <= ? "
        "ORDER BY COALESCE(f.next_poll_at, 0) LIMIT ?", (now, limit)).fetchall()
    return [r["name"] for r in rows]


def sighted_any(db: Database, feed_id: int, identities: list[str]) -> bool:
    """Whether this feed delivered any of these item identities before."""
    if not identities:
        return False
    marks = ",".join("?" * len(identities))
    row = db.conn.execute(f"SELECT 1 FROM sightings WHERE feed_id = ? AND identity IN ({marks}) "
                          "LIMIT 1", (feed_id, *identities)).fetchone()
    return row is not None


def feed_health(db: Database) -> list[sqlite3.Row]:
    """Every feed with its health columns, for ``monitor feeds``."""
    return db.conn.execute(
        "SELECT f.*, (SELECT COUNT(*) FROM sightings s WHERE s.feed_id = f.id) AS sightings, "
        "(SELECT COUNT(*) FROM articles a WHERE a.feed_id = f.id "
        " AND a.extraction_status = 'pending') AS pending "
        "FROM feeds f ORDER BY f.name").fetchall()


def last_success_at(db: Database) -> float | None:
    """When any feed was last polled successfully, None when none ever was."""
    last = db.conn.execute("SELECT MAX(last_success_at) FROM feeds").fetchone()[0]
    return None if last is None else float(last)


@dataclass(frozen=True)
class FailingFeed:
    """A feed whose polls fail, and since when it has been without a success."""

    name: str
    url: str
    error_kind: str | None
    last_error: str | None
    ok_at: float        # its last success, or when it was added if it never had one


def failing_feeds(db: Database, ok_before: float) -> list[FailingFeed]:
    """Feeds with failed polls since their last success, which was before ``ok_before``
    (their creation time counting as a success)."""
    rows = db.conn.execute(
        "SELECT name, url, error_kind, last_error, COALESCE(last_success_at, created_at) AS ok "
        "FROM feeds WHERE error_count > 0 AND COALESCE(last_success_at, created_at) < ?",
        (ok_before,)).fetchall()
    return [FailingFeed(r["name"], r["url"], r["error_kind"], r["last_error"], r["ok"])
            for r in rows]


@dataclass(frozen=True)
class FeedRhythm:
    """When a healthy feed last published and its usual gap between publications."""

    name: str
    url: str
    last_new_item_at: float
    avg_gap: float


def feed_rhythms(db: Database) -> list[FeedRhythm]:
    """Every feed without errors whose rhythm is known (it published at least twice)."""
    rows = db.conn.execute(
        "SELECT name, url, last_new_item_at, avg_gap FROM feeds "
        "WHERE last_new_item_at IS NOT NULL AND avg_gap IS NOT NULL AND error_count = 0")
    return [FeedRhythm(r["name"], r["url"], r["last_new_item_at"], r["avg_gap"]) for r in rows]
