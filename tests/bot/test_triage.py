"""Triage buttons end to end in process: the sender and the bot task against the fake Bot API,
which sends real callback_query updates. Buttons on every alert; a press recorded, tallied on
the buttons and answered; a second press replaces; strangers refused politely and logged;
administrators of the destination chat; foreign data; mutes of stories and entities."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from monitor.alert.payload import AlertPayload
from monitor.app import open_app
from monitor.bot.access import REFUSED_PRESS
from monitor.bot.triage import NOT_OURS, UNKNOWN_ALERT
from monitor.report import outbox_table
from monitor.store import judgements, outbox, triage
from monitor.store.db import open_database
from tests.bot.harness import ANALYST, CHAT, SECOND, STRANGER, bot_settings, live, seed, until


@pytest.fixture(autouse=True)
def _token(telegram_token: str) -> str:
    return telegram_token


def db_rows(settings, sql, *args):
    db = open_database(settings.database)
    try:
        return [tuple(r) for r in db.conn.execute(sql, args).fetchall()]
    finally:
        db.close()


def test_every_alert_carries_the_buttons_and_other_messages_none(tmp_path, tg) -> None:
    settings = bot_settings(tmp_path, tg)
    ids = seed(settings, [None, None])
    db = open_database(settings.database)
    outbox.enqueue_now(db, key="n", destination="default", now=time.time(),
                       payload=AlertPayload(kind="notice", title="notice", body="b"))
    db.close()

    async def go() -> None:
        async with live(settings):
            await until(lambda: len(tg.messages) == 3, "three messages")
    asyncio.run(go())
    for message, row in zip(tg.messages[:2], ids, strict=True):
        assert tg.buttons(CHAT, message["message_id"]) == ["✅ relevant", "❌ not relevant",
                                                           "🔕 mute story"]
        data = [b["callback_data"] for b in tg.markup(CHAT, message["message_id"])
                ["inline_keyboard"][0]]
        assert data == [f"t:{row}:r", f"t:{row}:n", f"t:{row}:m"]
    assert tg.markup(CHAT, tg.messages[2]["message_id"]) is None      # a notice: no buttons


def test_a_press_is_recorded_tallied_answered_and_a_second_press_replaces(tmp_path, tg) -> None:
    settings = bot_settings(tmp_path, tg)
    [row] = seed(settings, [None])

    async def go() -> None:
        async with live(settings):
            [mid] = await until(lambda: [m["message_id"] for m in tg.messages], "the alert")
            first = tg.press(mid, CHAT, f"t:{row}:r", ANALYST, "Ana")
            await until(lambda: tg.buttons(CHAT, mid)[0] == "✅ 1", "the tally")
            tg.press(mid, CHAT, f"t:{row}:n", SECOND, "Bo")
            await until(lambda: tg.buttons(CHAT, mid)[:2] == ["✅ 1", "❌ 1"], "two judged")
            last = tg.press(mid, CHAT, f"t:{row}:n", ANALYST, "Ana")      # Ana changes her mind
            await until(lambda: tg.buttons(CHAT, mid)[:2] == ["✅ relevant", "❌ 2"], "replaced")
            await until(lambda: len(tg.answers) == 3, "three answers")
            assert first < last
    asyncio.run(go())
    assert [a["text"] for a in tg.answers] == ["✅ recorded — 1 relevant, 0 not",
                                               "❌ recorded — 1 relevant, 1 not",
                                               "❌ recorded — 0 relevant, 2 not"]
    assert db_rows(settings, "SELECT user_id, user_name, label, rule_id FROM judgements "
                             "ORDER BY user_id") == [(ANALYST, "Ana", "not_relevant", "r1"),
                                                     (SECOND, "Bo", "not_relevant", "r1")]
    db = open_database(settings.database)
    assert judgements.update_offset(db) == tg.pushed[-1]["update_id"] + 1
    assert outbox.status_rows(db)[0]["sent"] == 1            # tally edits are not messages
    db.close()
    assert tg.unconfirmed == []


def test_a_stranger_is_refused_politely_and_logged(tmp_path, tg, caplog) -> None:
    settings = bot_settings(tmp_path, tg)
    [row] = seed(settings, [None])
    caplog.set_level(logging.INFO)

    async def go() -> None:
        async with live(settings):
            [mid] = await until(lambda: [m["message_id"] for m in tg.messages], "the alert")
            tg.press(mid, CHAT, f"t:{row}:r", STRANGER, "Eve")
            await until(lambda: tg.answers, "the answer")
    asyncio.run(go())
    assert tg.answers[0]["text"] == REFUSED_PRESS
    assert db_rows(settings, "SELECT COUNT(*) FROM judgements") == [(0,)]
    assert tg.buttons(CHAT, 1)[0] == "✅ relevant" and not tg.markup_edits
    refused = [r.getMessage() for r in caplog.records if "REFUSED" in r.getMessage()]
    assert refused and f"user_id={STRANGER}" in refused[0] and "Eve" in refused[0]


def test_administrators_of_the_destination_chat_may_judge(tmp_path, tg) -> None:
    settings = bot_settings(tmp_path, tg, users=[], admins=True)
    [row] = seed(settings, [None])
    tg.admins[CHAT] = [500, 501]

    async def go() -> None:
        async with live(settings):
            [mid] = await until(lambda: [m["message_id"] for m in tg.messages], "the alert")
            tg.press(mid, CHAT, f"t:{row}:r", 501)
            tg.press(mid, CHAT, f"t:{row}:n", ANALYST)     # not an administrator here
            tg.press(mid, CHAT, f"t:{row}:r", 500)
            await until(lambda: len(tg.answers) == 3, "three answers")
            await until(lambda: tg.buttons(CHAT, mid)[0] == "✅ 2", "the tally")
    asyncio.run(go())
    assert [a["text"] for a in tg.answers] == ["✅ recorded — 1 relevant, 0 not", REFUSED_PRESS,
                                               "✅ recorded — 2 relevant, 0 not"]
    assert len(tg.calls("getChatAdministrators")) == 1             # cached
    assert db_rows(settings, "SELECT user_id FROM judgements ORDER BY user_id") == [(500,),
                                                                                   (501,)]


@pytest.mark.parametrize("data", ["x", "", "t:1:q", "t:01:r", "t:-1:r", "t:1:r ", "t: 1:r",
                                  "t:99999999999999999999:r", "t:1:r:extra", "ⓣ:1:r",
                                  "t:" + "9" * 60 + ":r"])
def test_foreign_or_forged_data_is_answered_and_skipped(tmp_path, tg, data) -> None:
    settings = bot_settings(tmp_path, tg)
    seed(settings, [None])

    async def go() -> None:
        async with live(settings):
            [mid] = await until(lambda: [m["message_id"] for m in tg.messages], "the alert")
            tg.press(mid, CHAT, data, ANALYST)
            await until(lambda: tg.answers, "the answer")
            await until(lambda: not tg.unconfirmed, "the update confirmed")
    asyncio.run(go())
    assert tg.answers[0]["text"] == NOT_OURS
    assert db_rows(settings, "SELECT COUNT(*) FROM judgements") == [(0,)]


def test_a_press_naming_another_alert_or_message_is_skipped(tmp_path, tg) -> None:
    settings = bot_settings(tmp_path, tg)
    rows = seed(settings, [None, None])

    async def go() -> None:
        async with live(settings):
            mids = await until(lambda: [m["message_id"] for m in tg.messages]
                               if len(tg.messages) == 2 else None, "the alerts")
            tg.press(mids[0], CHAT, f"t:{rows[1]}:r", ANALYST)    # data of the other message
            tg.press(mids[0], CHAT, "t:4242:r", ANALYST)           # no such alert
            tg.press(mids[0], "-100555", f"t:{rows[0]}:r", ANALYST)  # another chat
            await until(lambda: len(tg.answers) == 3, "the answers")
    asyncio.run(go())
    assert [a["text"] for a in tg.answers] == [UNKNOWN_ALERT] * 3
    assert db_rows(settings, "SELECT COUNT(*) FROM judgements") == [(0,)]


def test_several_presses_waiting_collapse_into_one_edit(tmp_path, tg) -> None:
    """Presses recorded while the sender was away (their tally rows queued with them): one
    keyboard edit shows them all."""
    settings = bot_settings(tmp_path, tg)
    [row] = seed(settings, [None])

    async def send_alert() -> None:
        async with open_app(settings) as app:
            await app.drainer.drain(wait=False)
    asyncio.run(send_alert())
    db = open_database(settings.database)
    for n, user in enumerate((ANALYST, SECOND, 113)):
        judgements.judge_alert(db, update_id=n + 1, outbox_id=row, judge=judgements.Judge(user),
                               label="relevant" if n else "not_relevant", now=time.time())
    assert len(triage.pending_tallies(db, "default", row)) == 3
    db.close()
    asyncio.run(send_alert())
    assert len(tg.markup_edits) == 1
    assert tg.buttons(CHAT, tg.messages[0]["message_id"])[:2] == ["✅ 2", "❌ 1"]
    assert db_rows(settings, "SELECT status FROM outbox WHERE kind = 'tally'") == [("sent",)] * 3


def test_a_muted_story_gets_no_more_updates_and_says_so(tmp_path, tg) -> None:
    settings = bot_settings(tmp_path, tg)
    muted, other = seed(settings, [7, 8])

    def later_report(article: int, story: int, target: int) -> None:
        db = open_database(settings.database)
        with db.transaction() as conn:
            conn.execute("INSERT INTO articles(id, identity, feed_id, title, outlet, "
                         "first_seen_at, story_id) VALUES (?, ?, 1, 'later', ?, 0, ?)",
                         (article, f"i{article}", f"outlet{article}", story))
            outbox.enqueue(conn, key=f"update:{article}", destination="default", now=time.time(),
                           payload=AlertPayload(kind="update", title="later", outlet="o",
                                                article_id=article, target_id=target))
        db.close()

    async def go(app_ready: asyncio.Event | None = None) -> None:
        async with live(settings) as app:
            mids = await until(lambda: [m["message_id"] for m in tg.messages]
                               if len(tg.messages) == 2 else None, "the alerts")
            tg.press(mids[0], CHAT, f"t:{muted}:m", ANALYST)
            await until(lambda: tg.buttons(CHAT, mids[0])[2] == "🔕 muted", "muted shown")
            tg.press(mids[1], CHAT, f"t:{other}:r", ANALYST)
            await until(lambda: tg.buttons(CHAT, mids[1])[0] == "✅ 1", "the other tally")
            for n in range(3):          # enough new outlets for a threaded reply, were it edited
                later_report(10 + n, 7, muted)
            later_report(20, 8, other)
            app.drainer.wake.set()
            await until(lambda: db_rows(settings, "SELECT COUNT(*) FROM outbox WHERE kind = "
                                                  "'update' AND status = 'pending'") == [(0,)],
                        "the updates handled")
            await until(lambda: tg.edits, "the other story's edit")
    asyncio.run(go())
    assert tg.answers[0]["text"].startswith("🔕 Story muted")
    assert [e["message_id"] for e in tg.edits] == [str(tg.messages[1]["message_id"])]
    assert len(tg.messages) == 2                                      # no threaded reply
    updates = db_rows(settings, "SELECT status, payload_json FROM outbox WHERE kind = 'update'")
    assert [(s,) for s, p in updates if json.loads(p).get("target_id") == muted] == \
        [("merged",)] * 3
    # The story update's edit kept the buttons, with the tally.
    assert tg.buttons(CHAT, tg.messages[1]["message_id"]) == ["✅ 1", "❌ not relevant",
                                                              "🔕 mute story"]
    assert "outlet20" in tg.edits[0]["text"]


def mute_haftar(settings) -> None:
    db = open_database(settings.database)
    judgements.mute_entity(db, "haftar", until=time.time() + 3600,
                           judge=judgements.Judge(ANALYST, "Ana"), now=time.time())
    db.close()


def test_an_alert_whose_every_entity_is_muted_is_held_and_counted(tmp_path, tg) -> None:
    settings = bot_settings(tmp_path, tg)
    ids = seed(settings, [None, None, None], entities={1: ["haftar"], 2: ["haftar", "dbeibah"]})
    mute_haftar(settings)

    async def go() -> None:
        async with live(settings):
            await until(lambda: len(tg.messages) == 2, "the two alerts not muted")
            await until(lambda: db_rows(settings, "SELECT status FROM outbox WHERE id = ?",
                                        ids[0]) == [("muted",)], "the muted alert held")
    asyncio.run(go())
    assert ["خبر 2" in m["text"] or "خبر 3" in m["text"] for m in tg.messages] == [True, True]
    [(reason,)] = db_rows(settings, "SELECT last_error FROM outbox WHERE id = ?", ids[0])
    assert "haftar" in reason and "Ana" in reason
    db = open_database(settings.database)
    [status] = outbox.status_rows(db)
    assert (status["muted"], status["pending"], status["sent"]) == (1, 0, 2)
    table = outbox_table(outbox.status_rows(db))
    db.close()
    assert "muted" in table.splitlines()[0]


def test_held_alerts_go_out_in_one_digest_when_the_mute_ends(tmp_path, tg, monkeypatch) -> None:
    from monitor.deliver import buttons

    monkeypatch.setattr(buttons, "RELEASE_EVERY", 0.0)
    settings = bot_settings(tmp_path, tg)
    ids = seed(settings, [None, None, None], entities={1: ["haftar"], 2: ["haftar"],
                                                       3: ["dbeibah"]})
    mute_haftar(settings)

    async def go() -> None:
        async with live(settings):
            await until(lambda: len(tg.messages) == 1, "the alert not muted")
            await until(lambda: db_rows(settings, "SELECT COUNT(*) FROM outbox WHERE "
                                        "status = 'muted'") == [(2,)], "two alerts held")
            db = open_database(settings.database)
            assert judgements.unmute_entity(db, "haftar")
            db.close()
            await until(lambda: len(tg.messages) == 2, "the digest of the held alerts")
    asyncio.run(go())
    digest = tg.messages[1]["text"]
    assert "خبر 1" in digest and "خبر 2" in digest and "the mute has ended" in digest
    assert db_rows(settings, "SELECT status FROM outbox WHERE id IN (?, ?)", *ids[:2]) == [
        ("folded",), ("folded",)]
    db = open_database(settings.database)
    [status] = outbox.status_rows(db)
    db.close()
    assert (status["muted"], status["pending"]) == (0, 0)


def test_an_update_that_cannot_be_handled_is_skipped_not_retried_forever(tmp_path, tg,
                                                                         monkeypatch) -> None:
    from monitor.bot.triage import Triage

    settings = bot_settings(tmp_path, tg)
    [row] = seed(settings, [None])
    real = Triage._record
    calls: list[int] = []

    def once_broken(self, update_id, press, query):
        calls.append(update_id)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return real(self, update_id, press, query)
    monkeypatch.setattr(Triage, "_record", once_broken)

    async def go() -> None:
        async with live(settings):
            [mid] = await until(lambda: [m["message_id"] for m in tg.messages], "the alert")
            tg.press(mid, CHAT, f"t:{row}:n", ANALYST)
            tg.press(mid, CHAT, f"t:{row}:r", SECOND)
            await until(lambda: tg.buttons(CHAT, mid)[0] == "✅ 1", "the second press")
    asyncio.run(go())
    assert len(calls) == 2 and not tg.unconfirmed
    assert db_rows(settings, "SELECT user_id FROM judgements") == [(SECOND,)]
