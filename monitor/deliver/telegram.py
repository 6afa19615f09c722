"""Send messages with python-telegram-bot's ``Bot`` and translate its errors for the drain loop.

Only ``telegram.Bot`` is used (not Application/ExtBot, not AIORateLimiter): the drain loop paces
sends itself. The Bot is created inside the running event loop by :meth:`TelegramSink.start`, since
its HTTP client sticks to the loop that first used it.

The bot token is a secret that several layers like to print: httpx logs every request URL (which
contains ``/bot<token>/``) at INFO, PTB logs the API URL at DEBUG when a Bot is built, and PTB's
``InvalidToken`` from ``initialize()`` quotes the token. So this module quiets the httpx/httpcore
loggers, attaches a redaction filter to the loggers that see the URL, scrubs every message it
raises, and raises ``from None`` so no chained PTB exception carries the token into a traceback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import warnings
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar

import httpx
from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
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
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from monitor.alert.compose import visible_text
from monitor.errors import (
    DeliveryError,
    EditImpossible,
    MalformedReply,
    MaybeDelivered,
    PermanentFailure,
    RetryLater,
)

log = logging.getLogger(__name__)

REDACTED = "[REDACTED]"

# Loggers that print the API URL (hence the token): PTB's Bot ("Set Bot API URL: ...") and its
# request classes, and httpx ("HTTP Request: POST https://.../bot<token>/sendMessage").
_URL_LOGGERS = ("telegram", "telegram.Bot", "telegram.BaseRequest", "telegram.HTTPXRequest",
                "httpx", "httpcore")
# httpx logs each request URL at INFO and httpcore traces at DEBUG: nothing there is worth the
# risk, so they are held at WARNING even if the application's logging setup forgot to.
_QUIET_LOGGERS = ("httpx", "httpcore")

# Anything shaped like a bot token (digits:35 chars), in case a token reaches a message through
# a path this module does not know about (a token other than ours, a URL in an httpx error).
_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")

# BadRequest descriptions that mean "the formatting is wrong", where plain text will do: "Can't
# parse entities: ...", "Can't find end of the entity ...", "ENTITIES_TOO_LONG", "too many entities".
_FORMATTING = re.compile(r"entit(y|ies)", re.I)
_CHAT_NOT_FOUND = re.compile(r"chat not found|chat_id is empty|peer_id_invalid", re.I)


class _Secrets:
    """The tokens to scrub; one process may hold several sinks."""

    tokens: ClassVar[set[str]] = set()

    @classmethod
    def scrub(cls, text: str) -> str:
        for token in sorted(cls.tokens, key=len, reverse=True):
            text = text.replace(token, REDACTED)
        return _TOKEN_SHAPE.sub(REDACTED, text)


def scrub(text: str) -> str:
    """``text`` with every known bot token (and anything shaped like one) replaced."""
    return _Secrets.scrub(text)


class _RedactTokens(logging.Filter):
    """Rewrites records of the logger it is attached to so they never carry a token.

    A filter on a logger only sees records logged through that very logger, which is why it is
    attached to each logger in _URL_LOGGERS rather than to a parent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):        # bad %-args: keep the raw format string
            message = str(record.msg)
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Formatters reuse exc_text when it is set: pre-format the traceback, scrubbed.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


_REDACTOR = _RedactTokens()


def _guard_logs() -> None:
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        # The logger's own level, not the effective one: inheriting WARNING from the root today
        # does not protect against someone lowering the root level tomorrow.
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    for name in (*_URL_LOGGERS, __name__):
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


@dataclass(frozen=True)
class SendResult:
    """A message Telegram accepted. ``chat_id`` is the numeric id Telegram reports (also when an
    ``@channel`` name was given); ``formatting_fallback`` is True when it went out as plain text."""

    message_id: int
    chat_id: str
    formatting_fallback: bool


def _retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is an int in PTB 22 (reading it warns) or a timedelta with
    PTB_TIMEDELTA=1; both become float seconds, and reading it here never warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def _describe(exc: BaseException) -> str:
    return scrub(f"{type(exc).__name__}: {exc}")


def _not_sent(exc: TimedOut) -> bool:
    """A pool or connect timeout happens before the request leaves: it was certainly not sent."""
    return isinstance(exc.__cause__, (httpx.PoolTimeout, httpx.ConnectTimeout)) or \
        str(exc).startswith("Pool timeout")


def _is_formatting(exc: BadRequest) -> bool:
    return bool(_FORMATTING.search(exc.message))


