"""Poison messages: a message that can never go out for a reason of its own is set aside with
its reason (``monitor status``, ``/metrics``, an operator notice), so the queue behind it goes on.
Reasons: ``payload`` (the row cannot be read), ``render`` (it cannot be rendered), ``refused``
(Telegram refuses its content), ``internal`` (it failed unexpectedly again and again)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from monitor.alert.payload import AlertPayload
from monitor.ops.metrics import METRICS
from monitor.store import outbox
from monitor.store.outbox import OutboxRow

if TYPE_CHECKING:
    from monitor.deliver.drain import Drainer, DrainStats

log = logging.getLogger(__name__)


class PoisonMessages:
    """The part of :class:`~monitor.deliver.drain.Drainer` that renders and sets aside."""

    def render_or_set_aside(self: Drainer, row: OutboxRow, payload: AlertPayload,
                            stats: DrainStats) -> tuple[str, str] | None:
        """(html, plain) of ``payload``; None when it cannot be rendered (then set aside)."""
        try:
            return self._render(payload)
        except Exception as exc:   # rendering is pure: this message can never be rendered
            log.exception("cannot render destination=%s outbox_id=%d", row.destination, row.id)
            self.set_aside(row, f"cannot render: {type(exc).__name__}: {exc}", "render", stats)
            return None

    def set_aside(self: Drainer, row: OutboxRow, reason: str, kind: str, stats: DrainStats) -> str:
        """A poison message: keep it aside with its reason, let the queue behind it go on."""
        back = outbox.set_aside(self.db, row.id, reason=reason)
        log.error("message SET ASIDE destination=%s outbox_id=%d kind=%s: %s (kept as 'rejected', "
                  "see monitor status)%s", row.destination, row.id, row.kind, reason,
                  f"; its {back} alerts go out one by one" if back else "")
        METRICS.alerts_set_aside.labels(row.destination, kind).inc()
        stats.rejected += 1
        if self.on_set_aside is not None and row.kind != "notice":   # no notice about a notice
            self.on_set_aside(row.destination, row.id, reason)
        return "rejected"

    def _render(self: Drainer, payload: AlertPayload) -> tuple[str, str]:
        from monitor.alert.compose import render_html, render_plain

        return (render_html(payload, tz=self.settings.timezone),
                render_plain(payload, tz=self.settings.timezone))
