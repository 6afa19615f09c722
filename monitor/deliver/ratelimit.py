"""Sliding-window rate limits: per chat (Telegram: ~20 messages a minute in a group or channel)
and overall (~30 a second). Waiting never drops a message."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class SlidingWindow:
    """At most ``limit`` events in any ``period`` seconds."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.limit, self.period = limit, period
        self._clock, self._sleep = clock, sleep
        self._events: deque[float] = deque()
        self._lock = asyncio.Lock()

    def delay(self) -> float:
        """Seconds to wait before the next event is allowed (0 when allowed now)."""
        now = self._clock()
        while self._events and now - self._events[0] >= self.period:
            self._events.popleft()
        if len(self._events) < self.limit:
            return 0.0
        return self.period - (now - self._events[0])

    async def acquire(self) -> None:
        """Wait for a slot, then take it."""
        async with self._lock:
            while (wait := self.delay()) > 0:
                await self._sleep(wait)
            self._events.append(self._clock())
