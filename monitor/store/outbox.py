"""The durable alert outbox: enqueue in the caller's transaction, claim, confirm, fold, report.

Row life: ``pending`` → ``sending`` (committed before the API call) → ``sent`` (after Telegram
confirms, with its message id). A row found in ``sending`` at start-up was interrupted between
send and confirm: it goes back to ``pending`` and is sent again. That is the only way an alert
can be duplicated (the at-least-once window). ``folded`` rows wait inside a digest row and are
delivered when it is sent (never before: that is how ``monitor status`` counts them);
``rejected`` rows were set aside as poison messages, refused by Telegram for their content or
impossible to render, with the reason in ``last_error`` (kept and counted by ``monitor status``);
``merged`` story updates were folded into their alert (not sent yet) or did not warrant a
threaded reply, or belong to a story an analyst muted. ``muted`` alerts were held because every
entity they name was muted (``/mute``) when their turn came, the reason in ``last_error`` (kept
and counted by ``monitor status``, never sent). ``tally`` rows refresh an alert's triage buttons
after a press; done, they are ``sent`` without a ``sent_at`` (they are not messages).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from monitor.alert.payload import AlertPayload
from monitor.errors import StoreError
from monitor.store.db import STORE_ERRORS, Database, display, open_read_only
from monitor.store.stories import story_outlets

SEVERITY_ORDER = {"critical": 3, "high": 2, "medium": 1, "low": 0}
BACKLOG_KEY_PREFIX = "digest:"     # idempotency keys of the digests a backlog is folded into
# A backlog digest row: its alerts are counted instead of it.
_BACKLOG_DIGEST = f"(o.kind = 'digest' AND o.idempotency_key LIKE '{BACKLOG_KEY_PREFIX}%')"


@dataclass(frozen=True)
class OutboxRow:
    """A queued message. ``payload`` is None when the stored JSON cannot be read (a corrupt row,
    or one written by another version); ``unreadable`` then says why. ``digest_id`` is set on an
    alert that came back from a digest that was set aside: it is never folded again."""

    id: int
    destination: str
    kind: str
    severity: str | None
    payload: AlertPayload | None
    attempts: int
    created_at: float
    digest_id: int | None = None
    unreadable: str | None = None


def enqueue(conn: sqlite3.Connection, *, key: str, destination: str, payload: AlertPayload,
            now: float) -> int | None:
    """Queue a message inside the caller's transaction: its row id, or None if ``key`` was
    already queued (:func:`id_for_key` finds that row)."""
    row = conn.execute(
        "INSERT INTO outbox(idempotency_key, destination, kind, article_id, severity, "
        "payload_json, created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
        (key, destination, payload.kind, payload.article_id, payload.severity,
         payload.to_json(), now)).fetchone()
    return None if row is None else int(row[0])


def id_for_key(conn: sqlite3.Connection, key: str) -> int | None:
    """The id of the row queued under idempotency key ``key``, or None."""
    row = conn.execute("SELECT id FROM outbox WHERE idempotency_key = ?", (key,)).fetchone()
    return int(row[0]) if row else None


def enqueue_now(db: Database, *, key: str, destination: str, payload: AlertPayload,
                now: float) -> bool:
    """Queue a message in its own transaction (notices, digests)."""
    with db.transaction() as conn:
        return enqueue(conn, key=key, destination=destination, payload=payload, now=now) is not None


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
    payload: AlertPayload | None = None
    problem = None
    try:
        payload = AlertPayload.from_json(r["payload_json"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        problem = f"unreadable payload: {type(exc).__name__}: {exc}"[:300]
    return OutboxRow(r["id"], r["destination"], r["kind"], r["severity"], payload,
                     r["attempts"], r["created_at"], r["digest_id"], problem)


def destinations_with_work(db: Database) -> list[str]:
    """Destinations that have pending rows."""
    return [r[0] for r in db.conn.execute(
        "SELECT DISTINCT destination FROM outbox WHERE status = 'pending' ORDER BY destination")]


def next_attempt_at(db: Database, row_id: int) -> float:
    """When a row may be tried again (0: now)."""
    return float(db.conn.execute("SELECT next_attempt_at FROM outbox WHERE id = ?",
                                 (row_id,)).fetchone()[0])


def mark_sending(db: Database, row_id: int) -> None:
    """Commit the intent to send before calling the API (see the module docstring)."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                     (row_id,))


