"""Plain-text tables for the terminal: the cycle summary and feed health."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from monitor.models import CycleStats


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table (cells are str()-ed; None shows as '-')."""
    cells = [[("-" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def cycle_summary(stats: CycleStats) -> str:
    """Per-feed rows then a totals line, as printed by ``monitor once``."""
    rows = [(r.feed, r.outcome.value, r.new_items, r.duplicates, r.extracted, r.fallback,
             r.failed, r.alerts, _clip(r.error or r.note or "", 70)) for r in stats.per_feed]
    body = table(["feed", "status", "new", "dup", "extracted", "fallback", "failed", "alerts",
                  "note"], rows)
    return body + "\n\n" + totals_line(stats)


def totals_line(stats: CycleStats) -> str:
    """One line of totals (also logged by the daemon after each cycle)."""
    return (f"feeds: {stats.feeds_ok} ok, {stats.feeds_not_modified} not modified, "
            f"{stats.feeds_failed} failed | new items: {stats.new_items} "
            f"(duplicates {stats.duplicates}) | extracted: {stats.extracted} | "
            f"fallback to summary: {stats.fallback} | failed: {stats.failed} | "
            f"alerts queued: {stats.alerts}"
            + (f" | pages left pending: {stats.deferred}" if stats.deferred else ""))


def feeds_table(rows: Sequence[sqlite3.Row], now: float | None = None) -> str:
    """Feed health for ``monitor feeds``."""
    now = now or time.time()
    out = [(r["name"], _status(r), ago(r["last_success_at"], now),
            r["error_count"], r["error_kind"], r["sightings"], r["pending"],
            duration(r["poll_interval"]) if r["poll_interval"] else "-",
            until(r["next_poll_at"], now), _clip(_problem(r), 60)) for r in rows]
    return table(["feed", "status", "last success", "errors", "error kind", "items seen",
                  "pending", "interval", "next poll", "last error"], out)


def _status(row: sqlite3.Row) -> str:
    status = row["last_status"] or "never polled"
    return f"{status}, links unresolved" if row["link_note"] else status


def _problem(row: sqlite3.Row) -> str:
    """The feed's last error, else what its last poll found wrong (malformed, links)."""
    if row["error_count"]:
        return row["last_error"] or ""
    return row["bozo_note"] or row["link_note"] or ""


def checks_table(results: Sequence[Any]) -> str:
    """``monitor feeds check``: one line per probed source (monitor.source.check.SourceCheck)."""
    rows = [(r.name, r.verdict, r.detected or r.type, r.items, (r.newest or "-")[:16],
             f"{r.pages_with_text}/{r.pages_tried}" if r.pages_tried else "-",
             r.verified or "never", "" if r.enabled else "disabled",
             _clip(r.error or "; ".join(r.notes), 70)) for r in results]
    return table(["source", "verdict", "type", "items", "newest", "text", "verified", "",
                  "error / notes"], rows)


def circuits_table(rows: Sequence[sqlite3.Row], now: float | None = None) -> str:
    """Article hosts skipped by the circuit breaker, for ``monitor feeds``."""
    now = now or time.time()
    out = [(r["host"], r["failures"], ago(r["opened_at"], now),
            until(r["open_until"], now) if r["open_until"] > now else "next page is a try",
            _clip(r["last_error"] or "", 60)) for r in rows]
    return table(["host", "failures", "skipped since", "skipped until", "last error"], out)


def ago(ts: float | None, now: float) -> str:
    """'3m ago' style age, or 'never'."""
    return "never" if ts is None else f"{duration(now - ts)} ago"


def until(ts: float | None, now: float) -> str:
    """'in 5m' style delay, or 'now'."""
    return "now" if ts is None or ts <= now else f"in {duration(ts - now)}"


def duration(seconds: float) -> str:
    """Compact human duration: 45s, 12m, 3h, 2d."""
    s = int(max(0, seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def outbox_table(rows: Sequence[sqlite3.Row], now: float | None = None) -> str:
    """Delivery state for ``monitor status``."""
    now = now or time.time()
    out = [(r["name"], r["pending"], ago(r["oldest"], now) if r["oldest"] else "-", r["sent"],
            r["folded"], r["rejected"], r["muted"] or 0, ago(r["last_sent"], now),
            f"PAUSED {ago(r['paused_at'], now)}: {_clip(r['paused_reason'], 60)}"
            if r["paused_at"] else (_clip(r["last_error"] or "", 60) or "ok"),
            _clip(r["rejected_reason"] or "", 70)) for r in rows]
    return table(["destination", "pending", "oldest pending", "sent", "in digests", "set aside",
                  "muted", "last sent", "state", "last set aside because"], out)


def replicas_table(db: Any, now: float, check_seconds: float) -> str:
    """The replicas sharing a PostgreSQL state: which one leads, the feeds each is polling and
    the leases it holds, how fresh its heartbeat is ('' on SQLite, where one daemon runs)."""
    from monitor.store import leases
    from monitor.store.db import is_postgres

    if not is_postgres(db):
        return ""
    rows = leases.replicas(db)
    if not rows:
        return "replicas: none has recorded a heartbeat"
    held = leases.claims(db, now)
    lines = [f"{'replica':<24} {'role':<9} {'polling':>7} {'leases':>6} {'heartbeat':>10}  host/pid"]
    for r in rows:
        age = now - r.heartbeat_at
        stale = age > 3 * check_seconds
        role = "leader" if r.leader and not stale else ("gone?" if stale else "follower")
        lines.append(f"{r.name[:24]:<24} {role:<9} {r.feeds_polling:>7} {held.get(r.name, 0):>6} "
                     f"{age:>8.0f} s  {r.host}/{r.pid}")
    return "\n".join(lines)
