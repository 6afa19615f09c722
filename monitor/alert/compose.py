"""Render an :class:`AlertPayload` as a Telegram message: HTML, or plain text as a fallback.

Every string that comes from a feed or an article is escaped; titles too (feed titles can carry
``<b>``, ``<a href>`` or ``&amp;`` that must show literally). Telegram counts its 4096-character
limit on the text it shows (tags removed, entities decoded) in UTF-16 code units, so the message is
measured that way with :func:`visible_length` and shortened until it fits: snippets first (and the
body of test/notice/digest messages), then the title, then digest items; the first two only down
to a floor (200 and 120 units) before the next field gives way, so a digest drops items before its
title shrinks to nothing. Shortening clips the raw text *before* escaping, so no tag, entity or
character (astral emoji included) is ever cut. Snippet marks are limited so the message has at
most 100 entities (hashtags count, since Telegram links them).

Right-to-left text. Telegram clients pick each line's direction from its first strong character
(as the Unicode bidi algorithm does for a paragraph). So:

* a line holding article text (headline, snippet, body line, digest item) starts with RLM when most
  of its strong characters are right-to-left (Arabic), so a headline starting with "2026" or
  "Wagner" still lays out right to left; it starts with LRM in the opposite case (an English line
  that starts with an Arabic name);
* our own label lines (outlet/time, rule, score) are left-to-right, and any article string inside
  them (outlet, rule title) is wrapped in FSI…PDI isolates so its Arabic cannot reorder the dates,
  numbers and punctuation around it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.alert.payload import AlertPayload, Snippet

MAX_LENGTH = 4096      # Telegram: 1-4096 characters after entity parsing
MAX_ENTITIES = 100     # Telegram drops or rejects messages with more formatting entities
MAX_DIGEST_ITEMS = 20
MAX_HASHTAGS = 10
MAX_SNIPPETS = 2

RLM, LRM, FSI, PDI = "\u200f", "\u200e", "\u2068", "\u2069"
ELLIPSIS = "…"

SEVERITY_ICONS = {"critical": "🚨", "high": "🔴", "medium": "🟠", "low": "🟡"}
KIND_ICONS = {"test": "🧪", "notice": "📣", "digest": "🗞"}

# Fixed caps for strings that are never worth more room than this; the title, snippets, body and
# digest items are shrunk to fit instead (see _fit).
_OUTLET_UNITS = 100
_RULE_TITLE_UNITS = 200
_HASHTAG_UNITS = 64
_ITEM_TITLE_UNITS = 300
_ITEM_META_UNITS = 80
_PLAIN_URL_UNITS = 1000
_MAX_URL_CHARS = 4096   # plain text shows URLs; a longer one is left out rather than cut

# Floors for the first shrinking pass: keep this much of each before touching the next field.
_SNIPPET_FLOOR = 200
_TITLE_FLOOR = 120


# --------------------------------------------------------------------------- measuring


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (astral characters such as emoji count 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags = 0

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1


def _collect(html_text: str) -> _TextCollector:
    parser = _TextCollector()
    parser.feed(html_text)
    parser.close()
    return parser


def visible_text(html_text: str) -> str:
    """The text Telegram shows for ``html_text`` in HTML parse mode: tags removed, entities decoded."""
    return "".join(_collect(html_text).parts)


def visible_length(html_text: str) -> int:
    """UTF-16 length of the text Telegram would show for ``html_text`` (what its limit counts)."""
    return utf16_len(visible_text(html_text))


def entity_count(html_text: str) -> int:
    """Number of formatting entities (start tags) in ``html_text``."""
    return _collect(html_text).tags


def clip(text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` UTF-16 units, ending in "…" when cut; never splits a
    character (a surrogate pair stays whole). A budget of 0 gives ""."""
    if utf16_len(text) <= budget:
        return text
    if budget <= 0:
        return ""
    out: list[str] = []
    used = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > budget - 1:      # keep one unit for the ellipsis
            break
        out.append(ch)
        used += width
    return "".join(out).rstrip() + ELLIPSIS


# --------------------------------------------------------------------------- text hygiene

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _clean(text: str, *, keep_newlines: bool = False) -> str:
    """Replace control characters and lone surrogates one for one (so snippet marks stay valid):
    surrogates cannot be encoded for sending, and Telegram rejects or eats control characters."""
    def sub(match: re.Match[str]) -> str:
        ch = match.group()
        return "\ufffd" if "\ud800" <= ch <= "\udfff" else " "
    text = _CONTROL.sub(sub, text)      # CR (\x0d) included: a lone CR is a line break too
    return text if keep_newlines else text.replace("\n", " ").replace("\t", " ")


def _one_line(text: str | None) -> str:
    return " ".join(_clean(text or "").split())


