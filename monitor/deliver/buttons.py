"""Triage in the sender: the buttons under each alert, their tally after a press, and the mutes.

* Every alert goes out with ✅ · ❌ · 🔕 buttons (``Drainer.buttons``: analysts enabled and the
  Telegram sink); a story update's edit carries them again with the current tally, since
  Telegram removes the keyboard of a message edited without one.
* A press queues a ``tally`` row in the same transaction as the judgement
  (:func:`monitor.store.judgements.judge_alert`); here it becomes one ``editMessageReplyMarkup``
  in the alert's destination queue, so it is durable and paced with the chat's other messages.
  Every tally row of the alert pending at that moment is served by the one edit, and "not
  modified" counts as done.
* An alert whose every entity is muted (``/mute``) when its turn comes is held as ``muted``
  with the reason (``monitor status`` counts it); a muted story gets no more update edits or
  replies (:mod:`monitor.deliver.updates`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from monitor.alert.keyboard import Keyboard, triage_keyboard
from monitor.deliver.backlog import release_held
from monitor.errors import EditImpossible, PermanentFailure, RetryLater
from monitor.store import judgements, outbox, triage
from monitor.store.mentions import article_entities
from monitor.store.outbox import OutboxRow

if TYPE_CHECKING:
    from monitor.deliver.drain import Drainer, DrainStats
    from monitor.deliver.ratelimit import SlidingWindow

log = logging.getLogger(__name__)
#: How often held alerts are checked for a mute that has ended (seconds).
RELEASE_EVERY = 30.0


class TriageButtons:
    """The part of :class:`~monitor.deliver.drain.Drainer` that shows and refreshes buttons."""

    def keyboard_for(self: Drainer, row_id: int, article_id: int | None) -> Keyboard | None:
        """The buttons of the alert in outbox row ``row_id`` as they should look now; None when
        alerts carry no buttons (another sink, analysts disabled) or it is not an article's."""
        if not self.buttons or article_id is None:
            return None
        tally = judgements.tally(self.db, article_id)
        return triage_keyboard(row_id, tally.relevant, tally.not_relevant,
                               judgements.story_muted(self.db, row_id))

    def muted_because(self: Drainer, row: OutboxRow) -> str | None:
        """Why the alert in ``row`` is held (every entity it names is muted), else None."""
        if row.kind != "alert" or row.payload is None or row.payload.article_id is None:
            return None
        muted = judgements.muted_entities(self.db, self.clock())
        if not muted:
            return None
        entities = article_entities(self.db.conn, row.payload.article_id)
        if not entities or any(e not in muted for e in entities):
            return None
        tz = self.settings.timezone
        return "muted: every entity it names is muted (" + ", ".join(
            f"{e} until {_when(muted[e][0], tz)} by {muted[e][1] or 'an analyst'}"
            for e in entities) + ")"

    def hold_if_muted(self: Drainer, row: OutboxRow) -> bool:
        """Hold ``row`` as ``muted`` when every entity it names is muted. Returns whether it
        was held."""
        reason = self.muted_because(row)
        if reason is None:
            return False
        triage.hold_muted(self.db, row.id, reason=reason)
        log.info("alert held destination=%s outbox_id=%d article_id=%s: %s", row.destination,
                 row.id, row.payload.article_id if row.payload else None, reason)
        return True

    _released_at = float("-inf")

    def release_ended_mutes(self: Drainer) -> int:
        """Alerts held by a mute that has ended (expired, /unmute) go out as digests, so an
        analyst's mute delays them and never hides them. Checked at most every RELEASE_EVERY s;
        returns how many were released."""
        now = self.clock()
        if now - self._released_at < RELEASE_EVERY:
            return 0
        self._released_at = now
        released = release_held(self.db, self.settings,
                                lambda r: self.muted_because(r) is not None, now)
        if released:
            self.wake.set()
        return released

    def hold_muted_backlog(self: Drainer, dest: str) -> int:
        """Before a backlog is folded into digests: hold its muted alerts (a digest would send
        them). Returns how many were held."""
        if not judgements.muted_entities(self.db, self.clock()):
            return 0
        return sum(self.hold_if_muted(r) for r in outbox.pending(self.db, dest, limit=100_000)
                   if r.kind == "alert" and r.digest_id is None)

    def chat_window(self: Drainer, destination: str, chat_id: str) -> SlidingWindow:
        """The per-chat rate limit of a message to an alert's chat: the destination's own
        window (alerts use it under the configured name), else the chat id's."""
        try:
            return self._chat_limit(self.resolve(destination)[0])
        except PermanentFailure:
            return self._chat_limit(chat_id)

    async def _tally(self: Drainer, row: OutboxRow, stats: DrainStats) -> str:
        """Refresh the buttons of the alert a press was on (one edit for all its pending
        tally rows)."""
        assert row.payload is not None
        target_id = row.payload.target_id or 0
        # The rows first, the tally after: a press committed after this read queues a row of
        # its own, which this edit does not claim.
        rows = triage.pending_tallies(self.db, row.destination, target_id) or [row.id]
        target = outbox.get_row(self.db, target_id)
        if (target is None or target["kind"] != "alert" or target["status"] != "sent"
                or target["message_id"] is None or not self.buttons):
            triage.mark_tallied(self.db, rows)      # no message with buttons to refresh
            return "merged"
        keyboard = self.keyboard_for(target_id, target["article_id"])
        await self._global.acquire()
        await self.chat_window(row.destination, target["chat_id"]).acquire()
        outbox.mark_sending(self.db, row.id)
        try:
            await self.sink.edit_markup(target["chat_id"], target["message_id"], keyboard)
        except EditImpossible as exc:
            log.warning("tally not shown destination=%s outbox_id=%d: %s", row.destination,
                        target_id, exc)
            triage.mark_tallied(self.db, rows)
            return "merged"
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        except RetryLater as exc:
            return self._retry(row, exc, stats)
        triage.mark_tallied(self.db, rows)
        self.delivered(row.destination)
        log.info("tally shown destination=%s outbox_id=%d message_id=%d presses=%d",
                 row.destination, target_id, target["message_id"], len(rows))
        return "sent"


def _when(at: float, tz: str) -> str:
    """A mute's end as the analysts read it: local time of the configured zone."""
    from zoneinfo import ZoneInfo

    try:
        zone: dt.tzinfo = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = dt.UTC
    return dt.datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M")
