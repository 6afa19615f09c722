"""Story updates in the sender: a later report of an alerted story edits the alert (or is folded
into it while it is still queued); when the alert can no longer be edited, one threaded reply per
``stories.reply_every`` new outlets. A story an analyst muted (🔕) gets neither: its updates are
marked merged. The edit carries the alert's triage buttons with the current tally (Telegram
would drop them otherwise)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from monitor.alert.payload import AlertPayload
from monitor.errors import EditImpossible, PermanentFailure, RetryLater
from monitor.store import judgements, outbox
from monitor.store.outbox import OutboxRow

if TYPE_CHECKING:
    from monitor.deliver.drain import Drainer, DrainStats

log = logging.getLogger(__name__)


class StoryUpdates:
    """The part of :class:`~monitor.deliver.drain.Drainer` that handles ``update`` rows."""

    async def _update(self: Drainer, row: OutboxRow, stats: DrainStats) -> str:
        """A later report of an alerted story: edit the alert, or fold into it if unsent."""
        assert row.payload is not None
        target_id = row.payload.target_id or 0
        target = outbox.get_row(self.db, target_id)
        if target is None or target["status"] in ("folded", "rejected", "muted"):
            outbox.mark_merged(self.db, row.id)
            return "merged"
        if judgements.story_muted(self.db, target_id):
            log.info("story update dropped: its story is muted destination=%s outbox_id=%d",
                     row.destination, target_id)
            outbox.mark_merged(self.db, row.id)
            return "merged"
        payload = AlertPayload.from_json(target["payload_json"])
        also = tuple(o for o in outbox.story_outlets_of(self.db, target["article_id"])
                     if o != payload.outlet)
        payload = replace(payload, also=also)
        if target["status"] != "sent":
            # Not out yet: the alert itself will carry "also reported by".
            outbox.set_payload(self.db, target_id, payload)
            outbox.mark_merged(self.db, row.id)
            return "merged"
        rendered = self.render_or_set_aside(row, payload, stats)
        if rendered is None:
            return "rejected"
        html, plain = rendered
        keyboard = self.keyboard_for(target_id, target["article_id"])
        await self._global.acquire()
        await self.chat_window(row.destination, target["chat_id"]).acquire()
        outbox.mark_sending(self.db, row.id)
        try:
            await self.sink.edit(target["chat_id"], target["message_id"], html,
                                 plain_fallback=plain, keyboard=keyboard)
        except EditImpossible:
            return await self._reply_instead(row, target, payload, stats)
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        except RetryLater as exc:
            return self._retry(row, exc, stats)
        outbox.set_payload(self.db, target_id, payload)
        outbox.mark_sent(self.db, row.id, now=self.clock(), message_id=target["message_id"],
                         chat_id=target["chat_id"], plain_fallback=False)
        self.delivered(row.destination)
        stats.sent += 1
        log.info("alert updated destination=%s outbox_id=%d message_id=%d outlets=%d",
                 row.destination, target_id, target["message_id"], len(also) + 1)
        return "sent"

    async def _reply_instead(self: Drainer, row: OutboxRow, target: Any, payload: AlertPayload,
                             stats: DrainStats) -> str:
        """The alert can no longer be edited: one threaded reply per ``reply_every`` outlets."""
        if len(payload.also) - payload.replied < self.reply_every:
            outbox.mark_merged(self.db, row.id)
            return "merged"
        note = AlertPayload(kind="notice", title=f"📰 {payload.title}",
                            body="also reported by: " + ", ".join(payload.also))
        rendered = self.render_or_set_aside(row, note, stats)
        if rendered is None:
            return "rejected"
        html, plain = rendered
        try:
            result = await self.sink.send(target["chat_id"], html, plain_fallback=plain,
                                          reply_to=target["message_id"])
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        except RetryLater as exc:
            return self._retry(row, exc, stats)
        outbox.set_payload(self.db, target["id"], replace(payload, replied=len(payload.also)))
        outbox.mark_sent(self.db, row.id, now=self.clock(), message_id=result.message_id,
                         chat_id=result.chat_id, plain_fallback=result.formatting_fallback)
        self.delivered(row.destination)
        stats.sent += 1
        return "sent"
