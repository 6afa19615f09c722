"""``/status`` and ``/feeds``: the daemon's health in a few phone-sized lines, from the same store
queries as ``monitor status`` and ``monitor feeds``.

A feed is *failing* when its last polls failed, *silent* when it polls fine but has published
nothing for much longer than usual (the operator notices' rule, ``ops.feed_silence_*``), and
*never polled* before its first poll. Feeds no longer configured keep their rows for history and
are left out.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from monitor.alert.payload import AlertPayload
from monitor.bot.context import CommandContext
from monitor.bot.markup import esc, finish, plural, text_line, when
from monitor.bot.rulepack import live_ruleset, version_lines
from monitor.deliver import probe
from monitor.report import duration
from monitor.store import outbox
from monitor.store import service as service_store
from monitor.store.feeds import FeedRhythm, feed_health, feed_rhythms
from monitor.store.judgements import muted_entities, rule_precision
from monitor.store.overview import held_by_mutes, last_sent_alert

WORST_SHOWN = 3          # failing feeds named by /status
LISTED = 15              # failing and silent feeds named by /feeds


@dataclass
class FeedCounts:
    """The configured feeds sorted by health (failing worst first, silent longest first)."""

    ok: int = 0
    never: list[str] = field(default_factory=list)
    failing: list[sqlite3.Row] = field(default_factory=list)
    silent: list[tuple[FeedRhythm, float]] = field(default_factory=list)   # (rhythm, quiet for)


def feed_counts(ctx: CommandContext) -> FeedCounts:
    """Health of the feeds the configuration polls (every stored feed if it names none)."""
    configured = {f.name for f in ctx.settings.feeds if f.enabled}
    rows = [r for r in feed_health(ctx.db) if not configured or r["name"] in configured]
    ops, out = ctx.settings.ops, FeedCounts()
    silent: dict[str, tuple[FeedRhythm, float]] = {}
    for rhythm in feed_rhythms(ctx.db):
        quiet = ctx.now - rhythm.last_new_item_at
        if quiet > max(ops.feed_silence_factor * rhythm.avg_gap, ops.feed_silence_min_seconds):
            silent[rhythm.name] = (rhythm, quiet)
    for row in rows:
        if row["error_count"]:
            out.failing.append(row)
        elif row["last_status"] is None:
            out.never.append(row["name"])
        elif row["name"] in silent:
            out.silent.append(silent[row["name"]])
        else:
            out.ok += 1
    out.never += sorted(configured - {r["name"] for r in rows})    # not even synced yet
    out.failing.sort(key=lambda r: (-r["error_count"], _ok_at(r), r["name"]))
    out.silent.sort(key=lambda s: -s[1])
    return out


def _ok_at(row: sqlite3.Row) -> float:
    return float(row["last_success_at"] or row["created_at"] or 0)


def _failure(row: sqlite3.Row, now: float, width: int = 60) -> str:
    """"timeout: read timed out — 5 failures, no success for 2h"."""
    since = now - _ok_at(row)
    what = f"{row['error_kind'] or 'error'}: {row['last_error'] or '?'}"
    return (f"{esc(what, width)} — {plural(row['error_count'], 'failure')}, "
            f"{'no success' if row['last_success_at'] else 'never worked'} for {duration(since)}")


# ------------------------------------------------------------------------------ /status


async def status_command(ctx: CommandContext, args: list[str]) -> str:
    """``/status``: queues, failing feeds, the last alert, the rules, Telegram, mutes."""
    lines = ["<b>Queues</b>"] + _queue_lines(ctx)
    feeds = feed_counts(ctx)
    head = (f"<b>Feeds</b>: {feeds.ok} ok, {len(feeds.failing)} failing, "
            f"{len(feeds.silent)} silent" + (f", {len(feeds.never)} never polled"
                                             if feeds.never else ""))
    lines += ["", head]
    lines += [f"• {esc(r['name'], 40)} — {esc(r['error_kind'] or 'error')}, "
              f"{plural(r['error_count'], 'failure')}" for r in feeds.failing[:WORST_SHOWN]]
    if len(feeds.failing) > WORST_SHOWN:
        lines.append(f"• … and {len(feeds.failing) - WORST_SHOWN} more: /feeds")
    lines += ["", *_last_alert_lines(ctx), *version_lines(ctx)]
    link = service_store.get_state(ctx.db, probe.STATE_KEY)
    if link and link[0].get("state") in (probe.UNREACHABLE, probe.TOKEN_REJECTED):
        lines.append(f"⚠️ {esc(probe.status_line(ctx.db) or '', 300)}")
    lines += _mute_lines(ctx)
    lines += _judged_lines(ctx)
    return finish(lines)


def _judged_lines(ctx: CommandContext) -> list[str]:
    """Per-rule precision from the analysts' judgements of the last ``analysts.noisy_days``."""
    days = ctx.settings.analysts.noisy_days
    judged = rule_precision(ctx.db, ctx.now - days * 86400)
    if not judged:
        return []
    shown = ", ".join(f"{esc(p.rule_id, 40)} {p.relevant}/{p.judged} ({p.share:.0%})"
                      for p in judged[:WORST_SHOWN])
    more = f" and {len(judged) - WORST_SHOWN} more: /rules" if len(judged) > WORST_SHOWN else ""
    return [f"✅ <b>Judged</b> ({days:g}d, relevant/judged): {shown}{more}"]


