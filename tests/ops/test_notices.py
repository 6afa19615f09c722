"""Operator notices: what triggers them, where they go, how often they repeat."""

from __future__ import annotations

import json
import subprocess
import sys

from monitor.config import load_settings
from monitor.ops.notices import Notifier
from monitor.store import service as service_store
from monitor.store.db import open_database

DAY = 86400.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def setup(tmp_path, **ops):
    settings = load_settings(None, env={}, overrides={"feeds": [], "ops": {
        "admin_destination": "ops", **ops}})
    db = open_database(tmp_path / "s.db")
    clock = Clock(100 * DAY)
    return db, Notifier(db, settings, clock=clock), clock


def notices(db):
    return [(r[0], json.loads(r[1])) for r in db.conn.execute(
        "SELECT destination, payload_json FROM outbox WHERE kind = 'notice' ORDER BY id")]


def test_failing_feed_notice_once_per_period(tmp_path):
    db, notifier, clock = setup(tmp_path, feed_failing_seconds=6 * 3600,
                                notice_repeat_seconds=DAY)
    db.conn.execute("INSERT INTO feeds(name, url, created_at, last_success_at, error_count, "
                    "error_kind, last_error) VALUES ('wasat', 'https://alwasat.ly/rss', 0, ?, 4, "
                    "'http_status', 'HTTP 403 Forbidden')", (clock.now - 7 * 3600,))
    assert notifier.check([]) == 1
    assert notifier.check([]) == 0          # same subject, same period: not repeated
    clock.now += DAY
    assert notifier.check([]) == 1          # still failing a day later: said again
    dest, payload = notices(db)[0]
    assert dest == "ops" and payload["title"] == "Feed failing: wasat"
    assert "https://alwasat.ly/rss" in payload["body"] and "HTTP 403" in payload["body"]


def test_feed_that_recovered_or_is_young_is_not_reported(tmp_path):
    db, notifier, clock = setup(tmp_path)
    db.conn.execute("INSERT INTO feeds(name, url, created_at, error_count) VALUES "
                    "('new', 'https://x/rss', ?, 2)", (clock.now - 600,))
    assert notifier.check([]) == 0


def test_silent_feed_against_its_rhythm(tmp_path):
    db, notifier, clock = setup(tmp_path, feed_silence_factor=8, feed_silence_min_seconds=DAY)
    db.conn.execute("INSERT INTO feeds(name, url, created_at, last_new_item_at, avg_gap) VALUES "
                    "('busy', 'https://busy/rss', 0, ?, 3600), ('slow', 'https://slow/rss', 0, ?, "
                    "86400)", (clock.now - 2 * DAY, clock.now - 2 * DAY))
    assert notifier.check([]) == 1
    assert notices(db)[0][1]["title"] == "Feed silent: busy"


def test_silent_rule(tmp_path):
    db, notifier, clock = setup(tmp_path, rule_silence_days=14)
    service_store.register_rules(db, ["old_rule", "busy_rule"], clock.now - 20 * DAY)
    service_store.record_matches(db, ["busy_rule"], clock.now - DAY)
    service_store.register_rules(db, ["new_rule"], clock.now - DAY)
    assert notifier.check(["old_rule", "busy_rule", "new_rule"]) == 1
    assert notices(db)[0][1]["title"] == "Rule silent: old_rule"


def test_notices_can_be_turned_off(tmp_path):
    db, notifier, _ = setup(tmp_path, notices=False)
    assert not notifier.notify("x", "t", "b")


def test_json_logs(tmp_path):
    res = subprocess.run([sys.executable, "-m", "monitor", "--log-json", "once", "--demo",
                          "--demo-port", "0"], cwd=tmp_path, text=True, capture_output=True,
                         timeout=120)
    lines = [json.loads(x) for x in res.stderr.splitlines() if x.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)
    polled = [x for x in lines if "polled feed=" in x["message"]]
    assert polled and all("feed=" in x["message"] for x in polled)
