"""What every sink (Telegram, console, JSON lines) offers the outbox drainer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
                   reply_to: int | None = None) -> SendResult: ...

    async def edit(self, chat_id: str | int, message_id: int, html: str, *,
                   plain_fallback: str | None = None) -> None: ...
