"""Queuing by idempotency key: the row id comes back once, a repeat queues nothing."""

from __future__ import annotations

from pathlib import Path

from monitor.alert.payload import AlertPayload
from monitor.store import outbox
from monitor.store.db import open_database


def test_enqueue_returns_the_new_row_id_once(tmp_path: Path) -> None:
    db = open_database(tmp_path / "s.db")
    payload = AlertPayload(kind="notice", title="t")
    with db.transaction() as conn:
        first = outbox.enqueue(conn, key="k", destination="default", payload=payload, now=1.0)
        again = outbox.enqueue(conn, key="k", destination="default", payload=payload, now=2.0)
        other = outbox.enqueue(conn, key="k2", destination="default", payload=payload, now=3.0)
    assert isinstance(first, int) and again is None and other > first   # PostgreSQL: a refused insert takes a sequence number too
    with db.transaction() as conn:
        assert outbox.id_for_key(conn, "k") == first
    db.close()
