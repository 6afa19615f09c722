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

from monitor.normalize.fold import MAQSURA, SEAT_APART, TABLE, UNSAFE, _fold

__all__ = ["Normalized", "normalize", "normalize_text"]

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
    #: The distinct characters of ``text`` when normalisation learnt them on the way (the
    #: tokeniser's separators come from them), else None.
    chars: frozenset[str] | None = field(default=None, repr=False, compare=False)

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


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching and keep the offset map back to it. Never raises.

    Text in which every character normalises alone (any script, marks that compose with
    nothing) takes one ``str.translate`` (and a search for what it deleted, so that offsets map
    back); in anything else only the clusters that need it go cluster by cluster. Both give the
    result of :func:`normalize_clusters` (property-tested in tests/normalize).
    """
    folded = _fold_chars(text)
    if folded is None or SEAT_APART in text:
        return _normalize_mixed(text)
    norm, chars = folded
    shift = ([m.start() - j for j, m in enumerate(TABLE.deleted_re().finditer(text))]
             if len(norm) != len(text) else [])
    return Normalized(text, norm, None, None, shift, chars)


def fold_table(text: str) -> str | None:
    """``text.translate(TABLE)``, or None when a character in it needs the cluster path."""
    folded = _fold_chars(text)
    return None if folded is None else folded[0]


def _fold_chars(text: str) -> tuple[str, frozenset[str] | None] | None:
    """:func:`fold_table` and the distinct characters of its result (None when not learnt).

    ``translate`` looks every character up (30 ns each); an article holds a few dozen distinct
    characters of which a handful change (ة أ إ ى, a newline, a capital), so replacing each of
    those in turn is twice as fast. Every output of the table is its own normal form, so the
    order of the replacements cannot matter; a text with many changing characters (a page in
    capitals, a script the table maps wholesale) takes ``translate``, which stays linear.
    """
    distinct = set(text)
    changes = []
    for ch in distinct:
        new = TABLE[ord(ch)]      # every character classified: the mixed path needs them all
        if new != ch:
            changes.append((ch, new or ""))
    if UNSAFE in distinct or any(new == UNSAFE for _, new in changes):
        return None       # (the table's own marker, U+FFFF, is unsafe too)
    if len(changes) > _MAX_REPLACES:
        return text.translate(TABLE), None
    for ch, new in changes:
        text = text.replace(ch, new)
        distinct.discard(ch)
    distinct.update(new for _, new in changes if new)
    return text, frozenset(distinct)


# Past this many changing characters, replacing them one by one costs more than ``translate``.
_MAX_REPLACES = 48


def _normalize_mixed(text: str) -> Normalized:
    """Text with a few characters that need the cluster path (a ™ in a footer, a ﻻ ligature):
    only their clusters go that way, the runs between them through ``translate``."""
    parts: list[str] = []
    starts = array("l")
    ends = array("l")
    i = 0
    for m in TABLE.unsafe_re().finditer(text):
        if m.start() < i:
            continue                     # inside the cluster just done
        begin = m.start()
        while begin > i and unicodedata.combining(text[begin]):
            begin -= 1                   # a composing mark: its cluster starts at its letter
        _append_run(text, i, begin, parts, starts, ends)
        end = _cluster_end(text, begin)
        if m.group() == MAQSURA:
            end = _cluster_end(text, end)    # ى with the ء after it (and that one's marks)
        _append_clusters(text, begin, end, parts, starts, ends)
        i = end
    _append_run(text, i, len(text), parts, starts, ends)
    return Normalized(text, "".join(parts), starts, ends)


def _append_run(text: str, a: int, b: int, parts: list[str], starts: array,  # type: ignore[type-arg]
                ends: array) -> None:  # type: ignore[type-arg]
    """Normalise ``text[a:b]`` (no unsafe character in it) onto the output of the mixed path."""
    if a >= b:
        return
    run = text[a:b].translate(TABLE)
    parts.append(run)
    if len(run) == b - a:                # nothing deleted: each character is its own cluster
        starts += _positions(a, b)
        ends += _positions(a + 1, b + 1)
        return
    # Marks, tatweel and format characters were deleted: the kept characters are the slices
    # between them, and a letter's span reaches over the marks right after it (its cluster).
    kept, after_letter = a, False
    for m in TABLE.deleted_re().finditer(text, a, b):
        d = m.start()
        if d > kept:
            starts += _positions(kept, d)
            ends += _positions(kept + 1, d + 1)
            after_letter = True
        mark = after_letter and bool(unicodedata.combining(text[d]))
        if mark:
            ends[-1] = d + 1
        after_letter = mark
        kept = d + 1
    starts += _positions(kept, b)
    ends += _positions(kept + 1, b + 1)


def _append_clusters(text: str, a: int, b: int, parts: list[str],
                     starts: array, ends: array) -> None:  # type: ignore[type-arg]
    """Normalise ``text[a:b]`` cluster by cluster onto the output of the mixed path."""
    exact = normalize_clusters(text[a:b])
    assert exact._starts is not None and exact._ends is not None
    parts.append(exact.text)
    starts.extend(a + k for k in exact._starts)
    ends.extend(a + k for k in exact._ends)


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
            starts += _positions(i, j)
            ends += _positions(i + 1, j + 1)
            i = j
            continue
        j = _cluster_end(text, i)
        folded = _fold(text[i:j])
        if text[i] == MAQSURA and j == i + 1 and text.startswith("\u0621", j):
            folded = ""       # شاطىء is شاطئ with its hamza seat written apart
        if folded:
            parts.append(folded)
            starts.extend([i] * len(folded))
            ends.extend([j] * len(folded))
        i = j
    return Normalized(text, "".join(parts), starts, ends)


def _positions(a: int, b: int) -> array:  # type: ignore[type-arg]
    """``array("l", range(a, b))``, sliced from a shared identity array: a memory copy, a
    hundred times faster than filling an array from a range (the offsets of long plain runs)."""
    global _IDENTITY
    if b > len(_IDENTITY):
        if b > _IDENTITY_MAX:
            return array("l", range(a, b))
        _IDENTITY = array("l", range(min(max(b, 2 * len(_IDENTITY)), _IDENTITY_MAX)))
    return _IDENTITY[a:b]


# Grown on demand to the longest text normalised (at most 8 MB); longer texts fill their own.
_IDENTITY = array("l", range(4096))
_IDENTITY_MAX = 1 << 20


def normalize_text(text: str) -> str:
    """The normalised string only (for rule aliases and quick checks)."""
    return normalize(text).text
