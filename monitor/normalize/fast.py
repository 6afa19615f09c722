"""The fast path of :func:`monitor.normalize.normalize`: whole-text byte operations in C.

Most Arabic news text is made of characters that normalise one for one (or disappear) without
looking at their neighbours: letters, harakat, tatweel, ASCII, common punctuation. Such text fits
in the single-byte Windows-1256 code page, where ``bytes.translate`` does the whole mapping (and
the deletions) in one C pass, instead of a Python loop over characters and clusters.

* :data:`PREMAP` first replaces, one for one, characters outside the code page that are just as
  simple (Arabic-Indic digits, Persian letters, zero-width spaces, more harakat); every replacement
  keeps the length, so positions in the encoded bytes are positions in the original.
* Text containing anything else (a character that expands, such as ``ﷲ`` or ``…``, a mark that
  composes with its letter, such as the hamza above ``ٔ``, any other script) is left to the exact
  per-cluster path; ``tests/normalize/test_fast.py`` checks that both paths agree on text and
  offsets.

No character expands on this path, so the offset map is fully determined by the positions of the
deleted characters; it is only built when a caller asks for an offset (for the few hits).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

CODEC = "cp1256"
_CHARS = bytes(range(256)).decode(CODEC)

# Combining marks that never compose with a preceding character (NFC/NFKC has no pair for them);
# U+0653-U+0655 (madda, hamza above/below) do compose (ا + ٔ → أ) and are left to the slow path.
INERT_MARKS = frozenset(
    [chr(c) for c in range(0x0610, 0x061B)] + [chr(c) for c in range(0x064B, 0x0653)]
    + [chr(c) for c in range(0x0656, 0x0660)] + ["\u0670"]
    + [chr(c) for c in range(0x06D6, 0x06DD)] + [chr(c) for c in range(0x06DF, 0x06E5)]
    + ["\u06E7", "\u06E8"] + [chr(c) for c in range(0x06EA, 0x06EE)])

# Blocks searched for simple characters outside the code page.
_PREMAP_BLOCKS = ((0x0000, 0x0250), (0x0600, 0x0700), (0x0750, 0x0780), (0x08A0, 0x0900),
                  (0x2000, 0x2070), (0xFB50, 0xFE00), (0xFE70, 0xFF00), (0xFF00, 0xFFF0))
_DELETED_STANDIN = "\u200c"   # ZWNJ: in the code page, always deleted


class Tables:
    """Everything the fast path needs, derived from the exact per-character fold."""

    def __init__(self, fold: Callable[[str], str]) -> None:
        def simple(ch: str) -> str | None:
            """The fold of ``ch`` if it is context-free and fits in the code page, else None."""
            if unicodedata.combining(ch):
                return "" if ch in INERT_MARKS and fold(ch) == "" else None
            out = fold(ch)
            if len(out) > 1 or unicodedata.combining(out or "a"):
                return None
            try:
                out.encode(CODEC)
            except UnicodeEncodeError:
                return None
            return out

        table = bytearray(range(256))
        delete = bytearray()
        unsafe = bytearray()
        for b, ch in enumerate(_CHARS):
            out = simple(ch)
            if out is None:
                unsafe.append(b)
            elif out == "":
                delete.append(b)
            else:
                table[b] = out.encode(CODEC)[0]
        self.table = bytes(table)
        self.delete = bytes(delete)
        self.unsafe = re.compile(_byte_class(unsafe)) if unsafe else None
        self.safe = bytes(sorted(set(range(256)) - set(unsafe)))
        self.kept_runs = re.compile(_byte_class(delete, negate=True) + b"+")
        premap: dict[str, str] = {}
        for lo, hi in _PREMAP_BLOCKS:
            for code in range(lo, hi):
                ch = chr(code)
                if ch in _CHARS or unicodedata.category(ch) == "Cn":
                    continue
                out = simple(ch)
                if out is not None:
                    premap[ch] = out or _DELETED_STANDIN
        self.premap = premap


def _byte_class(values: Iterable[int], negate: bool = False) -> bytes:
    return b"[" + (b"^" if negate else b"") + b"".join(
        b"\\x%02x" % v for v in sorted(set(values))) + b"]"


_tables: Tables | None = None


def tables(fold: Callable[[str], str]) -> Tables:
    global _tables
    if _tables is None:
        _tables = Tables(fold)
    return _tables


def encode(text: str, t: Tables) -> bytes | None:
    """``text`` in the code page after the one-for-one premap, or None when it does not fit."""
    for _ in range(12):
        try:
            raw = text.encode(CODEC)
        except UnicodeEncodeError as exc:
            ch = text[exc.start]
            repl = t.premap.get(ch)
            if repl is None:
                return None
            text = text.replace(ch, repl)
            continue
        if raw.translate(None, t.safe):    # what is left is unsafe (one C pass, no regex)
            return None
        return raw
    return None


class OffsetMap:
    """Normalised positions → original spans for fast-path text (built on first use)."""

    __slots__ = ("original", "run_norm", "run_orig")

    def __init__(self, original: str, raw: bytes, t: Tables) -> None:
        self.original = original
        self.run_norm: list[int] = []
        self.run_orig: list[int] = []
        pos = 0
        for m in t.kept_runs.finditer(raw):
            self.run_norm.append(pos)
            self.run_orig.append(m.start())
            pos += m.end() - m.start()

    def start(self, k: int) -> int:
        """Original position of normalised character ``k`` (a kept, non-combining character)."""
        from bisect import bisect_right

        r = bisect_right(self.run_norm, k) - 1
        return self.run_orig[r] + (k - self.run_norm[r])

    def end(self, k: int) -> int:
        """End of the cluster of normalised character ``k``: its combining marks included."""
        j, text, n = self.start(k) + 1, self.original, len(self.original)
        while j < n and unicodedata.combining(text[j]):
            j += 1
        return j
