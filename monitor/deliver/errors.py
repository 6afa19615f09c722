"""Delivery errors, grouped by what the caller (the outbox drain loop) should do.

    MonitorError
    └── DeliveryError              base: sending a message failed
        ├── RetryLater             try again later; ``retry_after`` seconds when Telegram said so
        │   │                      (429), None otherwise (5xx, network): back off with jitter
        │   ├── MaybeDelivered     timed out after the request went out: it may have arrived
        │   └── MalformedReply     Telegram's answer could not be read (no ``result``, bad JSON)
        └── PermanentFailure       retrying cannot help; ``scope`` says what is broken:
                                   "bot" (token rejected), "chat" (kicked, not found, migrated)
                                   or "message" (this message is refused, e.g. too long)

Messages never contain the bot token: the sender scrubs everything it puts into them.
"""

from __future__ import annotations

from typing import Literal

from monitor.errors import MonitorError

Scope = Literal["bot", "chat", "message"]


class DeliveryError(MonitorError):
    """Sending a message to Telegram failed."""

    kind = "delivery"


class RetryLater(DeliveryError):
    """A temporary failure. ``retry_after`` is the delay Telegram asked for (429), in seconds,
    or None when the caller should pick its own backoff."""

    kind = "retry_later"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class MaybeDelivered(RetryLater):
    """The request timed out after it was sent: Telegram may have posted the message.
    Resending may duplicate it; the caller decides."""

    kind = "maybe_delivered"


class MalformedReply(RetryLater):
    """Telegram (or something in between) answered with a reply that could not be read."""

    kind = "malformed_reply"


class PermanentFailure(DeliveryError):
    """Retrying will not help. ``reason`` says why; ``scope`` what to stop using (the bot, the
    chat, or only this message); ``new_chat_id`` is set when a group became a supergroup."""

    kind = "permanent"

    def __init__(self, reason: str, *, scope: Scope = "message",
                 new_chat_id: int | None = None) -> None:
        self.reason, self.scope, self.new_chat_id = reason, scope, new_chat_id
        super().__init__(reason)


class EditImpossible(PermanentFailure):
    """The message can no longer be edited (deleted, too old, not ours): reply instead."""

    kind = "edit_impossible"
