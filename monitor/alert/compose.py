"""Render an :class:`AlertPayload` as a Telegram message: HTML, or plain text as a fallback.

Every string that comes from a feed or an article is escaped; titles too (feed titles can carry
``<b>``, ``<a href>`` or ``&amp;`` that must show literally). A message is shortened until it fits
Telegram's 4096 visible UTF-16 units (see :mod:`monitor.alert.text`): snippets first (and the body
of test and notice messages), then the title; each only down to a floor (200 and 120 units) in a
first round before the next field gives way. Snippet marks are limited so the message has at most
100 entities (hashtags count, since Telegram links them). Digests have their own layout and
fitting, in which no item is ever dropped (:mod:`monitor.alert.digest`).

Layout and direction: the headline line comes first; label lines (outlet/time, rule, score) are
left-to-right with article strings isolated; article text lines carry a direction mark.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.alert.payload import AlertPayload, Snippet
from monitor.alert.text import (
    ELLIPSIS,
    FSI,
    LRM,
    MAX_ENTITIES,
    MAX_LENGTH,
    PDI,
    RLM,
    Bold,
    Line,
    Link,
    Node,
    clean,
    clip,
    count_entities,
    entity_count,
    fit_stages,
    isolate,
    line_mark,
    one_line,
    render_lines,
    safe_url,
    utf16_len,
    visible_length,
    visible_text,
)

__all__ = ["FSI", "LRM", "MAX_ENTITIES", "MAX_LENGTH", "PDI", "RLM", "RenderError", "clip",
           "entity_count", "format_time", "hashtag", "hashtags", "render_html", "render_plain",
           "utf16_len", "visible_length", "visible_text"]

MAX_HASHTAGS = 10
MAX_SNIPPETS = 2

SEVERITY_ICONS = {"critical": "🚨", "high": "🔴", "medium": "🟠", "low": "🟡"}
KIND_ICONS = {"test": "🧪", "notice": "📣", "digest": "🗞"}

# Fixed caps for strings that are never worth more room than this; the title, snippets and body
# are shrunk to fit instead.
_OUTLET_UNITS = 100
_RULE_TITLE_UNITS = 200
_HASHTAG_UNITS = 64

# Floors for the first shrinking pass: keep this much of each before touching the next field.
_SNIPPET_FLOOR = 200
_TITLE_FLOOR = 120


class RenderError(ValueError):
    """The payload cannot be rendered into one Telegram message (a digest with more items than
    one message can hold). Rendering is pure: retrying gives the same result."""


@dataclass(frozen=True)
class _Cuts:
    """How much of each shrinkable field to keep (None = all of it)."""

    snippet_units: int | None = None    # per snippet, and for the body
    title_units: int | None = None


def hashtag(name: str) -> str | None:
    """A Telegram hashtag for an entity name ("Africa Corps" → "#Africa_Corps"), or None.

    Telegram hashtags take letters, digits and "_": spaces and punctuation become "_", anything
    else (combining marks such as Arabic tashkeel, symbols) is dropped; a tag with no letter is
    refused (Telegram does not link "#2026").
    """
    # "Africa Corps (Russian MoD expeditionary corps)": the part in brackets explains the
    # entity to rule editors; a tag analysts type is the short name.
    name = re.sub(r"\s*[(\[].*$", "", name) or name
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", name):
        if ch.isalnum() or ch == "_":
            out.append(ch)
        elif ch.isspace() or unicodedata.category(ch)[0] in ("P", "Z"):
            out.append("_")
    tag = re.sub(r"_+", "_", "".join(out)).strip("_")
    tag = clip(tag, _HASHTAG_UNITS).rstrip(ELLIPSIS).rstrip("_")
    if not any(ch.isalpha() for ch in tag):
        return None
    return "#" + tag


def hashtags(names: Sequence[str]) -> list[str]:
    """Distinct hashtags for ``names``, in order, at most MAX_HASHTAGS."""
    seen: dict[str, str] = {}           # casefolded → first spelling seen
    for name in names:
        tag = hashtag(name)
        if tag:
            seen.setdefault(tag.casefold(), tag)
    return list(seen.values())[:MAX_HASHTAGS]


def format_time(ts: float, tz: str) -> str | None:
    """``ts`` (unix time) as "2026-11-20 10:15 (Africa/Tripoli)"; None for a time no calendar
    in that zone can show (year 10000 in Tripoli, from a date stored before dates were clamped)."""
    try:
        return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") + f" ({tz})"
    except (OverflowError, OSError, ValueError):
        return None


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _clean_marks(text: str, marks: Sequence[Sequence[int]], limit: int) -> list[tuple[int, int]]:
    """Marks clamped to ``text``, sorted, without overlaps or empty spans, at most ``limit``."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((max(0, int(s)), min(len(text), int(e))) for s, e in marks):
        if end <= start or (out and start < out[-1][1]):
            continue
        out.append((start, end))
    return out[:max(0, limit)]


def _snippet_line(snippet: Snippet, units: int | None, mark_budget: int) -> tuple[Line, int]:
    """One snippet as a line with its marks in bold; returns the line and the marks used."""
    text = clean(snippet.text)
    marks = _clean_marks(text, snippet.marks, mark_budget)
    shown = text if units is None else clip(text, units)
    cut = len(shown) - 1 if shown != text else len(shown)   # text kept before the ellipsis
    line: Line = [line_mark(text)]
    pos = used = 0
    for start, end in marks:
        if start >= cut:
            break
        end = min(end, cut)
        line += [text[pos:start], Bold((text[start:end],))]
        pos, used = end, used + 1
    line.append(shown[pos:])
    return [node for node in line if node != ""], used


