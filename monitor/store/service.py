"""Service state the daemon shares with ``monitor status`` and ``/healthz``: rule reload
outcome, rule match history, feed rhythm."""

from __future__ import annotations

import json
from typing import Any

from monitor.store.db import Database


def set_state(db: Database, key: str, value: Any, now: float) -> None:
    """Store a JSON value under ``key``."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO service_state(key, value, updated_at) VALUES (?,?,?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                     "updated_at = excluded.updated_at", (key, json.dumps(value), now))


def get_state(db: Database, key: str) -> tuple[Any, float] | None:
    """(value, updated_at) or None."""
    row = db.conn.execute("SELECT value, updated_at FROM service_state WHERE key = ?",
                          (key,)).fetchone()
    return (json.loads(row[0]), row[1]) if row else None


def register_rules(db: Database, rule_ids: list[str], now: float) -> None:
    """Start tracking rules (first load time is when their silence starts counting)."""
    with db.transaction() as conn:
        conn.executemany("INSERT INTO rule_stats(rule_id, first_loaded_at) VALUES (?, ?) "
                         "ON CONFLICT DO NOTHING", [(r, now) for r in rule_ids])


def record_matches(db: Database, rule_ids: list[str], now: float) -> None:
    """Rules that just fired."""
    with db.transaction() as conn:
        conn.executemany("UPDATE rule_stats SET last_matched_at = ?, matches = matches + 1 "
                         "WHERE rule_id = ?", [(now, r) for r in rule_ids])


def silent_rules(db: Database, rule_ids: list[str], older_than: float) -> list[str]:
    """Rules loaded before ``older_than`` that have not matched since then."""
    rows = db.conn.execute("SELECT rule_id, first_loaded_at, last_matched_at FROM rule_stats")
    silent = {r[0] for r in rows if r[1] < older_than and (r[2] or 0) < older_than}
    return [r for r in rule_ids if r in silent]
