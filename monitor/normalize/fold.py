"""Character-level folding for :mod:`monitor.normalize.arabic`: what one character (or one
cluster: a letter and its marks) becomes, and the ``str.translate`` table of the fast path."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["MAQSURA", "SEAT_APART", "TABLE", "UNSAFE"]

_LETTERS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    # Hamza on a seat is spelled by its neighbours: خبراء، خبراؤها، خبرائها are one word.
    "ؤ": "ء", "ئ": "ء",
    "ى": "ي", "ی": "ي", "ې": "ي", "ۍ": "ي", "ێ": "ي",
    "ة": "ه", "ۃ": "ه", "ھ": "ه", "ہ": "ه", "ە": "ه", "ۀ": "ه",
    "ک": "ك", "گ": "ك", "ڪ": "ك",
    "ڤ": "ف", "ڥ": "ف",
}
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d\u058a\u05be"
_DOUBLE_QUOTES = "\u00ab\u00bb\u201c\u201d\u201e\u201f\u2033\u2036\u275d\u275e\u301d\u301e\uff02"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u275b\u275c\u0060\u00b4"
_TATWEEL = "\u0640"
# Read before NFKC: punctuation NFKC would expand into several characters. The ellipsis is
# common in Arabic headlines, and one character for one keeps such text on the fast path.
_BEFORE_NFKC = {"\u2026": "."}


def _build_table() -> dict[str, str]:
    table = dict(_LETTERS)
    table.update({c: "-" for c in _DASHES})
    table.update({c: '"' for c in _DOUBLE_QUOTES})
    table.update({c: "'" for c in _SINGLE_QUOTES})
    return table


_TABLE = _build_table()


def _dropped(ch: str) -> bool:
    """Characters that carry no spelling: marks, tatweel, format and unassigned code points."""
    if ch == _TATWEEL or unicodedata.combining(ch):
        return True
    # Mn/Me: non-spacing and enclosing marks; Cf: ZWJ, ZWNJ, bidi controls, BOM, soft hyphen;
    # Cs: lone surrogates (they cannot be encoded and only appear in broken input).
    return unicodedata.category(ch) in ("Mn", "Me", "Cf", "Cs")


def _step(ch: str) -> str:
    """One pass over one character: NFKC, case fold, drop, map."""
    if ch in _BEFORE_NFKC:
        return _BEFORE_NFKC[ch]
    out = []
    for c in unicodedata.normalize("NFKC", ch).casefold():
        if _dropped(c):
            continue
        if c in _TABLE:
            out.append(_TABLE[c])
        elif c.isspace():
            out.append(" ")
        elif unicodedata.decimal(c, None) is not None:
            out.append(str(unicodedata.decimal(c)))
        else:
            out.append(c)
    return "".join(out)


@lru_cache(maxsize=65536)
def _fold(chars: str) -> str:
    """Normalise a cluster (or a single character) to a fixed point.

    NFKC and case folding can produce characters that fold again (``ﷲ`` → ``الله``, ``ẞ`` → ``ss``);
    iterating until nothing changes is what makes :func:`normalize` idempotent.
    """
    current = unicodedata.normalize("NFKC", chars) if len(chars) > 1 else chars
    for _ in range(8):
        nxt = "".join(_step(c) for c in current)
        if nxt == current:
            break
        current = nxt
    return current


UNSAFE = "\uffff"     # the table's answer for a character that needs the cluster path
_TABLE_MAX = 70_000   # code points remembered (~7 MB); beyond, each is classified again


class _OneForOne(dict):  # type: ignore[type-arg]
    """The ``str.translate`` table of :func:`normalize`, over every code point, each classified
    on first sight: its normal form when that is one character or nothing whatever surrounds
    it, else :data:`UNSAFE`.

    Unsafe (the per-cluster path handles them): characters that expand (ﻻ, ß), and combining
    marks that compose with the letter before them (madda and hamza above/below make آ أ ؤ from
    ا و; Latin accents make é). Other marks (Arabic harakat, shadda, sukun, superscript alef,
    Thai vowel signs) compose with nothing, so dropping them one by one is the same as folding
    their cluster. Known characters are stored too, unchanged ones included: a hit costs
    translate less than a miss.
    """

    def __init__(self) -> None:
        super().__init__()
        self.deleted: set[int] = set()
        self.unsafe: set[int] = {ord(UNSAFE)}
        self._deleted_re: re.Pattern[str] | None = None
        self._unsafe_re: re.Pattern[str] | None = None

    def __missing__(self, cp: int) -> str | None:
        ch = chr(cp)
        folded = _fold(ch)
        out: str | None
        if ch == UNSAFE or len(folded) > 1 or _composes(ch):
            out = UNSAFE
            self.unsafe.add(cp)
            self._unsafe_re = None
        elif folded:
            out = folded
        else:
            out = None
            self.deleted.add(cp)
            self._deleted_re = None
        if len(self) < _TABLE_MAX:   # a page of every code point must not grow it unbounded
            self[cp] = out
        return out

    def deleted_re(self) -> re.Pattern[str]:
        """A pattern matching the characters this table deletes."""
        if self._deleted_re is None:
            self._deleted_re = re.compile(f"[{_ranges(sorted(self.deleted))}]" if self.deleted
                                          else "(?!)")
        return self._deleted_re

    def unsafe_re(self) -> re.Pattern[str]:
        """A pattern matching what needs the cluster path: the unsafe characters, and a ى
        before ء."""
        if self._unsafe_re is None:
            self._unsafe_re = re.compile(f"[{_ranges(sorted(self.unsafe))}]|{SEAT_APART[0]}"
                                         f"(?={SEAT_APART[1]})")
        return self._unsafe_re


def _composes(ch: str) -> bool:
    """Could this combining character merge with the letter before it under NFKC?"""
    if not unicodedata.combining(ch):
        return False
    return ord(ch) in _composing_seconds()


@lru_cache(maxsize=1)
def _composing_seconds() -> frozenset[int]:
    """Second characters of the canonical two-character decompositions (ا + ٓ → آ, e + ́ → é)."""
    out = set()
    for cp in range(0x20000):
        d = unicodedata.decomposition(chr(cp))
        if d and d[0] != "<" and len(parts := d.split()) == 2:
            out.add(int(parts[1], 16))
    return frozenset(out)


def _ranges(cps: list[int]) -> str:
    """A regular-expression character class body for sorted code points."""
    out, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        out.append(re.escape(chr(cps[i])) + ("" if i == j else "-" + re.escape(chr(cps[j]))))
        i = j + 1
    return "".join(out)


TABLE = _OneForOne()
MAQSURA = "\u0649"
# ى then ء: the old spelling of the seat ئ (شاطىء، الشاطىء). The seat folds to ء, so the ى
# is dropped, and only the cluster path looks at a character's neighbour.
SEAT_APART = MAQSURA + "\u0621"
