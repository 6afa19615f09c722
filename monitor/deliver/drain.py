"""Draining the outbox: in order per destination, rate-limited, retried forever, never dropped.

Each destination is drained by its own task, so a destination waiting out a 429 or a network
back-off never blocks the others. A permanent error (bot removed, chat not found) pauses the
destination: its rows stay queued and it is probed again after ``pause_retry_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from monitor.alert.payload import AlertPayload
from monitor.config import AlertSettings
from monitor.deliver.base import Sink
from monitor.deliver.errors import EditImpossible, MaybeDelivered, PermanentFailure, RetryLater
from monitor.deliver.ratelimit import SlidingWindow
from monitor.ops.metrics import METRICS
from monitor.store import outbox
from monitor.store.db import Database
from monitor.store.outbox import SEVERITY_ORDER, OutboxRow

log = logging.getLogger(__name__)


@dataclass
class DrainStats:
    """What one drain pass did."""

    sent: int = 0
    retried: int = 0
    paused: list[str] = field(default_factory=list)
    folded: int = 0
    rejected: int = 0


class Drainer:
    """Sends queued alerts through a sink."""

    def __init__(self, db: Database, sink: Sink, settings: AlertSettings, *, chat_ids: bool,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.sink, self.settings, self.clock = db, sink, settings, clock
        self.chat_ids = chat_ids     # Telegram: resolve destination names to chat ids
        self._global = SlidingWindow(settings.global_per_second, 1.0)
        self._per_chat: dict[str, SlidingWindow] = {}
        self._tz = ZoneInfo(settings.timezone)
        self.wake = asyncio.Event()
        self.on_pause: Callable[[str, str], None] | None = None   # operator notice hook
        self.reply_every = 3   # stories.reply_every

    async def drain(self, *, wait: bool, stop: asyncio.Event | None = None) -> DrainStats:
        """Deliver what is pending. ``wait=False`` tries each destination until its first
        failure (``monitor once``); ``wait=True`` waits out back-offs until the queue is empty."""
        stats = DrainStats()
        dests = outbox.destinations_with_work(self.db)
        await asyncio.gather(*(self._drain_destination(d, wait, stop, stats) for d in dests))
        return stats

    async def run(self, stop: asyncio.Event) -> None:
        """The daemon's sender: drain whenever woken (new alerts) or every few seconds."""
        outbox.recover_interrupted(self.db)
        running: dict[str, asyncio.Task[None]] = {}
        stats = DrainStats()
        while not stop.is_set():
            for dest in outbox.destinations_with_work(self.db):
                if dest not in running or running[dest].done():
                    running[dest] = asyncio.create_task(
                        self._drain_destination(dest, True, stop, stats), name=f"drain:{dest}")
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), 2.0)
            except TimeoutError:
                pass
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)

    async def _drain_destination(self, dest: str, wait: bool, stop: asyncio.Event | None,
                                 stats: DrainStats) -> None:
        if not self._may_send(dest):
            return
        self._fold_backlog(dest, stats)
        while not (stop and stop.is_set()):
            rows = outbox.pending(self.db, dest, limit=1)
            if not rows:
                return
            row = rows[0]
            delay = self._due_in(row.id)
            if delay > 0:
                if not wait:
                    return
                if await _sleep(delay, stop):
                    return
            outcome = await self._send(row, stats)
            if outcome == "paused" or (outcome == "retry" and not wait):
                return

    def _may_send(self, dest: str) -> bool:
        paused = outbox.paused(self.db).get(dest)
        if paused is None:
            return True
        since, _reason = paused
        return self.clock() - since >= self.settings.pause_retry_seconds

    def _due_in(self, row_id: int) -> float:
        due = self.db.conn.execute("SELECT next_attempt_at FROM outbox WHERE id = ?",
                                   (row_id,)).fetchone()[0]
        return max(0.0, due - self.clock())

    async def _send(self, row: OutboxRow, stats: DrainStats) -> str:
        if row.kind == "update":
            return await self._update(row, stats)
        try:
            chat_id, topic_id = self.resolve(row.destination)
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        await self._global.acquire()
        await self._chat_limit(chat_id).acquire()
        html, plain = self._render(row.payload)
        outbox.mark_sending(self.db, row.id)
        try:
            result = await self.sink.send(chat_id, html, topic_id=topic_id, plain_fallback=plain,
                                          preview_url=row.payload.url)
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        except RetryLater as exc:
            return self._retry(row, exc, stats)
        outbox.mark_sent(self.db, row.id, now=self.clock(), message_id=result.message_id,
                         chat_id=result.chat_id, plain_fallback=result.formatting_fallback)
        outbox.resume(self.db, row.destination)
        METRICS.alerts_sent.labels(row.destination).inc()
        stats.sent += 1
        log.info("alert sent destination=%s outbox_id=%d article_id=%s message_id=%d",
                 row.destination, row.id, row.payload.article_id, result.message_id)
        return "sent"

    async def _update(self, row: OutboxRow, stats: DrainStats) -> str:
        """A later report of an alerted story: edit the alert, or fold into it if unsent."""
        target_id = row.payload.target_id or 0
        target = outbox.get_row(self.db, target_id)
        if target is None or target["status"] in ("folded", "rejected"):
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
        await self._global.acquire()
        await self._chat_limit(target["chat_id"]).acquire()
        html, plain = self._render(payload)
        outbox.mark_sending(self.db, row.id)
        try:
            await self.sink.edit(target["chat_id"], target["message_id"], html,
                                 plain_fallback=plain)
        except EditImpossible:
            return await self._reply_instead(row, target, payload, stats)
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        except RetryLater as exc:
            return self._retry(row, exc, stats)
        outbox.set_payload(self.db, target_id, payload)
        outbox.mark_sent(self.db, row.id, now=self.clock(), message_id=target["message_id"],
                         chat_id=target["chat_id"], plain_fallback=False)
        stats.sent += 1
        log.info("alert updated destination=%s outbox_id=%d message_id=%d outlets=%d",
                 row.destination, target_id, target["message_id"], len(also) + 1)
        return "sent"

    async def _reply_instead(self, row: OutboxRow, target: Any, payload: AlertPayload,
                             stats: DrainStats) -> str:
        """The alert can no longer be edited: one threaded reply per ``reply_every`` outlets."""
        if len(payload.also) - payload.replied < self.reply_every:
            outbox.mark_merged(self.db, row.id)
            return "merged"
        note = AlertPayload(kind="notice", title=f"📰 {payload.title}",
                            body="also reported by: " + ", ".join(payload.also))
        html, plain = self._render(note)
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
        stats.sent += 1
        return "sent"

    def _retry(self, row: OutboxRow, exc: RetryLater, stats: DrainStats) -> str:
        if exc.retry_after is not None:
            delay = float(exc.retry_after)          # Telegram's flood control: exactly this
        else:
            base = self.settings.retry_base_seconds * 2 ** min(row.attempts, 20)
            delay = min(self.settings.retry_max_seconds, base) * random.uniform(0.5, 1.5)
        kind = "maybe delivered (timeout)" if isinstance(exc, MaybeDelivered) else "retry"
        log.warning("alert not sent, %s in %.1f s destination=%s outbox_id=%d: %s", kind, delay,
                    row.destination, row.id, exc)
        outbox.mark_retry(self.db, row.id, error=str(exc), next_attempt_at=self.clock() + delay)
        METRICS.alerts_failed.labels(row.destination, exc.kind).inc()
        stats.retried += 1
        return "retry"

    def _permanent(self, row: OutboxRow, exc: PermanentFailure, stats: DrainStats) -> str:
        if getattr(exc, "scope", "chat") == "message":
            # Only this message is unacceptable (the plain-text resend was tried already):
            # keep it, visibly, and let the rest of the queue go on.
            log.error("alert REJECTED by Telegram destination=%s outbox_id=%d article_id=%s: %s "
                      "(kept in the outbox as 'rejected')", row.destination, row.id,
                      row.payload.article_id, exc)
            outbox.mark_rejected(self.db, row.id, error=str(exc))
            stats.rejected += 1
            return "rejected"
        log.error("DESTINATION PAUSED destination=%s: %s. Its %d queued alerts are kept; fix the "
                  "bot's access and restart (or wait %.0f s for the next probe).", row.destination,
                  exc, len(outbox.pending(self.db, row.destination)) + 1,
                  self.settings.pause_retry_seconds)
        outbox.mark_retry(self.db, row.id, error=str(exc), next_attempt_at=0)
        outbox.pause(self.db, row.destination, str(exc), self.clock())
        METRICS.alerts_failed.labels(row.destination, exc.kind).inc()
        stats.paused.append(row.destination)
        if self.on_pause is not None:
            self.on_pause(row.destination, str(exc))
        return "paused"

    def resolve(self, destination: str) -> tuple[str, int | None]:
        """Chat id and topic for a destination name."""
        return resolve_destination(self.settings, destination, chat_ids=self.chat_ids)

    def _chat_limit(self, chat_id: str) -> SlidingWindow:
        if chat_id not in self._per_chat:
            self._per_chat[chat_id] = SlidingWindow(self.settings.per_chat_per_minute,
                                                   self.settings.per_chat_window_seconds)
        return self._per_chat[chat_id]

    def _render(self, payload: AlertPayload) -> tuple[str, str]:
        from monitor.alert.compose import render_html, render_plain

        return (render_html(payload, tz=self.settings.timezone),
                render_plain(payload, tz=self.settings.timezone))

    def _fold_backlog(self, dest: str, stats: DrainStats) -> None:
        """Deep queue: keep the newest high-severity alerts, fold the rest into digests."""
        rows = [r for r in outbox.pending(self.db, dest, limit=100_000) if r.kind == "alert"]
        if len(rows) <= self.settings.digest_threshold:
            return
        urgent = [r for r in reversed(rows)
                  if SEVERITY_ORDER.get(r.severity or "", 0) >= SEVERITY_ORDER["high"]]
        keep = {r.id for r in urgent[: self.settings.digest_individual]}
        rest = [r for r in rows if r.id not in keep]
        size = self.settings.digest_max_items
        for i in range(0, len(rest), size):
            chunk = rest[i:i + size]
            payload = _digest_payload(chunk, len(rows))
            key = f"digest:{dest}:{chunk[0].id}-{chunk[-1].id}"
            outbox.fold_into_digest(self.db, [r.id for r in chunk], key=key, destination=dest,
                                    payload=payload, now=self.clock())
            stats.folded += len(chunk)
        log.warning("outbox deep destination=%s pending=%d: %d sent individually, %d folded into "
                    "digests", dest, len(rows), len(keep), len(rest))


def resolve_destination(settings: AlertSettings, destination: str, *,
                        chat_ids: bool) -> tuple[str, int | None]:
    """Chat id and topic of a destination name; an unknown name uses the default destination
    (a rule naming a destination nobody configured still alerts somewhere)."""
    if not chat_ids:
        return destination, None
    dests = settings.destinations
    dest = dests.get(destination) or dests.get(settings.default_destination)
    if dest is None:
        raise PermanentFailure(f"destination {destination!r} is not configured "
                               "(alerts.destinations)")
    return dest.chat_id, dest.topic_id


def _digest_payload(rows: list[OutboxRow], backlog: int) -> AlertPayload:
    items = tuple({"title": r.payload.title, "url": r.payload.url, "outlet": r.payload.outlet,
                   "severity": r.payload.severity, "rule_title": r.payload.rule_title}
                  for r in rows)
    return AlertPayload(kind="digest", title=f"ملخص التنبيهات المتراكمة ({len(rows)})",
                        body=f"{backlog} alerts were queued; these are folded into one message.",
                        items=items)


async def _sleep(seconds: float, stop: asyncio.Event | None) -> bool:
    """Sleep, returning True early if ``stop`` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except TimeoutError:
        return False
