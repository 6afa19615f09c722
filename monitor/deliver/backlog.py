"""Deep queues (after an outage, a first run with a backlog): fold them into digests that hide
nothing.

Above ``digest_threshold`` pending alerts for one destination, the newest ``digest_individual``
high or critical alerts stay single; the rest are folded, in order, into digest messages of at
most ``digest_max_items``, each checked before it is committed to show every one of its alerts
with its headline and link, in HTML and in the plain-text fallback (long links make a message
hold fewer). An alert too large for any digest (a link of thousands of characters) stays single.
Folded alerts count as delivered when their digest is sent, not before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from monitor.alert.digest import fits_with_every_link
from monitor.alert.payload import AlertPayload, DigestItem
from monitor.alert.text import largest
from monitor.config import AlertSettings
from monitor.store import outbox, triage
from monitor.store.db import Database
from monitor.store.outbox import SEVERITY_ORDER, OutboxRow

log = logging.getLogger(__name__)


def fold_backlog(db: Database, dest: str, settings: AlertSettings, now: float) -> int:
    """Fold a deep queue of ``dest`` into digests; returns how many alerts were folded."""
    rows = [r for r in outbox.pending(db, dest, limit=100_000)
            if r.kind == "alert" and r.payload is not None and r.digest_id is None]
    if len(rows) <= settings.digest_threshold:
        return 0
    urgent = [r for r in reversed(rows)
              if SEVERITY_ORDER.get(r.severity or "", 0) >= SEVERITY_ORDER["high"]]
    keep = {r.id for r in urgent[: settings.digest_individual]}
    rest = [r for r in rows if r.id not in keep]
    folded = digests = 0
    def make(chunk: list[OutboxRow]) -> AlertPayload:
        return digest_payload(chunk, len(rows), len(keep))
    for chunk, payload in _pack(rest, settings.digest_max_items, make):
        if outbox.fold_into_digest(db, [r.id for r in chunk], destination=dest,
                                   payload=payload, now=now) is not None:
            folded += len(chunk)
            digests += 1
    if digests:
        log.warning("outbox deep destination=%s pending=%d: %d sent individually, %d folded "
                    "into %d digests", dest, len(rows), len(rows) - folded, folded, digests)
    return folded


def release_held(db: Database, settings: AlertSettings, still_muted: Callable[[OutboxRow], bool],
                 now: float) -> int:
    """Alerts held by a mute that has ended (expired, or /unmute) go out, folded into digests
    per destination rather than as a flood of single alerts. Returns how many were released."""
    by_dest: dict[str, list[OutboxRow]] = {}
    for row in triage.held(db):
        if row.payload is not None and not still_muted(row):
            by_dest.setdefault(row.destination, []).append(row)
    released = 0
    for dest, rows in by_dest.items():
        def make(chunk: list[OutboxRow], total: int = len(rows)) -> AlertPayload:
            return held_payload(chunk, total)
        folded: set[int] = set()
        for chunk, payload in _pack(rows, settings.digest_max_items, make):
            if outbox.fold_into_digest(db, [r.id for r in chunk], destination=dest,
                                       payload=payload, now=now, status="muted") is not None:
                folded.update(r.id for r in chunk)
        # An alert too large for any digest goes out on its own.
        released += len(folded) + triage.unhold(db, [r.id for r in rows if r.id not in folded])
        log.info("mute ended destination=%s: %d held alerts released in digests", dest,
                 len(rows))
    return released


def _pack(rows: list[OutboxRow], most: int, make: Callable[[list[OutboxRow]], AlertPayload]
          ) -> Iterator[tuple[list[OutboxRow], AlertPayload]]:
    """Consecutive chunks of ``rows``, each as large as fits one message with every link; an
    alert too large for any digest is left out (it goes single)."""
    i = 0
    while i < len(rows):
        def fits(k: int, start: int = i) -> bool:
            return fits_with_every_link(make(rows[start:start + k]))
        size = largest(fits, 1, min(most, len(rows) - i))
        if size is None:           # this alert alone is too large for a digest: it goes single
            i += 1
            continue
        chunk = rows[i:i + size]
        yield chunk, make(chunk)
        i += size


def _items(rows: list[OutboxRow]) -> tuple[dict[str, Any], ...]:
    """The digest entries of folded ``rows``: each with its title, link, outlet and rule."""
    return tuple(DigestItem(r.payload.title, r.payload.url, r.payload.outlet,
                            r.payload.severity, r.payload.rule_title).as_dict()
                 for r in rows if r.payload is not None)


def digest_payload(rows: list[OutboxRow], backlog: int, single: int) -> AlertPayload:
    """The digest message of a backlog's folded ``rows``."""
    items = _items(rows)
    return AlertPayload(kind="digest", title=f"ملخص التنبيهات المتراكمة ({len(items)})",
                        body=f"{backlog} alerts were queued: {single} sent on their own, the "
                             "others in digests like this one.", items=items)


def held_payload(rows: list[OutboxRow], total: int) -> AlertPayload:
    """The digest of alerts released when their mute ended."""
    items = _items(rows)
    return AlertPayload(kind="digest", title=f"🔕 تنبيهات محجوبة أثناء الكتم ({len(items)})",
                        body=f"{total} alerts were held while every entity they name was muted; "
                             "the mute has ended.", items=items)