def body_lines(body: str | None, units: int | None) -> list[Line]:
    """Free text (notice, test, digest body) as lines, each with its direction mark."""
    text = clean(body or "", keep_newlines=True).strip()
    if units is not None:
        text = clip(text, units)
    return [[line_mark(row), row] if row else [] for row in text.split("\n")] if text else []


def title_text(payload_title: str, units: int | None) -> str:
    """The message title on one line, shortened to ``units`` when given."""
    title = one_line(payload_title) or "(untitled)"
    return title if units is None else clip(title, max(1, units))


# --------------------------------------------------------------------------- layouts


def _alert_lines(p: AlertPayload, cuts: _Cuts, tz: str) -> list[Line]:
    # The headline comes first: it is what notification previews and chat lists show.
    title = title_text(p.title, cuts.title_units)
    severity = (p.severity or "").lower()
    url = safe_url(p.url)
    headline: Node = Link(url, (title,)) if url else Bold((title,))
    head: list[Line] = [[line_mark(title), f"{SEVERITY_ICONS.get(severity, '⚪')} ", headline]]
    rating: Line = [Bold((severity or "alert",))]
    rule = clip(one_line(p.rule_title or p.rule_id), _RULE_TITLE_UNITS)
    if rule:
        rating += [" · ", isolate(rule)]
    if p.score is not None:
        threshold = f" / threshold {_num(p.threshold)}" if p.threshold is not None else ""
        rating.append(f" · score {_num(p.score)}{threshold}")
    head.append(rating)
    where = [clip(one_line(p.outlet), _OUTLET_UNITS)]
    if p.published_at is not None:
        where.append(format_time(p.published_at, tz) or "")
    where = [w for w in where if w]
    if where:
        head.append([" · ".join([isolate(where[0]), *where[1:]])])
    if p.also:
        # Later reports of the same story edit this message instead of sending new ones.
        names = clip(", ".join(one_line(o) for o in p.also), _OUTLET_UNITS * 4)
        head.append([f"📰 also reported by {len(p.also)}: ", isolate(names)])
    tags = hashtags(p.entities)
    if tags:
        head.append([" ".join(tags)])
    # Hashtags are entities too (Telegram links them), so they share the budget with the marks.
    mark_budget = MAX_ENTITIES - sum(count_entities(line) for line in head) - len(tags)
    body: list[Line] = []
    if cuts.snippet_units != 0:
        for snippet in p.snippets[:MAX_SNIPPETS]:
            line, used = _snippet_line(snippet, cuts.snippet_units, mark_budget)
            mark_budget -= used
            if line:
                body += [[], line]
    return head + body


def titled_lines(p: AlertPayload, title_units: int | None, body_units: int | None) -> list[Line]:
    """Icon and bold title, then the body: test, notice and the head of a digest."""
    title = title_text(p.title, title_units)
    lines: list[Line] = [[line_mark(title), f"{KIND_ICONS.get(p.kind, '')} ", Bold((title,))]]
    if body_units != 0:
        body = body_lines(p.body, body_units)
        if body:
            lines += [[], *body]
    return lines


# --------------------------------------------------------------------------- fitting


def _fit(p: AlertPayload, tz: str, as_html: bool, limit: int) -> str:
    """Render, shrinking fields in order until the shown text is within ``limit`` UTF-16 units."""
    if p.kind == "digest":
        from monitor.alert.digest import render_digest

        return render_digest(p, as_html=as_html, limit=limit)
    measure = visible_length if as_html else utf16_len

    def render(cuts: _Cuts) -> str:
        lines = (_alert_lines(p, cuts, tz) if p.kind == "alert"
                 else titled_lines(p, cuts.title_units, cuts.snippet_units))
        return render_lines(lines, as_html)

    longest = max([utf16_len(s.text) for s in p.snippets] + [utf16_len(p.body or ""), 0])
    # (field, floor, ceiling) in the order fields give way; the second round goes below floors.
    stages = [("snippet_units", _SNIPPET_FLOOR, longest),
              ("title_units", _TITLE_FLOOR, utf16_len(p.title)),
              ("snippet_units", 0, _SNIPPET_FLOOR), ("title_units", 1, _TITLE_FLOOR)]
    text = fit_stages(render, lambda t: measure(t) <= limit, _Cuts(), stages)
    if text is None:   # unreachable with the fixed caps above (a few hundred units are left)
        raise RenderError(f"cannot fit the message into {limit} characters")
    return text


def render_html(payload: AlertPayload, *, tz: str = "Africa/Tripoli",
                limit: int = MAX_LENGTH) -> str:
    """The message as Telegram HTML (parse_mode HTML), at most ``limit`` visible UTF-16 units
    and at most MAX_ENTITIES entities. ``tz`` is an IANA zone name for the publication time."""
    return _fit(payload, tz, True, limit)


def render_plain(payload: AlertPayload, *, tz: str = "Africa/Tripoli",
                 limit: int = MAX_LENGTH) -> str:
    """The same message as plain text (no parse mode), for when Telegram rejects the HTML;
    links are written out as URLs on their own line."""
    return _fit(payload, tz, False, limit)
