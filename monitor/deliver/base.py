"""What every sink (Telegram, console, JSON lines) offers the outbox drainer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from telegram import Update

    from monitor.alert.keyboard import Keyboard


@dataclass(frozen=True)
class SendResult:
    """A confirmed delivery (the one result type of every sink). For Telegram, ``chat_id`` is the
    numeric id Telegram reports (also when an ``@channel`` name was given); ``formatting_fallback``
    is True when the message went out as plain text."""

    message_id: int
    chat_id: str
    formatting_fallback: bool = False


class Sink(Protocol):
    """Delivers one rendered message. Raises monitor.errors.DeliveryError subclasses on failure."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def probe(self) -> None:
        """Check that the sink answers and accepts our credentials (Telegram: getMe), without
        sending anything; raises like :meth:`send`."""

    async def send(self, chat_id: str | int, html: str, *, topic_id: int | None = None,
                   plain_fallback: str | None = None, preview_url: str | None = None,
                   reply_to: int | None = None, keyboard: Keyboard | None = None
                   ) -> SendResult: ...

    async def edit(self, chat_id: str | int, message_id: int, html: str, *,
                   plain_fallback: str | None = None, keyboard: Keyboard | None = None
                   ) -> None: ...

    async def edit_markup(self, chat_id: str | int, message_id: int,
                          keyboard: Keyboard | None) -> None:
        """Replace the buttons under a sent message (sinks without buttons do nothing)."""


class UpdatesSink(Sink, Protocol):
    """A sink that also reads the bot's updates and answers them (Telegram only): what
    :mod:`monitor.bot` needs."""

    async def get_me(self) -> str: ...

    async def get_updates(self, offset: int, timeout: int,
                          allowed_updates: Sequence[str]) -> tuple[Update, ...]: ...

    async def answer_callback(self, callback_id: str, text: str) -> None: ...

    async def chat_administrators(self, chat_id: str | int) -> list[int]: ...

    async def reply(self, chat_id: str | int, html: str, reply_to: int | None = None, *,
                    topic_id: int | None = None) -> SendResult: ...
