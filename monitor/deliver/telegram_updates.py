"""The part of :class:`~monitor.deliver.telegram.TelegramSink` that serves the analysts: reading
updates (``getUpdates`` long polling), answering button presses, the chats' administrators, and
plain replies to commands. Errors leave translated by the one table (``translate.py``); a 409
Conflict becomes :class:`~monitor.errors.UpdatesConflict`.

``getUpdates`` goes through the Bot's separate ``get_updates_request`` (a pool of its own), so a
long poll never holds a connection that alerts need, and its read timeout is the long-poll
``timeout`` plus the sink's usual timeout: Telegram answers an idle long poll only when the
timeout is over, and that answer must not be taken for a dead connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from telegram import LinkPreviewOptions, Update

from monitor.deliver.base import SendResult
from monitor.deliver.translate import translated

if TYPE_CHECKING:
    from monitor.deliver.telegram import TelegramSink

#: Telegram's limit on a callback answer's notice.
MAX_NOTICE = 200


class TelegramUpdates:
    """Updates and answers (mixed into TelegramSink)."""

    async def get_updates(self: TelegramSink, offset: int, timeout: int,
                          allowed_updates: Sequence[str]) -> tuple[Update, ...]:
        """The updates from ``offset`` on (0: the oldest unconfirmed), waiting up to ``timeout``
        seconds for one to arrive. Passing ``offset`` confirms every update before it: Telegram
        drops those for good. Raises RetryLater (UpdatesConflict for a 409) or
        PermanentFailure."""
        bot = await self._ready()
        with translated(sending=False):
            # PTB adds ``timeout`` to read_timeout: the read waits out the whole long poll.
            return await bot.get_updates(offset=offset or None, timeout=timeout,
                                         allowed_updates=list(allowed_updates),
                                         read_timeout=self._timeout)

    async def answer_callback(self: TelegramSink, callback_id: str, text: str) -> None:
        """Answer a button press with a short notice (Telegram shows it briefly and stops the
        button's spinner). An answer that comes too late raises PermanentFailure."""
        bot = await self._ready()
        with translated(sending=False):
            await bot.answer_callback_query(callback_id, text=text[:MAX_NOTICE])

    async def chat_administrators(self: TelegramSink, chat_id: str | int) -> list[int]:
        """The user ids of the chat's administrators (owner included)."""
        bot = await self._ready()
        with translated(sending=False):
            members = await bot.get_chat_administrators(chat_id)
        return [int(m.user.id) for m in members]

    async def reply(self: TelegramSink, chat_id: str | int, html: str,
                    reply_to: int | None = None, *, topic_id: int | None = None) -> SendResult:
        """Answer a command in its chat (HTML, plain text if Telegram refuses the formatting),
        as a reply to the command's message when it is still there; no link preview."""
        return await self._post(chat_id, html, topic_id=topic_id, plain_fallback=None,
                                preview=LinkPreviewOptions(is_disabled=True), reply_to=reply_to,
                                markup=None)
