"""Operator notices: problems an operator should hear about, through the same outbox.

Each notice has a subject; the same subject is announced at most once per
``ops.notice_repeat_seconds`` (the idempotency key carries the time bucket).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from monitor.alert.payload import AlertPayload
from monitor.config import Settings
from monitor.report import duration
from monitor.store import feeds as feed_store
from monitor.store import judgements as judgement_store
from monitor.store import outbox
from monitor.store import service as service_store
from monitor.store.db import Database

log = logging.getLogger(__name__)
MAX_PER_CHECK = 10


class Notifier:
    """Queues notices for the admin destination."""

    def __init__(self, db: Database, settings: Settings, wake: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.settings, self.wake, self.clock = db, settings, wake, clock

    def message_set_aside(self, destination: str, row_id: int, reason: str) -> None:
        """A message the sender set aside for good (the drainer's ``on_set_aside``)."""
        # One notice per destination and ops.notice_repeat_seconds: a burst of broken rows must
        # not flood the admin chat; `monitor status` has the count and the latest reason.
        self.notify(f"set-aside:{destination}", f"Message set aside: {destination}",
                    f"Outbox message {row_id} can never be delivered and was set aside "
                    f"({reason}). The queue behind it goes on; 'monitor status' counts the "
                    "messages set aside.")

    def destination_paused(self, destination: str, reason: str) -> None:
        """Telegram refused a destination (the drainer's ``on_pause``); not told to itself."""
        if destination != self.settings.ops.admin_destination:
            self.notify(f"paused:{destination}", f"Destination paused: {destination}",
                        f"Telegram refused delivery: {reason}. Alerts are kept queued.")

    def notify(self, subject: str, title: str, body: str) -> bool:
        """Queue one notice unless the same subject was announced recently."""
        ops = self.settings.ops
        if not ops.notices:
            return False
        bucket = int(self.clock() // ops.notice_repeat_seconds)
        queued = outbox.enqueue_now(
            self.db, key=f"notice:{subject}:{bucket}", destination=ops.admin_destination,
            payload=AlertPayload(kind="notice", title=title, body=body, severity="high"),
            now=self.clock())
        if queued:
            log.warning("operator notice: %s: %s", title, body)
            if self.wake:
                self.wake()
        return queued

    def check(self, rule_ids: list[str]) -> int:
        """Look for failing or silent feeds, silent rules and rules analysts find noisy; returns
        notices queued."""
        found = (self._failing_feeds() + self._silent_feeds() + self._silent_rules(rule_ids)
                 + self._noisy_rules(rule_ids))
        return sum(self.notify(*n) for n in found[:MAX_PER_CHECK])

    def _failing_feeds(self) -> list[tuple[str, str, str]]:
        now, limit = self.clock(), self.settings.ops.feed_failing_seconds
        return [(f"feed-failing:{f.name}", f"Feed failing: {f.name}",
                 f"{f.url} has failed for {duration(now - f.ok_at)} "
                 f"({f.error_kind}: {f.last_error})")
                for f in feed_store.failing_feeds(self.db, now - limit)]

    def _silent_feeds(self) -> list[tuple[str, str, str]]:
        ops, now = self.settings.ops, self.clock()
        out = []
        for f in feed_store.feed_rhythms(self.db):
            quiet = now - f.last_new_item_at
            if quiet > max(ops.feed_silence_factor * f.avg_gap, ops.feed_silence_min_seconds):
                out.append((f"feed-silent:{f.name}", f"Feed silent: {f.name}",
                            f"{f.url} has published nothing for {duration(quiet)}, usually "
                            f"every {duration(f.avg_gap)}"))
        return out

    def _silent_rules(self, rule_ids: list[str]) -> list[tuple[str, str, str]]:
        days = self.settings.ops.rule_silence_days
        silent = service_store.silent_rules(self.db, rule_ids, self.clock() - days * 86400)
        return [(f"rule-silent:{r}", f"Rule silent: {r}",
                 f"rule {r} has not matched any article for {days:g} days") for r in silent]

    def _noisy_rules(self, rule_ids: list[str]) -> list[tuple[str, str, str]]:
        """Rules of the loaded pack whose judged alerts are mostly ❌ (``analysts.noisy_*``)."""
        cfg = self.settings.analysts
        if not cfg.enabled:
            return []
        loaded = set(rule_ids)
        since = self.clock() - cfg.noisy_days * 86400
        return [(f"rule-noisy:{r.rule_id}", f"Rule noisy: {r.rule_id}",
                 f"{r.judged - r.relevant} of the {r.judged} alerts of rule {r.rule_id} judged "
                 f"in the last {cfg.noisy_days:g} days were judged not relevant "
                 f"({r.not_relevant_share:.0%}; notice from {cfg.noisy_share:.0%}). Try an edit "
                 "on them first: 'monitor backtest --rules EDITED --judged'.")
                for r in judgement_store.rule_precision(self.db, since)
                if r.rule_id in loaded and r.judged >= cfg.noisy_min_judged
                # In counts, not shares: 1 - 0.4 is not quite 0.6 in floating point.
                and r.judged - r.relevant >= cfg.noisy_share * r.judged - 1e-9]
