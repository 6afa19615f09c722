"""Read-only summaries for the bot's ``/status``: the last alert sent, and the alerts held by
entity mutes (outbox status ``muted``), per destination."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.store.db import Database


@dataclass(frozen=True)
class SentAlert:
    """The alert Telegram confirmed last."""

    sent_at: float
    destination: str
    payload_json: str


def last_sent_alert(db: Database) -> SentAlert | None:
    """The most recently sent alert (not a digest or a notice), None before the first."""
    # Walks the newest rows by id (no index on sent_at; the outbox only grows): an alert queued
    # before another can be sent after it (retries), so the newest few are compared.
    row = db.conn.execute(
        "SELECT sent_at, destination, payload_json FROM (SELECT * FROM outbox WHERE "
        "status = 'sent' AND kind = 'alert' AND sent_at IS NOT NULL ORDER BY id DESC LIMIT 50) AS newest "
        "ORDER BY sent_at DESC, id DESC LIMIT 1").fetchone()
    return None if row is None else SentAlert(float(row[0]), row[1], row[2])


def held_by_mutes(db: Database) -> dict[str, int]:
    """Destination → alerts held because every entity of theirs is muted."""
    return {r[0]: int(r[1]) for r in db.conn.execute(
        "SELECT destination, COUNT(*) FROM outbox WHERE status = 'muted' GROUP BY destination")}
