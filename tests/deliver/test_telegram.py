"""TelegramSink against the fake Bot API: delivery, error translation, fallback, token hygiene."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Bot
from telegram.error import BadRequest
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from monitor.alert.compose import render_html, render_plain, visible_text
from monitor.alert.payload import AlertPayload, Snippet
from monitor.deliver.telegram import SendResult, TelegramSink
from monitor.errors import (
    DeliveryError,
    MalformedReply,
    MaybeDelivered,
    PermanentFailure,
    RetryLater,
)
from tests.servers.telegram import FakeTelegram

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
CHAT = "-1001234567890"


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's future RetryAfter type so a 429 does not warn (notes §2.4)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture(autouse=True)
def fresh_http_loggers() -> Iterator[None]:
    """Start each test with httpx/httpcore at NOTSET (as if nobody configured logging), so the
    tests see what TelegramSink itself does; restore afterwards."""
    saved = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    for name in saved:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def sink_for(tg: FakeTelegram, **kwargs: Any) -> TelegramSink:
    return TelegramSink(TOKEN, base_url=tg.base_url, **{"timeout": 5.0, **kwargs})


def send(tg: FakeTelegram, html: str = "<b>Alert</b> &amp; more", chat: str | int = CHAT,
         **kwargs: Any) -> SendResult:
    """One send through a fresh sink in a fresh loop (notes §7.1: one Bot per loop)."""
    sink_kwargs = {k: kwargs.pop(k) for k in ("timeout", "link_preview") if k in kwargs}

    async def go() -> SendResult:
        async with sink_for(tg, **sink_kwargs) as sink:
            return await sink.send(chat, html, **kwargs)
    return asyncio.run(go())


def failure(tg: FakeTelegram, **kwargs: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        send(tg, **kwargs)
    return info.value


def no_token(exc: BaseException) -> None:
    """The token is nowhere in the exception, its repr, or its formatted traceback."""
    text = "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)
    assert TOKEN not in text and TOKEN.split(":")[1] not in text


def sent_params(tg: FakeTelegram) -> list[dict[str, str]]:
    return tg.calls("sendMessage")


# --------------------------------------------------------------------------- delivery


def test_delivers_html_with_topic_and_preview(tg: FakeTelegram) -> None:
    payload = AlertPayload(kind="alert", title="وصول طائرات <روسية>", url="https://e.example/1",
                           severity="high", snippets=(Snippet("الفيلق الأفريقي", ((0, 6),)),))
    html = render_html(payload)
    result = send(tg, html, topic_id=7, preview_url="https://e.example/1")
    assert result == SendResult(message_id=1, chat_id=CHAT, formatting_fallback=False)
    [params] = sent_params(tg)
    assert params["text"] == html
    assert params["parse_mode"] == "HTML"
    assert params["chat_id"] == CHAT
    assert params["message_thread_id"] == "7"
    assert json.loads(params["link_preview_options"]) == {"is_disabled": False,
                                                          "url": "https://e.example/1"}
    assert "disable_web_page_preview" not in params
    assert [m for m, _ in tg.requests] == ["sendMessage"]   # start() asks nothing
    assert set(tg.tokens) == {TOKEN}
    assert tg.messages[0]["message_id"] == 1


def test_link_preview_disabled(tg: FakeTelegram) -> None:
    send(tg, link_preview=False, preview_url="https://e.example/1")
    assert json.loads(sent_params(tg)[0]["link_preview_options"]) == {"is_disabled": True}
    assert "message_thread_id" not in sent_params(tg)[0]


def test_message_ids_increment_and_channel_names_resolve(tg: FakeTelegram) -> None:
    async def go() -> list[SendResult]:
        async with sink_for(tg) as sink:
            return [await sink.send(chat, "x") for chat in (CHAT, "@wasat_alerts", 42)]
    results = asyncio.run(go())
    assert [r.message_id for r in results] == [1, 2, 3]
    assert results[1].chat_id.startswith("-100")       # Telegram answers with the numeric id
    assert results[2].chat_id == "42"


def test_get_me_and_lazy_start(tg: FakeTelegram) -> None:
    async def go() -> tuple[str, SendResult]:
        sink = sink_for(tg)
        try:
            result = await sink.send(CHAT, "lazy")      # no start(): created on first use
            return await sink.get_me(), result
        finally:
            await sink.close()
    name, result = asyncio.run(go())
    assert name == "fake_monitor_bot"
    assert result.message_id == 1


def test_sink_restarts_in_a_new_loop_after_close(tg: FakeTelegram) -> None:
    sink = sink_for(tg)

    async def go() -> int:
        async with sink:
            return (await sink.send(CHAT, "x")).message_id
    assert asyncio.run(go()) == 1
    assert asyncio.run(go()) == 2


def test_sink_refuses_a_second_loop_while_started(tg: FakeTelegram) -> None:
    sink = sink_for(tg)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(sink.start())
        with pytest.raises(RuntimeError, match="another event loop"):
            asyncio.run(sink.send(CHAT, "x"))
    finally:
        loop.run_until_complete(sink.close())
        loop.close()


# --------------------------------------------------------------------------- errors


def test_429_gives_retry_later_with_exact_delay(tg: FakeTelegram) -> None:
    tg.script("sendMessage", (429, {"retry_after": 2}))
    exc = failure(tg)
    assert type(exc) is RetryLater
    assert exc.retry_after == 2.0


def test_429_without_ptb_timedelta(tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the opt-in, PTB itself warns while building RetryAfter (an int there); the sink
    # still reads the delay right and adds no warning of its own.
    monkeypatch.delenv("PTB_TIMEDELTA")
    tg.script("sendMessage", (429, 37))
    with pytest.warns(PTBDeprecationWarning):
        exc = failure(tg)
    assert type(exc) is RetryLater and exc.retry_after == 37.0


def test_500_gives_retry_later_without_delay(tg: FakeTelegram) -> None:
    tg.script("sendMessage", (500,))
    exc = failure(tg)
    assert type(exc) is RetryLater and exc.retry_after is None
    tg.script("sendMessage", (502, "Bad Gateway"))
    assert type(failure(tg)) is RetryLater


def test_timeout_gives_maybe_delivered_and_the_message_arrived(tg: FakeTelegram) -> None:
    tg.script("sendMessage", ("timeout", 5))
    exc = failure(tg, timeout=0.5)
    assert isinstance(exc, MaybeDelivered) and isinstance(exc, RetryLater)
    assert exc.retry_after is None
    assert [m["text"] for m in tg.messages] == ["<b>Alert</b> &amp; more"]


def probe(sink: TelegramSink) -> None:
    """start() then probe() (getMe) in a fresh loop."""
    async def go() -> None:
        async with sink:
            await sink.probe()
    asyncio.run(go())


def test_connection_refused_gives_retry_later_but_start_does_not_need_telegram() -> None:
    with socket.socket() as s:       # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = TelegramSink(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", timeout=2)

    async def start_only() -> None:
        async with sink:
            pass
    asyncio.run(start_only())        # start-up never depends on Telegram (issue 19, item 3)
    with pytest.raises(RetryLater) as info:
        probe(sink)
    assert type(info.value) is RetryLater
    no_token(info.value)


@pytest.mark.parametrize("description", [
    "Forbidden: bot was kicked from the channel chat",
    "Forbidden: bot is not a member of the channel chat",
])
def test_403_is_permanent_for_the_chat(tg: FakeTelegram, description: str) -> None:
    tg.script("sendMessage", (403, description))
    exc = failure(tg)
    assert isinstance(exc, PermanentFailure) and exc.scope == "chat"
    assert description.split(": ")[1] in exc.reason
    assert len(sent_params(tg)) == 1                   # no plain-text retry for this


def test_chat_not_found_is_permanent(tg: FakeTelegram) -> None:
    tg.script("sendMessage", (400, "Bad Request: chat not found"))
    exc = failure(tg)
    assert isinstance(exc, PermanentFailure) and exc.scope == "chat"
    assert "not found" in exc.reason.lower()


def test_chat_migrated_names_the_new_chat(tg: FakeTelegram) -> None:
    tg.script("sendMessage", (400, "Bad Request: group chat was upgraded to a supergroup chat",
                              {"migrate_to_chat_id": -1009876543210}))
    exc = failure(tg)
    assert isinstance(exc, PermanentFailure)
    assert exc.new_chat_id == -1009876543210 and "-1009876543210" in exc.reason


def test_too_long_is_permanent_for_the_message_only(tg: FakeTelegram) -> None:
    exc = failure(tg, html="x" * 5000)                 # the fake enforces the 4096 limit
    assert isinstance(exc, PermanentFailure) and exc.scope == "message"
    assert "too long" in exc.reason.lower()
    assert len(sent_params(tg)) == 1


@pytest.mark.parametrize("reply", [
    ("raw", {"ok": True}),                                            # no "result"
    ("raw", b"<html>gateway</html>"),                                 # not JSON
    ("raw", {"ok": True, "result": {"message_id": 1, "chat": {"id": 1, "type": "channel"}}}),
    ("raw", {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 1}}}),
])
def test_odd_replies_are_malformed(tg: FakeTelegram, reply: tuple[Any, ...]) -> None:
    tg.script("sendMessage", reply)
    exc = failure(tg)
    assert isinstance(exc, MalformedReply) and isinstance(exc, RetryLater)


# --------------------------------------------------------------------------- formatting fallback


def test_formatting_rejection_resends_plain_text(tg: FakeTelegram) -> None:
    tg.reject_html = True
    payload = AlertPayload(kind="alert", title="عنوان & <b>", url="https://e.example/1")
    html, plain = render_html(payload), render_plain(payload)
    result = send(tg, html, plain_fallback=plain, topic_id=3)
    assert result.formatting_fallback is True and result.message_id == 1
    first, second = sent_params(tg)
    assert first["parse_mode"] == "HTML"
    assert "parse_mode" not in second
    assert second["text"] == plain and second["message_thread_id"] == "3"
    assert [m["text"] for m in tg.messages] == [plain]


def test_scripted_parse_error_without_fallback_uses_visible_text(tg: FakeTelegram) -> None:
    tg.script("sendMessage",
              (400, 'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 3'))
    html = "<b>Wagner</b> &amp; Africa Corps"
    assert send(tg, html).formatting_fallback is True
    assert tg.messages[0]["text"] == visible_text(html) == "Wagner & Africa Corps"


def test_invalid_html_is_caught_by_the_fake_and_falls_back(tg: FakeTelegram) -> None:
    result = send(tg, "<foo>Jufra</foo> <b>unclosed")
    assert result.formatting_fallback is True
    first, second = sent_params(tg)                    # refused as HTML, then sent plain
    assert first["parse_mode"] == "HTML" and "parse_mode" not in second
    assert tg.messages[0]["text"] == "Jufra unclosed"


def test_plain_resend_failing_is_translated(tg: FakeTelegram) -> None:
    tg.script("sendMessage", (400, "Bad Request: can't parse entities: x"),
              (403, "Forbidden: bot was kicked from the channel chat"))
    exc = failure(tg)
    assert isinstance(exc, PermanentFailure) and exc.scope == "chat"


# --------------------------------------------------------------------------- the token


def test_invalid_token_is_permanent_and_not_leaked(tg: FakeTelegram) -> None:
    tg.valid_tokens = {"987654321:SomeOtherToken"}     # the fake answers 401 to ours
    sink = sink_for(tg)
    with pytest.raises(PermanentFailure) as info:
        probe(sink)
    assert info.value.scope == "bot"
    no_token(info.value)
    assert tg.token == TOKEN                           # the token did go over the wire


def test_404_from_get_me_is_invalid_token(tg: FakeTelegram) -> None:
    tg.script("getMe", (404, "Not Found"))
    with pytest.raises(PermanentFailure) as info:
        probe(sink_for(tg))
    assert info.value.scope == "bot"
    no_token(info.value)


def test_repr_has_no_token(tg: FakeTelegram) -> None:
    sink = sink_for(tg)
    assert TOKEN not in repr(sink) and TOKEN not in str(sink)
    sink = TelegramSink(TOKEN, base_url=f"{tg.base_url}{TOKEN}/")   # even if baked into the URL
    assert TOKEN not in repr(sink)


def test_empty_token_is_refused() -> None:
    with pytest.raises(PermanentFailure):
        TelegramSink("  ")


def test_token_never_in_logs_or_errors(tg: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)                    # root at DEBUG: everything is captured
    errors: list[BaseException] = []

    async def go() -> None:
        async with sink_for(tg, timeout=0.5) as sink:
            assert await sink.get_me() == "fake_monitor_bot"
            await sink.send(CHAT, "<b>ok</b>")
            tg.script("sendMessage", (429, {"retry_after": 1}), (500,), ("timeout", 5),
                      (403, "Forbidden: bot was kicked from the channel chat"),
                      (400, "Bad Request: can't parse entities: x"), ("raw", {"ok": True}))
            for _ in range(6):
                try:
                    await sink.send(CHAT, "<b>x</b>")
                except DeliveryError as exc:
                    errors.append(exc)
                    logging.getLogger("test").exception("send failed")
    asyncio.run(go())
    tg.valid_tokens = set()
    try:
        probe(sink_for(tg))
    except PermanentFailure as exc:
        errors.append(exc)

    # 429, 500, timeout, 403, (the parse error falls back and succeeds), malformed, bad token
    assert [type(e) for e in errors] == [RetryLater, RetryLater, MaybeDelivered, PermanentFailure,
                                         MalformedReply, PermanentFailure]
    for exc in errors:
        no_token(exc)
    logged = caplog.text + "".join(
        logging.Formatter("%(message)s").format(r) for r in caplog.records)
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
    # The test can fail: PTB did try to log the API URL (redacted), and the token was sent.
    assert any("Set Bot API URL" in r.getMessage() and "[REDACTED]" in r.getMessage()
               for r in caplog.records)
    assert set(tg.tokens) == {TOKEN}
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


def test_plain_bot_would_leak_the_token(tg: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    """Control for the test above: without TelegramSink's guards, httpx logs the token."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.INFO)
    other = "555555555:AnotherTokenNobodyRegistered_xyzxyzxyz1"
    # Remove the sink's redaction filters from the loggers for this control.
    saved = {n: list(logging.getLogger(n).filters) for n in ("httpx", "telegram.Bot")}
    for name in saved:
        for f in saved[name]:
            logging.getLogger(name).removeFilter(f)

    async def go() -> None:
        request = HTTPXRequest(httpx_kwargs={"trust_env": False})
        async with Bot(other, base_url=tg.base_url, request=request) as bot:
            await bot.send_message(CHAT, "x")
    try:
        asyncio.run(go())
    finally:
        for name, filters in saved.items():
            for f in filters:
                logging.getLogger(name).addFilter(f)
    assert other in caplog.text


