"""The real daemon (``monitor run`` in a subprocess) with a Google News search and a Telegram
channel against the local fakes: both alerts reach the (fake) Bot API, the Google one linking to
the publisher's page and the channel's to the post; a SIGKILL and a restart send neither again."""

from __future__ import annotations

import html
import re
import sqlite3
import time
from pathlib import Path

from tests.builders import PARAS, page
from tests.conftest import FAKE_TOKEN, REPO
from tests.schedule.daemon import Daemon, wait_for, write_config
from tests.servers.google_news import FakeGoogleNews
from tests.servers.http import TestServer
from tests.servers.telegram import FakeTelegram
from tests.servers.telegram_preview import TelegramPreview

ENV = {"TELEGRAM_BOT_TOKEN": FAKE_TOKEN, "PTB_TIMEDELTA": "1"}
POST = ("عاجل | رصد طائرتي شحن روسيتين تهبطان في قاعدة الجفرة\n"
        "مصادر محلية: الطائرتان وصلتا من قاعدة الخروبة شرقاً وجرى تفريغ حمولتهما تحت حراسة مشددة")


def links(text: str) -> list[str]:
    """The hrefs of a sent message (Telegram HTML)."""
    return [html.unescape(m) for m in re.findall(r'href="([^"]+)"', text)]


def sent(db: Path) -> int:
    """Outbox rows recorded sent (0 before the daemon created the database)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=10)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
                   .fetchone()[0])
    except sqlite3.OperationalError:        # no outbox table yet
        return 0
    finally:
        conn.close()


def test_daemon_delivers_a_google_news_and_a_telegram_alert(tmp_path):
    with FakeGoogleNews() as gn, TelegramPreview() as tme, TestServer() as site, \
            FakeTelegram() as bot:
        publisher = site.static("/news/yevkurov.html",
                                page("يفكوروف في بنغازي", PARAS, site="موقع الناشر").encode(),
                                "text/html; charset=utf-8")
        google_link = gn.add_item("نائب وزير الدفاع الروسي يفكوروف يصل إلى بنغازي",
                                  "بوابة الوسط", publisher)
        channel = tme.channel("libya_now", "ليبيا الآن")
        post = channel.post(POST)
        post_link = f"{tme.base}/libya_now/{post}"
        db = tmp_path / "state" / "monitor.db"
        write_config(tmp_path, {
            "database": str(db), "rules_path": str(REPO / "rules"),
            "poll": {"interval_seconds": 1, "min_interval_seconds": 1,
                     "max_interval_seconds": 1, "jitter_seconds": 0},
            "fetch": {"allow_addresses": [f"127.0.0.1:{p}" for p in (gn.port, tme.port,
                                                                     site.port)]},
            "sources": {"google_news_base": gn.base, "telegram_base": tme.base},
            "alerts": {"sink": "telegram", "api_base_url": bot.base_url,
                       "per_chat_per_minute": 1000, "per_chat_window_seconds": 1,
                       "destinations": {"default": {"chat_id": "@libya_watch"}}},
            "ops": {"notices": False},
            "feeds": [{"name": "gn-yevkurov", "type": "google_news", "query": "يفكوروف",
                       "url": gn.search_url("يفكوروف")},
                      {"name": "libya-now", "type": "telegram", "channel": "libya_now",
                       "url": tme.preview_url("libya_now")}]})

        daemon = Daemon(tmp_path, ENV).start()
        try:
            wait_for(lambda: len(bot.messages) >= 2, 60, "two alerts at the Bot API")
            # Killed once both are recorded sent: a kill between Telegram's receipt and that
            # record may send a message again by design (tests/schedule/test_crash.py).
            wait_for(lambda: sent(db) == 2, 30, "both alerts recorded sent")
            daemon.kill()                       # SIGKILL, then a restart polling again
            polls = gn.count("search"), tme.hits("libya_now")
            daemon = Daemon(tmp_path, ENV).start()
            wait_for(lambda: gn.count("search") >= polls[0] + 2
                     and tme.hits("libya_now") >= polls[1] + 2, 60, "two polls after restart")
            time.sleep(0.5)                     # let anything queued by them be sent
            assert daemon.terminate() == 0
        finally:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.kill()

        texts = [m["text"] for m in bot.messages]
        assert len(texts) == 2, texts
        google = next(t for t in texts if publisher in links(t))
        assert google_link not in links(google) and "بوابة الوسط" in google
        telegram = next(t for t in texts if post_link in links(t))
        assert "ليبيا الآن" in telegram and "الجفرة" in telegram
        assert {m["chat_id"] for m in bot.messages} == {"@libya_watch"}
        assert gn.count("batchexecute") == 1          # resolved once, across the restart
        assert sent(db) == 2
