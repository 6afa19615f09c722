"""Send messages with python-telegram-bot's ``Bot``; its errors reach the drain loop translated
by the one table in ``monitor/deliver/translate.py``.

Only ``telegram.Bot`` is used (not Application/ExtBot, not AIORateLimiter): the drain loop paces
sends itself. The Bot is created inside the running event loop by :meth:`TelegramSink.start`, since
its HTTP client sticks to the loop that first used it.

The bot token is a secret that several layers like to print: httpx logs every request URL (which
contains ``/bot<token>/``) at INFO, PTB logs the API URL at DEBUG when a Bot is built, and PTB's
``InvalidToken`` from ``initialize()`` quotes the token. So this module registers the token with
``monitor.logs`` (whose :func:`~monitor.logs.scrub` cleans every message the translator builds),
quiets the httpx/httpcore loggers and attaches the redaction filter to the loggers that see the
URL; the translator raises ``from None`` so no chained PTB exception carries the token into a
traceback.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.request import HTTPXRequest

from monitor.alert.compose import visible_text
from monitor.alert.keyboard import Keyboard
from monitor.deliver.base import SendResult
from monitor.deliver.telegram_updates import TelegramUpdates
from monitor.deliver.translate import describe, is_formatting, translated
from monitor.errors import EditImpossible, MalformedReply, PermanentFailure
from monitor.logs import RedactSecrets, add_secret, scrub

__all__ = ["SendResult", "TelegramSink"]

log = logging.getLogger(__name__)

# Loggers that print the API URL (hence the token): PTB's Bot ("Set Bot API URL: ...") and its
# request classes, and httpx ("HTTP Request: POST https://.../bot<token>/sendMessage").
_URL_LOGGERS = ("telegram", "telegram.Bot", "telegram.BaseRequest", "telegram.HTTPXRequest",
                "httpx", "httpcore")
# httpx logs each request URL at INFO and httpcore traces at DEBUG: nothing there is worth the
# risk, so they are held at WARNING even if the application's logging setup forgot to.
_QUIET_LOGGERS = ("httpx", "httpcore")

# A filter on a logger only sees records logged through that very logger, which is why it is
# attached to each logger in _URL_LOGGERS rather than to a parent.
_REDACTOR = RedactSecrets()


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


class TelegramSink(TelegramUpdates):
    """Posts HTML messages to Telegram chats, with inline keyboards, and reads the bot's
    updates (:class:`~monitor.deliver.telegram_updates.TelegramUpdates`). Use ``async with TelegramSink(token) as sink`` (or
    ``await start()`` / ``await close()``) inside the event loop that will send."""

    def __init__(self, token: str, *, base_url: str = "https://api.telegram.org/bot",
                 link_preview: bool = True, timeout: float = 20.0) -> None:
        if not token or not token.strip():
            raise PermanentFailure("no bot token configured", scope="bot")
        self._token = token
        add_secret(token)
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
        with translated(sending=False):
            user = await bot.get_me()
        return user.username or ""

    async def edit(self, chat_id: str | int, message_id: int, html: str, *,
                   plain_fallback: str | None = None, keyboard: Keyboard | None = None) -> None:
        """Replace the text of a message we sent (story updates), with ``keyboard`` under it:
        Telegram removes the keyboard of a message edited without one.

        "Message is not modified" counts as done. A message that cannot be edited any more
        raises EditImpossible; formatting errors fall back to plain text as in :meth:`send`.
        """
        bot = await self._ready()
        preview = LinkPreviewOptions(is_disabled=not self._link_preview)
        markup = inline_markup(keyboard)
        attempts = ((html, ParseMode.HTML), (plain_fallback or visible_text(html), None))
        with translated(sending=True):
            for text, mode in attempts:
                try:
                    await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                                parse_mode=mode, link_preview_options=preview,
                                                reply_markup=markup)
                    return
                except BadRequest as exc:
                    if _unchanged(exc, message_id):
                        return
                    if mode is None or not is_formatting(exc):
                        raise

    async def edit_markup(self, chat_id: str | int, message_id: int,
                          keyboard: Keyboard | None) -> None:
        """Replace only the buttons under a message we sent (a tally after a press); None
        removes them. "Not modified" counts as done; EditImpossible as in :meth:`edit`."""
        bot = await self._ready()
        with translated(sending=True):
            try:
                await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id,
                                                    reply_markup=inline_markup(keyboard))
            except BadRequest as exc:
                if not _unchanged(exc, message_id):
                    raise

    async def send(self, chat_id: str | int, html: str, *, topic_id: int | None = None,
                   plain_fallback: str | None = None, preview_url: str | None = None,
                   reply_to: int | None = None, keyboard: Keyboard | None = None) -> SendResult:
        """Post ``html`` (parse mode HTML) to ``chat_id``, in forum topic ``topic_id`` if given,
        with ``keyboard`` (inline buttons) under it.

        When Telegram rejects the formatting, the message is sent again as plain text
        (``plain_fallback``, or the visible text of ``html``) and ``formatting_fallback`` is True.
        Raises RetryLater, MaybeDelivered, MalformedReply or PermanentFailure.
        """
        preview = (LinkPreviewOptions(is_disabled=False, url=preview_url) if self._link_preview
                   else LinkPreviewOptions(is_disabled=True))
        return await self._post(chat_id, html, topic_id=topic_id, plain_fallback=plain_fallback,
                                preview=preview, reply_to=reply_to, markup=inline_markup(keyboard))

    async def _post(self, chat_id: str | int, html: str, *, topic_id: int | None,
                    plain_fallback: str | None, preview: LinkPreviewOptions,
                    reply_to: int | None, markup: InlineKeyboardMarkup | None) -> SendResult:
        bot = await self._ready()
        reply = (ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to
                 else None)
        with translated(sending=True):
            try:
                return self._result(await bot.send_message(
                    chat_id, html, parse_mode=ParseMode.HTML, message_thread_id=topic_id,
                    link_preview_options=preview, reply_parameters=reply, reply_markup=markup),
                    fallback=False)
            except BadRequest as exc:
                if not is_formatting(exc):
                    raise
                error = describe(exc)
        log.warning("Telegram rejected the HTML formatting, resending as plain text",
                    extra={"chat_id": str(chat_id), "error": error})
        text = plain_fallback or visible_text(html)
        with translated(sending=True):
            message = await bot.send_message(chat_id, text, message_thread_id=topic_id,
                                             link_preview_options=preview,
                                             reply_parameters=reply, reply_markup=markup)
        return self._result(message, fallback=True)

    @staticmethod
    def _result(message: Message, *, fallback: bool) -> SendResult:
        try:
            result = SendResult(message_id=int(message.message_id),
                                chat_id=str(message.chat.id), formatting_fallback=fallback)
        except (AttributeError, TypeError, ValueError) as exc:   # e.g. message_id null
            raise MalformedReply(f"unreadable reply from Telegram ({describe(exc)})") from None
        log.debug("Telegram message sent", extra={"chat_id": result.chat_id,
                                                  "message_id": result.message_id})
        return result


def inline_markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """PTB's markup for a keyboard of :mod:`monitor.alert.keyboard` (None: no buttons)."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
                                 for row in keyboard])


def _unchanged(exc: BadRequest, message_id: int) -> bool:
    """An edit's BadRequest: True for "not modified" (the message already shows it: done);
    EditImpossible when the message cannot be edited any more; False for the caller to handle."""
    desc = exc.message.lower()
    if "not modified" in desc:
        return True
    if "not found" in desc or "can't be edited" in desc:
        raise EditImpossible(f"cannot edit message {message_id}: {describe(exc)}") from None
    return False
