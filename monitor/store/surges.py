"""Surge rows: one per surge of an entity's mentions, open (``ended_at`` NULL) until it ends.

Whether a surge starts, holds or ends is decided by :mod:`monitor.trends.surges`; these
functions only read and write the rows (the writers in the caller's transaction).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SurgeRow:
    """A stored surge."""

    id: int
    entity: str
    started_at: float
    ended_at: float | None
    peak_count: int
    outbox_id: int | None


_COLUMNS = "id, entity, started_at, ended_at, peak_count, outbox_id"


def _row(r: sqlite3.Row | tuple[Any, ...]) -> SurgeRow:
    return SurgeRow(r[0], r[1], r[2], r[3], r[4], r[5])


def open_surges(conn: sqlite3.Connection) -> dict[str, SurgeRow]:
    """Open surges by entity (the latest one should an entity have several)."""
    return {s.entity: s for s in map(_row, conn.execute(
        f"SELECT {_COLUMNS} FROM surges WHERE ended_at IS NULL ORDER BY id"))}


def surges_started(conn: sqlite3.Connection, since: float, until: float) -> list[SurgeRow]:
    """Surges that started with ``since <= started_at <= until``, oldest first."""
    return [_row(r) for r in conn.execute(
        f"SELECT {_COLUMNS} FROM surges WHERE started_at >= ? AND started_at <= ? "
        "ORDER BY started_at", (since, until)).fetchall()]


def start_surge(conn: sqlite3.Connection, entity: str, *, now: float, peak_count: int) -> int:
    """Open a surge row; returns its id."""
    return int(conn.execute(
        "INSERT INTO surges(entity, started_at, peak_count) VALUES (?, ?, ?) RETURNING id",
        (entity, now, peak_count)).fetchone()[0])


def set_surge_outbox(conn: sqlite3.Connection, surge_id: int, outbox_id: int | None) -> None:
    """Link a surge to the outbox row of its message."""
    conn.execute("UPDATE surges SET outbox_id = ? WHERE id = ?", (outbox_id, surge_id))


def raise_peak(conn: sqlite3.Connection, surge_id: int, count: int) -> None:
    """Record ``count`` as the surge's peak if it is higher than the stored one."""
    conn.execute("UPDATE surges SET peak_count = ? WHERE id = ? AND peak_count < ?",
                 (count, surge_id, count))


def end_surge(conn: sqlite3.Connection, surge_id: int, now: float) -> None:
    """Close a surge as of ``now``."""
    conn.execute("UPDATE surges SET ended_at = ? WHERE id = ?", (now, surge_id))
