"""The python-telegram-bot translation table (monitor/deliver/translate.py): every class of
telegram.error is in it, each becomes the delivery error the drain loop expects, and no message
carries the token. The sink's behaviour against a fake Bot API is in test_telegram.py."""

from __future__ import annotations

import datetime as dt
import inspect
import traceback

import httpx
import pytest
import telegram.error
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from monitor import errors
from monitor.deliver.translate import TELEGRAM_ERRORS, TRANSLATED, translate, translated
from monitor.errors import (
    DeliveryError,
    EditImpossible,
    MalformedReply,
    MaybeDelivered,
    PermanentFailure,
    RetryLater,
    UpdatesConflict,
)
from monitor.logs import add_secret

TOKEN = "123456789:AAFakeTokenForTranslate_abcdefghijk"


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def _ptb_exception_classes() -> list[type[TelegramError]]:
    return [obj for _, obj in inspect.getmembers(telegram.error, inspect.isclass)
            if issubclass(obj, TelegramError)]


def test_every_telegram_error_class_has_a_translation() -> None:
    # A new class in a PTB upgrade must be given its project error here, on purpose.
    classes = _ptb_exception_classes()
    assert {c.__name__ for c in classes} >= set(telegram.error.__all__)
    missing = [cls.__name__ for cls in classes if cls not in TELEGRAM_ERRORS]
    assert missing == []


def test_the_table_maps_to_delivery_errors_of_the_one_tree() -> None:
    assert TRANSLATED == tuple(TELEGRAM_ERRORS)
    for rule in TELEGRAM_ERRORS.values():
        assert issubclass(rule.error, DeliveryError)
        assert getattr(errors, rule.error.__name__) is rule.error
    # Our own errors are never re-translated by `translated()`.
    assert not any(issubclass(DeliveryError, cls) for cls in TRANSLATED)


def _instance(cls: type[Exception]) -> Exception:
    if cls is ChatMigrated:
        return cls(-1009876543210)
    if cls is RetryAfter:
        return cls(dt.timedelta(seconds=3))
    if cls is InvalidToken or cls is TimedOut:
        return cls()
    return cls(f"boom for bot{TOKEN}")


# What each class becomes when a message is being sent (behaviour pinned by class).
EXPECTED: dict[str, type[DeliveryError]] = {
    "RetryAfter": RetryLater, "ChatMigrated": PermanentFailure, "InvalidToken": PermanentFailure,
    "Forbidden": PermanentFailure, "BadRequest": PermanentFailure, "TimedOut": MaybeDelivered,
    "NetworkError": RetryLater, "Conflict": UpdatesConflict, "EndPointNotFound": RetryLater,
    "PassportDecryptionError": RetryLater, "TelegramError": MalformedReply,
    "KeyError": MalformedReply, "TypeError": MalformedReply, "ValueError": MalformedReply,
}


@pytest.mark.parametrize("cls", list(TELEGRAM_ERRORS), ids=lambda c: c.__name__)
def test_each_class_translates_to_its_delivery_error(cls: type[Exception]) -> None:
    out = translate(_instance(cls), sending=True)
    assert type(out) is EXPECTED[cls.__name__]
    assert TOKEN not in str(out) and TOKEN.split(":")[1] not in str(out)


def test_flood_control_keeps_the_delay() -> None:
    out = translate(RetryAfter(dt.timedelta(seconds=2)), sending=True)
    assert type(out) is RetryLater and out.retry_after == 2.0
    assert str(out) == "flood control: retry after 2 s"


def test_permanent_failures_and_their_scopes() -> None:
    migrated = translate(ChatMigrated(-1009876543210), sending=True)
    assert isinstance(migrated, PermanentFailure)
    assert (migrated.scope, migrated.new_chat_id) == ("chat", -1009876543210)
    assert str(migrated) == "chat migrated to a supergroup, new chat id -1009876543210"
    token = translate(InvalidToken(f"The token `{TOKEN}` was rejected by the server."),
                      sending=False)
    assert isinstance(token, PermanentFailure) and token.scope == "bot"
    assert str(token) == "bot token rejected by Telegram: The token `[REDACTED]` was rejected " \
                         "by the server."
    for desc in ("Forbidden: bot was kicked from the channel chat", "bot was kicked"):
        kicked = translate(Forbidden(desc), sending=True)
        assert isinstance(kicked, PermanentFailure) and kicked.scope == "chat"
        assert kicked.reason.count("Forbidden") == 1
    for desc, scope in (("Bad Request: chat not found", "chat"),
                        ("Bad Request: PEER_ID_INVALID", "chat"),
                        ("Bad Request: message is too long", "message")):
        bad = translate(BadRequest(desc), sending=True)
        assert isinstance(bad, PermanentFailure) and bad.scope == scope
        assert bad.reason.startswith("Bad Request: ")
        assert bad.new_chat_id is None


def test_timeouts_may_have_delivered_only_when_the_request_left() -> None:
    assert type(translate(TimedOut(), sending=True)) is MaybeDelivered
    assert type(translate(TimedOut(), sending=False)) is RetryLater           # getMe
    pool = translate(TimedOut("Pool timeout: All connections in the pool are occupied."),
                     sending=True)
    assert type(pool) is RetryLater and str(pool).startswith("timed out before the request")
    connect = TimedOut()
    connect.__cause__ = httpx.ConnectTimeout("connect")
    assert type(translate(connect, sending=True)) is RetryLater


def test_unlisted_classes() -> None:
    class FutureError(TelegramError):          # a PTB class this table does not know yet
        pass

    class OddBadRequest(BadRequest):           # a subclass of a listed class: its rule
        pass

    future = translate(FutureError("x"), sending=True)
    assert type(future) is RetryLater and str(future).startswith("unexpected Telegram error")
    assert isinstance(translate(OddBadRequest("x"), sending=True), PermanentFailure)
    assert type(translate(TelegramError("Invalid server response"), sending=True)) \
        is MalformedReply
    assert type(translate(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "x"), sending=True)) \
        is MalformedReply                      # a ValueError
    assert type(translate(RuntimeError("x"), sending=True)) is RetryLater
    assert type(translate(NetworkError("Bad Gateway"), sending=True)) is RetryLater


def test_translated_raises_from_none_and_lets_other_errors_through() -> None:
    add_secret(TOKEN)
    with pytest.raises(RetryLater) as info, translated(sending=True):
        try:
            raise httpx.ConnectError(f"https://api.telegram.org/bot{TOKEN}/sendMessage")
        except httpx.ConnectError as exc:
            raise NetworkError(f"httpx.ConnectError: {exc}") from exc
    assert info.value.__suppress_context__ and info.value.__cause__ is None
    text = "".join(traceback.format_exception(info.value))
    assert TOKEN not in text and "network or server error" in text

    with pytest.raises(EditImpossible), translated(sending=True):
        raise EditImpossible("gone", scope="message")
    with pytest.raises(RuntimeError), translated(sending=True):
        raise RuntimeError("not a Telegram error")
