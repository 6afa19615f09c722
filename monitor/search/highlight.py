"""Finding a query's words in a text exactly, and showing them in the original spelling.

The index answers with a superset (prefix terms, phrases checked word by word); this module
decides, on the article's tokens, which matches are real: a token matches a query word when it
is one of the word's exact forms (:meth:`monitor.search.query.Phrase.forms`), and a phrase when
its words' forms stand in a row. Matched tokens are mapped back through the normalisation's
offset map, so the highlight covers the text as the outlet wrote it (diacritics, tatweel and
all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.match.tokens import token_spans
from monitor.normalize import normalize
from monitor.search.query import Phrase, Query

__all__ = ["phrase_matches", "verify", "Snippet", "highlight_title", "snippets"]

#: Tokens of context on each side of a match in a snippet.
CONTEXT = 10
MAX_SNIPPETS = 2


def phrase_matches(phrase: Phrase, tokens: list[str]) -> list[tuple[int, int]]:
    """(first, last) token indices of every occurrence of the phrase among these tokens."""
    forms = phrase.forms
    head, rest = forms[0], forms[1:]
    n = len(forms)
    out = []
    for i, tok in enumerate(tokens):
        if tok in head and (not rest or (i + n <= len(tokens) and all(
                tokens[i + k] in f for k, f in enumerate(rest, 1)))):
            out.append((i, i + n - 1))
    return out


def verify(query: Query, title: str, body: str) -> bool:
    """Whether every phrase of the query occurs in the indexed title or body (space-joined
    normalised tokens, as :mod:`monitor.search.fields` stores them)."""
    t, b = title.split(), body.split()
    return all(phrase_matches(p, t) or phrase_matches(p, b) for p in query.phrases)


@dataclass(frozen=True)
class Snippet:
    """A piece of original text and the spans in it (offsets into ``text``) to highlight."""

    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "spans": [list(s) for s in self.spans]}

    def render(self, bold: str = "\033[1m", plain: str = "\033[0m") -> str:
        """The text with each span between ``bold`` and ``plain``."""
        out, pos = [], 0
        for a, b in self.spans:
            out += [self.text[pos:a], bold, self.text[a:b], plain]
            pos = b
        out.append(self.text[pos:])
        return "".join(out)


def _matched(query: Query, text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Original (start, end) of every token span matching the query, sorted and merged, and
    the snippet windows around them (original offsets)."""
    norm = normalize(text)
    spans = token_spans(norm.text)
    words = [norm.text[a:b] for a, b in spans]
    hits = sorted({m for p in query.phrases for m in phrase_matches(p, words)})

    def orig(first: int, last: int) -> tuple[int, int]:
        return norm.to_original(spans[first][0], spans[last][1])

    marked: list[tuple[int, int]] = []
    for first, last in hits:
        start, end = orig(first, last)
        if marked and start <= marked[-1][1]:
            marked[-1] = (marked[-1][0], max(end, marked[-1][1]))
        else:
            marked.append((start, end))
    windows: list[tuple[int, int]] = []
    for first, last in hits:
        lo, hi = max(0, first - CONTEXT), min(len(spans) - 1, last + CONTEXT)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
        else:
            windows.append((lo, hi))
    return marked, [(orig(lo, lo)[0], orig(hi, hi)[1]) for lo, hi in windows]


def highlight_title(query: Query, title: str) -> Snippet:
    """The whole title with its matches marked."""
    marked, _ = _matched(query, title)
    return Snippet(title, marked)


def snippets(query: Query, text: str, limit: int = MAX_SNIPPETS) -> list[Snippet]:
    """Up to ``limit`` pieces of the text around its matches, matches marked; the opening of
    the text when nothing in it matches (the match was in the title)."""
    if not text:
        return []
    marked, windows = _matched(query, text)
    if not windows:
        words = text.split()
        head = " ".join(words[:2 * CONTEXT])
        return [Snippet(head + (" …" if len(words) > 2 * CONTEXT else ""))]
    out = []
    for start, end in windows[:limit]:
        piece = " ".join(text[start:end].split())   # one line: newlines and runs of spaces go
        spans = _respan(text, start, end, marked)
        prefix = "… " if start > 0 else ""
        suffix = " …" if end < len(text) else ""
        shift = len(prefix)
        out.append(Snippet(prefix + piece + suffix, [(a + shift, b + shift) for a, b in spans]))
    return out


def _respan(text: str, start: int, end: int, marked: list[tuple[int, int]]
            ) -> list[tuple[int, int]]:
    """The marked spans inside ``text[start:end]``, as offsets into its whitespace-collapsed
    form (the snippet's text)."""
    piece = text[start:end]
    # Offset map from the original piece to its collapsed form.
    mapping, out_pos, prev_space = [], 0, False
    lead = True
    for ch in piece:
        mapping.append(out_pos)
        if ch.isspace():
            if not prev_space and not lead:
                out_pos += 1
            prev_space = True
        else:
            out_pos += 1
            prev_space = lead = False
    mapping.append(out_pos)
    spans = []
    for a, b in marked:
        if a >= start and b <= end:
            spans.append((mapping[a - start], mapping[b - start]))
    return spans
