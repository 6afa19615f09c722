"""Bot commands through real message updates: parsed ("/cmd@bot args"), dispatched each in a
task of its own, answered with a reply; strangers refused; unknown commands get /help; a slow,
failing or hung command never holds up polling or delivery; a 409 conflict is named and retried."""

from __future__ import annotations

import asyncio
import logging

import pytest

from monitor.bot import poller
from monitor.bot.context import Command, CommandContext
from monitor.bot.poller import parse_command
from monitor.bot.replies import COMMANDS
from monitor.errors import MonitorError
from monitor.store import judgements
from monitor.store.db import open_database
from tests.bot.harness import ANALYST, CHAT, STRANGER, bot_settings, live, seed, until


@pytest.fixture(autouse=True)
def _token(telegram_token: str) -> str:
    return telegram_token


def replies(tg, chat: int | str) -> list[str]:
    """The texts the bot sent to ``chat`` (a private chat: command answers)."""
    return [m["text"] for m in tg.messages if m["chat_id"] == str(chat)]


def test_parse_command() -> None:
    assert parse_command("/status", "fake_monitor_bot") == ("status", [])
    assert parse_command("/Score@Fake_Monitor_Bot https://x.example/a  b", "fake_monitor_bot") \
        == ("score", ["https://x.example/a", "b"])
    assert parse_command("/digest\n24h", "fake_monitor_bot") == ("digest", ["24h"])
    assert parse_command("/status@other_bot", "fake_monitor_bot") is None
    for text in ("status", "/", "/ status", "/st-atus", "hello /status", "/" + "a" * 33):
        assert parse_command(text, "fake_monitor_bot") is None, text


def test_commands_are_answered_and_strangers_refused(tmp_path, tg, caplog) -> None:
    settings = bot_settings(tmp_path, tg)
    caplog.set_level(logging.INFO)

    async def go() -> None:
        async with live(settings):
            tg.say(ANALYST, ANALYST, "/help")
            tg.say(ANALYST, ANALYST, "/help@fake_monitor_bot")
            tg.say(ANALYST, ANALYST, "/help@someone_elses_bot")       # not for us: ignored
            tg.say(ANALYST, ANALYST, "just chatting")                  # not a command
            tg.say(ANALYST, ANALYST, "/nosuch <b>")
            tg.say(STRANGER, STRANGER, "/help", "Eve")
            await until(lambda: len(replies(tg, ANALYST)) == 3 and replies(tg, STRANGER),
                        "the replies")
            await until(lambda: not tg.unconfirmed, "every update confirmed")
    asyncio.run(go())
    mine = replies(tg, ANALYST)
    assert all("Commands" in text and "/help" in text for text in mine)
    # Commands run side by side: their replies may arrive in any order.
    assert sorted(t.startswith("Unknown command /nosuch.") for t in mine) == [False, False, True], \
        mine
    [refusal] = replies(tg, STRANGER)
    assert refusal.startswith("Sorry") and str(STRANGER) in refusal
    sent = [m for m in tg.messages if m["chat_id"] == str(ANALYST)]
    assert all("reply_parameters" in m for m in sent)                 # answers reply to it
    assert any("REFUSED" in r.getMessage() and f"user_id={STRANGER}" in r.getMessage()
               for r in caplog.records)


