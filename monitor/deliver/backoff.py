"""How long a destination waits before its next attempt, and who may cut the wait short.

Two kinds of wait: Telegram's flood control (429 ``retry_after``), honoured exactly, also across
restarts (kept in the database); and our own exponential back-off with jitter after a temporary
failure, which :meth:`Waits.end_own_backoff` cuts short as soon as Telegram answers again (and
at the start of each ``monitor once``, whose runs are spaced by cron already).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

from monitor.config import AlertSettings
from monitor.errors import RetryLater
from monitor.store import outbox
from monitor.store import service as service_store
from monitor.store.db import Database

log = logging.getLogger(__name__)


class Waits:
    """Per-destination waits and the events that wake a destination's task early."""

    def __init__(self, db: Database, settings: AlertSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.backing_off: set[str] = set()      # destinations in our own back-off
        self._nudges: dict[str, asyncio.Event] = {}
        self._flood: dict[str, float] = {}       # destination → end of Telegram's retry_after
        self.wake: Callable[[], None] = lambda: None

    def nudge(self, dest: str) -> asyncio.Event:
        """The event that wakes ``dest``'s task when its wait may end early."""
        return self._nudges.setdefault(dest, asyncio.Event())

    def after_failure(self, dest: str, attempts: int, exc: RetryLater) -> float:
        """Seconds until the next attempt after ``exc`` (the row's ``attempts`` so far)."""
        now = self.clock()
        if exc.retry_after is not None:
            delay = float(exc.retry_after)          # Telegram's flood control: exactly this
            self._flood[dest] = now + delay
            service_store.set_state(self.db, f"flood:{dest}", now + delay, now)
            return delay
        base = self.settings.retry_base_seconds * 2 ** min(attempts, 20)
        self.backing_off.add(dest)
        return min(self.settings.retry_max_seconds, base) * random.uniform(0.5, 1.5)

    def succeeded(self, dest: str) -> None:
        self.backing_off.discard(dest)

    def end_own_backoff(self) -> None:
        """Telegram answers again: every own back-off ends now (never a retry_after)."""
        now = self.clock()
        # Every destination with work, not only those whose task has started in this process:
        # rows may still wait on the back-off of a process that was killed.
        for dest in {*self._nudges, *outbox.destinations_with_work(self.db)}:
            if self._flood_until(dest) > now:
                continue
            if outbox.retry_now(self.db, dest, now):
                log.info("back-off over: retrying destination=%s now", dest)
            self.nudge(dest).set()
        self.wake()

    def _flood_until(self, dest: str) -> float:
        if dest not in self._flood:      # set by an earlier process: honoured across restarts
            state = service_store.get_state(self.db, f"flood:{dest}")
            self._flood[dest] = float(state[0]) if state else 0.0
        return self._flood[dest]
