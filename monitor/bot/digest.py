"""``/digest [24h]``: what a period brought (:func:`monitor.trends.digest.build_digest`, the same
digest as ``monitor digest``), written for a phone: counts, the stories linked, the entities named
most, the surges."""

from __future__ import annotations

from monitor.bot.context import CommandContext
from monitor.bot.markup import esc, finish, link, plural, when
from monitor.bot.rulepack import live_ruleset
from monitor.errors import CommandError
from monitor.report import duration
from monitor.trends.digest import build_digest, parse_span

DEFAULT_SPAN = "24h"
MAX_DAYS = 90           # the digest reads every article of the period: keep it a period
STORIES_SHOWN = 10


def span_argument(args: list[str], default: str = DEFAULT_SPAN) -> tuple[str, float]:
    """("24h", seconds) from the command's first argument, or a refusal."""
    label = args[0] if args else default
    try:
        seconds = parse_span(label)
    except ValueError:
        raise CommandError(f"not a period: {label[:40]!r}; write it like 90m, 6h or 2d "
                           "(/digest alone: the last 24h)") from None
    if seconds > MAX_DAYS * 86400:
        raise CommandError(f"{label} is too long a period: at most {MAX_DAYS}d")
    return label.strip().lower(), seconds


async def digest_command(ctx: CommandContext, args: list[str]) -> str:
    """``/digest [span]``: the digest of the last ``span`` (default 24h)."""
    label, seconds = span_argument(args)
    ruleset = live_ruleset(ctx)
    names = ruleset.entity_names() if ruleset else {}
    d = build_digest(ctx.db, ctx.now - seconds, ctx.now, names, max_stories=STORIES_SHOWN)
    tz = ctx.settings.alerts.timezone
    lines = [f"<b>Digest of the last {esc(label)}</b> (since {esc(when(d.since, ctx.now, tz))})",
             f"{plural(d.articles_seen, 'article')} seen · {plural(d.alerts_sent, 'alert')} sent"
             + (f" ({d.alerts_queued} queued)" if d.alerts_queued else "")
             + f" · {plural(d.story_count, 'story', 'stories')} with a match"]
    if d.stories:
        lines += ["", "<b>Stories</b>"]
        for n, s in enumerate(d.stories, start=1):
            spread = (f"{plural(s.articles, 'article')}, {plural(s.outlets, 'outlet')}"
                      if s.articles > 1 else esc(s.outlet or "?", 30))
            lines.append(f"{n}. {'🔔 ' if s.alerted else ''}{link(s.title, s.url, 90)} "
                         f"<i>({spread})</i>")
        if d.story_count > len(d.stories):
            lines.append(f"… and {d.story_count - len(d.stories)} more")
    else:
        lines.append("no story with a match in this period")
    if d.entities:
        lines += ["", "<b>Most named</b>: " + ", ".join(
            f"{esc(e.name, 40)} ({e.mentions})" for e in d.entities)]
    if d.surges:
        lines += ["", "<b>Surges</b>"]
        lines += [f"📈 {esc(s.name, 40)} from {esc(when(s.started_at, ctx.now, tz))}, peak "
                  f"{plural(s.peak_count, 'article')}"
                  + (f", over after {duration(s.ended_at - s.started_at)}" if s.ended_at
                     else " (ongoing)") for s in d.surges]
    return finish(lines)
