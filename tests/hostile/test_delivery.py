"""Hostile inputs and outages at the delivery end: nothing lost, nothing blocked (issue 19).

Everything here runs the real CLI or the real daemon against local feed servers and the fake Bot
API (tests/servers/telegram.py); the cases are catalogued in docs/hostile-inputs.md ("Delivery").
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from monitor.alert.payload import AlertPayload
from monitor.store import outbox
from monitor.store.db import open_database
from tests.builders import PARAS, page, rss
from tests.conftest import FAKE_TOKEN, REPO
from tests.schedule.daemon import Daemon, free_port, wait_for, write_config
from tests.servers.telegram import FakeTelegram

TOKEN = FAKE_TOKEN
ENV = {"TELEGRAM_BOT_TOKEN": TOKEN, "PTB_TIMEDELTA": "1"}
CHANNEL = "@libya_watch"
ADMIN = "-1009999"


def monitor(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI, as an operator runs it (no MONITOR_* from the test environment)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env={**clean, **ENV})


def matching_items(server: Any, n: int, title: str = "يفكوروف في بنغازي {i}",
                   start: int = 0) -> list[dict[str, str]]:
    """``n`` feed items whose pages match the shipped rules (served by ``server``)."""
    items = []
    for i in range(start, start + n):
        text = title.format(i=i)
        server.static(f"/a/{i}.html", page(text, PARAS).encode(), "text/html")
        items.append({"title": text, "link": server.url(f"/a/{i}.html"), "guid": f"g{i}"})
    return items


def config(tmp_path: Path, server: Any, tg_url: str, *, alerts: dict[str, Any] | None = None,
           rules: Path | None = None, **sections: Any) -> dict[str, Any]:
    """A daemon/CLI configuration: one feed on ``server``, Telegram at ``tg_url``."""
    conf: dict[str, Any] = {
        "database": str(tmp_path / "state" / "monitor.db"),
        "rules_path": str(rules or REPO / "rules"),
        "poll": {"interval_seconds": 1, "min_interval_seconds": 1, "max_interval_seconds": 2,
                 "jitter_seconds": 0},
        "fetch": {"allow_addresses": [f"127.0.0.1:{server.port}"]},
        "extract": {"workers": 0},
        "alerts": {"sink": "telegram", "api_base_url": tg_url, "send_timeout": 3,
                   "retry_base_seconds": 0.5, "digest_threshold": 1000,
                   "destinations": {"default": {"chat_id": CHANNEL},
                                    "admin": {"chat_id": ADMIN}},
                   **(alerts or {})},
        "stories": {"enabled": False},    # every test article has the same body
        "ops": {"notice_check_seconds": 3600, "watch_interval_seconds": 0.3},
        "feeds": [{"name": "f", "url": server.url("/feed.xml")}],
    }
    conf.update(sections)
    write_config(tmp_path, conf)
    return conf


def serve_feed(server: Any, n: int, **kwargs: Any) -> list[dict[str, str]]:
    """A feed of ``n`` matching items at /feed.xml; returns the items."""
    items = matching_items(server, n, **kwargs)
    server.static("/feed.xml", rss(items))
    return items


@contextmanager
def running(tmp_path: Path) -> Iterator[Daemon]:
    """The real daemon for the body of a ``with``; killed afterwards if still running."""
    daemon = Daemon(tmp_path, ENV).start()
    try:
        yield daemon
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def links_of(tg: FakeTelegram, chat: str = CHANNEL) -> list[str]:
    """Every article link Telegram received in ``chat``, one entry per occurrence."""
    return [m for msg in tg.messages if msg["chat_id"] == chat
            for m in re.findall(r'href="([^"]+/a/\d+\.html)"', msg["text"])]


def db_rows(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql``; none while the daemon has not created the database yet."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):      # created, not migrated yet
            return []
        raise
    finally:
        conn.close()


def healthz(daemon: Daemon) -> dict[str, Any]:
    got = daemon.healthz()
    assert got is not None, "healthz unreachable"
    return got[1]


# --------------------------------------------------------------------------- 1. poison messages


def test_far_future_date_neither_crashes_nor_blocks_delivery(server, tmp_path, tg):
    """<pubDate> in year 9999 (year 10000 in Tripoli): `monitor once` used to exit 1 in the drain
    step, for ever. The date is clamped when parsed; every alert goes out."""
    items = matching_items(server, 3)      # served below, with their dates
    items[0]["pubDate"] = "Fri, 31 Dec 9999 23:59:59 GMT"
    items[1]["pubDate"] = "Mon, 01 Jan 0001 00:00:00 GMT"
    server.static("/feed.xml", rss(items))
    config(tmp_path, server, tg.base_url)
    res = monitor("once", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert sorted(links_of(tg)) == sorted(it["link"] for it in items)
    first = next(m["text"] for m in tg.messages if items[0]["link"] in m["text"])
    assert "9999" not in first and "10000" not in first
    assert time.strftime("%Y") in first            # a future date is taken as "now"


def test_unrenderable_message_is_set_aside_and_the_queue_moves_on(server, tmp_path, tg):
    """A queued message that cannot be rendered (here a digest item that is not an object, as a
    corrupt or foreign row would be) used to kill the destination's drain task every 2 s. It is
    set aside with its reason: `monitor status`, /metrics, an operator notice; the alerts behind
    it are delivered."""
    db_path = tmp_path / "state" / "monitor.db"
    db = open_database(db_path)
    outbox.enqueue_now(db, key="poison", destination="default", now=time.time(),
                       payload=AlertPayload(kind="digest", title="broken", items=(42,)))  # type: ignore[arg-type]
    db.close()
    serve_feed(server, 2)
    config(tmp_path, server, tg.base_url)
    with running(tmp_path) as daemon:
        wait_for(lambda: len(links_of(tg)) == 2, 60, "the alerts behind the poison message")
        wait_for(lambda: any("set aside" in m["text"] for m in tg.messages
                             if m["chat_id"] == ADMIN), 30, "operator notice")
        metrics = daemon.metrics()
        assert 'monitor_alerts_set_aside_total{destination="default",reason="render"} 1.0' in metrics
        status = monitor("status", cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        line = next(x for x in status.stdout.splitlines() if x.startswith("default"))
        assert "set aside" in status.stdout.splitlines()[0]
        assert "cannot render" in status.stdout and "not an object" in status.stdout, status.stdout
        assert line.split()[5] == "1", status.stdout
        assert daemon.terminate() == 0
    assert "Task exception was never retrieved" not in daemon.text()
    assert db_rows(db_path, "SELECT status FROM outbox WHERE idempotency_key = 'poison'") == \
        [("rejected",)]


# --------------------------------------------------------------------------- 2. digests


def test_every_alert_folded_into_a_backlog_digest_shows_title_and_link(server, tmp_path, tg):
    """60 pending alerts with long headlines, folded by 25: the renderer used to list 20 and drop
    more to fit, yet count them all as delivered. Now every folded alert appears, titles shortened,
    in as many digest messages as needed, and counts as delivered only once its digest is sent."""
    filler = " ".join(["وتفاصيل إضافية عن الزيارة والمباحثات العسكرية"] * 6)
    items = serve_feed(server, 60, title="يفكوروف في بنغازي {i} " + filler)
    config(tmp_path, server, tg.base_url, alerts={
        "digest_threshold": 10, "digest_individual": 3, "digest_max_items": 25,
        "per_chat_per_minute": 1000})
    res = monitor("once", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(links_of(tg)) == sorted(it["link"] for it in items)
    for it in items:
        msg = next(m["text"] for m in tg.messages if f'href="{it["link"]}"' in m["text"])
        shown = msg.split(f'href="{it["link"]}">', 1)[1].split("</a>", 1)[0]
        assert shown.startswith(it["title"][:40].rstrip()), shown   # shortened, never dropped
    assert len(tg.messages) > 3 + 60 // 25          # split further than 25 a message
    status = monitor("status", cwd=tmp_path)
    line = next(x for x in status.stdout.splitlines() if x.startswith("default")).split()
    assert line[1] == "0" and line[3] == "3" and line[4] == "57", status.stdout


def test_digest_settings_that_cannot_be_honoured_are_refused(server, tmp_path, tg):
    """More items than one Telegram message can link (100 entities) are refused at start."""
    config(tmp_path, server, tg.base_url, alerts={"digest_max_items": 500})
    res = monitor("once", cwd=tmp_path)
    assert res.returncode == 2
    assert "alerts.digest_max_items" in res.stderr and "monitor.yaml" in res.stderr, res.stderr


# --------------------------------------------------------------------------- 3. start-up


def test_daemon_starts_polls_and_queues_while_telegram_refuses_connections(server, tmp_path):
    """Start-up used to call getMe and exit 2 with the Bot API unreachable. It starts, polls
    throughout, queues; the first alert leaves within 10 s of Telegram answering again."""
    serve_feed(server, 2)
    with FakeTelegram(port=free_port(), listening=False) as tg:
        # A long own back-off (15-45 s after the first failure) that the probe must cut short.
        config(tmp_path, server, tg.base_url, alerts={"retry_base_seconds": 30})
        db_path = tmp_path / "state" / "monitor.db"
        with running(tmp_path) as daemon:
            wait_for(lambda: "daemon started" in daemon.text(), 30, "daemon up")
            wait_for(lambda: db_rows(db_path, "SELECT COUNT(*) FROM outbox WHERE status = "
                                              "'pending'") == [(2,)], 60, "alerts queued")
            polled = server.hits("/feed.xml")
            wait_for(lambda: server.hits("/feed.xml") >= polled + 3, 30, "polling goes on")
            assert healthz(daemon)["telegram"]["state"] == "unreachable"
            status = monitor("status", cwd=tmp_path)
            assert "telegram: UNREACHABLE" in status.stdout, status.stdout
            time.sleep(2)
            tg.accept()
            up = time.monotonic()
            wait_for(lambda: len(links_of(tg)) == 2, 30, "alerts after the outage")
            first = min(t for m, _, t in tg.timed_requests if m == "sendMessage")
            # The bound: the probe runs every 5 s (alerts.probe_seconds) while a
            # destination backs off, so this leaves 5 s for the probe's own call and the send.
            assert first - up <= 10, f"first alert {first - up:.1f} s after Telegram came back"
            assert healthz(daemon)["telegram"]["state"] == "ok"
            assert daemon.terminate() == 0


@pytest.mark.parametrize("answer", [(500,), (429, 30)], ids=["getme-500", "getme-429"])
def test_daemon_starts_when_getme_fails(server, tmp_path, tg, answer):
    tg.script("getMe", *[answer] * 5)
    serve_feed(server, 1)
    config(tmp_path, server, tg.base_url)
    with running(tmp_path) as daemon:
        wait_for(lambda: len(links_of(tg)) == 1, 60, "the alert")
        assert daemon.proc.poll() is None
        assert daemon.terminate() == 0


def test_rejected_token_is_reported_loudly_and_polling_goes_on(server, tmp_path, tg):
    tg.valid_tokens = {"42:another-token"}
    serve_feed(server, 1)
    config(tmp_path, server, tg.base_url)
    db_path = tmp_path / "state" / "monitor.db"
    with running(tmp_path) as daemon:
        wait_for(lambda: (healthz(daemon) if daemon.healthz() else {}).get(
            "telegram", {}).get("state") == "token_rejected", 60, "token reported as rejected")
        wait_for(lambda: db_rows(db_path, "SELECT COUNT(*) FROM outbox") == [(1,)], 60,
                 "the alert queued")
        polled = server.hits("/feed.xml")
        wait_for(lambda: server.hits("/feed.xml") >= polled + 2, 30, "polling goes on")
        with urllib.request.urlopen(f"http://127.0.0.1:{daemon.ops_port}/healthz") as r:
            health_body = r.read().decode()
        status = monitor("status", cwd=tmp_path)
        assert "telegram: BOT TOKEN REJECTED" in status.stdout, status.stdout
        assert daemon.terminate() == 0
    log = daemon.text()
    assert re.search(r"ERROR .*bot token rejected", log, re.I), log[-3000:]
    assert db_rows(db_path, "SELECT status FROM outbox") == [("pending",)]
    everything = log + status.stdout + status.stderr + health_body
    assert TOKEN not in everything and TOKEN.split(":")[1] not in everything
    state = b"".join(p.read_bytes() for p in db_path.parent.glob("*"))
    assert TOKEN.split(":")[1].encode() not in state


# --------------------------------------------------------------------------- 15. destinations

TYPO_RULE = """
rules:
  - id: yevkurov_typo
    title: Yevkurov, misrouted
    all: [yevkurov]
    threshold: 1
    severity: high
    destination: libya_wach
