"""Digest messages: a title, a body and numbered items, each a linked headline.

No item is ever dropped to make a digest fit, since an alert folded into a digest reaches its
readers only through it. To fit Telegram's 4096 visible units the body gives way first (down to
200 units), then each item's outlet and rule (down to nothing), then every item's headline
(down to :data:`ITEM_TITLE_FLOOR` units, with "…"), then the rest of the body and the digest's own
title. Plain text (the fallback when Telegram refuses the HTML) writes each link out after its
headline; a digest whose links do not all fit in plain text drops them there as a last resort,
unless it is rendered ``strict`` (how the backlog folder checks a chunk before committing it, so
that folded alerts always fit with their links: :func:`fits_with_every_link`).

A digest holds at most :data:`MAX_DIGEST_ITEMS` items: each link is an entity, Telegram allows
100 per message, and at 40 units a headline 50 of them always fit in 4,096 units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.alert.compose import SEVERITY_ICONS, RenderError, titled_lines
from monitor.alert.payload import AlertPayload
from monitor.alert.text import (
    MAX_LENGTH,
    Line,
    Link,
    clip,
    fit_stages,
    isolate,
    line_mark,
    one_line,
    render_lines,
    safe_url,
    utf16_len,
    visible_length,
)

MAX_DIGEST_ITEMS = 50
ITEM_TITLE_FLOOR = 40

_ITEM_TITLE_UNITS = 300
_ITEM_META_UNITS = 80
_BODY_FLOOR = 200


@dataclass(frozen=True)
class _Cuts:
    """How much of each shrinkable field to keep (None = all of it)."""

    body_units: int | None = None
    meta_units: int | None = None     # outlet and rule title of each item; 0 leaves them out
    item_units: int | None = None     # each item's headline
    title_units: int | None = None    # the digest's own title
    plain_urls: int = 1               # plain text only: 0 leaves the links out (last resort)


def _item_line(n: int, item: Any, cuts: _Cuts) -> Line:
    if not isinstance(item, dict):
        raise RenderError(f"digest item {n} is not an object: {str(item)[:80]!r}")
    title = clip(one_line(str(item.get("title") or "")) or "(untitled)",
                 _ITEM_TITLE_UNITS if cuts.item_units is None else cuts.item_units)
    icon = SEVERITY_ICONS.get(str(item.get("severity") or "").lower(), "⚪")
    meta_units = _ITEM_META_UNITS if cuts.meta_units is None else cuts.meta_units
    meta = [clip(one_line(str(item.get(key) or "")), meta_units)
            for key in ("outlet", "rule_title")] if meta_units else []
    meta = [isolate(m) for m in meta if m]
    line: Line = [line_mark(title), f"{n}. {icon} ",
                  Link(safe_url(item.get("url")), (title,), plain_url=bool(cuts.plain_urls))]
    if meta:
        line.append(" — " + " · ".join(meta))
    return line


def _lines(p: AlertPayload, cuts: _Cuts) -> list[Line]:
    lines = titled_lines(p, cuts.title_units, cuts.body_units)
    if p.items:
        lines.append([])
    return lines + [_item_line(n, item, cuts) for n, item in enumerate(p.items, start=1)]


def render_digest(p: AlertPayload, *, as_html: bool, limit: int = MAX_LENGTH,
                  strict: bool = False) -> str:
    """The digest with every item, as HTML or plain text, within ``limit`` visible units.

    Raises RenderError when it holds more than MAX_DIGEST_ITEMS items, or when ``strict`` and its
    plain text cannot hold every link.
    """
    if len(p.items) > MAX_DIGEST_ITEMS:
        raise RenderError(f"a digest holds at most {MAX_DIGEST_ITEMS} items, not {len(p.items)}")
    measure = visible_length if as_html else utf16_len

    def render(cuts: _Cuts) -> str:
        return render_lines(_lines(p, cuts), as_html)

    stages = [("body_units", _BODY_FLOOR, utf16_len(p.body or "")),
              ("meta_units", 0, _ITEM_META_UNITS),
              ("item_units", ITEM_TITLE_FLOOR, _ITEM_TITLE_UNITS),
              ("body_units", 0, _BODY_FLOOR),
              ("title_units", 1, utf16_len(p.title))]
    if not (as_html or strict):
        stages.append(("plain_urls", 0, 0))
    text = fit_stages(render, lambda t: measure(t) <= limit, _Cuts(), stages)
    if text is None:
        raise RenderError(f"the digest's {len(p.items)} items do not fit in one message with "
                          "their links")
    return text


def fits_with_every_link(p: AlertPayload, limit: int = MAX_LENGTH) -> bool:
    """True when the digest fits one message with every item's headline and link, in HTML and
    in the plain-text fallback alike."""
    try:
        render_digest(p, as_html=True, limit=limit, strict=True)
        render_digest(p, as_html=False, limit=limit, strict=True)
    except RenderError:
        return False
    return True
