"""Adaptive polling intervals (pure functions, so the arithmetic is tested without a clock).

A feed that published since the last poll is polled twice as often, down to the minimum; a
quiet feed backs off by half again, up to the maximum. Servers may ask for less frequent polls
(Cache-Control max-age, RSS <ttl>, Retry-After): the next poll is never earlier than they ask.
"""

from __future__ import annotations

import re

_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.I)
HINT_CAP = 24 * 3600.0


def next_interval(current: float, new_items: int, *, minimum: float, maximum: float) -> float:
    """The interval after a successful poll that found ``new_items`` new items."""
    if new_items > 0:
        current = current / 2
    else:
        current = current * 1.5
    return max(minimum, min(maximum, current))


def server_hint(headers: dict[str, str], ttl_minutes: int | None,
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