# --------------------------------------------------------------------------- the fake itself


def test_fake_validates_html_like_telegram() -> None:
    ok = ['<b>a</b> <i>b</i> <a href="https://x">c</a> <span class="tg-spoiler">d</span>',
          "<pre><code>x &lt; y &amp;&amp; z &gt; 1 &quot;q&quot; &#1589; &#x1F600;</code></pre>",
          "<blockquote>q</blockquote> <tg-spoiler>s</tg-spoiler> <s>t</s> <u>u</u>"]
    for html in ok:
        assert FakeTelegram.check_html(html) is None, html
    bad = {"<foo>x</foo>": "Unsupported start tag", "<b>x": "end tag", "<b>x</i>": "end tag",
           "x</b>": "Unexpected end tag", "<a>x</a>": "href", "<span>x</span>": "tg-spoiler",
           "a < b": "<", "&nbsp;": "entity", "<br/>": "Unsupported", "<!-- c -->": "comment"}
    for html, why in bad.items():
        error = FakeTelegram.check_html(html)
        assert error is not None and why in error, (html, error)


def test_fake_edit_message_text_and_unknown_methods(tg: FakeTelegram) -> None:
    async def go() -> tuple[str, Any]:
        request = HTTPXRequest(httpx_kwargs={"trust_env": False})
        async with Bot(TOKEN, base_url=tg.base_url, request=request) as bot:
            msg = await bot.send_message(CHAT, "<b>v1</b>", parse_mode="HTML")
            edited = await bot.edit_message_text("<b>v2</b>", chat_id=CHAT,
                                                 message_id=msg.message_id, parse_mode="HTML")
            try:
                await bot.edit_message_text("<b>v2</b>", chat_id=CHAT, message_id=msg.message_id,
                                            parse_mode="HTML")
            except BadRequest as exc:
                return edited.text, exc
            return edited.text, None
    text, exc = asyncio.run(go())
    assert text == "v2"
    assert isinstance(exc, BadRequest) and "not modified" in str(exc)
    assert tg.edits[0]["text"] == "<b>v2</b>"

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(urllib.request.Request(f"{tg.base_url}{TOKEN}/noSuchMethod", data=b""),
                    timeout=5)
    assert info.value.code == 404
    assert json.load(info.value) == {"ok": False, "error_code": 404, "description": "Not Found"}
