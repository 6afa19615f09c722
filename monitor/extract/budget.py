"""How much of a page goes to extraction: bounded, so that no page can take a worker's memory.

trafilatura's memory follows the parse tree, about 1.3 KB an element: 4.9 MB of ``<a>`` tags
(600,000 elements) took a worker to 820 MB. Every element the parser makes needs a ``<`` in the
input, so counting ``<`` bounds the tree from above whatever the markup does (scripts, comments
and attribute values only make the count larger, never smaller). Text, attributes and scripts
cost ~50 bytes a character at most: the character cap bounds them. Measured figures:
``docs/hostile-inputs.md`` (section Extraction). The cut is at a ``<``, so no tag is cut in two;
the parser closes what is left open.
"""

from __future__ import annotations

_TAG_WINDOW = 65_536   # how far back from the character cap a '<' is looked for


def cap_html(html: str, max_chars: int, max_tags: int) -> tuple[str, str | None]:
    """The part of ``html`` that goes to extraction, and a note saying what was cut (or None)."""
    notes = []
    if len(html) > max_chars:
        cut = html.rfind("<", max(0, max_chars - _TAG_WINDOW), max_chars)
        notes.append(f"{len(html):,} characters over extract.max_html_chars ({max_chars:,})")
        html = html[:cut if cut > 0 else max_chars]
    tags = html.count("<")
    if tags > max_tags:
        notes.append(f"{tags:,} tags over extract.max_html_tags ({max_tags:,})")
        html = html[:_nth(html, "<", max_tags + 1)]
    if not notes:
        return html, None
    return html, f"page cut to its first {len(html):,} characters: " + "; ".join(notes)


def _nth(text: str, char: str, n: int) -> int:
    """Index of the ``n``-th ``char`` in ``text`` (which has at least ``n`` of them).

    A binary search on ``str.count`` (C speed): ~23 counts for 5 MB instead of 100,000 finds.
    """
    lo, hi = 0, len(text)
    while lo < hi:    # smallest end with text.count(char, 0, end) >= n
        mid = (lo + hi) // 2
        if text.count(char, 0, mid) >= n:
            hi = mid
        else:
            lo = mid + 1
    return lo - 1