def _translate(exc: Exception, *, sending: bool) -> DeliveryError:
    """Map a PTB (or reply-parsing) exception to our tree. Order matters: BadRequest and
    TimedOut subclass NetworkError, so they are tested before it. Messages lead with Telegram's
    own description (operators see them truncated in ``monitor status``)."""
    desc = scrub(str(exc))
    if isinstance(exc, RetryAfter):
        seconds = _retry_seconds(exc)
        return RetryLater(f"flood control: retry after {seconds:g} s", retry_after=seconds)
    if isinstance(exc, ChatMigrated):
        return PermanentFailure(f"chat migrated to a supergroup, new chat id {exc.new_chat_id}",
                                scope="chat", new_chat_id=exc.new_chat_id)
    if isinstance(exc, InvalidToken):
        return PermanentFailure(f"bot token rejected by Telegram: {desc}", scope="bot")
    if isinstance(exc, Forbidden):
        return PermanentFailure(desc if desc.startswith("Forbidden") else f"Forbidden: {desc}",
                                scope="chat")
    if isinstance(exc, BadRequest):
        scope = "chat" if _CHAT_NOT_FOUND.search(exc.message) else "message"
        return PermanentFailure(f"Bad Request: {desc}", scope=scope)
    if isinstance(exc, TimedOut):
        if sending and not _not_sent(exc):
            return MaybeDelivered(f"timed out waiting for Telegram, the message may have been "
                                  f"delivered: {desc}")
        return RetryLater(f"timed out before the request was sent: {desc}")
    if isinstance(exc, NetworkError):
        return RetryLater(f"network or server error: {desc}")
    if isinstance(exc, (KeyError, TypeError, ValueError)) or type(exc) is TelegramError:
        # PTB raises a bare KeyError/TypeError for replies without result/date/chat.type, and a
        # bare TelegramError("Invalid server response") for a body that is not JSON.
        return MalformedReply(f"unreadable reply from Telegram: {_describe(exc)}")
    return RetryLater(f"unexpected Telegram error: {_describe(exc)}")


