"""Alerts that are never lost: the outbox drained into a fake Telegram Bot API on 127.0.0.1.

The real python-telegram-bot client talks HTTP to tests/servers/telegram.py; the real pipeline
fills a real SQLite file from a local feed server.
"""

from __future__ import annotations

import asyncio
import html
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.app import load_scorer, open_app
from monitor.config import Settings
from monitor.store.db import open_database
from tests.builders import PARAS, page, rss
from tests.conftest import FAKE_TOKEN, REPO, make_settings
from tests.servers.telegram import FakeTelegram

TOKEN = FAKE_TOKEN


@pytest.fixture(autouse=True)
def _token(telegram_token):
    return telegram_token


def alert_settings(tmp_path: Path, server, tg: FakeTelegram, n: int = 1, **alerts) -> Settings:
    """A feed of ``n`` articles that all match the shipped rule pack."""
    items = []
    for i in range(n):
        server.static(f"/a/{i}.html", page(f"يفكوروف في بنغازي {i}", PARAS).encode(), "text/html")
        items.append({"title": f"يفكوروف في بنغازي {i}", "link": server.url(f"/a/{i}.html"),
                      "guid": f"g{i}", "description": "ملخص"})
    server.static("/feed.xml", rss(items))
    conf = {"sink": "telegram", "api_base_url": tg.base_url, "send_timeout": 2,
            "retry_base_seconds": 0.2, "retry_max_seconds": 1, "digest_threshold": 1000,
            "destinations": {"default": {"chat_id": "@libya_watch"},
                             "ops": {"chat_id": "-1001234567890", "topic_id": 7}},
            **alerts}
    # Every article here has the same body: with story clustering they would be one story.
    # These tests are about delivery, so clustering is off (tests/dedupe covers it).
    return make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}],
                         rules_path=str(REPO / "rules"), alerts=conf, stories={"enabled": False})


def run_and_drain(settings: Settings, *, wait: bool = True, timeout: float = 60) -> None:
    async def go():
        async with open_app(settings, load_scorer(settings)) as app:
            await app.pipeline.run_cycle(settings.feeds)
            await asyncio.wait_for(app.drainer.drain(wait=wait), timeout)
    asyncio.run(go())


def outbox_rows(settings: Settings) -> list[sqlite3.Row]:
    db = open_database(settings.database)
    try:
        return db.conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    finally:
        db.close()


def sent_texts(tg: FakeTelegram) -> list[str]:
    return [m["text"] for m in tg.messages]


def test_normal_delivery_and_content(server, tmp_path, tg):
    run_and_drain(alert_settings(tmp_path, server, tg))
    assert len(tg.messages) == 1
    msg = tg.messages[0]
    assert msg["chat_id"] == "@libya_watch" and msg["parse_mode"] == "HTML"
    text = msg["text"]
    assert f'<a href="{server.url("/a/0.html")}">' in text and "يفكوروف في بنغازي 0" in text
    assert "<b>" in text and "#" in text
    assert "Africa/Tripoli" in text or "طرابلس" in text
    row = outbox_rows(tmp_path_settings := alert_settings(tmp_path, server, tg))[0]
    assert row["status"] == "sent" and row["message_id"] == msg["message_id"]
    assert tmp_path_settings.alerts.link_preview


def test_429_waits_exactly_retry_after(server, tmp_path, tg):
    tg.script("sendMessage", (429, {"retry_after": 2}))
    started = time.monotonic()
    run_and_drain(alert_settings(tmp_path, server, tg))
    times = [t for method, _, t in tg.timed_requests if method == "sendMessage"]
    assert len(times) == 2 and times[1] - times[0] >= 2.0
    assert time.monotonic() - started < 20
    assert len(tg.messages) == 1


def test_500s_then_success(server, tmp_path, tg):
    tg.script("sendMessage", (500,), (502,), (500,))
    run_and_drain(alert_settings(tmp_path, server, tg))
    assert len(tg.messages) == 1
    row = outbox_rows(alert_settings(tmp_path, server, tg))[0]
    assert row["status"] == "sent" and row["attempts"] == 4


