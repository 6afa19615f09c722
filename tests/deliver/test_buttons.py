"""TelegramSink's analyst side against the fake Bot API: inline keyboards on send and edit,
keyboard-only edits, getUpdates with real offsets and long polling, 409 conflicts, callback
answers, chat administrators, command replies; the console sinks take keyboards and ignore them."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from monitor.alert.keyboard import triage_keyboard
from monitor.deliver.console import ConsoleSink, JsonlSink
from monitor.deliver.telegram import TelegramSink
from monitor.errors import EditImpossible, PermanentFailure, UpdatesConflict
from tests.servers.telegram import FakeTelegram

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
CHAT = "-1001234567890"


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def run(tg: FakeTelegram, steps: Any) -> Any:
    async def go() -> Any:
        async with TelegramSink(TOKEN, base_url=tg.base_url, timeout=5.0) as sink:
            return await steps(sink)
    return asyncio.run(go())


def test_send_and_edit_carry_the_keyboard_and_an_edit_without_one_drops_it(tg) -> None:
    async def steps(sink: TelegramSink) -> None:
        sent = await sink.send(CHAT, "<b>v1</b>", keyboard=triage_keyboard(7))
        assert tg.buttons(CHAT, sent.message_id) == ["✅ relevant", "❌ not relevant",
                                                     "🔕 mute story"]
        await sink.edit(CHAT, sent.message_id, "<b>v2</b>", keyboard=triage_keyboard(7, 2, 1))
        assert tg.buttons(CHAT, sent.message_id) == ["✅ 2", "❌ 1", "🔕 mute story"]
        await sink.edit(CHAT, sent.message_id, "<b>v3</b>")
        assert tg.markup(CHAT, sent.message_id) is None        # as Telegram does
        await sink.edit_markup(CHAT, sent.message_id, triage_keyboard(7, muted=True))
        await sink.edit_markup(CHAT, sent.message_id, triage_keyboard(7, muted=True))  # same
        with pytest.raises(EditImpossible):
            await sink.edit_markup(CHAT, 9999, triage_keyboard(7))
    run(tg, steps)
    first = json.loads(tg.calls("sendMessage")[0]["reply_markup"])
    assert first["inline_keyboard"][0][0] == {"text": "✅ relevant", "callback_data": "t:7:r"}
    assert len(tg.markup_edits) == 1                  # the second was "not modified": done
    assert tg.buttons(CHAT, 1)[-1] == "🔕 muted"


def test_the_plain_text_resend_keeps_the_keyboard(tg) -> None:
    tg.reject_html = True
    result = run(tg, lambda sink: sink.send(CHAT, "<b>x</b>", keyboard=triage_keyboard(3)))
    assert result.formatting_fallback and tg.buttons(CHAT, result.message_id)[0] == "✅ relevant"


def test_get_updates_confirms_by_offset_and_long_polls(tg) -> None:
    first = tg.press(1, CHAT, "t:1:r", 111)
    tg.say(111, 111, "/status now")

    async def steps(sink: TelegramSink) -> list[Any]:
        got = [await sink.get_updates(0, 0, ("message", "callback_query"))]
        got.append(await sink.get_updates(first + 1, 0, ("message", "callback_query")))
        waiting = asyncio.ensure_future(sink.get_updates(first + 2, 10,
                                                         ("message", "callback_query")))
        await asyncio.sleep(0.3)
        assert not waiting.done()                     # nothing yet: the call waits
        threading.Thread(target=tg.press, args=(1, CHAT, "t:1:n", 112)).start()
        got.append(await waiting)
        return got
    both, second, late = run(tg, steps)
    query = both[0].callback_query
    assert [u.update_id for u in both] == [first, first + 1]
    assert (query.data, query.from_user.id, query.message.message_id) == ("t:1:r", 111, 1)
    assert query.message.chat.id == int(CHAT) and query.chat_instance
    command = second[0].message
    assert command.text == "/status now" and command.entities[0].type == "bot_command"
    assert command.entities[0].length == len("/status")
    assert [u.callback_query.data for u in late] == ["t:1:n"]
    assert tg.unconfirmed == [first + 2]              # confirmed only by the next offset
    polls = [p for m, p in tg.requests if m == "getUpdates"]
    assert polls[-1]["timeout"] == "10"
    assert json.loads(polls[0]["allowed_updates"]) == ["message", "callback_query"]


def test_an_idle_long_poll_outlasts_the_sinks_own_timeout(tg) -> None:
    """Telegram answers an idle long poll when its timeout is over: the read must wait that
    long (the sink's timeout is 1 s, the long poll 2 s)."""
    async def go() -> Any:
        async with TelegramSink(TOKEN, base_url=tg.base_url, timeout=1.0) as sink:
            return await sink.get_updates(0, 2, ("message",))
    assert asyncio.run(go()) == ()


def test_updates_of_types_not_allowed_are_never_queued(tg) -> None:
    run(tg, lambda sink: sink.get_updates(0, 0, ("callback_query",)))
    tg.say(111, 111, "/help")
    tg.press(1, CHAT, "t:1:r", 111)
    updates = run(tg, lambda sink: sink.get_updates(0, 0, ("callback_query",)))
    assert [u.callback_query is not None for u in updates] == [True]
    assert len(tg.dropped) == 1 and "message" in tg.dropped[0]


def test_a_webhook_or_a_second_poller_is_a_conflict_that_names_the_cause(tg) -> None:
    tg.webhook = "https://example.org/hook"
    with pytest.raises(UpdatesConflict) as info:
        run(tg, lambda sink: sink.get_updates(0, 0, ("message",)))
    assert "webhook" in str(info.value) and "deleteWebhook" in str(info.value)
    assert "another process" in str(info.value) and TOKEN not in str(info.value)
    tg.webhook = None

    async def two(sink: TelegramSink) -> BaseException | None:
        other = TelegramSink(TOKEN, base_url=tg.base_url, timeout=5.0)
        async with other:
            first = asyncio.ensure_future(sink.get_updates(0, 10, ("message",)))
            await asyncio.sleep(0.3)
            second = asyncio.ensure_future(other.get_updates(0, 0, ("message",)))
            results = await asyncio.gather(first, second, return_exceptions=True)
        return results[0] if isinstance(results[0], BaseException) else None
    error = run(tg, two)
    assert isinstance(error, UpdatesConflict) and "terminated by other getUpdates" in str(error)


def test_callback_answers_administrators_and_replies(tg) -> None:
    tg.press(5, CHAT, "t:5:m", 111)
    tg.admins[CHAT] = [1, 2, 3]

    async def steps(sink: TelegramSink) -> Any:
        [update] = await sink.get_updates(0, 0, ("callback_query",))
        await sink.answer_callback(update.callback_query.id, "✅ recorded " + "x" * 300)
        with pytest.raises(PermanentFailure):           # answered already: Telegram refuses
            await sink.answer_callback(update.callback_query.id, "again")
        admins = await sink.chat_administrators(CHAT)
        with pytest.raises(PermanentFailure):
            await sink.chat_administrators("-100777")
        reply = await sink.reply(111, "<b>ok</b>", 42)
        return admins, reply
    admins, reply = run(tg, steps)
    assert admins == [1, 2, 3]
    assert len(tg.answers) == 1 and len(tg.answers[0]["text"]) == 200
    sent = tg.calls("sendMessage")[-1]
    assert sent["chat_id"] == "111" and json.loads(sent["reply_parameters"])["message_id"] == 42
    assert json.loads(sent["link_preview_options"])["is_disabled"] is True
    assert "reply_markup" not in sent and reply.message_id


def test_console_and_jsonl_sinks_take_keyboards_and_show_no_buttons(tmp_path: Path) -> None:
    out = io.StringIO()

    async def go() -> None:
        console = ConsoleSink(out)
        await console.send("d", "<b>x</b>", plain_fallback="x", keyboard=triage_keyboard(1))
        await console.edit("d", 1, "<b>y</b>", plain_fallback="y", keyboard=triage_keyboard(1))
        await console.edit_markup("d", 1, triage_keyboard(1, 1))
        jsonl = JsonlSink(tmp_path / "out.jsonl")
        await jsonl.start()
        await jsonl.send("d", "<b>x</b>", keyboard=triage_keyboard(1))
        await jsonl.edit_markup("d", 1, triage_keyboard(1, 1))
    asyncio.run(go())
    assert "✅" not in out.getvalue()
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and "✅" not in lines[0]
