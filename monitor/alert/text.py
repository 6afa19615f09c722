"""The pieces every Telegram message is built from: measuring, text hygiene, direction marks, a
tiny document model rendered as HTML or plain text, and the search that shrinks a field to fit.

Telegram counts its 4096-character limit on the text it shows (tags removed, entities decoded)
in UTF-16 code units, so messages are measured that way (:func:`visible_length`). Shortening clips
the raw text *before* escaping, so no tag, entity or character (astral emoji included) is cut.

Right-to-left text. Telegram clients pick each line's direction from its first strong character
(as the Unicode bidi algorithm does for a paragraph). So a line holding article text starts with
RLM when most of its strong characters are right-to-left (Arabic), so a headline starting with
"2026" or "Wagner" still lays out right to left, and with LRM in the opposite case (an English
line that starts with an Arabic name); our own label lines are left-to-right, and any article
string inside them is wrapped in FSI…PDI isolates so its Arabic cannot reorder what surrounds it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urlsplit

MAX_LENGTH = 4096      # Telegram: 1-4096 characters after entity parsing
MAX_ENTITIES = 100     # Telegram drops or rejects messages with more formatting entities

RLM, LRM, FSI, PDI = "\u200f", "\u200e", "\u2068", "\u2069"
ELLIPSIS = "…"

PLAIN_URL_UNITS = 1000  # plain text writes links out; a longer one is left out, not cut
_MAX_URL_CHARS = 4096   # a longer URL is not linked at all


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


def clean(text: str, *, keep_newlines: bool = False) -> str:
    """Replace control characters and lone surrogates one for one (so snippet marks stay valid):
    surrogates cannot be encoded for sending, and Telegram rejects or eats control characters."""
    def sub(match: re.Match[str]) -> str:
        ch = match.group()
        return "\ufffd" if "\ud800" <= ch <= "\udfff" else " "
    text = _CONTROL.sub(sub, text)      # CR (\x0d) included: a lone CR is a line break too
    return text if keep_newlines else text.replace("\n", " ").replace("\t", " ")


def one_line(text: str | None) -> str:
    """``text`` cleaned, on one line, whitespace folded."""
    return " ".join(clean(text or "").split())


def safe_url(url: object) -> str | None:
    """An http(s) URL fit for href, or None (no link): Telegram refuses links it cannot parse,
    and a surrogate or control character would break the whole request."""
    if not isinstance(url, str):
        return None
    url = clean(url).strip()
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
def line_mark(text: str) -> str:
    """The mark that gives a line of article text its direction (see the module docstring)."""
    direction = _direction(text)
    if direction == "rtl":
        return RLM
    if direction == "ltr" and _first_strong(text) == "rtl":
        return LRM
    return ""


def isolate(text: str) -> str:
    """Wrap article text that sits inside one of our LTR label lines."""
    return f"{FSI}{text}{PDI}" if _direction(text) == "rtl" else text


# --------------------------------------------------------------------------- a tiny document model


@dataclass(frozen=True)
class Bold:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Link:
    url: str | None
    children: tuple[Node, ...]
    plain_url: bool = True      # plain text writes the URL out after the text


Node = str | Bold | Link
Line = list[Node]


def _html(node: Node) -> str:
    if isinstance(node, str):
        return html.escape(node, quote=False)
    inner = "".join(_html(child) for child in node.children)
    if isinstance(node, Bold):
        return f"<b>{inner}</b>"
    if node.url is None:
        return inner
    return f'<a href="{html.escape(node.url, quote=True)}">{inner}</a>'


def _plain(node: Node) -> str:
    if isinstance(node, str):
        return node
    inner = "".join(_plain(child) for child in node.children)
    if (isinstance(node, Link) and node.url and node.plain_url
            and utf16_len(node.url) <= PLAIN_URL_UNITS):
        return f"{inner}\n{node.url}"
    return inner


def render_lines(lines: Sequence[Line], as_html: bool) -> str:
    """The lines as Telegram HTML or as plain text (links written out)."""
    one = _html if as_html else _plain
    return "\n".join("".join(one(node) for node in line) for line in lines).strip("\n")


def count_entities(line: Line) -> int:
    """Formatting entities (bold, links) a line will produce."""
    def count(node: Node) -> int:
        if isinstance(node, str):
            return 0
        own = 1 if isinstance(node, Bold) or node.url is not None else 0
        return own + sum(count(child) for child in node.children)
    return sum(count(node) for node in line)


# --------------------------------------------------------------------------- fitting

C = TypeVar("C")


def largest(fits: Callable[[int], bool], lo: int, hi: int) -> int | None:
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


def fit_stages(render: Callable[[C], str], fits: Callable[[str], bool], cuts: C,
               stages: Sequence[tuple[str, int, int]]) -> str | None:
    """Render with ``cuts``; while it does not fit, shrink one field after the other.

    ``stages`` are (field of ``cuts``, floor, ceiling) in the order fields give way; each is set
    to the largest value in [floor, ceiling] that fits, or to its floor before the next stage.
    Returns the first rendering that fits, or None when even every floor is too long.
    """
    text = render(cuts)
    if fits(text):
        return text
    for field, floor, ceiling in stages:
        if floor > ceiling:
            continue
        base: Any = cuts

        def fits_at(n: int, b: Any = base, f: str = field) -> bool:
            return fits(render(replace(b, **{f: n})))
        best = largest(fits_at, floor, ceiling)
        cuts = replace(base, **{field: floor if best is None else best})
        if best is not None:
            return render(cuts)
    return None
