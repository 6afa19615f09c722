"""/metrics: the outbox depth and oldest age the README promises, read from the database."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from monitor.alert.payload import AlertPayload
from monitor.ops.metrics import Metrics
from monitor.store import outbox
from monitor.store.db import open_database
from tests.schedule.daemon import Daemon, wait_for, write_config


def queue(db_path: Path, destination: str, key: str, created_at: float) -> int:
    db = open_database(db_path)
    try:
        with db.transaction() as conn:
            outbox.enqueue(conn, key=key, destination=destination,
                           payload=AlertPayload(kind="test", title=key), now=created_at)
            return int(conn.execute("SELECT id FROM outbox WHERE idempotency_key = ?",
                                    (key,)).fetchone()[0])
    finally:
        db.close()


def sample(metrics: str, name: str, destination: str) -> float | None:
    found = re.search(rf'^{name}{{destination="{destination}"}} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else None


@pytest.mark.sqlite_only   # the daemon runs in a process of its own, on the file
def test_daemon_metrics_export_outbox_depth_and_oldest_age(tmp_path):
    db_path = tmp_path / "state" / "monitor.db"
    now = time.time()
    # Queued before the daemon starts, to destinations that are paused (so they stay queued).
    for i, age in enumerate((7200, 3600, 60)):
        queue(db_path, "analysts", f"a{i}", now - age)
    queue(db_path, "default", "d0", now - 600)
    sent = queue(db_path, "default", "d1", now - 9000)
    db = open_database(db_path)
    try:
        with db.transaction() as conn:   # sent long ago: neither pending nor the oldest
            conn.execute("UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?", (now, sent))
        for destination in ("analysts", "default"):
            outbox.pause(db, destination, "test: kept queued", now)
    finally:
        db.close()
    write_config(tmp_path, {"database": str(db_path), "feeds": [],
                            "alerts": {"sink": "jsonl", "jsonl_path": str(tmp_path / "a.jsonl")},
                            "ops": {"notices": False}})
    daemon = Daemon(tmp_path).start()
    try:
        wait_for(lambda: daemon.healthz() is not None, 60, "the ops endpoint")
        scraped = time.time()
        metrics = daemon.metrics()
        assert sample(metrics, "monitor_outbox_depth", "analysts") == 3.0, metrics
        assert sample(metrics, "monitor_outbox_depth", "default") == 1.0
        oldest = sample(metrics, "monitor_outbox_oldest_age_seconds", "analysts")
        assert oldest is not None and 7200 <= oldest <= 7200 + (time.time() - now)
        oldest = sample(metrics, "monitor_outbox_oldest_age_seconds", "default")
        assert oldest is not None and 600 <= oldest <= 600 + (time.time() - now)
        assert "# TYPE monitor_outbox_depth gauge" in metrics
        assert metrics.count("# HELP monitor_outbox_depth ") == 1      # exported once

        # Read at scrape time: a row queued by another process shows at the next scrape.
        queue(db_path, "analysts", "a3", scraped)
        assert sample(daemon.metrics(), "monitor_outbox_depth", "analysts") == 4.0
        assert daemon.terminate() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_watch_outbox_again_follows_the_new_database(tmp_path):
    from prometheus_client import generate_latest

    queue(tmp_path / "one.db", "x", "k1", time.time())
    queue(tmp_path / "two.db", "y", "k2", time.time())
    metrics = Metrics()
    metrics.watch_outbox(tmp_path / "one.db")
    assert metrics.registry.get_sample_value("monitor_outbox_depth", {"destination": "x"}) == 1
    metrics.watch_outbox(tmp_path / "two.db")
    assert metrics.registry.get_sample_value("monitor_outbox_depth", {"destination": "x"}) is None
    assert metrics.registry.get_sample_value("monitor_outbox_depth", {"destination": "y"}) == 1
    assert generate_latest(metrics.registry).decode().count("# HELP monitor_outbox_depth ") == 1


def test_outbox_metrics_of_a_missing_or_odd_path_do_not_fail_the_scrape(tmp_path):
    from prometheus_client import generate_latest

    odd = tmp_path / "a?b#c%20" / "monitor.db"
    queue(odd, "z", "k", time.time() - 30)
    metrics = Metrics()
    metrics.watch_outbox(odd)
    assert metrics.registry.get_sample_value("monitor_outbox_depth", {"destination": "z"}) == 1
    metrics.watch_outbox(tmp_path / "missing.db")
    assert "monitor_outbox_depth" in generate_latest(metrics.registry).decode()
