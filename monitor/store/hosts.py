"""Open host circuits (article hosts skipped for a cool-down after repeated failures)."""

from __future__ import annotations

import sqlite3

from monitor.store.db import Database


def open_circuit(db: Database, host: str, *, failures: int, now: float, until: float,
                 error: str) -> None:
    """Record that ``host`` is skipped until ``until``."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO host_circuits(host, failures, opened_at, open_until, last_error) "
            "VALUES (?,?,?,?,?) ON CONFLICT(host) DO UPDATE SET failures = excluded.failures, "
            "opened_at = excluded.opened_at, open_until = excluded.open_until, "
            "last_error = excluded.last_error", (host, failures, now, until, error[:500]))


def close_circuit(db: Database, host: str) -> None:
    """``host`` answered again."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM host_circuits WHERE host = ?", (host,))


def circuits(db: Database) -> list[sqlite3.Row]:
    """Every stored circuit (open, or past its cool-down and waiting for a probe)."""
    return db.conn.execute("SELECT * FROM host_circuits ORDER BY open_until DESC").fetchall()