def test_timeout_is_retried_and_is_the_documented_duplicate(server, tmp_path, tg):
    tg.script("sendMessage", ("timeout", 4))
    run_and_drain(alert_settings(tmp_path, server, tg))
    # The fake kept the timed-out message (as Telegram may): at-least-once means two copies.
    assert len(tg.messages) == 2
    assert outbox_rows(alert_settings(tmp_path, server, tg))[0]["status"] == "sent"


@pytest.mark.sqlite_only   # runs `monitor` in a process of its own, on the file
def test_forbidden_pauses_destination_and_keeps_the_queue(server, tmp_path, tg):
    tg.script("sendMessage", (403, "Forbidden: bot was kicked from the channel chat"),
              chat_id="@libya_watch")
    settings = alert_settings(tmp_path, server, tg)
    run_and_drain(settings, wait=False)
    row = outbox_rows(settings)[0]
    assert row["status"] == "pending" and "kicked" in row["last_error"]
    status = subprocess.run([sys.executable, "-m", "monitor", "status"], cwd=tmp_path, text=True,
                            capture_output=True, env={**os.environ,
                                                      "MONITOR_DATABASE": str(settings.database)})
    assert "PAUSED" in status.stdout and "kicked" in status.stdout, status.stdout + status.stderr
    assert "pending" in status.stdout.splitlines()[0]


def test_formatting_rejection_resends_plain_text(server, tmp_path, tg):
    tg.reject_html = True
    run_and_drain(alert_settings(tmp_path, server, tg))
    assert len(tg.messages) == 1 and "parse_mode" not in tg.messages[0]
    assert "يفكوروف" in tg.messages[0]["text"] and "<a href" not in tg.messages[0]["text"]
    assert outbox_rows(alert_settings(tmp_path, server, tg))[0]["plain_fallback"] == 1


def test_hostile_title_is_escaped(server, tmp_path, tg):
    title = 'يفكوروف <b>عاجل</b> & <a href="javascript:x">رابط</a> <script>x</script> <tg-spoiler>'
    settings = alert_settings(tmp_path, server, tg, n=0)
    server.static("/x.html", page(title, PARAS).encode(), "text/html")
    server.static("/feed.xml", rss([{"title": title, "link": server.url("/x.html"), "guid": "x"}]))
    tg.validate_html = True
    run_and_drain(settings)
    assert len(tg.messages) == 1
    text = tg.messages[0]["text"]
    assert "<script>" not in text and "&lt;b&gt;عاجل&lt;/b&gt;" in text
    assert "&lt;script&gt;" in text and "&amp;" in text and '<a href="javascript' not in text
    shown = html.unescape(text.split("</a>")[0].split(">", 1)[1])
    assert shown.startswith("يفكوروف <b>عاجل</b> & <a href=")


def test_10000_character_article_fits(server, tmp_path, tg):
    long_paras = PARAS + [("وتحدثت المصادر عن يفكوروف والفيلق الأفريقي " * 60)] * 5
    settings = alert_settings(tmp_path, server, tg, n=0)
    server.static("/long.html", page("مقال طويل عن يفكوروف", long_paras).encode(), "text/html")
    server.static("/feed.xml", rss([{"title": "مقال طويل", "link": server.url("/long.html"),
                                     "guid": "long"}]))
    tg.validate_html = True
    run_and_drain(settings)
    assert len(tg.messages) == 1
    assert sum(len(p) for p in long_paras) > 10_000
    from monitor.alert.compose import visible_length
    assert visible_length(tg.messages[0]["text"]) <= 4096


def test_rules_choose_destination_with_topic(server, tmp_path, tg):
    settings = alert_settings(tmp_path, server, tg, default_destination="ops")
    run_and_drain(settings)
    msg = tg.messages[0]
    assert msg["chat_id"] in ("@libya_watch", "-1001234567890")
    if msg["chat_id"] == "-1001234567890":
        assert str(msg.get("message_thread_id")) == "7"


def test_flood_control_100_alerts(server, tmp_path, tg):
    settings = alert_settings(tmp_path, server, tg, n=100, per_chat_per_minute=25,
                              per_chat_window_seconds=1.0)
    run_and_drain(settings, timeout=120)
    times = sorted(t for m, _, t in tg.timed_requests if m == "sendMessage")
    assert len(tg.messages) == 100
    assert all(times[i + 25] - times[i] >= 0.95 for i in range(len(times) - 25))
    assert {r["status"] for r in outbox_rows(settings)} == {"sent"}


