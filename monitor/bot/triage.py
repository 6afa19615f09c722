"""A press on an alert's triage buttons (a ``callback_query`` update) → a judgement or a story
mute, recorded with the update offset in one transaction, then answered with a short notice.

The button's data is checked before anything is believed: it must be exactly ours
(:func:`monitor.alert.keyboard.parse_data`) and name an alert that was sent as the very message
the press came from. Anything else (a foreign bot's data, a forged string, an alert this
database does not know) is answered and skipped: only the offset moves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from monitor.alert.keyboard import Press, parse_data
from monitor.bot.access import CANNOT_TELL, REFUSED_PRESS, Access, judge_of
from monitor.errors import DeliveryError, RetryLater
from monitor.store import judgements, outbox
from monitor.store.db import Database

if TYPE_CHECKING:
    from telegram import CallbackQuery

    from monitor.deliver.base import UpdatesSink

log = logging.getLogger(__name__)

NOT_OURS = "This button is not one of this monitor's."
UNKNOWN_ALERT = "This alert is not known to this monitor (any more)."


class Triage:
    """Handles button presses for the poller."""

    def __init__(self, db: Database, sink: UpdatesSink, access: Access,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.sink, self.access, self.clock = db, sink, access, clock
        self.on_tally: Callable[[], None] = lambda: None   # wakes the sender (a tally row)

    async def handle(self, update_id: int, query: CallbackQuery) -> None:
        """Record what the press asks for (or skip it) and answer it. A store error leaves the
        offset where it was: the update comes again with the next getUpdates."""
        user = query.from_user
        press = parse_data(query.data)
        if press is None:
            log.info("button press with data that is not ours skipped update_id=%d user_id=%d",
                     update_id, user.id)
            judgements.skip_update(self.db, update_id, self.clock())
            await self._answer(query, NOT_OURS)
            return
        try:
            allowed = await self.access.allowed(user.id)
        except RetryLater as exc:
            log.warning("button press not recorded, access unknown update_id=%d user_id=%d: %s",
                        update_id, user.id, exc)
            judgements.skip_update(self.db, update_id, self.clock())
            await self._answer(query, CANNOT_TELL)
            return
        if not allowed:
            log.warning("button press REFUSED: user_id=%d (%s) is not an allowed analyst "
                        "(analysts.users%s) outbox_id=%d", user.id, judge_of(user).name,
                        ", analysts.admins" if self.access.admins else "", press.outbox_id)
            judgements.skip_update(self.db, update_id, self.clock())
            await self._answer(query, REFUSED_PRESS)
            return
        if not self._is_our_alert(press, query):
            log.info("button press on an unknown alert skipped update_id=%d outbox_id=%d",
                     update_id, press.outbox_id)
            judgements.skip_update(self.db, update_id, self.clock())
            await self._answer(query, UNKNOWN_ALERT)
            return
        await self._answer(query, self._record(update_id, press, query))

    def _is_our_alert(self, press: Press, query: CallbackQuery) -> bool:
        """The row is an alert we sent, and the press came from that very message."""
        row = outbox.get_row(self.db, press.outbox_id)
        if row is None or row["kind"] != "alert" or row["status"] != "sent":
            return False
        message = query.message
        if message is None:
            return False
        return (str(message.chat.id) == str(row["chat_id"])
                and int(message.message_id) == row["message_id"])

    def _record(self, update_id: int, press: Press, query: CallbackQuery) -> str:
        """Store the press with the offset (one transaction); the notice to answer it with."""
        judge = judge_of(query.from_user)
        now = self.clock()
        if press.action == "mute":
            if not judgements.mute_alert_story(self.db, update_id=update_id,
                                               outbox_id=press.outbox_id, judge=judge, now=now):
                return UNKNOWN_ALERT
            log.info("story muted outbox_id=%d by user_id=%d", press.outbox_id, judge.user_id)
            self.on_tally()
            return "🔕 Story muted: no more updates about it."
        tally = judgements.judge_alert(self.db, update_id=update_id, outbox_id=press.outbox_id,
                                       judge=judge, label=press.action, now=now)
        if tally is None:
            return UNKNOWN_ALERT
        log.info("alert judged %s outbox_id=%d by user_id=%d (now %d relevant, %d not)",
                 press.action, press.outbox_id, judge.user_id, tally.relevant, tally.not_relevant)
        self.on_tally()
        mark = "✅" if press.action == "relevant" else "❌"
        return f"{mark} recorded — {tally.relevant} relevant, {tally.not_relevant} not"

    async def _answer(self, query: CallbackQuery, text: str) -> None:
        """Answer the press; a late or failed answer is logged, never retried (the press is
        recorded already, and Telegram forgets a query after a while)."""
        try:
            await self.sink.answer_callback(query.id, text)
        except DeliveryError as exc:
            log.warning("could not answer a button press (the press itself is kept): %s", exc)
