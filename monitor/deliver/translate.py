"""python-telegram-bot's exceptions as project errors: one table, every class of telegram.error
named in it.

The model is ``monitor/fetch/translate.py`` (httpx): the most derived class of the table that the
exception is an instance of decides, and ``tests/deliver/test_translate.py`` fails when a PTB
upgrade adds a class to ``telegram.error`` that is not in :data:`TELEGRAM_ERRORS`. Besides its
own classes, PTB lets out a bare ``KeyError``/``TypeError`` for a reply without
``result``/``date``/``chat.type``, and a bare ``TelegramError("Invalid server response")`` for a
body that is not JSON: those are unreadable replies. Messages lead with Telegram's own
description (operators see them truncated in ``monitor status``) and never hold the bot token.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    PassportDecryptionError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from monitor.errors import (
    DeliveryError,
    MalformedReply,
    MaybeDelivered,
    PermanentFailure,
    RetryLater,
    Scope,
    UpdatesConflict,
)
from monitor.logs import scrub


@dataclass(frozen=True)
class Rule:
    """What one PTB class becomes. ``message`` is a ``str.format`` template over ``desc`` (the
    exception's text), ``error`` ("Class: text"), ``seconds`` (RetryAfter) and ``new_chat_id``
    (ChatMigrated); everything is scrubbed of the token."""

    error: type[DeliveryError]
    message: str
    scope: Scope | None = None      # for PermanentFailure
    once: bool = False              # "Prefix: {desc}": no prefix when ``desc`` starts with it


_UNREADABLE = Rule(MalformedReply, "unreadable reply from Telegram: {error}")
_UNEXPECTED = Rule(RetryLater, "unexpected Telegram error: {error}")

#: Exception class → project error. BadRequest and TimedOut subclass NetworkError; the most
#: derived listed class wins, so they get their own rule.
TELEGRAM_ERRORS: dict[type[Exception], Rule] = {
    RetryAfter: Rule(RetryLater, "flood control: retry after {seconds:g} s"),
    ChatMigrated: Rule(PermanentFailure,
                       "chat migrated to a supergroup, new chat id {new_chat_id}", "chat"),
    InvalidToken: Rule(PermanentFailure, "bot token rejected by Telegram: {desc}", "bot"),
    # Telegram's own description usually starts with "Forbidden: " already.
    Forbidden: Rule(PermanentFailure, "Forbidden: {desc}", "chat", once=True),
    # Scope "chat" instead when the description says the chat is not there (_CHAT_NOT_FOUND).
    BadRequest: Rule(PermanentFailure, "Bad Request: {desc}", "message"),
    # RetryLater instead when the request certainly did not leave, or nothing was being sent.
    TimedOut: Rule(MaybeDelivered, "timed out waiting for Telegram, the message may have been "
                                   "delivered: {desc}"),
    NetworkError: Rule(RetryLater, "network or server error: {desc}"),
    # getUpdates only: a webhook is set, or a second poller took over (one consumer per token).
    Conflict: Rule(UpdatesConflict, "Telegram refused getUpdates ({desc}): either a webhook is "
                                    "set for this bot (remove it with deleteWebhook) or another "
                                    "process polls updates with the same token (only one may)"),
    # Not raised for the Bot methods the sink calls: EndPointNotFound needs Bot.initialize() (a
    # 404 before it is InvalidToken), PassportDecryptionError is Telegram Passport.
    EndPointNotFound: _UNEXPECTED,
    PassportDecryptionError: _UNEXPECTED,
    # The base class itself, raised bare for a body that is not JSON. A subclass missing from
    # this table is _UNEXPECTED, not this (see _lookup).
    TelegramError: _UNREADABLE,
    # Not PTB's own: what its de_json lets out for a reply missing a field.
    KeyError: _UNREADABLE,
    TypeError: _UNREADABLE,
    ValueError: _UNREADABLE,
}

_TIMED_OUT_UNSENT = Rule(RetryLater, "timed out before the request was sent: {desc}")

#: What TelegramSink catches around each Bot call: every class above.
TRANSLATED = tuple(TELEGRAM_ERRORS)

# BadRequest descriptions that mean "the formatting is wrong", where plain text will do: "Can't
# parse entities: ...", "Can't find end of the entity ...", "ENTITIES_TOO_LONG", "too many entities".
_FORMATTING = re.compile(r"entit(y|ies)", re.I)
_CHAT_NOT_FOUND = re.compile(r"chat not found|chat_id is empty|peer_id_invalid", re.I)


def translate(exc: Exception, *, sending: bool) -> DeliveryError:
    """The project error for ``exc`` (any exception; those outside the table are unexpected).
    ``sending`` is True when the failed call posts or edits a message."""
    rule = _lookup(type(exc))
    desc = scrub(str(exc))
    if isinstance(exc, TimedOut) and not (sending and _left(exc)):
        rule = _TIMED_OUT_UNSENT
    scope = rule.scope
    if isinstance(exc, BadRequest) and _CHAT_NOT_FOUND.search(exc.message):
        scope = "chat"
    fields = {"desc": desc, "error": describe(exc)}
    if isinstance(exc, RetryAfter):
        fields["seconds"] = retry_seconds(exc)
    if isinstance(exc, ChatMigrated):
        fields["new_chat_id"] = exc.new_chat_id
    template = rule.message
    if rule.once and desc.startswith(template.partition(": ")[0]):
        template = "{desc}"
    message = template.format(**fields)
    if rule.error is PermanentFailure:
        return PermanentFailure(message, scope=scope or "message",
                                new_chat_id=fields.get("new_chat_id"))
    if rule.error is RetryLater and "seconds" in fields:
        return RetryLater(message, retry_after=fields["seconds"])
    return rule.error(message)


@contextmanager
def translated(*, sending: bool) -> Iterator[None]:
    """Around Bot calls: any exception of :data:`TRANSLATED` leaves as its project error,
    ``from None`` so that no chained PTB exception carries the token into a traceback."""
    try:
        yield
    except TRANSLATED as exc:
        raise translate(exc, sending=sending) from None


def describe(exc: BaseException) -> str:
    """"Class: text", scrubbed: for messages and logs."""
    return scrub(f"{type(exc).__name__}: {exc}")


def is_formatting(exc: BadRequest) -> bool:
    """Telegram refused the message's HTML (entities), not the message itself."""
    return bool(_FORMATTING.search(exc.message))


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is an int in PTB 22 (reading it warns) or a timedelta with
    PTB_TIMEDELTA=1; both become float seconds, and reading it here never warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def _left(exc: TimedOut) -> bool:
    """False for a pool or connect timeout: those happen before the request leaves."""
    return not (isinstance(exc.__cause__, (httpx.PoolTimeout, httpx.ConnectTimeout))
                or str(exc).startswith("Pool timeout"))


def _lookup(cls: type[Exception]) -> Rule:
    # The most derived listed class wins; TelegramError's own rule is for itself only.
    for base in cls.__mro__:
        if base is TelegramError and cls is not TelegramError:
            break
        if base in TELEGRAM_ERRORS:
            return TELEGRAM_ERRORS[base]
    return _UNEXPECTED
