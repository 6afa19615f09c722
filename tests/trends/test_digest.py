"""``monitor digest``: stories grouped by story_id, top entities, surges; the command itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.config import SurgeSettings
from monitor.trends.digest import build_digest, parse_span, render_text
from monitor.trends.surges import check_surges
from tests.conftest import REPO
from tests.trends.builders import DAY, HOUR, Timeline

NAMES = {"yevkurov": "Yunus-bek Yevkurov", "haftar": "Khalifa Haftar"}


def fill(path: Path, now: float) -> None:
    """A day of news: a wire story in four outlets (alerted), a two-article story, a burst of
    Yevkurov stories that surges, unrelated news, and older articles outside the period."""
    tl = Timeline(path)
    try:
        for i in range(4):
            tl.article(now - 5 * HOUR + i * 60, f"wire{i}", "haftar", "yevkurov", story=1,
                       alert=True, score=9.0, title="Wire: Haftar meets Yevkurov" if i == 0
                       else f"Wire republished {i}")
        tl.article(now - 8 * HOUR, "wasat", "haftar", story=2, score=3.0, title="Haftar in Sirte")
        tl.article(now - 7 * HOUR, "sahel", "haftar", story=2, score=2.0, title="Sirte visit")
        tl.burst(now - HOUR, "yevkurov", articles=6, outlets=3)
        tl.article(now - 2 * HOUR, "wasat", score=0.0, title="Football results")   # no match
        tl.article(now - 3 * DAY, "old", "haftar", story=3, score=5.0, title="Old story")
        check_surges(tl.db, SurgeSettings(), now - HOUR, NAMES)
        with tl.db.transaction() as conn:     # one alert sent in the period, one before it
            conn.execute("INSERT INTO outbox(idempotency_key, destination, kind, payload_json, "
                         "status, created_at, sent_at) VALUES ('a1', 'default', 'alert', '{}', "
                         "'sent', ?, ?), ('a0', 'default', 'alert', '{}', 'sent', ?, ?)",
                         (now - 4 * HOUR, now - 4 * HOUR, now - 3 * DAY, now - 3 * DAY))
    finally:
        tl.db.close()


def test_parse_span():
    assert [parse_span(s) for s in ("30m", "24h", "7d", "1.5h")] == [1800, 86400, 7 * 86400, 5400]
    for bad in ("", "24", "h", "-1h", "0d", "3w"):
        with pytest.raises(ValueError):
            parse_span(bad)


def test_digest_on_a_filled_database(tmp_path):
    from monitor.store.db import open_database

    now = 2_000 * DAY
    fill(tmp_path / "s.db", now)
    db = open_database(tmp_path / "s.db")
    try:
        d = build_digest(db, now - DAY, now, NAMES)
    finally:
        db.close()
    assert d.articles_seen == 13 and d.alerts_sent == 1 and d.alerts_queued == 1
    # Stories: alerted first, then by size; the unrelated article is left out; the old one too.
    assert d.story_count == 8                      # wire, Sirte, 6 burst articles
    wire, sirte = d.stories[0], d.stories[1]
    assert (wire.story, wire.articles, wire.outlets, wire.alerted) == (1, 4, 4, True)
    assert wire.title == "Wire: Haftar meets Yevkurov" and wire.url.startswith("https://wire0.")
    assert (sirte.story, sirte.articles, sirte.outlets, sirte.alerted) == (2, 2, 2, False)
    assert sirte.title == "Haftar in Sirte"        # the first article's title
    assert "Football results" not in {s.title for s in d.stories}
    # Entities: mentions, distinct outlets and stories.
    assert [(e.name, e.mentions, e.outlets, e.stories) for e in d.entities] == [
        ("Yunus-bek Yevkurov", 10, 7, 7), ("Khalifa Haftar", 6, 6, 2)]
    [surge] = d.surges
    assert (surge.name, surge.ended_at, surge.peak_count) == ("Yunus-bek Yevkurov", None, 6)
    text = render_text(d)
    assert "articles seen: 13 | alerts sent: 1" in text
    assert "Wire: Haftar meets Yevkurov" in text and "ongoing" in text


def monitor(*args: str, db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env = {**clean, "MONITOR_DATABASE": str(db), "MONITOR_RULES_PATH": str(REPO / "rules")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=60, env=env)


@pytest.mark.sqlite_only   # the command runs in a process of its own, on the file
def test_digest_command(tmp_path):
    db = tmp_path / "state.db"
    fill(db, time.time())
    result = monitor("digest", "--since", "24h", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "articles seen: 13 | alerts sent: 1 (queued 1) | stories: 8 | surges: 1" in out
    assert "Wire: Haftar meets Yevkurov" in out and "top entities" in out
    assert "Yunus-bek Yevkurov" in out          # display names from the shipped rules
    assert "queued for" not in out
    as_json = monitor("digest", "--since", "30m", "--json", db=db, cwd=tmp_path)
    data = json.loads(as_json.stdout)
    assert data["articles_seen"] == 0 and data["until"] - data["since"] == 1800
    week = json.loads(monitor("digest", "--since", "7d", "--jsonl", db=db, cwd=tmp_path).stdout)
    assert week["articles_seen"] == 14 and week["story_count"] == 9
    bad = monitor("digest", "--since", "yesterday", db=db, cwd=tmp_path)
    assert bad.returncode == 2 and "30m, 24h or 7d" in bad.stderr


@pytest.mark.sqlite_only   # the command runs in a process of its own, on the file
def test_digest_send_queues_one_row(tmp_path):
    import sqlite3

    db = tmp_path / "state.db"
    fill(db, time.time())

    def digest_rows() -> list[tuple[str, str]]:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT destination, payload_json FROM outbox "
                                "WHERE idempotency_key LIKE 'digest-command:%'").fetchall()

    assert digest_rows() == []
    result = monitor("digest", "--since", "24h", "--send", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [(destination, payload_json)] = digest_rows()
    payload = json.loads(payload_json)
    assert destination == "default" and payload["kind"] == "digest"
    assert payload["title"] == "Digest of the last 24h"
    assert payload["items"][0]["title"] == "Wire: Haftar meets Yevkurov"
    assert "queued for 'default'" in result.stdout and "Digest of the last 24h" in result.stdout
    with sqlite3.connect(db) as conn:     # nothing was sent: the daemon delivers it
        assert conn.execute("SELECT status FROM outbox WHERE idempotency_key LIKE "
                            "'digest-command:%'").fetchone() == ("pending",)


def test_digest_without_database(tmp_path):
    result = monitor("digest", db=tmp_path / "missing.db", cwd=tmp_path)
    assert result.returncode == 1 and "no state database" in result.stderr
