"""Which pending article pages a poll fetches, and when: per-host fairness, a time and page
budget per poll, and the per-host circuit breaker (:mod:`monitor.fetch.hosts`).

Nothing here drops an article: a page that is over the poll's budget, or whose host is skipped,
stays pending for the next poll of its feed. Only an article whose host has been skipped for
longer than ``max_defer_seconds`` is given up on: it is scored on its feed title and summary, as
an article whose page cannot be fetched always is, so that its alert is late rather than lost.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from monitor.config import Settings
from monitor.errors import FetchError
from monitor.fetch.hosts import Circuit, CircuitBreaker, HostGate, host_key, is_host_failure


@dataclass
class Budget:
    """What one poll of one feed may still start: pages, and seconds from its start."""

    pages: int
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        """Start one more page if the budget allows it."""
        if self.pages <= 0 or time.monotonic() - self.started > self.seconds:
            return False
        self.pages -= 1
        return True


@dataclass(frozen=True)
class HostEvent:
    """A circuit that opened (``circuit`` set) or closed, for the caller to store and log."""

    host: str
    circuit: Circuit | None


class PagePolicy:
    """The admission rules for article pages, shared by every feed of one process."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        fetch, extract = settings.fetch, settings.extract
        self.extract = extract
        self.clock = clock
        # A host never holds every shared slot, whatever per_host_concurrency says (a setup
        # polling one host only may set it high): one is always left for the others.
        self.gate = HostGate(min(fetch.per_host_concurrency, extract.page_concurrency - 1),
                             extract.page_concurrency)
        self.breaker = CircuitBreaker(fetch.breaker_failures, fetch.breaker_cooldown_seconds, clock)

    def budget(self) -> Budget:
        return Budget(self.extract.max_pages_per_cycle, self.extract.poll_budget_seconds)

    def skipped(self, url: str | None) -> bool:
        """The page's host is in its cool-down: leave the article pending."""
        return bool(url) and self.breaker.is_open(host_key(url or ""))

    def given_up(self, url: str | None, first_seen_at: float) -> bool:
        """Skipped for longer than ``max_defer_seconds``: score the article on its feed text."""
        return self.skipped(url) and self.clock() - first_seen_at > self.extract.max_defer_seconds

    @asynccontextmanager
    async def slot(self, url: str | None) -> AsyncIterator[None]:
        """The host's slot first, then a shared one (pages without a link: a slot of their own)."""
        async with self.gate.slot(host_key(url) if url else ""):
            yield

    def outcome(self, url: str, error: FetchError | None) -> HostEvent | None:
        """Feed a page fetch's outcome to the breaker; the event when a circuit changed."""
        host = host_key(url)
        if not host:
            return None
        if error is not None and is_host_failure(error):
            opened = self.breaker.failed(host, f"{error.kind}: {error}")
            return HostEvent(host, opened) if opened else None
        return HostEvent(host, None) if self.breaker.succeeded(host) else None
