"""Surges: an entity suddenly named far more often than usual, announced once per surge.

Every few minutes (``surges.check_seconds``) each entity's mentions in the sliding window
(``window_hours``) are compared with its trailing baseline (``baseline_days`` before the window).
A surge starts when, in the window,

* the entity is in at least ``min_count`` distinct stories (articles sharing a ``story_id`` are
  one story, so a wire story republished nine times counts once),
* from at least ``min_outlets`` outlets,
* and at least ``factor`` × the number of mentions the baseline rate predicts for the window.

The baseline rate is never below ``baseline_floor_per_day``: on a new install, or for an entity
that is rarely named, the first few mentions must not all look like a surge. A surge opens a
``surges`` row and queues one message (kind ``digest``: title, "usually N a day", the top
articles) in the same transaction; while the row is open nothing more is sent. It closes when the
window count drops below ``min_count`` or below ``factor`` × expected, and a later surge alerts
again.

The queries (range aggregates on the indexed ``mentions(entity, at)``, a few index seeks per
entity) are in :mod:`monitor.store.mentions`, the surge rows in :mod:`monitor.store.surges`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monitor.alert.payload import AlertPayload, DigestItem
from monitor.config import SurgeSettings
from monitor.store import mentions, outbox
from monitor.store import surges as surge_store
from monitor.store.db import Database
from monitor.store.mentions import WindowCounts, mention_count, mentioned_entities, window_counts
from monitor.store.surges import SurgeRow

__all__ = ["Surge", "SurgeSettings", "WindowCounts", "baseline_rate", "check_surges",
           "expected_in_window", "has_history", "mention_count", "mentioned_entities",
           "rate_text", "starts_surge", "still_surging", "surge_body", "surge_title",
           "top_articles", "window_counts"]

log = logging.getLogger(__name__)
DAY = 86400.0
HOUR = 3600.0


@dataclass(frozen=True)
class Surge:
    """A surge that started in this check (and was queued as one message)."""

    id: int
    entity: str
    name: str
    counts: WindowCounts
    usual_per_day: float      # observed baseline rate, before the floor
    expected: float           # mentions expected in the window (floored rate × window)
    outbox_id: int | None
    payload: AlertPayload


# --------------------------------------------------------------------------- arithmetic


def baseline_rate(count: int, span_days: float, floor: float) -> float:
    """Mentions per day over the baseline span, never below ``floor``."""
    observed = count / span_days if span_days > 0 else 0.0
    return max(observed, floor)


def expected_in_window(rate_per_day: float, window_hours: float) -> float:
    """How many mentions the usual rate predicts for the window."""
    return rate_per_day * window_hours / 24.0


def starts_surge(counts: WindowCounts, expected: float, cfg: SurgeSettings) -> bool:
    """True when the window is busy enough, wide enough and far enough above the baseline."""
    return (counts.stories >= cfg.min_count and counts.outlets >= cfg.min_outlets
            and counts.stories >= cfg.factor * expected)


def still_surging(counts: WindowCounts, expected: float, cfg: SurgeSettings) -> bool:
    """An open surge stays open while the count holds; fewer outlets alone do not end it."""
    return counts.stories >= cfg.min_count and counts.stories >= cfg.factor * expected


def baseline_span_days(cfg: SurgeSettings) -> float:
    """Length of [now - baseline_days, now - window) in days."""
    return max(cfg.baseline_days - cfg.window_hours / 24.0, 0.0)


# --------------------------------------------------------------------------- queries


def top_articles(conn: sqlite3.Connection, entity: str, start: float, end: float,
                 limit: int) -> list[dict[str, Any]]:
    """The best-scored article of each story in the window, highest score first, as digest items."""
    return [DigestItem(a.title, a.url, a.outlet, "high" if a.alerted else None).as_dict()
            for a in mentions.top_story_articles(conn, entity, start, end, limit)]


# --------------------------------------------------------------------------- text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _hours(window_hours: float) -> str:
    return "hour" if window_hours == 1 else f"{window_hours:g} hours"


def rate_text(per_day: float) -> str:
    """A rate as people read it: "0.4", "12", "under 0.1"."""
    if per_day == 0:
        return "0"
    if per_day < 0.05:
        return "under 0.1"
    return f"{per_day:.0f}" if per_day >= 10 else f"{per_day:.1f}"


def surge_title(name: str, counts: WindowCounts, window_hours: float) -> str:
    """ "📈 Yunus-bek Yevkurov: 9 articles from 6 outlets in the last 3 hours"."""
    return (f"📈 {name}: {_plural(counts.articles, 'article')} from "
            f"{_plural(counts.outlets, 'outlet')} in the last {_hours(window_hours)}")


def surge_body(counts: WindowCounts, usual_per_day: float, cfg: SurgeSettings) -> str:
    """ "usually 0.4 a day", plus the story count when republications were folded."""
    lines = [f"usually {rate_text(usual_per_day)} a day"
             + (f" (none in the previous {cfg.baseline_days:g} days)" if usual_per_day == 0 else "")]
    if counts.stories != counts.articles:
        stories = "1 distinct story" if counts.stories == 1 else f"{counts.stories} distinct stories"
        lines.append(f"{stories} (republications of one story count once)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the check


def _ignored(cfg: SurgeSettings, entity_names: dict[str, str]) -> set[str]:
    wanted = {name.casefold() for name in cfg.ignore_entities}
    return wanted | {eid.casefold() for eid, name in entity_names.items()
                     if name.casefold() in wanted}


def has_history(conn: sqlite3.Connection, before: float) -> bool:
    """Whether any mention was recorded at or before ``before`` (enough past for a baseline)."""
    earliest = mentions.earliest_mention(conn)
    return earliest is not None and earliest <= before


def check_surges(db: Database, cfg: SurgeSettings, now: float,
                 entity_names: dict[str, str]) -> list[Surge]:
    """Open, update and close surges as of ``now``; returns the surges that started (each queued
    as one message to ``cfg.destination``). ``cfg`` is the ``surges`` section of the settings;
    ``entity_names`` maps entity ids to display names (ids show otherwise)."""
    if not cfg.enabled:
        return []
    conn = db.conn
    if not has_history(conn, now - cfg.min_history_hours * HOUR):
        return []
    window_start = now - cfg.window_hours * HOUR
    base_start, span = now - cfg.baseline_days * DAY, baseline_span_days(cfg)
    ignored = _ignored(cfg, entity_names)
    already = surge_store.open_surges(conn)
    started: list[Surge] = []
    for entity in sorted(set(mentioned_entities(conn)) | already.keys()):
        if entity.casefold() in ignored:
            if entity in already:   # ignored after it started: end it rather than leave it open
                _close(db, already[entity], now)
            continue
        counts = window_counts(conn, entity, window_start, now)
        if counts.articles == 0 and entity not in already:
            continue
        observed = mention_count(conn, entity, base_start, window_start)
        usual = observed / span if span > 0 else 0.0
        expected = expected_in_window(baseline_rate(observed, span, cfg.baseline_floor_per_day),
                                      cfg.window_hours)
        row = already.get(entity)
        if row is not None:
            _update_open(db, row, counts, expected, cfg, now)
        elif starts_surge(counts, expected, cfg):
            name = entity_names.get(entity, entity)
            items = top_articles(conn, entity, window_start, now, cfg.top_articles)
            started.append(_open(db, entity, name, counts, usual, expected, items, cfg, now))
    return started


def _update_open(db: Database, row: SurgeRow, counts: WindowCounts, expected: float,
                 cfg: SurgeSettings, now: float) -> None:
    with db.transaction() as conn:
        if still_surging(counts, expected, cfg):
            surge_store.raise_peak(conn, row.id, counts.articles)
            return
    _close(db, row, now)


def _close(db: Database, row: SurgeRow, now: float) -> None:
    with db.transaction() as conn:
        surge_store.end_surge(conn, row.id, now)
    log.info("surge ended: %s surge_id=%d", row.entity, row.id)


def _open(db: Database, entity: str, name: str, counts: WindowCounts, usual: float,
          expected: float, items: Iterable[dict[str, Any]], cfg: SurgeSettings,
          now: float) -> Surge:
    payload = AlertPayload(kind="digest", title=surge_title(name, counts, cfg.window_hours),
                           body=surge_body(counts, usual, cfg), items=tuple(items),
                           entities=(name,))
    # The surge row and its message commit together: a crash can neither announce a surge
    # that was not recorded nor record one that was never announced.
    with db.transaction() as conn:
        surge_id = surge_store.start_surge(conn, entity, now=now, peak_count=counts.articles)
        key = f"surge:{entity}:{surge_id}"
        outbox_id = (outbox.enqueue(conn, key=key, destination=cfg.destination, payload=payload,
                                    now=now) or outbox.id_for_key(conn, key))
        surge_store.set_surge_outbox(conn, surge_id, outbox_id)
    log.warning("surge: %s: %d articles, %d stories, %d outlets in %g h (expected %.2f) "
                "surge_id=%d", entity, counts.articles, counts.stories, counts.outlets,
                cfg.window_hours, expected, surge_id)
    return Surge(surge_id, entity, name, counts, usual, expected, outbox_id, payload)