"""


def test_rule_with_unconfigured_destination_warns_everywhere(server, tmp_path, tg):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (rules / "typo.yaml").write_text(TYPO_RULE, encoding="utf-8")
    items = serve_feed(server, 1)
    config(tmp_path, server, tg.base_url, rules=rules)
    want = re.compile(r"typo\.yaml:3: rule 'yevkurov_typo': destination 'libya_wach' is not "
                      r"configured .*falls? back to the default destination 'default'")

    check = monitor("rules", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert want.search(check.stdout + check.stderr), check.stdout + check.stderr

    with running(tmp_path) as daemon:
        wait_for(lambda: want.search(daemon.text()), 30, "start-up warning")
        # The misrouted alert still goes out, to the default destination's chat.
        db_path = tmp_path / "state" / "monitor.db"
        wait_for(lambda: db_rows(db_path, "SELECT status FROM outbox WHERE destination = "
                                          "'libya_wach'") == [("sent",)], 60,
                 "the misrouted alert sent")
        assert set(links_of(tg)) == {items[0]["link"]}
        (rules / "typo2.yaml").write_text(TYPO_RULE.replace("yevkurov_typo", "second_typo")
                                          .replace("libya_wach", "admn"), encoding="utf-8")
        wait_for(lambda: "rules reloaded" in daemon.text(), 30, "reload")
        wait_for(lambda: re.search(r"typo2\.yaml:3: rule 'second_typo': destination 'admn' is "
                                   r"not configured", daemon.text()), 30, "reload warning")
        assert daemon.terminate() == 0


def test_dates_are_clamped_but_identity_keeps_the_feeds_value():
    """Clamping happens when parsing; an item dated in the future keeps one identity while the
    clock moves (it would otherwise be "new", and alert, at every poll)."""
    from monitor.parse.feed import parse_feed
    from monitor.store.articles import timestamp_from_iso

    body = rss([{"title": "t", "link": "https://e.example/1", "guid": "g",
                 "pubDate": "Fri, 31 Dec 9999 23:59:59 GMT"},
                {"title": "u", "link": "https://e.example/2", "guid": "h",
                 "pubDate": "Mon, 01 Jan 0001 00:00:00 GMT"}])
    first = parse_feed(body, feed_name="f", final_url="https://e.example/feed", content_type=None)
    time.sleep(0.01)
    again = parse_feed(body, feed_name="f", final_url="https://e.example/feed", content_type=None)
    assert [i.identity for i in first.items] == [i.identity for i in again.items]
    future, ancient = first.items
    assert future.published is not None and future.published.timestamp() <= time.time()
    assert ancient.published is None
    assert timestamp_from_iso("9999-12-31") <= time.time()          # a page's date (trafilatura)
    assert timestamp_from_iso("0001-01-01T00:00:00+14:00") is None
    assert timestamp_from_iso("2026-11-20T10:15:00+02:00") == 1795162500.0
