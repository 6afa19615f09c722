"""Who may judge alerts and use commands: the ``analysts.users`` allow-list, and with
``analysts.admins`` the administrators of the destination chats, read from the Bot API
(``getChatAdministrators``) and trusted for ``admins_cache_seconds``.

When an administrator list cannot be read, the last one read is used; with none read yet the
answer is "cannot tell" (:class:`~monitor.errors.RetryLater`), so an analyst is asked to press
again rather than told they are not allowed. A failed read is retried after a minute, not at
every press, so someone writing to the bot cannot make it call Telegram at will.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from monitor.errors import DeliveryError, RetryLater
from monitor.store.judgements import Judge

if TYPE_CHECKING:
    from telegram import User

    from monitor.config import Settings
    from monitor.deliver.base import UpdatesSink

log = logging.getLogger(__name__)

#: After a failed getChatAdministrators, how long before it is asked again (seconds).
RETRY_ADMINS_SECONDS = 60.0

REFUSED_PRESS = "Sorry, only this monitor's analysts can judge its alerts."
REFUSED_COMMAND = ("Sorry, this bot answers only the monitor's analysts. An operator can add "
                   "your Telegram user id <code>{user_id}</code> to <code>analysts.users</code>.")
CANNOT_TELL = "⏳ Cannot check who may use this bot right now; please try again in a minute."


def judge_of(user: User) -> Judge:
    """The analyst behind a Telegram user: their id and the name the tally and exports show."""
    name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.username or ""
    return Judge(int(user.id), name)


class Access:
    """Answers "may this user judge and command?" for the daemon's bot."""

    def __init__(self, sink: UpdatesSink, settings: Settings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        analysts = settings.analysts
        self.sink, self.clock = sink, clock
        self.users = frozenset(analysts.users)
        self.admins = analysts.admins
        self.cache_seconds = analysts.admins_cache_seconds
        # Each destination chat once (several destinations may be topics of one group).
        self.chats = list(dict.fromkeys(d.chat_id for d in settings.alerts.destinations.values()))
        self._lists: dict[str, tuple[float, frozenset[int] | None]] = {}   # chat → (until, ids)

    @property
    def nobody(self) -> bool:
        """True when no one at all can be allowed (no users listed, administrators not used)."""
        return not self.users and not (self.admins and self.chats)

    async def allowed(self, user_id: int) -> bool:
        """Whether ``user_id`` may judge and use commands. Raises RetryLater when that depends
        on an administrator list that could not be read yet."""
        if user_id in self.users:
            return True
        if not self.admins:
            return False
        unknown = False
        for chat in self.chats:
            ids = await self._admins_of(chat)
            if ids is None:
                unknown = True
            elif user_id in ids:
                return True
        if unknown:
            raise RetryLater("the administrators of a destination chat could not be read")
        return False

    async def _admins_of(self, chat: str) -> frozenset[int] | None:
        """The chat's administrators (cached); None when they were never read successfully."""
        now = self.clock()
        until, ids = self._lists.get(chat, (0.0, None))
        if now < until:
            return ids
        try:
            fresh = frozenset(await self.sink.chat_administrators(chat))
        except DeliveryError as exc:
            log.warning("cannot read the administrators of chat=%s (analysts.admins), %s; "
                        "retrying in %.0f s: %s", chat,
                        "using the last list read" if ids is not None else "no list read yet",
                        RETRY_ADMINS_SECONDS, exc)
            self._lists[chat] = (now + RETRY_ADMINS_SECONDS, ids)
            return ids
        self._lists[chat] = (now + self.cache_seconds, fresh)
        return fresh