def test_deep_outbox_folds_into_digests(server, tmp_path, tg):
    settings = alert_settings(tmp_path, server, tg, n=40, digest_threshold=10,
                              digest_individual=3, digest_max_items=25)
    run_and_drain(settings)
    rows = outbox_rows(settings)
    alerts = [r for r in rows if r["kind"] == "alert"]
    digests = [r for r in rows if r["kind"] == "digest"]
    folded = [r for r in alerts if r["status"] == "folded"]
    individual = [r for r in alerts if r["status"] == "sent"]
    assert len(alerts) == 40 and len(individual) + len(folded) == 40
    assert len(digests) == 2 and all(d["status"] == "sent" for d in digests)
    assert len(tg.messages) == len(individual) + 2 < 10


def test_restart_with_non_empty_outbox(server, tmp_path, tg):
    settings = alert_settings(tmp_path, server, tg, n=3)
    tg.script("sendMessage", (500,), (500,), (500,))
    run_and_drain(settings, wait=False)
    assert len(tg.messages) == 0
    assert {r["status"] for r in outbox_rows(settings)} == {"pending"}

    async def restart():
        async with open_app(settings, load_scorer(settings)) as app:
            await app.drainer.drain(wait=True)
    asyncio.run(restart())
    assert len(tg.messages) == 3 and len({m["text"] for m in tg.messages}) == 3


def test_token_never_in_logs_state_or_status(server, tmp_path, tg):
    tg.script("sendMessage", (500,), (429, {"retry_after": 1}))
    settings = alert_settings(tmp_path, server, tg, n=2)
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"database: {settings.database}\nrules_path: {REPO / 'rules'}\nlog_level: DEBUG\n"
        f"stories: {{enabled: false}}\n"
        f"fetch:\n  allow_addresses: ['127.0.0.1:{server.port}', '127.0.0.1:{tg.port}']\n"
        f"extract:\n  workers: 0\nalerts:\n  sink: telegram\n  api_base_url: {tg.base_url}\n"
        f"  retry_base_seconds: 0.2\n  destinations:\n    default: {{chat_id: '@libya_watch'}}\n"
        f"feeds:\n  - name: f\n    url: {server.url('/feed.xml')}\n")
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    outputs = []
    for args in (["once"], ["once"], ["once"], ["status"], ["send-test"]):
        res = subprocess.run([sys.executable, "-m", "monitor", *args], cwd=tmp_path, env=env,
                             text=True, capture_output=True, timeout=120)
        outputs.append(res.stdout + res.stderr)
        time.sleep(1.2)   # let the 429's retry_after and the back-off pass between runs
    tg.unauthorized = True
    res = subprocess.run([sys.executable, "-m", "monitor", "send-test"], cwd=tmp_path, env=env,
                         text=True, capture_output=True, timeout=60)
    outputs.append(res.stdout + res.stderr)
    assert res.returncode == 1
    assert tg.tokens_seen == {TOKEN}
    assert len(tg.messages) >= 2
    everything = "\n".join(outputs)
    assert "HTTP Request" not in everything or TOKEN not in everything
    assert TOKEN not in everything and TOKEN.split(":")[1] not in everything
    db_bytes = b"".join(p.read_bytes() for p in Path(settings.database).parent.glob("*"))
    assert TOKEN.encode() not in db_bytes and TOKEN.split(":")[1].encode() not in db_bytes


def write_config(tmp_path: Path, settings: Settings, server, tg: FakeTelegram, **alerts) -> None:
    extra = "".join(f"  {k}: {v}\n" for k, v in alerts.items())
    (tmp_path / "monitor.yaml").write_text(
        f"database: {settings.database}\nrules_path: {REPO / 'rules'}\n"
        f"stories: {{enabled: false}}\n"
        f"fetch:\n  allow_addresses: ['127.0.0.1:{server.port}']\n"
        f"extract:\n  workers: 0\nalerts:\n  sink: telegram\n  api_base_url: {tg.base_url}\n"
        f"  destinations:\n    default: {{chat_id: '@libya_watch'}}\n{extra}"
        f"feeds:\n  - name: f\n    url: {server.url('/feed.xml')}\n")


