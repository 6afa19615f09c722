"""A sane window for publication dates read from feeds and pages.

Feeds carry any date at all: ``Fri, 31 Dec 9999 23:59:59 GMT`` (year 10000 in Tripoli, which no
``datetime`` can hold), year 1, or a zone mistake that puts an item hours ahead. A date later than
the moment we read it is taken as that moment (nothing is published in the future, and a clock or
zone error of a few hours is the usual cause); a date before 1995, when no feed carried news
(year 1, 1970-01-01 placeholders), is no date at all. Only the
stored and displayed time is clamped: item identity keeps the feed's own value, so an item does
not become "new" again as the clock moves.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

EARLIEST = 788918400.0   # 1995-01-01: no news feed item is older; earlier values are placeholders


def sane_timestamp(ts: float | None, now: float | None = None) -> float | None:
    """``ts`` (unix time) inside [1995, now]: later becomes ``now``, earlier or not finite None."""
    if ts is None or not math.isfinite(ts) or ts < EARLIEST:
        return None
    current = time.time() if now is None else now
    return min(ts, current)


def sane_datetime(when: datetime | None, now: float | None = None) -> datetime | None:
    """The same window for an aware datetime (UTC out)."""
    if when is None:
        return None
    try:
        ts = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    clamped = sane_timestamp(ts, now)
    return None if clamped is None else datetime.fromtimestamp(clamped, tz=UTC)
