"""Token line and skeleton line straight from the original text, in C when it was compiled.

The pure-Python way to a token line is :func:`monitor.normalize.normalize` then
:func:`monitor.match.tokens.token_lines`: a dozen whole-string operations that cost more than the
automaton scan itself. ``monitor/match/_lines.c`` does the same in one pass over the text, with
tables built here from the very definitions the Python path uses, so the two cannot drift apart
without ``tests/match/test_fastlines.py`` failing.

The extension is optional: it is built when a C compiler is present (``pip install`` does it), and
everything works without it, only slower. ``MONITOR_PURE_PYTHON=1`` turns it off.

The C path also leaves out what cannot match: a token that no key contains (a Bloom filter of the
keys' tokens, :func:`token_filter`) is not spelled out, and a run of such tokens becomes a single
placeholder character that no key can match across; the skeleton line likewise spells out only
the skeletons a variant key contains (:func:`skeleton_filter`), and is ``None`` when there is none.
The automaton then scans lines a small fraction as long as the text; an index per line maps each
spelled-out item back to its token number, so hits keep their true token positions.
"""

from __future__ import annotations

import os
import unicodedata
from array import array
from collections.abc import Callable, Iterable
from typing import Final

from monitor.match.tokens import _TOKEN, _WAW_MARK, _line_tables_ready
from monitor.normalize.arabic import _fast_tables, _fold
from monitor.normalize.fast import _CHARS, CODEC

try:
    if os.environ.get("MONITOR_PURE_PYTHON"):
        raise ImportError("MONITOR_PURE_PYTHON is set")
    from monitor.match import _lines  # type: ignore[attr-defined]
except ImportError:
    _lines = None

__all__ = ["AVAILABLE", "PLACEHOLDER", "REFUSED", "ints", "lines", "skeleton_filter",
           "token_filter"]

AVAILABLE: Final = _lines is not None
#: Returned by :func:`lines` for text the C path does not handle; use the Python path.
REFUSED: Final = object()

_BLOOM_BYTES = 8192
_DELETE, _MARK, _REFUSE = 0x100, 0x101, 0xFFFF
_configured = False


#: ``(token line, line index, skeleton line or None, skeleton index or None, offsets)``
Lines = tuple[str, bytes, str | None, bytes | None, bytes]
#: Stands for a run of tokens that no key contains, in both lines.
PLACEHOLDER: Final = "\x04"


def lines(text: str, token_filter: bytes | None,
          skeleton_filter: bytes | None) -> Lines | None | object:
    """The automaton's lines of ``text``; ``None`` without tokens, or :data:`REFUSED`.

    The filters come from :func:`token_filter` and :func:`skeleton_filter`: a run of tokens
    outside the first is written as one :data:`PLACEHOLDER` in the token line, a run of skeletons
    outside the second likewise in the skeleton line (there is no skeleton line without a
    skeleton filter, or when nothing passes it). The index bytes (native int32, see
    :func:`ints`) give the token index of each spelled-out item of a line, in order;
    ``offsets[2 * i]`` and ``offsets[2 * i + 1]`` the original start and end of token ``i``,
    combining marks included. Always :data:`REFUSED` when the extension is not available.
    """
    if _lines is None:
        return REFUSED
    if not _configured:
        _configure()
    out = _lines.lines(text, token_filter, skeleton_filter)
    if out is None:
        return REFUSED
    return out or None


def ints(raw: bytes) -> memoryview:
    """The native int32 values of an index or offsets of :func:`lines`."""
    return memoryview(raw).cast("i")


def token_filter(tokens: Iterable[str]) -> bytes | None:
    """The filter of the tokens of a rule set's keys (``None`` without the C path)."""
    return _filter(_token_bytes(tokens)) if _lines is not None else None


def skeleton_filter(skeletons: Iterable[str]) -> bytes | None:
    """The filter of the token skeletons of a rule set's variant keys (``None`` without C).

    ``skeletons`` are written as :func:`monitor.match.tokens.skeleton` writes them.
    """
    return _filter(_skeleton_bytes(skeletons)) if _lines is not None else None


def _token_bytes(tokens: Iterable[str]) -> list[bytes]:
    """Tokens as the C path sees them (code-page bytes). One the code page cannot spell can
    never come out of the C path and is left out."""
    return _encoded(tokens, lambda tok: tok.encode(CODEC))


def _skeleton_bytes(skeletons: Iterable[str]) -> list[bytes]:
    """Skeletons as the C path writes them before decoding (skeleton bytes)."""
    back = {ch: b for b, ch in enumerate(_line_tables_ready().sk_decode)}
    return _encoded(skeletons, lambda sk: bytes(back[ch] for ch in sk))


def _encoded(items: Iterable[str], encode: Callable[[str], bytes]) -> list[bytes]:
    out = []
    for item in items:
        try:
            out.append(encode(item))
        except (UnicodeEncodeError, KeyError):
            continue
    return out


def _filter(items: list[bytes]) -> bytes:
    """A Bloom filter with about 32 bits per item (one hash: ~3 % false positives)."""
    assert _lines is not None
    size = 1024
    while size < 4 * len(items):
        size *= 2
    bits = bytearray(size)
    mask = size * 8 - 1
    for item in items:
        h = _lines.fnv1a(item) & mask
        bits[h >> 3] |= 1 << (h & 7)
    return bytes(bits)


def _configure() -> None:
    """Hand the C module its tables: the normaliser's and the token lines' (built once)."""
    global _configured
    assert _lines is not None
    t = _fast_tables()
    lt = _line_tables_ready()
    safe = set(t.safe)
    delete = set(t.delete)

    def final(ch: str, b: int) -> int:
        if b not in safe:
            return _REFUSE
        if b in delete:   # a deleted combining mark still belongs to its letter's highlight
            return _MARK if unicodedata.combining(ch) else _DELETE
        return t.table[b]

    cp_map = [_REFUSE] * 65536
    for b, ch in enumerate(_CHARS):
        cp_map[ord(ch)] = final(ch, b)
    for ch, repl in t.premap.items():
        if ord(ch) < 65536:
            cp_map[ord(ch)] = final(ch, repl.encode(CODEC)[0])
    _separators(cp_map)
    kinds = bytes(0 if lt.line[b] == 0x20 else 2 if lt.kinds[b] == 0x44 else 1 for b in range(256))
    sk_class = bytes(0 if b in lt.sk_delete else lt.sk[b] for b in range(256))
    waw = lt.waw[0]
    _lines.configure(_u16(cp_map), kinds, _CHARS, sk_class, waw, lt.sk[_WAW_MARK], lt.sk_decode)
    _configured = True


def _separators(cp_map: list[int]) -> None:
    """Map punctuation and symbols outside the code page (``٪``, ``©``, ``→``) to a space.

    The Python path keeps them in the normalised text, but they fold to no letter or digit and
    start a cluster of their own, so in a token line they are separators like any space. Without
    this, one ``٪`` in an article sent all of it down the much slower Python path.
    """
    for cp in range(65536):
        if cp_map[cp] != _REFUSE:
            continue
        ch = chr(cp)
        if unicodedata.category(ch)[0] not in "PSZ":
            continue
        folded = _fold(ch)
        if folded and not _TOKEN.search(folded):
            cp_map[cp] = 0x20


def _u16(values: list[int]) -> bytes:
    return array("H", values).tobytes()
