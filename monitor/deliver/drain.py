"""Draining the outbox: in order per destination, rate-limited, retried forever, never blocked.

Each destination is drained by its own task, so a destination waiting out a 429 or a network
back-off never blocks the others. A permanent error (bot removed, chat not found) pauses the
destination: its rows stay queued and it is probed again after ``pause_retry_seconds``. A rejected
token holds every destination (see :mod:`monitor.deliver.probe`). A message that can never go out
for a reason of its own, a poison message (unreadable, impossible to render, refused by Telegram
for its content, or failing unexpectedly again and again), is set aside with its reason
(``monitor status``, ``/metrics``, an operator notice) and the queue behind it goes on. Nothing a
single message does can end a destination's task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.config import AlertSettings
from monitor.deliver.backlog import fold_backlog
from monitor.deliver.backoff import Waits
from monitor.deliver.base import Sink
from monitor.deliver.buttons import TriageButtons
from monitor.deliver.destinations import resolve_destination
from monitor.deliver.poison import PoisonMessages
from monitor.deliver.probe import LinkState, Prober, wait_any
from monitor.deliver.ratelimit import SlidingWindow
from monitor.deliver.updates import StoryUpdates
from monitor.errors import MaybeDelivered, PermanentFailure, RetryLater
from monitor.ops.metrics import METRICS
from monitor.store import outbox
from monitor.store.db import STORE_ERRORS, Database
from monitor.store.outbox import OutboxRow

log = logging.getLogger(__name__)

# An unexpected error (a bug, not Telegram's answer) while sending one message: retried with
# back-off this many times, then the message is set aside so the queue cannot stall on it.
POISON_ATTEMPTS = 5


@dataclass
class DrainStats:
    """What one drain pass did."""

    sent: int = 0
    retried: int = 0
    paused: list[str] = field(default_factory=list)
    folded: int = 0
    rejected: int = 0


class Drainer(PoisonMessages, StoryUpdates, TriageButtons):
    """Sends queued alerts through a sink."""

    def __init__(self, db: Database, sink: Sink, settings: AlertSettings, *, chat_ids: bool,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.sink, self.settings, self.clock = db, sink, settings, clock
        self.chat_ids = chat_ids     # Telegram: resolve destination names to chat ids
        self._global = SlidingWindow(settings.global_per_second, 1.0)
        self._per_chat: dict[str, SlidingWindow] = {}
        self.wake = asyncio.Event()
        self.on_pause: Callable[[str, str], None] | None = None   # operator notice hooks
        self.on_set_aside: Callable[[str, int, str], None] | None = None
        self.reply_every = 3   # stories.reply_every
        self.buttons = False   # triage buttons on alerts: analysts.enabled with the Telegram sink
        self._unexpected: Counter[int] = Counter()   # outbox id → unexpected failures
        self.waits = Waits(db, settings, clock)
        self.waits.wake = self.wake.set
        self.link = LinkState(db, clock, store=chat_ids)
        self.prober = Prober(sink, self.link, interval=settings.probe_seconds,
                             rejected_interval=settings.pause_retry_seconds,
                             busy=lambda: bool(self.waits.backing_off),
                             on_back=self.waits.end_own_backoff)

    async def drain(self, *, wait: bool, stop: asyncio.Event | None = None) -> DrainStats:
        """Deliver what is pending. ``wait=False`` tries each destination until its first
        failure (``monitor once``); ``wait=True`` waits out back-offs until the queue is empty."""
        stats = DrainStats()
        if not wait:
            # One try per run: the back-off a previous run left is not binding (cron spaces the
            # runs already); a retry_after Telegram asked for still is.
            self.waits.end_own_backoff()
        self.release_ended_mutes()
        dests = outbox.destinations_with_work(self.db)
        await asyncio.gather(*(self._drain_destination(d, wait, stop, stats) for d in dests))
        return stats

    async def run(self, stop: asyncio.Event) -> None:
        """The daemon's sender: drain whenever woken (new alerts) or every few seconds. Rows a
        crash left in 'sending' were put back to 'pending' when the app opened (monitor.app)."""
        probe = asyncio.create_task(self.prober.run(stop), name="telegram-probe")
        running: dict[str, asyncio.Task[None]] = {}
        stats = DrainStats()
        while not stop.is_set():
            for dest in self._destinations():
                task = running.get(dest)
                if task is None or task.done():
                    _report_death(task)
                    running[dest] = asyncio.create_task(
                        self._drain_destination(dest, True, stop, stats), name=f"drain:{dest}")
            self.wake.clear()
            await wait_any(stop, self.wake, 2.0)
        # Stopping: a message on its way is let through and confirmed (its task sees the stop
        # before the next one); a task still waiting for a rate-limit slot after that is ended.
        busy = [t for t in running.values() if not t.done()]
        if busy:
            await asyncio.wait(busy, timeout=self.settings.send_timeout + 1)
        for task in (*running.values(), probe):
            task.cancel()
        await asyncio.gather(*running.values(), probe, return_exceptions=True)

    def _destinations(self) -> list[str]:
        try:
            self.release_ended_mutes()
            return outbox.destinations_with_work(self.db)
        except STORE_ERRORS as exc:    # busy or failing store: try again at the next wake
            log.error("outbox unreadable, retrying: %s", exc)
            return []

    async def _drain_destination(self, dest: str, wait: bool, stop: asyncio.Event | None,
                                 stats: DrainStats) -> None:
        """Drain one destination; the job boundary of its task (a store error or a bug ends this
        pass with a log line, and the sender starts the destination again)."""
        try:
            await self._drain_queue(dest, wait, stop, stats)
        except STORE_ERRORS as exc:
            log.error("outbox unavailable destination=%s, retrying later: %s", dest, exc)
        except Exception:
            log.exception("drain of destination=%s failed, retrying later", dest)

    def _fold(self, dest: str, stats: DrainStats) -> None:
        try:
            self.hold_muted_backlog(dest)   # a digest must not carry what analysts muted
            stats.folded += fold_backlog(self.db, dest, self.settings, self.clock())
        except Exception:   # folding is an optimisation: the queue goes on without it
            log.exception("folding the backlog of destination=%s failed", dest)

    async def _drain_queue(self, dest: str, wait: bool, stop: asyncio.Event | None,
                           stats: DrainStats) -> None:
        if not self._may_send(dest):
            return
        self._fold(dest, stats)
        nudge = self.waits.nudge(dest)
        while not (stop and stop.is_set()):
            nudge.clear()     # before reading the queue: a nudge from now on wakes the wait
            if self.link.token_rejected:
                if not wait or await wait_any(stop, nudge, None):
                    return
                continue
            row = self._next(dest, stats)
            if row is None:
                return
            delay = self._due_in(row.id)
            if delay > 0:
                if not wait or await wait_any(stop, nudge, delay):
                    return
                self._fold(dest, stats)      # a backlog may have built up meanwhile
                continue
            outcome = await self._attempt(row, stats)
            if outcome in ("paused", "held") or (outcome == "retry" and not wait):
                return

    def _next(self, dest: str, stats: DrainStats) -> OutboxRow | None:
        """The oldest pending row; unreadable ones are set aside on the way."""
        while rows := outbox.pending(self.db, dest, limit=1):
            if rows[0].payload is not None:
                return rows[0]
            self.set_aside(rows[0], rows[0].unreadable or "unreadable payload", "payload", stats)
        return None

    async def _attempt(self, row: OutboxRow, stats: DrainStats) -> str:
        """Send one row; whatever goes wrong stays with this row (the task's job boundary)."""
        try:
            return await self._send(row, stats)
        except STORE_ERRORS as exc:    # the store, not the message: wait and try again
            log.error("outbox write failed destination=%s outbox_id=%d, retrying: %s",
                      row.destination, row.id, exc)
            await asyncio.sleep(self.settings.retry_base_seconds)
            return "retry"
        except Exception as exc:
            log.exception("unexpected error sending destination=%s outbox_id=%d",
                          row.destination, row.id)
            reason = f"unexpected error while sending: {type(exc).__name__}: {exc}"
            self._unexpected[row.id] += 1
            if self._unexpected[row.id] >= POISON_ATTEMPTS:
                return self.set_aside(row, reason, "internal", stats)
            return self._retry(row, RetryLater(reason), stats)

    def _may_send(self, dest: str) -> bool:
        paused = outbox.paused(self.db).get(dest)
        if paused is None:
            return True
        since, _reason = paused
        return self.clock() - since >= self.settings.pause_retry_seconds

    def _due_in(self, row_id: int) -> float:
        return max(0.0, outbox.next_attempt_at(self.db, row_id) - self.clock())

    async def _send(self, row: OutboxRow, stats: DrainStats) -> str:
        assert row.payload is not None
        if row.kind == "update":
            return await self._update(row, stats)
        if row.kind == "tally":
            return await self._tally(row, stats)
        if self.hold_if_muted(row):
            return "muted"
        try:
            chat_id, topic_id = self.resolve(row.destination)
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        rendered = self.render_or_set_aside(row, row.payload, stats)
        if rendered is None:
            return "rejected"
        html, plain = rendered
        keyboard = self.keyboard_for(row.id, row.payload.article_id) if row.kind == "alert" \
            else None
        await self._global.acquire()
        await self._chat_limit(chat_id).acquire()
        outbox.mark_sending(self.db, row.id)
        try:
            result = await self.sink.send(chat_id, html, topic_id=topic_id, plain_fallback=plain,
                                          preview_url=row.payload.url, keyboard=keyboard)
        except PermanentFailure as exc:
            return self._permanent(row, exc, stats)
        except RetryLater as exc:
            return self._retry(row, exc, stats)
        delivered = outbox.mark_sent(self.db, row.id, now=self.clock(),
                                     message_id=result.message_id, chat_id=result.chat_id,
                                     plain_fallback=result.formatting_fallback)
        outbox.resume(self.db, row.destination)
        self.delivered(row.destination)
        METRICS.alerts_sent.labels(row.destination).inc(delivered)
        stats.sent += 1
        log.info("alert sent destination=%s outbox_id=%d article_id=%s message_id=%d",
                 row.destination, row.id, row.payload.article_id, result.message_id)
        return "sent"

    def delivered(self, destination: str) -> None:
        """A send went through: the destination's back-off is over, Telegram answers."""
        self.waits.succeeded(destination)
        self.prober.answered()

    def _retry(self, row: OutboxRow, exc: RetryLater, stats: DrainStats) -> str:
        delay = self.waits.after_failure(row.destination, row.attempts, exc)
        if exc.retry_after is None:
            self.prober.needed.set()       # is Telegram down? the probe will tell
        kind = "maybe delivered (timeout)" if isinstance(exc, MaybeDelivered) else "retry"
        log.warning("alert not sent, %s in %.1f s destination=%s outbox_id=%d: %s", kind, delay,
                    row.destination, row.id, exc)
        outbox.mark_retry(self.db, row.id, error=str(exc), next_attempt_at=self.clock() + delay)
        METRICS.alerts_failed.labels(row.destination, exc.kind).inc()
        stats.retried += 1
        return "retry"

    def _permanent(self, row: OutboxRow, exc: PermanentFailure, stats: DrainStats) -> str:
        if exc.scope == "message":
            # Only this message is unacceptable (the plain-text resend was tried already).
            return self.set_aside(row, str(exc), "refused", stats)
        outbox.mark_retry(self.db, row.id, error=str(exc), next_attempt_at=0)
        METRICS.alerts_failed.labels(row.destination, exc.kind).inc()
        if exc.scope == "bot":
            # The token, not the chat: every destination waits for the probe to see it accepted.
            self.link.set("token_rejected", str(exc))
            return "held"
        log.error("DESTINATION PAUSED destination=%s: %s. Its %d queued alerts are kept; fix the "
                  "bot's access and restart (or wait %.0f s for the next probe).", row.destination,
                  exc, len(outbox.pending(self.db, row.destination)),
                  self.settings.pause_retry_seconds)
        outbox.pause(self.db, row.destination, str(exc), self.clock())
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

def _report_death(task: asyncio.Task[None] | None) -> None:
    """A drain task ended: retrieve how, so an exception is logged instead of lost (it should
    never happen: every per-message failure is contained in ``_attempt``)."""
    if task is None or task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("drain task %s died, restarting it: %s: %s", task.get_name(),
                  type(exc).__name__, exc, exc_info=exc)