def _safe_url(url: object) -> str | None:
    """An http(s) URL fit for href, or None (no link): Telegram refuses links it cannot parse,
    and a surrogate or control character would break the whole request."""
    if not isinstance(url, str):
        return None
    url = _clean(url).strip()
    if not url or any(ch.isspace() for ch in url) or len(url) > _MAX_URL_CHARS:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _direction(text: str) -> str | None:
    """"rtl" or "ltr" by majority of strong characters; None when there are none."""
    rtl = ltr = 0
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            rtl += 1
        elif bidi == "L":
            ltr += 1
    if rtl == ltr == 0:
        return None
    return "rtl" if rtl >= ltr else "ltr"


def _first_strong(text: str) -> str | None:
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return "rtl"
        if bidi == "L":
            return "ltr"
    return None


@lru_cache(maxsize=256)   # called on the same long snippet at every fitting step
def _line_mark(text: str) -> str:
    """The mark that gives a line of article text its direction (see the module docstring)."""
    direction = _direction(text)
    if direction == "rtl":
        return RLM
    if direction == "ltr" and _first_strong(text) == "rtl":
        return LRM
    return ""


def _isolate(text: str) -> str:
    """Wrap article text that sits inside one of our LTR label lines."""
    return f"{FSI}{text}{PDI}" if _direction(text) == "rtl" else text


# --------------------------------------------------------------------------- a tiny document model


@dataclass(frozen=True)
class _Bold:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class _Link:
    url: str | None
    children: tuple[Node, ...]


Node = str | _Bold | _Link
Line = list[Node]


def _html(node: Node) -> str:
    if isinstance(node, str):
        return html.escape(node, quote=False)
    inner = "".join(_html(child) for child in node.children)
    if isinstance(node, _Bold):
        return f"<b>{inner}</b>"
    if node.url is None:
        return inner
    return f'<a href="{html.escape(node.url, quote=True)}">{inner}</a>'


def _plain(node: Node) -> str:
    if isinstance(node, str):
        return node
    inner = "".join(_plain(child) for child in node.children)
    if isinstance(node, _Link) and node.url and utf16_len(node.url) <= _PLAIN_URL_UNITS:
        return f"{inner}\n{node.url}"
    return inner


def _render_lines(lines: Sequence[Line], as_html: bool) -> str:
    one = _html if as_html else _plain
    return "\n".join("".join(one(node) for node in line) for line in lines).strip("\n")


# --------------------------------------------------------------------------- pieces


@dataclass(frozen=True)
class _Cuts:
    """How much of each shrinkable field to keep (None = all of it)."""

    snippet_units: int | None = None    # per snippet, and for the body
    title_units: int | None = None
    items: int | None = None            # digest items shown


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


def format_time(ts: float, tz: str) -> str:
    """``ts`` (unix time) as "2026-11-20 10:15 (Africa/Tripoli)"."""
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") + f" ({tz})"


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
    text = _clean(snippet.text)
    marks = _clean_marks(text, snippet.marks, mark_budget)
    shown = text if units is None else clip(text, units)
    cut = len(shown) - 1 if shown != text else len(shown)   # text kept before the ellipsis
    line: Line = [_line_mark(text)]
    pos = used = 0
    for start, end in marks:
        if start >= cut:
            break
        end = min(end, cut)
        line += [text[pos:start], _Bold((text[start:end],))]
        pos, used = end, used + 1
    line.append(shown[pos:])
    return [node for node in line if node != ""], used


def _body_lines(body: str | None, units: int | None) -> list[Line]:
    text = _clean(body or "", keep_newlines=True).strip()
    if units is not None:
        text = clip(text, units)
    return [[_line_mark(row), row] if row else [] for row in text.split("\n")] if text else []


def _title(payload_title: str, cuts: _Cuts) -> str:
    title = _one_line(payload_title) or "(untitled)"
    return title if cuts.title_units is None else clip(title, max(1, cuts.title_units))


# --------------------------------------------------------------------------- layouts


def _alert_lines(p: AlertPayload, cuts: _Cuts, tz: str) -> list[Line]:
    # The headline comes first: it is what notification previews and chat lists show.
    title = _title(p.title, cuts)
    severity = (p.severity or "").lower()
    url = _safe_url(p.url)
    headline: Node = _Link(url, (title,)) if url else _Bold((title,))
    head: list[Line] = [[_line_mark(title), f"{SEVERITY_ICONS.get(severity, '⚪')} ", headline]]
    rating: Line = [_Bold((severity or "alert",))]
    rule = clip(_one_line(p.rule_title or p.rule_id), _RULE_TITLE_UNITS)
    if rule:
        rating += [" · ", _isolate(rule)]
    if p.score is not None:
        threshold = f" / threshold {_num(p.threshold)}" if p.threshold is not None else ""
        rating.append(f" · score {_num(p.score)}{threshold}")
    head.append(rating)
    where = [clip(_one_line(p.outlet), _OUTLET_UNITS)]
    if p.published_at is not None:
        where.append(format_time(p.published_at, tz))
    where = [w for w in where if w]
    if where:
        head.append([" · ".join([_isolate(where[0]), *where[1:]])])
    if p.also:
        # Later reports of the same story edit this message instead of sending new ones.
        names = clip(", ".join(_one_line(o) for o in p.also), _OUTLET_UNITS * 4)
        head.append([f"📰 also reported by {len(p.also)}: ", _isolate(names)])
    tags = hashtags(p.entities)
    if tags:
        head.append([" ".join(tags)])
    # Hashtags are entities too (Telegram links them), so they share the budget with the marks.
    mark_budget = MAX_ENTITIES - sum(_count_entities(line) for line in head) - len(tags)
    body: list[Line] = []
    if cuts.snippet_units != 0:
        for snippet in p.snippets[:MAX_SNIPPETS]:
            line, used = _snippet_line(snippet, cuts.snippet_units, mark_budget)
            mark_budget -= used
            if line:
                body += [[], line]
    return head + body


