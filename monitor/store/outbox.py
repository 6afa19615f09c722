"""The durable alert outbox: enqueue in the caller's transaction, claim, confirm, fold, report.

Row life: ``pending`` → ``sending`` (committed before the API call) → ``sent`` (after Telegram
confirms, with its message id). A row found in ``sending`` at start-up was interrupted between
send and confirm: it goes back to ``pending`` and is sent again. That is the only way an alert
can be duplicated (the at-least-once window). ``folded`` rows went out inside a digest row; ``rejected`` rows were refused by Telegram for
their content (kept and counted by ``monitor status``); ``merged`` story updates were folded
into their alert (not sent yet) or did not warrant a threaded reply.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from monitor.alert.payload import AlertPayload
from monitor.store.db import Database

SEVERITY_ORDER = {"critical": 3, "high": 2, "medium": 1, "low": 0}


@dataclass(frozen=True)
class OutboxRow:
    """A queued message."""

    id: int
    destination: str
    kind: str
    severity: str | None
    payload: AlertPayload
    attempts: int
    created_at: float


def enqueue(conn: sqlite3.Connection, *, key: str, destination: str, payload: AlertPayload,
            now: float) -> bool:
    """Queue a message inside the caller's transaction. False if ``key`` was already queued."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO outbox(idempotency_key, destination, kind, article_id, severity, "
        "payload_json, created_at) VALUES (?,?,?,?,?,?,?)",
        (key, destination, payload.kind, payload.article_id, payload.severity,
         payload.to_json(), now))
    return cur.rowcount == 1


def enqueue_now(db: Database, *, key: str, destination: str, payload: AlertPayload,
                now: float) -> bool:
    """Queue a message in its own transaction (notices, digests)."""
    with db.transaction() as conn:
        return enqueue(conn, key=key, destination=destination, payload=payload, now=now)


def recover_interrupted(db: Database) -> int:
    """Rows left in 'sending' by a crash go back to 'pending'. Returns how many."""
    with db.transaction() as conn:
        return conn.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'").rowcount


def pending(db: Database, destination: str, limit: int = 1000) -> list[OutboxRow]:
    """Pending rows of one destination, oldest first."""
    rows = db.conn.execute(
        "SELECT * FROM outbox WHERE destination = ? AND status = 'pending' ORDER BY id LIMIT ?",
        (destination, limit)).fetchall()
    return [_row(r) for r in rows]


def _row(r: sqlite3.Row) -> OutboxRow:
    return OutboxRow(r["id"], r["destination"], r["kind"], r["severity"],
                     AlertPayload.from_json(r["payload_json"]), r["attempts"], r["created_at"])


def destinations_with_work(db: Database) -> list[str]:
    """Destinations that have pending rows."""
    return [r[0] for r in db.conn.execute(
        "SELECT DISTINCT destination FROM outbox WHERE status = 'pending' ORDER BY destination")]


def mark_sending(db: Database, row_id: int) -> None:
    """Commit the intent to send before calling the API (see the module docstring)."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                     (row_id,))


def mark_sent(db: Database, row_id: int, *, now: float, message_id: int, chat_id: str,
              plain_fallback: bool) -> None:
    """Telegram confirmed: store its message id."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, chat_id = ?, "
                     "plain_fallback = ?, last_error = NULL WHERE id = ?",
                     (now, message_id, chat_id, int(plain_fallback), row_id))
        dest = conn.execute("SELECT destination FROM outbox WHERE id = ?", (row_id,)).fetchone()[0]
        conn.execute("INSERT INTO destinations(name, last_sent_at) VALUES (?, ?) "
                     "ON CONFLICT(name) DO UPDATE SET last_sent_at = excluded.last_sent_at",
                     (dest, now))


