"""Arabic text normalisation for matching, with a map back to the original text.

Rules and articles are normalised the same way, so that spelling noise does not decide a match:

* NFKC, which folds Arabic presentation forms (``ﺑﻴﺮﻭﺕ`` → ``بيروت``) and ligatures (``ﻻ`` → ``لا``);
* drop every combining mark (harakat, shadda, sukun, superscript alef, Quranic marks, and any
  other non-spacing mark), tatweel ``ـ``, and format characters (zero-width joiners and spaces,
  bidi controls, soft hyphen, BOM);
* unify alef forms ``أ إ آ ٱ`` → ``ا``, ``ى`` → ``ي``, ``ة`` → ``ه``, hamza seats ``ؤ ئ`` → ``ء`` (and ``ىء``, the seat written apart, → ``ء``); Persian/Urdu look-alikes
  ``ی`` → ``ي``, ``ک`` and ``گ`` → ``ك``, ``ڤ`` → ``ف``, ``ھ ہ ە`` → ``ه``;
* every decimal digit (Arabic-Indic ``٠-٩``, Eastern ``۰-۹``, others) → ASCII ``0-9``;
* the ellipsis ``…`` → ``.``; hyphens and dashes → ``-``; double quotes and guillemets → ``"``;
  single quotes → ``'``;
* every space-like character → `` `` (one for one, so offsets stay simple);
* case folding (``Tor-M2`` → ``tor-m2``).

The work is done one *cluster* at a time (a base character and the combining marks after it),
so that a decomposed ``ا`` + ``ٓ`` composes to ``آ`` exactly as the precomposed letter would.
Each normalised character remembers the original span of the cluster it came from, so a match
found in the normalised text is quoted and highlighted in the original spelling.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from array import array
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["Normalized", "normalize", "normalize_text"]

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


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, for each of its characters, the original span it came from."""

    original: str
    text: str
    _starts: array | None = field(repr=False, compare=False)  # type: ignore[type-arg]
    _ends: array | None = field(repr=False, compare=False)  # type: ignore[type-arg]
    #: Text of the one-for-one path: ``p_j - j`` for the original positions ``p_j`` of the
    #: deleted characters (marks, tatweel, format characters), empty when none was deleted.
    _shift: list[int] | None = field(default=None, repr=False, compare=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised span ``text[start:end]`` to ``(start, end)`` in the original string.

        The result always satisfies ``0 <= start <= end <= len(original)``; an empty span maps to
        an empty span at the matching position.
        """
        n = len(self.text)
        start = min(max(start, 0), n)
        end = min(max(end, start), n)
        if self._shift is not None:
            return self._one_for_one(start, end, n)
        assert self._starts is not None and self._ends is not None
        if start == end:
            pos = self._starts[start] if start < n else len(self.original)
            return pos, pos
        return self._starts[start], self._ends[end - 1]

    def _one_for_one(self, start: int, end: int, n: int) -> tuple[int, int]:
        shift = self._shift or []

        def orig(i: int) -> int:
            return i + bisect.bisect_right(shift, i)
        if start == end:
            pos = orig(start) if start < n else len(self.original)
            return pos, pos
        stop = orig(end - 1) + 1
        while stop < len(self.original) and unicodedata.combining(self.original[stop]):
            stop += 1         # the marks a letter carries belong to it, as in a cluster
        return orig(start), stop


# Characters known to normalise to themselves and that never carry marks of their own doing:
# the common Arabic letters, lowercase ASCII letters, digits, space and ASCII punctuation (not
# the backtick, which becomes an apostrophe). Runs of them are copied in one go; everything else
# goes through the per-cluster path. tests/normalize checks that this set really is inert.
PLAIN = re.compile(
    "[\u0621\u0627\u0628\u062a-\u063a\u0641-\u0648\u064a"
    " a-z0-9!-/:-@\\[-_{-~\u060c\u061b\u061f]+")


def _cluster_end(text: str, i: int) -> int:
    """End of the cluster starting at ``i``: the base character and the combining marks after it."""
    j, n = i + 1, len(text)
    while j < n and unicodedata.combining(text[j]):
        j += 1
    return j


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
        self._deleted_re: re.Pattern[str] | None = None

    def __missing__(self, cp: int) -> str | None:
        ch = chr(cp)
        folded = _fold(ch)
        out: str | None
        if ch == UNSAFE or len(folded) > 1 or _composes(ch):
            out = UNSAFE
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


_TABLE_OF_ONE_FOR_ONE = _OneForOne()
_MAQSURA = "\u0649"
# ى then ء: the old spelling of the seat ئ (شاطىء، الشاطىء). The seat folds to ء, so the ى
# is dropped, and only the cluster path looks at a character's neighbour.
_SEAT_APART = _MAQSURA + "\u0621"


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching and keep the offset map back to it. Never raises.

    Text in which every character normalises alone (any script, marks that compose with
    nothing) takes one ``str.translate`` (and a search for what it deleted, so that offsets map
    back); anything else goes cluster by cluster. Both give the same result (property-tested
    in tests/normalize).
    """
    table = _TABLE_OF_ONE_FOR_ONE
    norm = text.translate(table)
    if UNSAFE in norm or _SEAT_APART in text:
        return normalize_clusters(text)
    shift = ([m.start() - j for j, m in enumerate(table.deleted_re().finditer(text))]
             if len(norm) != len(text) else [])
    return Normalized(text, norm, None, None, shift)


def normalize_clusters(text: str) -> Normalized:
    """The per-cluster path of :func:`normalize` (any text; the reference for the other)."""
    parts: list[str] = []
    starts = array("l")
    ends = array("l")
    i, n = 0, len(text)
    while i < n:
        m = PLAIN.match(text, i)
        j = m.end() if m else i
        if j < n and j > i and unicodedata.combining(text[j]):
            j -= 1  # the last plain letter carries marks: it starts a cluster
        if j > i:
            parts.append(text[i:j])
            starts.extend(range(i, j))
            ends.extend(range(i + 1, j + 1))
            i = j
            continue
        j = _cluster_end(text, i)
        folded = _fold(text[i:j])
        if text[i] == _MAQSURA and text.startswith("\u0621", j):
            folded = ""       # شاطىء is شاطئ with its hamza seat written apart
        if folded:
            parts.append(folded)
            starts.extend([i] * len(folded))
            ends.extend([j] * len(folded))
        i = j
    return Normalized(text, "".join(parts), starts, ends)


def normalize_text(text: str) -> str:
    """The normalised string only (for rule aliases and quick checks)."""
    return normalize(text).text
