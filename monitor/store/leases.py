"""What replicas on one PostgreSQL state hold: feed leases, the leader lock, heartbeats.

Feeds are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease (``claimed_by``,
``claimed_until``): a due feed is polled by one replica at a time, and the feeds of a replica that
died come free when their lease runs out. The leader (the one sender of every destination, the
bot, surges, housekeeping and notices) holds a session advisory lock on a pooled connection of
its own: the server releases it the moment that session ends, however the replica died.

On SQLite one daemon owns the state: claims are not written (a restarted daemon must not wait
for the leases of its previous life), and the leader lock is always held.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monitor.store import feeds as feed_store
from monitor.store.db import STORE_ERRORS, Database, is_postgres

log = logging.getLogger(__name__)

LEADER_KEY = 0x6D6F6E03     # pg_try_advisory_lock key of the leader role


def default_name() -> str:
    """A replica name unique on its host: ``host-pid``."""
    return f"{socket.gethostname()}-{os.getpid()}"


def claim_due_feeds(db: Database, replica: str, now: float, limit: int,
                    lease_seconds: float) -> list[str]:
    """Names of up to ``limit`` due active feeds (:func:`monitor.store.feeds.set_active`) this
    replica may poll now, claimed for ``lease_seconds``: feeds no lease holds (a replica's own
    leases are its polls in flight, released when they end), longest overdue first. Rows other
    replicas are claiming at this instant are skipped, not waited for.

    On SQLite, where one daemon runs, nothing is claimed: the due feeds, its polls in flight
    among them (the caller skips those)."""
    if not is_postgres(db):
        return feed_store.due_feeds(db, now, limit)
    _keep_active(db)
    rows = db.conn.execute(
        "UPDATE feeds SET claimed_by = ?, claimed_until = ? WHERE id IN ("
        " SELECT f.id FROM feeds f JOIN temp.active_feeds a ON a.name = f.name"
        " WHERE (f.next_poll_at IS NULL OR f.next_poll_at <= ?)"
        " AND (f.claimed_until IS NULL OR f.claimed_until < ?)"
        " ORDER BY COALESCE(f.next_poll_at, 0) LIMIT ? FOR UPDATE OF f SKIP LOCKED)"
        " RETURNING name, next_poll_at",
        (replica, now + lease_seconds, now, now, limit)).fetchall()
    return [r[0] for r in sorted(rows, key=lambda r: r[1] or 0)]


def _keep_active(db: Database) -> None:
    """The active names live in a temporary table of the session (10,000 names sent with
    every claim cost 5 ms of CPU): written again when the session was replaced since."""
    generation, names = db.active_feeds       # type: ignore[attr-defined]
    if generation != db.generation:           # type: ignore[attr-defined]
        feed_store.set_active(db, names)


def renew(db: Database, replica: str, names: Iterable[str], until: float) -> None:
    """Extend this replica's leases on feeds it is still polling."""
    names = list(names)
    if names and is_postgres(db):
        marks = ",".join("?" * len(names))
        db.conn.execute(f"UPDATE feeds SET claimed_until = ? WHERE claimed_by = ? AND name IN "
                        f"({marks})", (until, replica, *names))


def release(db: Database, replica: str, names: Iterable[str] | None = None) -> None:
    """Give up this replica's leases (on ``names``, or all of them): polled, or shutting down."""
    if not is_postgres(db):
        return
    if names is None:
        db.conn.execute("UPDATE feeds SET claimed_by = NULL, claimed_until = NULL "
                        "WHERE claimed_by = ?", (replica,))
        return
    for name in names:
        db.conn.execute("UPDATE feeds SET claimed_by = NULL, claimed_until = NULL "
                        "WHERE name = ? AND claimed_by = ?", (name, replica))


class LeaderLock:
    """The leader role: a session advisory lock held on a pooled connection of its own."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._raw: Any = None

    @property
    def held(self) -> bool:
        return self._raw is not None or not is_postgres(self.db)

    def try_acquire(self) -> bool:
        """Take the role if no live replica holds it; True when this replica holds it now."""
        if self.held:
            return self.check()
        try:
            raw = self.db.checkout()     # type: ignore[attr-defined]
        except Exception as exc:     # noqa: BLE001 - pool timeout or server gone: try later
            log.warning("leader lock: no database session (%s)", exc)
            return False
        try:
            got = raw.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_KEY,)).fetchone()[0]
        except STORE_ERRORS:
            got = False
        if got:
            self._raw = raw
            return True
        self.db.checkin(raw)     # type: ignore[attr-defined]
        return False

    def check(self) -> bool:
        """Whether the role is still held: its session answers (a lost session lost the lock)."""
        if self._raw is None:
            return not is_postgres(self.db)
        try:
            self._raw.execute("SELECT 1")
            return True
        except STORE_ERRORS as exc:
            log.warning("leader lock: its database session failed (%s); the role is lost", exc)
            self._drop()
            return False

    def release(self) -> None:
        """Give the role up (shutdown, step-down)."""
        if self._raw is None:
            return
        try:
            self._raw.execute("SELECT pg_advisory_unlock(%s)", (LEADER_KEY,))
        except STORE_ERRORS:
            pass         # the session is gone, and the lock with it
        self._drop()

    def _drop(self) -> None:
        raw, self._raw = self._raw, None
        try:
            self.db.checkin(raw)     # type: ignore[attr-defined]
        except Exception:    # noqa: BLE001 - a broken connection is discarded by the pool
            pass


@dataclass(frozen=True)
class ReplicaRow:
    """One replica as ``monitor status`` shows it."""

    name: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    leader: bool
    feeds_polling: int


def heartbeat(db: Database, row: ReplicaRow) -> None:
    """Record that this replica is alive, and what it holds (PostgreSQL only)."""
    if not is_postgres(db):
        return
    db.conn.execute(
        "INSERT INTO replicas(name, host, pid, started_at, heartbeat_at, leader, feeds_polling) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET heartbeat_at = "
        "excluded.heartbeat_at, leader = excluded.leader, feeds_polling = excluded.feeds_polling",
        (row.name, row.host, row.pid, row.started_at, row.heartbeat_at, int(row.leader),
         row.feeds_polling))


def leave(db: Database, name: str) -> None:
    """A replica shutting down cleanly: its row and its leases go."""
    if not is_postgres(db):
        return
    release(db, name)
    db.conn.execute("DELETE FROM replicas WHERE name = ?", (name,))


def replicas(db: Database) -> list[ReplicaRow]:
    """Every replica that recorded a heartbeat, the most recent first."""
    rows = db.conn.execute("SELECT name, host, pid, started_at, heartbeat_at, leader, "
                           "feeds_polling FROM replicas ORDER BY heartbeat_at DESC").fetchall()
    return [ReplicaRow(r[0], r[1], int(r[2]), float(r[3]), float(r[4]), bool(r[5]), int(r[6]))
            for r in rows]


def claims(db: Database, now: float) -> dict[str, int]:
    """Per replica, how many feed leases it holds that still run."""
    rows = db.conn.execute("SELECT claimed_by, COUNT(*) FROM feeds WHERE claimed_by IS NOT NULL "
                           "AND claimed_until >= ? GROUP BY claimed_by", (now,)).fetchall()
    return {r[0]: int(r[1]) for r in rows}
