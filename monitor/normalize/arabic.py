"""Arabic text normalisation for matching, with a map back to the original text.

Rules and articles are normalised the same way, so that spelling noise does not decide a match:

* NFKC, which folds Arabic presentation forms (``ﺑﻴﺮﻭﺕ`` → ``بيروت``) and ligatures (``ﻻ`` → ``لا``);
* drop every combining mark (harakat, shadda, sukun, superscript alef, Quranic marks, and any
  other non-spacing mark), tatweel ``ـ``, and format characters (zero-width joiners and spaces,
  bidi controls, soft hyphen, BOM);
* unify alef forms ``أ إ آ ٱ`` → ``ا``, ``ى`` → ``ي``, ``ة`` → ``ه``, hamza seats ``ؤ ئ`` → ``ء``; Persian/Urdu look-alikes
  ``ی`` → ``ي``, ``ک`` and ``گ`` → ``ك``, ``ڤ`` → ``ف``, ``ھ ہ ە`` → ``ه``;
* every decimal digit (Arabic-Indic ``٠-٩``, Eastern ``۰-۹``, others) → ASCII ``0-9``;
* hyphens and dashes → ``-``, double quotes and guillemets → ``"``, single quotes → ``'``;
* every space-like character → `` `` (one for one, so offsets stay simple);
* case folding (``Tor-M2`` → ``tor-m2``).

The work is done one *cluster* at a time (a base character and the combining marks after it),
so that a decomposed ``ا`` + ``ٓ`` composes to ``آ`` exactly as the precomposed letter would.
Each normalised character remembers the original span of the cluster it came from, so a match
found in the normalised text is quoted and highlighted in the original spelling.
"""

from __future__ import annotations

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
    _starts: array = field(repr=False, compare=False)  # type: ignore[type-arg]
    _ends: array = field(repr=False, compare=False)  # type: ignore[type-arg]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised span ``text[start:end]`` to ``(start, end)`` in the original string.

        The result always satisfies ``0 <= start <= end <= len(original)``; an empty span maps to
        an empty span at the matching position.
        """
        n = len(self.text)
        start = min(max(start, 0), n)
        end = min(max(end, start), n)
        if start == end:
            pos = self._starts[start] if start < n else len(self.original)
            return pos, pos
        return self._starts[start], self._ends[end - 1]


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


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching and keep the offset map back to it. Never raises."""
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
        if folded:
            parts.append(folded)
            starts.extend([i] * len(folded))
            ends.extend([j] * len(folded))
        i = j
    return Normalized(text, "".join(parts), starts, ends)


def normalize_text(text: str) -> str:
    """The normalised string only (for rule aliases and quick checks)."""
    return normalize(text).text
