"""Outbox rows of the analysts' loop: button refreshes after a press (``tally`` rows) and alerts
held by entity mutes (status ``muted``). The row life of :mod:`monitor.store.outbox` applies."""

from __future__ import annotations

import sqlite3

from monitor.alert.payload import AlertPayload
from monitor.store.db import Database
from monitor.store.outbox import OutboxRow, _row, enqueue


def unhold(db: Database, row_ids: list[int]) -> int:
    """Held alerts back to the queue, to be sent on their own. Returns how many."""
    with db.transaction() as conn:
        return sum(conn.execute("UPDATE outbox SET status = 'pending', last_error = NULL "
                                "WHERE id = ? AND status = 'muted'", (i,)).rowcount
                   for i in row_ids)


def held(db: Database) -> list[OutboxRow]:
    """Alerts held by entity mutes (status ``muted``), oldest first."""
    rows = db.conn.execute("SELECT * FROM outbox INDEXED BY outbox_held WHERE status = 'muted' "
                           "ORDER BY id").fetchall()
    return [_row(r) for r in rows]


def queue_tally(conn: sqlite3.Connection, *, outbox_id: int, update_id: int,
                now: float) -> int | None:
    """Inside the caller's transaction (the press's): queue a refresh of the buttons of the
    alert in row ``outbox_id``, in that alert's destination queue so it is rate-limited with the
    chat's other messages. One row per update; None when the alert row is gone."""
    row = conn.execute("SELECT destination FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
    if row is None:
        return None
    return enqueue(conn, key=f"tally:{outbox_id}:{update_id}", destination=row[0],
                   payload=AlertPayload(kind="tally", title="", target_id=outbox_id), now=now)


def pending_tallies(db: Database, destination: str, target_id: int) -> list[int]:
    """The pending tally rows of one alert, oldest first (one edit serves them all)."""
    return [int(r[0]) for r in db.conn.execute(
        "SELECT id FROM outbox WHERE destination = ? AND status = 'pending' AND kind = 'tally' "
        # By the key queue_tally gave the row (tally:<alert row>:<update>), which names the
        # alert in both engines' SQL, where the payload's JSON would need each one's functions.
        "AND idempotency_key LIKE ? ORDER BY id", (destination, f"tally:{int(target_id)}:%"))]


def mark_tallied(db: Database, row_ids: list[int]) -> None:
    """Tally rows whose buttons were refreshed (or have nothing left to refresh): done."""
    with db.transaction() as conn:
        conn.executemany("UPDATE outbox SET status = 'sent', last_error = NULL WHERE id = ? "
                         "AND status IN ('pending', 'sending')", [(i,) for i in row_ids])


def hold_muted(db: Database, row_id: int, *, reason: str) -> None:
    """An alert whose every entity is muted: held as ``muted`` with the reason, until the mute
    ends (:func:`held`, :func:`unhold`, ``fold_into_digest(status="muted")``)."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'muted', last_error = ? WHERE id = ?",
                     (reason[:500], row_id))