@pytest.mark.sqlite_only   # runs `monitor` in a process of its own, on the file
def test_kill_between_send_and_confirm_is_the_only_duplicate(server, tmp_path, tg):
    """SIGKILL while Telegram holds the reply: that one alert is sent again after restart
    (at-least-once); every other alert arrives exactly once."""
    settings = alert_settings(tmp_path, server, tg, n=3)
    write_config(tmp_path, settings, server, tg, send_timeout=60)
    tg.script("sendMessage", ("timeout", 30))          # delivered, but the reply never comes
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "once"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not tg.messages:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.kill()
    proc.wait()
    rows = outbox_rows(settings)
    assert [r["status"] for r in rows].count("sending") == 1
    in_flight = next(r for r in rows if r["status"] == "sending")
    first_text = tg.messages[0]["text"]
    res = subprocess.run([sys.executable, "-m", "monitor", "once"], cwd=tmp_path, env=env,
                         text=True, capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr
    texts = sent_texts(tg)
    assert len(texts) == 4 and len(set(texts)) == 3
    assert texts.count(first_text) == 2
    rows = {r["id"]: r for r in outbox_rows(settings)}
    assert {r["status"] for r in rows.values()} == {"sent"}
    assert rows[in_flight["id"]]["attempts"] == 2


def test_kill_before_sending_duplicates_nothing(server, tmp_path, tg):
    settings = alert_settings(tmp_path, server, tg, n=3)
    write_config(tmp_path, settings, server, tg)
    tg.down = True   # every request is refused at the HTTP level: nothing confirmed, nothing sent
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    subprocess.run([sys.executable, "-m", "monitor", "once"], cwd=tmp_path, env=env,
                   capture_output=True, timeout=120)
    tg.down = False
    subprocess.run([sys.executable, "-m", "monitor", "once"], cwd=tmp_path, env=env,
                   capture_output=True, timeout=120)
    texts = sent_texts(tg)
    assert len(texts) == 3 and len(set(texts)) == 3


def test_jsonl_sink_and_console_default(server, tmp_path, tg, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    out = tmp_path / "alerts.jsonl"
    settings = alert_settings(tmp_path, server, tg, n=2, sink="jsonl", jsonl_path=str(out))
    run_and_drain(settings)
    import json
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 and all("يفكوروف" in x["text"] for x in lines)
    assert not tg.messages
    console = alert_settings(tmp_path / "c", server, tg, n=1, sink="auto")
    from monitor.deliver.sinks import make_sink
    sink, chat_ids = make_sink(console)
    assert type(sink).__name__ == "ConsoleSink" and not chat_ids


def test_send_test_reaches_the_channel(server, tmp_path, tg):
    settings = alert_settings(tmp_path, server, tg)
    write_config(tmp_path, settings, server, tg)
    res = subprocess.run([sys.executable, "-m", "monitor", "send-test"], cwd=tmp_path, text=True,
                         capture_output=True, timeout=60,
                         env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert res.returncode == 0, res.stderr
    assert "test alert sent to 'default'" in res.stdout
    assert tg.messages[0]["chat_id"] == "@libya_watch" and "test" in tg.messages[0]["text"]


def test_paused_destination_raises_an_operator_notice(server, tmp_path, tg):
    from monitor.schedule.service import Service
    tg.script("sendMessage", (403, "Forbidden: bot is not a member of the channel chat"),
              chat_id="@libya_watch")
    settings = alert_settings(tmp_path, server, tg)

    async def go():
        async with open_app(settings, load_scorer(settings)) as app:
            Service(app, settings, None)        # wires the drainer's pause hook to notices
            await app.pipeline.run_cycle(settings.feeds)
            await app.drainer.drain(wait=False)
            return app.db.conn.execute(
                "SELECT destination, payload_json FROM outbox WHERE kind = 'notice'").fetchall()
    rows = asyncio.run(go())
    assert len(rows) == 1 and rows[0][0] == "admin"
    assert "Destination paused: default" in rows[0][1] and "not a member" in rows[0][1]
