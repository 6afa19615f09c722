"""When a feed is polled next: one policy, :class:`FeedSchedule`, for every case.

* After a poll that worked, the feed's interval adapts: a feed that published since the last
  poll is polled twice as often, down to the minimum; a quiet one backs off by half again, up to
  the maximum (a per-feed ``interval_seconds`` stays fixed). Servers may ask for less frequent
  polls (Cache-Control max-age, RSS ``<ttl>``, Retry-After): the next poll is never earlier than
  they ask. A little jitter (polling up to a tenth of the interval early) spreads feeds that
  would otherwise be polled in lockstep.
* After a failure, exponential back-off from the feed's interval (never sooner), capped, with
  ±10 % jitter, and never sooner than a Retry-After.

The result is ``next_poll_at`` in the database; the service's one polling job polls the feeds
that are due (monitor.schedule.service). Everything here is pure: tests pass an ``rng``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

from monitor.config import FeedSource, Settings

__all__ = ["FeedSchedule", "backoff_delay", "delay_until_next_poll", "next_interval",
           "server_hint"]

_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.I)
HINT_CAP = 24 * 3600.0


#: A channel's starting interval (its preview is one cheap page; channels post in bursts).
TELEGRAM_START_SECONDS = 300.0


@dataclass(frozen=True)
class FeedSchedule:
    """The polling policy of one feed."""

    interval: float                  # the starting (or fixed) interval
    minimum: float
    maximum: float
    fixed: bool                      # a per-feed interval: no adaptation
    jitter: float
    backoff_base: float
    backoff_cap: float

    @classmethod
    def of(cls, settings: Settings, source: FeedSource) -> FeedSchedule:
        """The policy the settings give this feed."""
        poll, fetch = settings.poll, settings.fetch
        start = poll.interval_seconds
        if source.type == "telegram":
            # The adaptive interval slows a quiet channel down from there.
            start = max(poll.min_interval_seconds, min(start, TELEGRAM_START_SECONDS))
        return cls(source.interval_seconds or start, poll.min_interval_seconds,
                   poll.max_interval_seconds, bool(source.interval_seconds), poll.jitter_seconds,
                   fetch.backoff_base_seconds, fetch.backoff_max_seconds)

    def next_interval(self, current: float | None, new_items: int) -> float:
        """The feed's interval after a poll that worked and found ``new_items``."""
        if self.fixed:
            return self.interval
        return next_interval(current or self.interval, new_items, minimum=self.minimum,
                             maximum=self.maximum)

    def after_success(self, *, started: float, interval: float, headers: Mapping[str, str],
                      ttl_minutes: int | None, rng: random.Random | None = None) -> float:
        """When to poll next: one interval after this poll STARTED (the rhythm the feed is
        polled on; counting from the end would stretch every slow feed's interval), or later
        when the server asks. Without such a request, up to a tenth of the interval (at most
        ``jitter``) earlier, so that feeds configured alike drift apart."""
        hint = server_hint(headers, ttl_minutes)
        wait = delay_until_next_poll(interval, hint)
        if hint is not None and hint >= interval:
            return started + wait
        return started + wait - (rng or random).uniform(0, min(self.jitter, interval / 10))

    def after_failure(self, *, now: float, failures: int, retry_after: float | None = None,
                      rng: random.Random | None = None) -> float:
        """When to try again after the ``failures``-th failure in a row: never sooner than the
        feed's configured interval, doubling from there."""
        base = max(self.backoff_base, self.interval)
        delay = backoff_delay(failures, base=base, cap=self.backoff_cap, rng=rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        return now + delay


def next_interval(current: float, new_items: int, *, minimum: float, maximum: float) -> float:
    """The adaptive interval after a successful poll that found ``new_items`` new items."""
    current = current / 2 if new_items > 0 else current * 1.5
    return max(minimum, min(maximum, current))


def server_hint(headers: Mapping[str, str], ttl_minutes: int | None,
                retry_after: float | None = None) -> float | None:
    """The longest wait the server asked for, in seconds (capped at a day), or None."""
    hints = []
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    if match:
        hints.append(float(match.group(1)))
    if ttl_minutes:
        hints.append(ttl_minutes * 60.0)
    if retry_after:
        hints.append(retry_after)
    return min(max(hints), HINT_CAP) if hints else None


def delay_until_next_poll(interval: float, hint: float | None) -> float:
    """Our interval, stretched when the server asks us to come back later."""
    return max(interval, hint or 0.0)


def backoff_delay(failures: int, *, base: float, cap: float,
                  rng: random.Random | None = None) -> float:
    """Exponential back-off with ±10 % jitter: base·2^(n-1), capped."""
    raw = min(cap, base * (2 ** max(0, failures - 1)))
    return min(cap, raw * (rng or random).uniform(0.9, 1.1))
