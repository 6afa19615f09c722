"""The real daemon (``monitor run`` in a subprocess) SIGKILLed right after analysts press
buttons, and restarted: every press is recorded exactly once (none lost, none applied or
answered twice), the last press of each analyst counts, and the alerts show the tallies."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter

from tests.builders import PARAS, page, rss
from tests.conftest import REPO
from tests.schedule.daemon import Daemon, wait_for
from tests.servers.telegram import FakeTelegram

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
CHAT = "@libya_watch"
N = 4
ANALYSTS = (111, 112, 113)
STRANGER = 999


def db_rows(path, sql, *args):
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def outbox_of(tg: FakeTelegram, message_id: int) -> int:
    """The outbox id the alert's buttons carry."""
    markup = tg.markup(CHAT, message_id)
    return int(markup["inline_keyboard"][0][0]["callback_data"].split(":")[1])


def test_presses_survive_sigkill_exactly_once(server, tmp_path) -> None:
    for i in range(N):
        server.static(f"/a/{i}.html", page(f"يفكوروف في بنغازي {i}", PARAS).encode(),
                      "text/html")
    server.static("/feed.xml", rss([{"title": f"يفكوروف في بنغازي {i}",
                                     "link": server.url(f"/a/{i}.html"), "guid": f"g{i}"}
                                    for i in range(N)]))
    db = tmp_path / "state" / "monitor.db"
    with FakeTelegram() as tg:
        (tmp_path / "monitor.yaml").write_text(
            f"database: {db}\nrules_path: {REPO / 'rules'}\n"
            "poll: {interval_seconds: 60, jitter_seconds: 0}\n"
            f"fetch: {{allow_addresses: ['127.0.0.1:{server.port}']}}\n"
            "extract: {workers: 0}\n"
            f"alerts: {{sink: telegram, api_base_url: '{tg.base_url}', digest_threshold: 1000,"
            " per_chat_per_minute: 1000, per_chat_window_seconds: 1, retry_base_seconds: 0.2,"
            f" destinations: {{default: {{chat_id: '{CHAT}'}}}}}}\n"
            f"analysts: {{users: {list(ANALYSTS)}, poll_timeout_seconds: 2}}\n"
            "ops: {notices: false}\nstories: {enabled: false}\n"
            f"feeds:\n  - {{name: f, url: '{server.url('/feed.xml')}'}}\n")
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "PTB_TIMEDELTA": "1"}
        daemon = Daemon(tmp_path, env).start()
        try:
            wait_for(lambda: len(tg.messages) == N and all(tg.markup(CHAT, m["message_id"])
                                                           for m in tg.messages), 60,
                     "every alert sent with its buttons")
            alerts = {m["message_id"]: outbox_of(tg, m["message_id"]) for m in tg.messages}
            rng = random.Random(20261116)
            last: dict[tuple[int, int], tuple[str, int]] = {}    # (outbox, user) → (label, update)
            presses: list[tuple[int, int]] = []                   # (outbox id, update id)
            for _ in range(4):
                wait_for(lambda d=daemon: "bot: reading updates" in d.text(), 30, "the bot up")
                for _ in range(rng.randint(3, 6)):
                    mid = rng.choice(list(alerts))
                    user = rng.choice(ANALYSTS)
                    code = rng.choice("rn")
                    update = tg.press(mid, CHAT, f"t:{alerts[mid]}:{code}", user)
                    last[(alerts[mid], user)] = ("relevant" if code == "r" else "not_relevant",
                                                 update)
                    presses.append((alerts[mid], update))
                tg.press(next(iter(alerts)), CHAT, f"t:{alerts[next(iter(alerts))]}:r", STRANGER)
                time.sleep(rng.uniform(0.0, 0.3))
                daemon.kill()
                mid = rng.choice(list(alerts))            # pressed while the daemon is down
                update = tg.press(mid, CHAT, f"t:{alerts[mid]}:r", ANALYSTS[0])
                last[(alerts[mid], ANALYSTS[0])] = ("relevant", update)
                presses.append((alerts[mid], update))
                daemon = Daemon(tmp_path, env).start()

            def settled() -> bool:
                judged = {(o, u): (label, up) for o, u, label, up in db_rows(
                    db, "SELECT outbox_id, user_id, label, update_id FROM judgements")}
                pending = db_rows(db, "SELECT COUNT(*) FROM outbox WHERE status != 'sent'")
                return judged == last and pending == [(0,)] and not tg.unconfirmed
            wait_for(settled, 60, "every press recorded and every tally shown")
            assert daemon.terminate() == 0
        finally:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.kill()

    # None lost: one tally row per press of an analyst (the stranger's were refused).
    keys = {k for (k,) in db_rows(db, "SELECT idempotency_key FROM outbox WHERE kind = 'tally'")}
    assert keys == {f"tally:{o}:{u}" for o, u in presses}
    assert db_rows(db, "SELECT COUNT(*) FROM judgements WHERE user_id = ?", STRANGER) == [(0,)]
    # None applied twice: no press was answered twice (an answer follows its recording).
    answered = Counter(p["callback_query_id"] for p in tg.calls("answerCallbackQuery"))
    assert answered and max(answered.values()) == 1
    offset = db_rows(db, "SELECT value FROM service_state WHERE key = 'telegram.update_offset'")
    assert int(offset[0][0]) == tg.pushed[-1]["update_id"] + 1
    # The buttons show each alert's tally.
    for mid, row in alerts.items():
        counts = Counter(label for (o, _), (label, _) in last.items() if o == row)
        shown = tg.buttons(CHAT, mid)[:2]
        assert shown == [f"✅ {counts['relevant']}" if counts["relevant"] else "✅ relevant",
                         f"❌ {counts['not_relevant']}" if counts["not_relevant"]
                         else "❌ not relevant"], (mid, shown, counts)
    statuses = Counter(s for (s,) in db_rows(db, "SELECT status FROM outbox"))
    print(f"presses={len(presses)} answered={len(answered)} edits={len(tg.markup_edits)} "
          f"outbox={json.dumps(statuses)}")
