"""Feed text made safe for feedparser: no prolog (so no DTD and no entity), no character XML
forbids, a bounded number of items.

feedparser cuts ``<!ENTITY>`` declarations out with regular expressions and hands the "safe"
ones to its lenient parser, which expands them without limit: one 20 KB entity referenced 5,000
times made a 100 MB title. Our own DOCTYPE regex was fooled by a ``<`` inside an entity value
(``<!ENTITY x "<b>">``) with ``<!-- > -->`` in the subset: a 65 KB feed took 500 MB and 7 s.
So the prolog is not edited but dropped: :func:`root_start` scans it as XML does (quoted
literals, comments, processing instructions, the internal subset's brackets) and everything
before the root element goes, the XML declaration included (a fresh UTF-8 one replaces it).
Entities declared anywhere else are not declarations to any parser.
"""

from __future__ import annotations

import re

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
#: Items handed to the parser; a feed listing more is cut after these (newest first, usually).
MAX_ITEMS = 2000

# Characters XML 1.0 forbids (C0 controls but tab, newline, return; U+FFFE, U+FFFF): one NUL
# sends feedparser to its slow lenient parser and loses the items after it.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NAME_START = re.compile(r"[A-Za-z_:\u00c0-\uffff]")
# Inside a <!...> declaration: what opens something to skip, or closes it.
_DECL_TOKEN = re.compile(r"[\"'\[\]>]|<!--|<\?")
_KNOWN_ROOT = re.compile(r"<(?:[\w.-]{1,40}:)?(?:rss|feed|rdf|channel)[\s>/]", re.I)
_ITEM_START = re.compile(r"<(?:[A-Za-z][\w.-]{0,40}:)?(?:item|entry)[\s/>]", re.I)


def clean_feed(text: str) -> tuple[str, str | None]:
    """(text for feedparser, a note when items were cut off)."""
    text = _FORBIDDEN.sub("", text)
    text = XML_DECLARATION + text[root_start(text):]
    return truncate_items(text, MAX_ITEMS)


def root_start(text: str) -> int:
    """Where the root element starts, skipping the prolog as an XML parser reads it."""
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        if text.startswith("<?", lt):
            pos = _after(text, "?>", lt + 2)
        elif text.startswith("<!--", lt):
            pos = _after(text, "-->", lt + 4)
        elif text.startswith("<![CDATA[", lt):
            pos = _after(text, "]]>", lt + 9)
        elif text.startswith("<!", lt):
            pos = _declaration_end(text, lt + 2)
        elif _NAME_START.match(text, lt + 1):
            return lt
        else:
            pos = lt + 1          # a stray '<' in text before the root: not markup
        if pos < 0:
            # Unterminated prolog markup: no parser could find the root after it either.
            known = _KNOWN_ROOT.search(text, lt)
            return known.start() if known else len(text)
    return len(text)


def _after(text: str, end: str, start: int) -> int:
    found = text.find(end, start)
    return -1 if found < 0 else found + len(end)


def _declaration_end(text: str, pos: int) -> int:
    """The index after a ``<!DOCTYPE …>`` (or any ``<!…>``), or -1 when it never ends."""
    depth = 0
    while (token := _DECL_TOKEN.search(text, pos)) is not None:
        kind, pos = token.group(), token.end()
        if kind in ('"', "'"):
            pos = _after(text, kind, pos)
        elif kind == "<!--":
            pos = _after(text, "-->", pos)
        elif kind == "<?":
            pos = _after(text, "?>", pos)
        elif kind == "[":
            depth += 1
        elif kind == "]":
            depth = max(0, depth - 1)
        elif depth == 0:          # '>' outside the internal subset
            return pos
        if pos < 0:
            return -1
    return -1


def truncate_items(text: str, limit: int) -> tuple[str, str | None]:
    """The text cut before item ``limit + 1`` (the parsers treat it as a truncated feed)."""
    for count, match in enumerate(_ITEM_START.finditer(text)):
        if count == limit:
            return text[:match.start()], f"feed lists more than {limit} items; the first {limit} kept"
    return text, None