def _count_entities(line: Line) -> int:
    def count(node: Node) -> int:
        if isinstance(node, str):
            return 0
        own = 1 if isinstance(node, _Bold) or node.url is not None else 0
        return own + sum(count(child) for child in node.children)
    return sum(count(node) for node in line)


def _titled_lines(p: AlertPayload, cuts: _Cuts) -> list[Line]:
    title = _title(p.title, cuts)
    lines: list[Line] = [[_line_mark(title), f"{KIND_ICONS.get(p.kind, '')} ", _Bold((title,))]]
    if cuts.snippet_units != 0:
        body = _body_lines(p.body, cuts.snippet_units)
        if body:
            lines += [[], *body]
    return lines


def _digest_item(n: int, item: dict[str, Any]) -> Line:
    title = clip(_one_line(str(item.get("title") or "")) or "(untitled)", _ITEM_TITLE_UNITS)
    url = _safe_url(item.get("url"))
    icon = SEVERITY_ICONS.get(str(item.get("severity") or "").lower(), "⚪")
    meta = [clip(_one_line(str(item.get(key) or "")), _ITEM_META_UNITS)
            for key in ("outlet", "rule_title")]
    meta = [_isolate(m) for m in meta if m]
    line: Line = [_line_mark(title), f"{n}. {icon} ", _Link(url, (title,))]
    if meta:
        line.append(" — " + " · ".join(meta))
    return line


def _digest_lines(p: AlertPayload, cuts: _Cuts) -> list[Line]:
    lines = _titled_lines(p, cuts)
    items = list(p.items)
    shown = min(len(items), MAX_DIGEST_ITEMS if cuts.items is None else cuts.items)
    if items:
        lines.append([])
    lines += [_digest_item(n, item) for n, item in enumerate(items[:shown], start=1)]
    if shown < len(items):
        lines.append([f"… and {len(items) - shown} more"])
    return lines


def _lines(p: AlertPayload, cuts: _Cuts, tz: str) -> list[Line]:
    if p.kind == "alert":
        return _alert_lines(p, cuts, tz)
    if p.kind == "digest":
        return _digest_lines(p, cuts)
    return _titled_lines(p, cuts)


# --------------------------------------------------------------------------- fitting


def _largest(fits: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """Largest n in [lo, hi] with fits(n), assuming fits is monotonic; None if even lo fails."""
    if not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fit(p: AlertPayload, tz: str, as_html: bool, limit: int) -> str:
    """Render, shrinking fields in order until the shown text is within ``limit`` UTF-16 units."""
    measure = visible_length if as_html else utf16_len

    def render(cuts: _Cuts) -> str:
        return _render_lines(_lines(p, cuts, tz), as_html)

    def fits(cuts: _Cuts) -> bool:
        return measure(render(cuts)) <= limit

    cuts = _Cuts()
    if fits(cuts):
        return render(cuts)
    longest = max([utf16_len(s.text) for s in p.snippets] + [utf16_len(p.body or ""), 0])
    title_len = utf16_len(p.title)
    # (field, floor, ceiling) in the order fields give way; the second round goes below floors.
    stages = [("snippet_units", _SNIPPET_FLOOR, longest), ("title_units", _TITLE_FLOOR, title_len),
              ("items", 0, min(len(p.items), MAX_DIGEST_ITEMS)),
              ("snippet_units", 0, _SNIPPET_FLOOR), ("title_units", 1, _TITLE_FLOOR)]
    for field, floor, ceiling in stages:
        if floor > ceiling:
            continue
        base = cuts
        best = _largest(lambda n, b=base, f=field: fits(replace(b, **{f: n})), floor, ceiling)
        cuts = replace(cuts, **{field: floor if best is None else best})
        if best is not None:
            return render(cuts)
    # Unreachable with the fixed caps above (everything left is a few hundred units at most).
    raise ValueError(f"cannot fit the message into {limit} characters")


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