def mark_retry(db: Database, row_id: int, *, error: str, next_attempt_at: float) -> None:
    """Not delivered this time: back to pending with the error and the next attempt time."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'pending', last_error = ?, next_attempt_at = ? "
                     "WHERE id = ?", (error[:500], next_attempt_at, row_id))


def get_row(db: Database, row_id: int) -> sqlite3.Row | None:
    """One outbox row."""
    return db.conn.execute("SELECT * FROM outbox WHERE id = ?", (row_id,)).fetchone()


def set_payload(db: Database, row_id: int, payload: AlertPayload) -> None:
    """Replace a row's payload (story updates add outlets to the alert)."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET payload_json = ? WHERE id = ?",
                     (payload.to_json(), row_id))


def mark_merged(db: Database, row_id: int) -> None:
    """An update that needed no message of its own (folded into its alert)."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'merged' WHERE id = ?", (row_id,))


def story_outlets_of(db: Database, article_id: int | None) -> list[str]:
    """Outlets of the story an article belongs to (exact copies once)."""
    from monitor.dedupe.stories import story_outlets

    row = db.conn.execute("SELECT story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
    return story_outlets(db.conn, row[0]) if row and row[0] is not None else []


def mark_rejected(db: Database, row_id: int, *, error: str) -> None:
    """Telegram refused this one message for good (never deleted: ``monitor status`` counts it)."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'rejected', last_error = ? WHERE id = ?",
                     (error[:500], row_id))


def fold_into_digest(db: Database, row_ids: list[int], *, key: str, destination: str,
                     payload: AlertPayload, now: float) -> int:
    """Replace pending rows by one digest row, atomically. Returns the digest row id."""
    with db.transaction() as conn:
        enqueue(conn, key=key, destination=destination, payload=payload, now=now)
        digest_id = conn.execute("SELECT id FROM outbox WHERE idempotency_key = ?",
                                 (key,)).fetchone()[0]
        conn.executemany("UPDATE outbox SET status = 'folded', digest_id = ? "
                         "WHERE id = ? AND status = 'pending'", [(digest_id, i) for i in row_ids])
    return int(digest_id)


def pause(db: Database, destination: str, reason: str, now: float) -> None:
    """A permanent error: stop sending to this destination until it is resumed."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO destinations(name, paused_at, paused_reason) VALUES (?,?,?) "
                     "ON CONFLICT(name) DO UPDATE SET paused_at = excluded.paused_at, "
                     "paused_reason = excluded.paused_reason", (destination, now, reason[:500]))


def resume(db: Database, destination: str | None = None) -> int:
    """Clear the pause of one or every destination. Returns how many were paused."""
    with db.transaction() as conn:
        if destination is None:
            return conn.execute("UPDATE destinations SET paused_at = NULL, paused_reason = NULL "
                                "WHERE paused_at IS NOT NULL").rowcount
        return conn.execute("UPDATE destinations SET paused_at = NULL, paused_reason = NULL "
                            "WHERE name = ? AND paused_at IS NOT NULL", (destination,)).rowcount


def paused(db: Database) -> dict[str, tuple[float, str]]:
    """Paused destinations → (since, reason)."""
    return {r["name"]: (r["paused_at"], r["paused_reason"]) for r in db.conn.execute(
        "SELECT * FROM destinations WHERE paused_at IS NOT NULL")}


def status_rows(db: Database) -> list[sqlite3.Row]:
    """Per destination: pending, oldest pending, sent, last sent, paused and why."""
    return db.conn.execute(
        "SELECT o.destination AS name, "
        "SUM(o.status IN ('pending', 'sending')) AS pending, "
        "MIN(CASE WHEN o.status IN ('pending', 'sending') THEN o.created_at END) AS oldest, "
        "SUM(o.status = 'sent') AS sent, SUM(o.status = 'folded') AS folded, "
        "SUM(o.status = 'rejected') AS rejected, "
        "MAX(o.sent_at) AS last_sent, d.paused_at, d.paused_reason, "
        "(SELECT last_error FROM outbox e WHERE e.destination = o.destination "
        " AND e.status = 'pending' AND e.last_error IS NOT NULL ORDER BY e.id LIMIT 1) AS last_error "
        "FROM outbox o LEFT JOIN destinations d ON d.name = o.destination "
        "GROUP BY o.destination ORDER BY o.destination").fetchall()