def mark_sent(db: Database, row_id: int, *, now: float, message_id: int, chat_id: str,
              plain_fallback: bool) -> int:
    """Telegram confirmed: store its message id. Returns the alerts this delivered: those folded
    into it for a backlog digest, else 1."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, chat_id = ?, "
                     "plain_fallback = ?, last_error = NULL WHERE id = ?",
                     (now, message_id, chat_id, int(plain_fallback), row_id))
        dest = conn.execute("SELECT destination FROM outbox WHERE id = ?", (row_id,)).fetchone()[0]
        conn.execute("INSERT INTO destinations(name, last_sent_at) VALUES (?, ?) "
                     "ON CONFLICT(name) DO UPDATE SET last_sent_at = excluded.last_sent_at",
                     (dest, now))
        folded = conn.execute("SELECT COUNT(*) FROM outbox WHERE digest_id = ? AND "
                              "status = 'folded'", (row_id,)).fetchone()[0]
    return int(folded) or 1


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
    row = db.conn.execute("SELECT story_id FROM articles WHERE id = ?", (article_id,)).fetchone()
    return story_outlets(db.conn, row[0]) if row and row[0] is not None else []


def set_aside(db: Database, row_id: int, *, reason: str) -> int:
    """A poison message: it can never be rendered or sent, so it is kept as ``rejected`` with its
    reason (never deleted: ``monitor status`` counts it) and the queue goes on. The alerts of a
    digest set aside go back to the queue, marked so they are sent one by one. Returns how many."""
    with db.transaction() as conn:
        conn.execute("UPDATE outbox SET status = 'rejected', last_error = ? WHERE id = ?",
                     (reason[:500], row_id))
        return conn.execute("UPDATE outbox SET status = 'pending', next_attempt_at = 0 "
                            "WHERE digest_id = ? AND status = 'folded'", (row_id,)).rowcount


def retry_now(db: Database, destination: str, now: float) -> int:
    """Cut our own back-off short (Telegram answers again): waiting rows become due now."""
    with db.transaction() as conn:
        return conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE destination = ? AND "
                            "status = 'pending' AND next_attempt_at > ?",
                            (now, destination, now)).rowcount


def fold_into_digest(db: Database, row_ids: list[int], *, destination: str,
                     payload: AlertPayload, now: float, status: str = "pending") -> int | None:
    """Replace rows in ``status`` (pending; or muted, when held alerts are released) by one
    digest row, atomically. Returns the digest row id, or None (nothing folded) when these rows
    were folded before: rows never join an older digest."""
    key = f"{BACKLOG_KEY_PREFIX}{destination}:{row_ids[0]}-{row_ids[-1]}"
    with db.transaction() as conn:
        digest_id = enqueue(conn, key=key, destination=destination, payload=payload, now=now)
        if digest_id is None:
            return None
        conn.executemany("UPDATE outbox SET status = 'folded', digest_id = ? "
                         "WHERE id = ? AND status = ?", [(digest_id, i, status) for i in row_ids])
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
    """Per destination, counted in alerts (a backlog digest row is not one; its alerts are):
    pending (queued, or folded into a digest not sent yet), oldest pending, sent, delivered in
    digests, set aside and the latest reason, held by entity mutes, last sent, paused and why,
    the first error."""
    return db.conn.execute(
        "SELECT o.destination AS name, "
        # CASE … THEN 1 ELSE 0: PostgreSQL does not add up booleans.
        "SUM(CASE WHEN o.status = 'folded' THEN (CASE WHEN g.status IN ('pending', 'sending') "
        "    THEN 1 ELSE 0 END) WHEN o.status IN ('pending', 'sending') AND NOT "
        + _BACKLOG_DIGEST + " THEN 1 ELSE 0 END) AS pending, "
        "MIN(CASE WHEN o.status IN ('pending', 'sending') OR (o.status = 'folded' AND "
        "    g.status IN ('pending', 'sending')) THEN o.created_at END) AS oldest, "
        "SUM(CASE WHEN o.status = 'sent' AND o.kind != 'tally' AND NOT " + _BACKLOG_DIGEST
        + " THEN 1 ELSE 0 END) AS sent, "
        "SUM(CASE WHEN o.status = 'folded' AND g.status = 'sent' THEN 1 ELSE 0 END) AS folded, "
        "SUM(CASE WHEN o.status = 'rejected' THEN 1 ELSE 0 END) AS rejected, "
        "SUM(CASE WHEN o.status = 'muted' THEN 1 ELSE 0 END) AS muted, "
        "(SELECT last_error FROM outbox r WHERE r.destination = o.destination "
        " AND r.status = 'rejected' ORDER BY r.id DESC LIMIT 1) AS rejected_reason, "
        "MAX(o.sent_at) AS last_sent, d.paused_at, d.paused_reason, "
        "(SELECT last_error FROM outbox e WHERE e.destination = o.destination "
        " AND e.status = 'pending' AND e.last_error IS NOT NULL ORDER BY e.id LIMIT 1) AS last_error "
        "FROM outbox o LEFT JOIN outbox g ON g.id = o.digest_id AND o.status = 'folded' "
        "LEFT JOIN destinations d ON d.name = o.destination "
        "GROUP BY o.destination, d.paused_at, d.paused_reason ORDER BY o.destination").fetchall()


# ------------------------------------------------------------------ triage (monitor.bot)










@dataclass(frozen=True)
class QueueDepth:
    """Messages waiting for one destination (``pending`` or ``sending`` rows)."""

    destination: str
    count: int
    oldest_created_at: float


def queue_depths(db_path: str) -> list[QueueDepth]:
    """Waiting messages per destination, read on a read-only connection of its own (another
    process may own the database). Raises StoreError when the database cannot be read."""
    try:
        conn = open_read_only(db_path, timeout=2)
        try:
            rows = conn.execute("SELECT destination, COUNT(*), MIN(created_at) FROM outbox "
                                "WHERE status IN ('pending', 'sending') GROUP BY destination"
                                ).fetchall()
        finally:
            conn.close()
    except STORE_ERRORS as exc:
        raise StoreError(f"cannot read the outbox of {display(db_path)}: {exc}") from None
    return [QueueDepth(dest, int(count), float(oldest)) for dest, count, oldest in rows]
