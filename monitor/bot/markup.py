"""Small pieces of the commands' Telegram HTML: escaping, times, and fitting one message.

Every string that comes from a feed, an article, a rule file or the database goes through
:func:`esc`; the handlers write only our own tags (``<b>``, ``<i>``, ``<a>``) around it. Lines are
kept whole (each balanced on its own), so :func:`finish` can drop lines from the end to fit
Telegram's limits without ever cutting a tag.
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.alert.text import (
    MAX_ENTITIES,
    MAX_LENGTH,
    clip,
    entity_count,
    isolate,
    largest,
    line_mark,
    one_line,
    safe_url,
    visible_length,
)
from monitor.report import duration


def esc(text: object, width: int | None = None) -> str:
    """``text`` on one line (control characters removed), clipped to ``width`` UTF-16 units,
    HTML-escaped; Arabic is isolated so it cannot reorder the label line around it."""
    plain = one_line(str(text))
    if width is not None:
        plain = clip(plain, width)
    return html.escape(isolate(plain), quote=False)


def text_line(text: object, width: int | None = None) -> str:
    """Article text on a line of its own: clipped, escaped, with the mark that gives the line
    its direction (Arabic lays out right to left even when it starts with a number)."""
    plain = one_line(str(text))
    if width is not None:
        plain = clip(plain, width)
    return line_mark(plain) + html.escape(plain, quote=False)


def link(title: str, url: str | None, width: int = 90) -> str:
    """A title linked to ``url`` when that is a usable http(s) URL, else the title alone."""
    text = esc(title or "(untitled)", width)
    href = safe_url(url)
    return f'<a href="{html.escape(href, quote=True)}">{text}</a>' if href else text


def when(ts: float | None, now: float, tz: str) -> str:
    """"10:15, 12m ago" (today), "20 Nov 10:15, 2d ago" (another day), or "never"."""
    if ts is None:
        return "never"
    try:
        zone = ZoneInfo(tz)
        at, today = datetime.fromtimestamp(ts, zone), datetime.fromtimestamp(now, zone)
    except (OverflowError, OSError, ValueError):
        return "?"
    clock = at.strftime("%H:%M") if at.date() == today.date() else at.strftime("%d %b %H:%M")
    gap = now - ts
    return f"{clock}, {duration(gap)} ago" if gap >= 0 else f"{clock}, in {duration(-gap)}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 feed", "3 feeds"."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def finish(lines: list[str]) -> str:
    """The lines as one message within Telegram's limits (4096 visible UTF-16 units, 100
    formatting entities): lines are dropped from the end, and a last line says so."""
    text = "\n".join(lines).strip("\n")
    if _fits(text):
        return text

    def cut(n: int) -> str:
        return ("\n".join(lines[:n]).rstrip("\n")
                + f"\n… {plural(len(lines) - n, 'more line')}").lstrip("\n")
    kept = largest(lambda n: _fits(cut(n)), 0, len(lines) - 1)
    return "…" if kept is None else cut(kept)


def _fits(text: str) -> bool:
    return visible_length(text) <= MAX_LENGTH and entity_count(text) <= MAX_ENTITIES
