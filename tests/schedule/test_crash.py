"""SIGKILL at any moment loses nothing: every matched article is alerted after restarts, and
the only duplicates are messages caught between Telegram's receipt and our confirmation."""

from __future__ import annotations

import random
import re
import sqlite3
import time
from collections import Counter

from tests.builders import PARAS, page, rss
from tests.conftest import REPO
from tests.schedule.daemon import Daemon, wait_for
from tests.servers.http import send
from tests.servers.telegram import FakeTelegram

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
N = 30


def db_rows(path, sql):
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_repeated_sigkill_loses_nothing_and_duplicates_only_in_the_window(server, tmp_path):
    def article(i):
        def route(h):
            time.sleep(0.05)
            send(h, 200, page(f"يفكوروف في بنغازي {i}", PARAS).encode(), "text/html")
        return route
    items = []
    for i in range(N):
        server.add(f"/a/{i}.html", article(i))
        items.append({"title": f"يفكوروف في بنغازي {i}", "link": server.url(f"/a/{i}.html"),
                      "guid": f"g{i}"})
    server.static("/feed.xml", rss(items))
    db = tmp_path / "state" / "monitor.db"
    with FakeTelegram() as tg:
        tg.latency = 0.15
        (tmp_path / "monitor.yaml").write_text(
            f"database: {db}\nrules_path: {REPO / 'rules'}\n"
            "poll: {interval_seconds: 1, min_interval_seconds: 1, max_interval_seconds: 2, "
            "jitter_seconds: 0}\n"
            f"fetch: {{allow_addresses: ['127.0.0.1:{server.port}'], per_host_concurrency: 2}}\n"
            "extract: {workers: 0}\n"
            f"alerts: {{sink: telegram, api_base_url: '{tg.base_url}', digest_threshold: 1000,"
            " per_chat_per_minute: 1000, per_chat_window_seconds: 1, retry_base_seconds: 0.2,"
            " destinations: {default: {chat_id: '@libya_watch'}}}\n"
            "ops: {notices: false}\nstories: {enabled: false}\n"
            f"feeds:\n  - {{name: f, url: '{server.url('/feed.xml')}'}}\n")
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "PTB_TIMEDELTA": "1"}
        rng = random.Random(20261123)
        in_window: Counter[int] = Counter()
        kills = 0
        for _ in range(5):
            daemon = Daemon(tmp_path, env).start()
            time.sleep(rng.uniform(0.8, 2.5))
            daemon.kill()
            kills += 1
            if db.exists():
                for (article_id,) in db_rows(db, "SELECT article_id FROM outbox "
                                                 "WHERE status = 'sending'"):
                    in_window[article_id] += 1
        daemon = Daemon(tmp_path, env).start()
        try:
            wait_for(lambda: "daemon started" in daemon.text(), 30, "final daemon up")

            def done():
                pending = db_rows(db, "SELECT COUNT(*) FROM articles "
                                      "WHERE extraction_status = 'pending'")[0][0]
                unsent = db_rows(db, "SELECT COUNT(*) FROM outbox WHERE status != 'sent'")[0][0]
                total = db_rows(db, "SELECT COUNT(*) FROM articles")[0][0]
                return total == N and pending == 0 and unsent == 0
            wait_for(done, 90, "every article processed and alerted")
            assert daemon.terminate() == 0
        finally:
            if daemon.proc.poll() is None:
                daemon.kill()

        alerted = {r[0] for r in db_rows(db, "SELECT id FROM articles WHERE alert = 1")}
        assert len(alerted) == N
        per_article = Counter(r[0] for r in db_rows(db, "SELECT article_id FROM outbox"))
        assert set(per_article) == alerted and set(per_article.values()) == {1}

        url_to_id = {r[1]: r[0] for r in db_rows(db, "SELECT id, canonical_url FROM articles")}
        received = Counter(url_to_id[m.group(1)] for text in (msg["text"] for msg in tg.messages)
                           if (m := re.search(r'href="([^"]+/a/\d+\.html)"', text)))
        assert set(received) == alerted, "an alerted article never reached Telegram"
        duplicates = {a: n - 1 for a, n in received.items() if n > 1}
        for article_id, extra in duplicates.items():
            assert extra <= in_window[article_id], (
                f"article {article_id} sent {extra + 1} times but was in the send/confirm window "
                f"{in_window[article_id]} times")
        print(f"kills={kills} caught-in-window={sum(in_window.values())} duplicates={sum(duplicates.values())} messages={len(tg.messages)}")
        assert kills == 5