def _queue_lines(ctx: CommandContext) -> list[str]:
    rows, held = outbox.status_rows(ctx.db), held_by_mutes(ctx.db)
    if not rows:
        return ["no alert queued yet"]
    tz, out = ctx.settings.alerts.timezone, []
    for r in rows:
        bits = [f"{r['pending'] or 0} pending"
                + (f" (oldest {duration(ctx.now - r['oldest'])})" if r["oldest"] else "")]
        if r["paused_at"]:
            bits.append(f"⏸ PAUSED {esc(when(r['paused_at'], ctx.now, tz))}: "
                        f"{esc(r['paused_reason'] or '?', 80)}")
        elif r["last_error"]:
            bits.append(f"retrying: {esc(r['last_error'], 60)}")
        if r["rejected"]:
            bits.append(f"{r['rejected']} set aside")
        if held.get(r["name"]):
            bits.append(f"{held[r['name']]} held by mutes")
        out.append(f"• <b>{esc(r['name'], 40)}</b>: " + " · ".join(bits))
    return out


def _last_alert_lines(ctx: CommandContext) -> list[str]:
    last = last_sent_alert(ctx.db)
    if last is None:
        return ["<b>Last alert</b>: none sent yet"]
    try:
        title = AlertPayload.from_json(last.payload_json).title
    except (ValueError, TypeError, KeyError):
        title = "(unreadable payload)"
    return [f"<b>Last alert</b>: {esc(when(last.sent_at, ctx.now, ctx.settings.alerts.timezone))}"
            f" → {esc(last.destination, 40)}", text_line(title or "(untitled)", 120)]


def _mute_lines(ctx: CommandContext) -> list[str]:
    mutes = muted_entities(ctx.db, ctx.now)
    if not mutes:
        return []
    ruleset = live_ruleset(ctx)
    names = ruleset.entity_names() if ruleset else {}
    shown = ", ".join(f"{esc(names.get(e, e), 40)} (until {esc(duration(until - ctx.now))})"
                      for e, (until, _) in list(mutes.items())[:5])
    more = f" and {len(mutes) - 5} more" if len(mutes) > 5 else ""
    return [f"🔕 <b>Muted</b>: {shown}{more} — /mute lists them"]


# ------------------------------------------------------------------------------ /feeds


async def feeds_command(ctx: CommandContext, args: list[str]) -> str:
    """``/feeds``: counts, then the failing and silent feeds by name with what is wrong."""
    feeds = feed_counts(ctx)
    lines = [f"<b>Feeds</b>: {feeds.ok} ok · {len(feeds.failing)} failing · "
             f"{len(feeds.silent)} silent" + (f" · {len(feeds.never)} never polled"
                                              if feeds.never else "")]
    if feeds.failing:
        lines += ["", "<b>Failing</b>"]
        lines += [f"• <b>{esc(r['name'], 40)}</b>: {_failure(r, ctx.now)}"
                  for r in feeds.failing[:LISTED]]
        if len(feeds.failing) > LISTED:
            lines.append(f"• … and {len(feeds.failing) - LISTED} more ('monitor feeds')")
    if feeds.silent:
        lines += ["", "<b>Silent</b>"]
        lines += [f"• <b>{esc(f.name, 40)}</b>: nothing new for {duration(quiet)}, usually every "
                  f"{duration(f.avg_gap)}" for f, quiet in feeds.silent[:LISTED]]
        if len(feeds.silent) > LISTED:
            lines.append(f"• … and {len(feeds.silent) - LISTED} more")
    if feeds.never:
        lines += ["", "<b>Never polled</b>: " + ", ".join(esc(n, 40) for n in feeds.never[:LISTED])
                  + (" …" if len(feeds.never) > LISTED else "")]
    if not (feeds.failing or feeds.silent or feeds.never):
        lines.append("all feeds healthy")
    return finish(lines)