class TelegramSink:
    """Posts HTML messages to Telegram chats. Use ``async with TelegramSink(token) as sink`` (or
    ``await start()`` / ``await close()``) inside the event loop that will send."""

    def __init__(self, token: str, *, base_url: str = "https://api.telegram.org/bot",
                 link_preview: bool = True, timeout: float = 20.0) -> None:
        if not token or not token.strip():
            raise PermanentFailure("no bot token configured", scope="bot")
        self._token = token
        _Secrets.tokens.add(token)
        self._base_url = base_url
        self._link_preview = link_preview
        self._timeout = timeout
        self._bot: Bot | None = None
        self._requests: tuple[HTTPXRequest, ...] = ()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        state = "started" if self._bot is not None else "stopped"
        return (f"TelegramSink(base_url={scrub(self._base_url)!r}, "
                f"link_preview={self._link_preview}, timeout={self._timeout}, {state})")

    __str__ = __repr__

    # ------------------------------------------------------------------ lifecycle

    def _request(self, pool_size: int) -> HTTPXRequest:
        # trust_env=False: a proxy from the environment must not capture 127.0.0.1 test servers
        # (and the daemon's Telegram traffic should not silently follow HTTP_PROXY either).
        return HTTPXRequest(connection_pool_size=pool_size, connect_timeout=self._timeout,
                            read_timeout=self._timeout, write_timeout=self._timeout,
                            pool_timeout=self._timeout, httpx_kwargs={"trust_env": False})

    async def start(self) -> None:
        """Create the Bot in the running loop. No request is made: start-up must never depend on
        Telegram answering (the token is checked by :meth:`probe`, and by every send)."""
        async with self._lock:
            if self._bot is not None:
                return
            _guard_logs()   # before Bot(): its constructor logs the API URL at DEBUG
            # Bot.initialize() would call getMe; the two request objects are ours to open and
            # close instead (HTTPXRequest builds its client when created).
            self._requests = (self._request(8), self._request(1))
            self._bot = Bot(self._token, base_url=self._base_url, request=self._requests[0],
                            get_updates_request=self._requests[1])
            self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        """Release the HTTP connections. The sink can be started again afterwards."""
        requests, self._requests = self._requests, ()
        self._bot, self._loop = None, None
        self._lock = asyncio.Lock()     # a lock that waited once is tied to that loop
        for request in requests:
            await request.shutdown()

    async def __aenter__(self) -> TelegramSink:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def _ready(self) -> Bot:
        if self._bot is None:
            await self.start()
        assert self._bot is not None
        if self._loop is not asyncio.get_running_loop():
            # The Bot's pooled connections belong to the loop that started it (notes §7.1).
            raise RuntimeError("TelegramSink used from another event loop than the one that "
                               "started it; create one sink per loop")
        return self._bot

    # ------------------------------------------------------------------ calls

    async def probe(self) -> None:
        """Check that Telegram answers and accepts the token (getMe); raises PermanentFailure
        (scope "bot") for a rejected token, RetryLater when Telegram cannot be reached."""
        await self.get_me()

    async def get_me(self) -> str:
        """Ask Telegram who the bot is (checks the token); returns the bot's username."""
        bot = await self._ready()
        try:
            user = await bot.get_me()
        except (TelegramError, KeyError, TypeError, ValueError) as exc:
            raise _translate(exc, sending=False) from None
        return user.username or ""

    async def edit(self, chat_id: str | int, message_id: int, html: str, *,
                   plain_fallback: str | None = None) -> None:
        """Replace the text of a message we sent (story updates).

        "Message is not modified" counts as done. A message that cannot be edited any more
        raises EditImpossible; formatting errors fall back to plain text as in :meth:`send`.
        """
        bot = await self._ready()
        preview = LinkPreviewOptions(is_disabled=not self._link_preview)
        for text, mode in ((html, ParseMode.HTML), (plain_fallback or visible_text(html), None)):
            try:
                await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                            parse_mode=mode, link_preview_options=preview)
                return
            except BadRequest as exc:
                desc = exc.message.lower()
                if "not modified" in desc:
                    return
                if "not found" in desc or "can't be edited" in desc:
                    raise EditImpossible(f"cannot edit message {message_id}: "
                                         f"{_describe(exc)}") from None
                if mode is None or not _is_formatting(exc):
                    raise _translate(exc, sending=True) from None
            except (TelegramError, KeyError, TypeError, ValueError) as exc:
                raise _translate(exc, sending=True) from None

    async def send(self, chat_id: str | int, html: str, *, topic_id: int | None = None,
                   plain_fallback: str | None = None,
                   preview_url: str | None = None, reply_to: int | None = None) -> SendResult:
        """Post ``html`` (parse mode HTML) to ``chat_id``, in forum topic ``topic_id`` if given.

        When Telegram rejects the formatting, the message is sent again as plain text
        (``plain_fallback``, or the visible text of ``html``) and ``formatting_fallback`` is True.
        Raises RetryLater, MaybeDelivered, MalformedReply or PermanentFailure.
        """
        bot = await self._ready()
        preview = (LinkPreviewOptions(is_disabled=False, url=preview_url) if self._link_preview
                   else LinkPreviewOptions(is_disabled=True))
        try:
            message = await bot.send_message(
                chat_id, html, parse_mode=ParseMode.HTML, message_thread_id=topic_id,
                link_preview_options=preview,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to else None)
            fallback = False
        except BadRequest as exc:
            if not _is_formatting(exc):
                raise _translate(exc, sending=True) from None
            log.warning("Telegram rejected the HTML formatting, resending as plain text",
                        extra={"chat_id": str(chat_id), "error": _describe(exc)})
            message = await self._send_plain(bot, chat_id, plain_fallback or visible_text(html),
                                             topic_id, preview)
            fallback = True
        except (TelegramError, KeyError, TypeError, ValueError) as exc:
            raise _translate(exc, sending=True) from None
        result = self._result(message, fallback)
        log.debug("Telegram message sent", extra={"chat_id": result.chat_id,
                                                  "message_id": result.message_id})
        return result

    async def _send_plain(self, bot: Bot, chat_id: str | int, text: str, topic_id: int | None,
                          preview: LinkPreviewOptions) -> Message:
        try:
            return await bot.send_message(chat_id, text, message_thread_id=topic_id,
                                          link_preview_options=preview)
        except (TelegramError, KeyError, TypeError, ValueError) as exc:
            raise _translate(exc, sending=True) from None

    @staticmethod
    def _result(message: Message, fallback: bool) -> SendResult:
        try:
            return SendResult(message_id=int(message.message_id), chat_id=str(message.chat.id),
                              formatting_fallback=fallback)
        except (AttributeError, TypeError, ValueError) as exc:   # e.g. message_id null
            raise MalformedReply(f"unreadable reply from Telegram ({_describe(exc)})") from None
