"""What the full-text index holds for one article: its title and body as the matcher sees them.

Each field is normalised (:func:`monitor.normalize.normalize`) and split into tokens exactly as
scoring does (:func:`monitor.match.tokens.token_spans`), and stored as those tokens joined by
single spaces. The FTS5 table uses the ``ascii`` tokenizer: it splits on ASCII punctuation and
space only, and a matcher token never contains either, so each token of the matcher is exactly
one indexed token, at the same position. That is what lets a match found by the index be mapped
back to the original text, and what makes the index a faithful filter for ``monitor backtest``.
PostgreSQL's index takes the same space-separated tokens verbatim (no text-search parser:
migrations/postgresql/0011_search.sql), so the two engines index the same tokens.

The skeleton fields hold the variant skeletons (:func:`monitor.match.tokens.skeleton`) of the
field's tokens, each distinct one once and only those long enough to be part of a variant key:
``monitor backtest`` looks up entities with ``variants: true`` there (no search uses them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from monitor.match.automaton import MIN_TOKEN_SKELETON
from monitor.match.tokens import is_arabic, skeleton, token_spans
from monitor.normalize import normalize, normalize_text

__all__ = ["IndexedFields", "index_fields", "field_tokens", "skeleton_tokens", "compact_skeleton",
           "INDEX_FORMAT"]


@dataclass(frozen=True, slots=True)
class IndexedFields:
    """The four indexed columns of one article."""

    title: str
    body: str
    title_skel: str
    body_skel: str


def field_tokens(text: str) -> list[str]:
    """The matcher's tokens of one field (normalised)."""
    norm = normalize(text or "").text
    return [norm[a:b] for a, b in token_spans(norm)]


class _Compact(dict):  # type: ignore[type-arg]
    """translate() table writing a skeleton with two-byte characters: the matcher shifts its
    letters into plane 15 (four bytes each in UTF-8) so they can never equal text; in a column
    of their own they need not, and the index stores half as much."""

    def __missing__(self, cp: int) -> str:
        out = chr(cp - 0xF0000) if cp >= 0xF0000 else _CLASSES.get(cp, chr(cp))
        self[cp] = out
        return out


# The two letter classes (tokens.skeleton): characters normalised text never holds.
_CLASSES = {0xE000 + (ord("G") & 0x1FFF): "\u0640", 0xE000 + (ord("V") & 0x1FFF): "\u061c"}
_COMPACT = _Compact()


def compact_skeleton(skel: str) -> str:
    """A skeleton (:func:`monitor.match.tokens.skeleton`) as the index writes it."""
    return skel.translate(_COMPACT)


def skeleton_tokens(words: list[str]) -> str:
    """The skeleton column of a field with these tokens: each usable skeleton once."""
    if not words or not any(is_arabic(w) for w in words):
        return ""     # the matcher builds no skeleton line for a field without Arabic letters
    seen: dict[str, None] = {}
    for w in words:
        s = skeleton(w)
        if len(s) >= MIN_TOKEN_SKELETON:
            seen.setdefault(compact_skeleton(s))
    return " ".join(seen)


def index_fields(title: str | None, body: str | None) -> IndexedFields:
    """The indexed columns of an article with this title and body text."""
    t, b = field_tokens(title or ""), field_tokens(body or "")
    return IndexedFields(" ".join(t), " ".join(b), skeleton_tokens(t), skeleton_tokens(b))


# Normalisation and tokens are code: when they change, an index built by older code no longer
# agrees with queries and rules normalised by the new one. This probe fingerprints what they do,
# so a changed behaviour is noticed and the index rebuilt (monitor.store.search).
_PROBE = ("أإآٱ ى ة ؤئ ـ ً ٌ ٍ َ ُ ِ ّ ْ ٰ ﻻ ﺑﻴﺮﻭﺕ ی ک گ ڤ ھ ٠١٢٣٤٥٦٧٨٩ ۰۱۲ … – « » ‘ ’ "
          "Tor-M2 ẞ ﷲ \u200c\u200d\u00ad فاغنر فاجنر يفكيروف والجفرة للجفرة قواتها 2024م")
INDEX_FORMAT = "2:" + hashlib.sha256(
    (normalize_text(_PROBE) + "|" + repr(index_fields(_PROBE, _PROBE))).encode()).hexdigest()[:16]