def test_a_slow_command_does_not_delay_alerts_or_presses(tmp_path, tg, monkeypatch) -> None:
    """The slow command waits for an event the test sets only once an alert was delivered and
    a press answered meanwhile: were the command blocking polling or delivery, neither would
    happen and the test would time out."""
    settings = bot_settings(tmp_path, tg, command_timeout_seconds=60)
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(ctx: CommandContext, args: list[str]) -> str:
        started.set()
        await release.wait()
        return f"slow done, offset then {judgements.update_offset(ctx.db)}"

    async def broken(ctx: CommandContext, args: list[str]) -> str:
        raise RuntimeError("boom")

    async def refusing(ctx: CommandContext, args: list[str]) -> str:
        raise MonitorError("no such feed <x>")
    monkeypatch.setitem(COMMANDS, "slow", Command("slow", slow, "waits"))
    monkeypatch.setitem(COMMANDS, "broken", Command("broken", broken, "fails"))
    monkeypatch.setitem(COMMANDS, "refusing", Command("refusing", refusing, "refuses"))

    async def go() -> None:
        async with live(settings) as app:
            tg.say(ANALYST, ANALYST, "/slow")
            await until(started.is_set, "the slow command running")
            [row] = seed(settings, [None])          # an alert queued while /slow runs
            app.drainer.wake.set()
            [mid] = await until(lambda: [m["message_id"] for m in tg.messages],
                                "the alert sent while the command runs")
            tg.press(mid, CHAT, f"t:{row}:r", ANALYST)
            await until(lambda: tg.buttons(CHAT, mid)[0] == "✅ 1", "the press handled")
            tg.say(ANALYST, ANALYST, "/broken")
            tg.say(ANALYST, ANALYST, "/refusing")
            await until(lambda: len(replies(tg, ANALYST)) == 2, "the other commands answered")
            assert not release.is_set()
            release.set()
            await until(lambda: len(replies(tg, ANALYST)) == 3, "the slow answer")
    asyncio.run(go())
    *quick, slow_reply = replies(tg, ANALYST)
    # /broken and /refusing run side by side: their replies may come in either order.
    broken_reply, refusing_reply = sorted(quick, key=lambda t: t.startswith("/refusing"))
    assert "/broken failed" in broken_reply and "boom" not in broken_reply
    assert refusing_reply == "/refusing: no such feed &lt;x&gt;"
    assert slow_reply.startswith("slow done")


def test_a_command_over_its_time_limit_is_told_so(tmp_path, tg, monkeypatch) -> None:
    settings = bot_settings(tmp_path, tg, command_timeout_seconds=0.5)

    async def hangs(ctx: CommandContext, args: list[str]) -> str:
        await asyncio.Event().wait()
        return "never"
    monkeypatch.setitem(COMMANDS, "hangs", Command("hangs", hangs, "hangs"))

    async def go() -> None:
        async with live(settings):
            tg.say(ANALYST, ANALYST, "/hangs")
            await until(lambda: replies(tg, ANALYST), "the answer")
    asyncio.run(go())
    assert replies(tg, ANALYST) == ["⏳ /hangs did not finish within 0.5 s; try again later."]


def test_a_command_runs_once_even_when_the_daemon_stops_while_it_runs(tmp_path, tg,
                                                                      monkeypatch) -> None:
    settings = bot_settings(tmp_path, tg, command_timeout_seconds=60)
    runs: list[int] = []

    async def slow(ctx: CommandContext, args: list[str]) -> str:
        runs.append(1)
        await asyncio.Event().wait()
        return "never"
    monkeypatch.setitem(COMMANDS, "slow", Command("slow", slow, "waits"))

    async def once() -> None:
        async with live(settings):
            await until(lambda: runs, "the command started")
    tg.say(ANALYST, ANALYST, "/slow")
    asyncio.run(once())                   # stopped while /slow runs: cancelled
    db = open_database(settings.database)
    assert judgements.update_offset(db) == tg.pushed[-1]["update_id"] + 1
    db.close()

    async def again() -> None:
        async with live(settings):
            tg.say(ANALYST, ANALYST, "/help")
            await until(lambda: replies(tg, ANALYST), "the next command")
    asyncio.run(again())
    assert runs == [1]


def test_a_conflict_is_named_and_polling_comes_back(tmp_path, tg, monkeypatch, caplog) -> None:
    monkeypatch.setattr(poller, "CONFLICT_RETRY", 0.5)
    settings = bot_settings(tmp_path, tg)
    [row] = seed(settings, [None])
    tg.webhook = "https://example.org/hook"
    caplog.set_level(logging.INFO)

    async def go() -> None:
        async with live(settings):
            [mid] = await until(lambda: [m["message_id"] for m in tg.messages], "the alert")
            await until(lambda: any("BOT UPDATES NOT RECEIVED" in r.getMessage()
                                    for r in caplog.records), "the conflict logged")
            tg.press(mid, CHAT, f"t:{row}:r", ANALYST)
            tg.webhook = None
            await until(lambda: tg.answers, "the press answered once the webhook is gone")
    asyncio.run(go())
    line = next(r.getMessage() for r in caplog.records
                if "BOT UPDATES NOT RECEIVED" in r.getMessage())
    assert "deleteWebhook" in line and "another process" in line
    assert tg.answers[0]["text"].startswith("✅ recorded")
