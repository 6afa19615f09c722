"""Tokens, Arabic proclitics and variant skeletons, shared by rule compilation and scanning.

Everything here works on *normalised* text (:func:`monitor.normalize.normalize`). A token is a
run of letters or a run of digits, so ``تور-ام2``, ``تور ام 2`` and ``تور ام-2`` all become the
three tokens ``تور ام 2``; that is what makes multi-word aliases tolerant of hyphens and spacing.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from monitor.normalize import Normalized
from monitor.normalize.fast import CODEC

__all__ = ["Token", "tokenize", "clitic_forms", "skeleton", "is_arabic", "token_lines",
           "token_spans"]

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_ARABIC = re.compile(r"[\u0600-\u06FF]")

# Proclitics that may precede a noun: conjunctions و ف, prepositions ب ل ك, and their pairs.
# ``ل`` + ``ال`` is written ``لل`` (للجفرة), never ``لال``.
_FULL = ("", "و", "ف", "ب", "ك", "ل", "وب", "فب", "وك", "فك", "ول", "فل")
# Short words are easily produced by reading a real letter as a clitic: كسرت "broke" is not
# ك+سرت (Sirte), فسرت "explained" is not ف+سرت, فليبي (Filipe) is not ف+ليبي. For first tokens
# of 3-4 letters only the prepositions and و (alone or before a preposition) are allowed; a bare
# ف or any ك is refused. Tokens of one or two letters get no clitics at all.
_SHORT = ("", "و", "ب", "ل", "وب", "ول")
SHORT_MAX = 4
TINY_MAX = 2


@dataclass(frozen=True, slots=True)
class Token:
    """A token of normalised text: its characters and its span in that text."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split normalised text into letter runs and digit runs."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def token_spans(text: str, limit: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of the tokens of normalised text (the first ``limit`` when given)."""
    return [m.span() for m in islice(_TOKEN.finditer(text), limit)]


def token_lines(norm: Normalized, skeletons: bool) -> tuple[str, str | None] | None:
    """The token line `` w0 w1 … `` of normalised text, and its skeleton line when asked for.

    The skeleton line is `` skeleton(w0) skeleton(w1) … `` (a skeleton may be empty). ``None``
    when the text has no token. Text that took the fast normalisation path is done with a few
    whole-string byte operations; anything else is tokenised with the regular expression.
    """
    if norm.encoded is not None:
        return _byte_lines(norm.encoded, skeletons)
    words = _TOKEN.findall(norm.text)
    if not words:
        return None
    return (" " + " ".join(words) + " ",
            " " + " ".join(map(skeleton, words)) + " " if skeletons else None)


class _LineTables:
    """Byte tables over the fast path's code page (see :mod:`monitor.normalize.fast`)."""

    def __init__(self) -> None:
        chars = bytes(range(256)).decode(CODEC)
        line = bytearray(range(256))
        sk = bytearray(range(256))
        sk_delete = bytearray()
        digits = bytearray()
        for b, ch in enumerate(chars):
            letter = bool(re.fullmatch(r"[^\W\d_]", ch))
            digit = bool(re.fullmatch(r"\d", ch))
            if digit:
                digits.append(b)
            if not (letter or digit):
                line[b] = 0x20
            elif ch in _VOWELS:
                sk_delete.append(b)
            elif ch in _CLASSES:
                sk[b] = ord(_CLASSES[ch])
        sk[_WAW_MARK] = ord(_CLASSES["و"])
        self.line = bytes(line)
        self.sk = bytes(sk)
        self.sk_delete = bytes(sk_delete)
        self.digits = re.compile(b"([" + b"".join(b"\\x%02x" % d for d in digits) + b"]+)")
        self.not_digits = bytes(sorted(set(range(256)) - set(digits)))
        # Over a token line: letter → L, digit → D, space stays; "LD" or "DL" is a digit run
        # glued to letters (ام2), the only case that needs the (slow) regular-expression split.
        self.kinds = bytes(0x20 if line[b] == 0x20 else 0x44 if b in digits else 0x4C
                           for b in range(256))
        self.spaces = re.compile(b"  +")
        self.waw = "و".encode(CODEC)
        decode = []
        for b, ch in enumerate(chars):
            if b == 0x20:
                decode.append(" ")
            elif ch in ("G", "V"):
                decode.append(chr(_PUA + (ord(ch) & 0x1FFF)))
            else:
                decode.append(_shift(ch))
        self.sk_decode = "".join(decode)


_WAW_MARK = 0x01          # a control byte: never part of a token line
_line_tables: _LineTables | None = None


def _line_tables_ready() -> _LineTables:
    """The byte tables (built on first use; :mod:`monitor.match.fastlines` reads them too)."""
    global _line_tables
    if _line_tables is None:
        _line_tables = _LineTables()
    return _line_tables


def _byte_lines(encoded: bytes, skeletons: bool) -> tuple[str, str | None] | None:
    t = _line_tables_ready()
    raw = encoded.translate(t.line)
    if raw.translate(None, t.not_digits):
        kinds = raw.translate(t.kinds)
        if b"LD" in kinds or b"DL" in kinds:
            raw = b" ".join(t.digits.split(raw))     # ام2 is two tokens (the pattern keeps digits)
    body = t.spaces.sub(b" ", raw).strip(b" ")
    if not body:
        return None
    line = b" " + body + b" "
    text_line = line.decode(CODEC)
    if not skeletons:
        return text_line, None
    sk = line.replace(b" " + t.waw, b" \x01").translate(t.sk, t.sk_delete)
    return text_line, codecs.charmap_decode(_squeeze(sk), "strict", t.sk_decode)[0]


def _squeeze(sk: bytes) -> bytes:
    """Collapse runs of one repeated letter (not spaces) to one, as :func:`skeleton` does.

    A regular expression with a back-reference costs ~25 ns a byte; here the bytes are one big
    integer compared with itself shifted by a byte, and the SWAR zero-byte test marks repeats
    exactly (no carry crosses a byte). Marked bytes become NUL and ``translate`` deletes them.
    """
    n = len(sk)
    x = int.from_bytes(sk, "big")
    low7 = int.from_bytes(b"\x7f" * n, "big")
    repeat = _zero_bytes(x ^ (x >> 8), low7) & ~_zero_bytes(x ^ int.from_bytes(b" " * n, "big"),
                                                               low7)
    if not repeat:
        return sk
    return ((x & ~((repeat >> 7) * 0xFF)).to_bytes(n, "big")).translate(None, b"\x00")


def _zero_bytes(z: int, low7: int) -> int:
    """0x80 in every byte of ``z`` that is zero, 0x00 elsewhere."""
    return ~(((z & low7) + low7) | z | low7) & (low7 << 1 | low7) & ~low7


def is_arabic(word: str) -> bool:
    """True when the word contains Arabic-script letters (clitics apply to those only)."""
    return bool(_ARABIC.search(word))


def clitic_forms(first: str) -> list[str]:
    """Every proclitic form of an alias's first token, the bare token included.

    ``الجفره`` → ``الجفره والجفره بالجفره ... للجفره وللجفره``; ``حفتر`` → ``حفتر لحفتر وبحفتر ...``.
    """
    if not is_arabic(first) or len(first) <= TINY_MAX:
        return [first]
    if first.startswith("ال") and len(first) > 3:
        forms = [p + first for p in _FULL if not p.endswith("ل")]
        return forms + [p + "ل" + first[1:] for p in ("", "و", "ف")]  # لل، ولل، فلل
    prefixes = _SHORT if len(first) <= SHORT_MAX else _FULL
    return [p + first for p in prefixes]


# Variant skeleton: letters that transliterations of foreign names swap freely fall into one
# class, long vowels and hamza seats disappear, doubled letters collapse. Classes are written with
# private-use characters so that a skeleton can never equal ordinary text.
_CLASSES = {
    "غ": "G", "ج": "G", "ق": "G", "ك": "G",   # g/k: فاغنر فاجنر, غيراسيموف جيراسيموف
    "ف": "V", "و": "V",                      # v/w (و only at the start, see skeleton())
}
# Emphatic/plain pairs (ت/ط, س/ص) are deliberately NOT merged: with them بانتسير (Pantsir)
# matched بانتصار ("with the victory"). Measured in docs/matching.md.
_VOWELS = set("اويءؤئ")
_PUA = 0xE000


@lru_cache(maxsize=262144)
def skeleton(word: str) -> str:
    """The variant-tolerant skeleton of one normalised token (empty for very short words).

    ``يفكيروف``, ``يفكوروف``, ``يوفكيورف`` and ``ايفكوروف`` share one skeleton, as do ``فاغنر``,
    ``فاجنر`` and ``واغنر``. Latin tokens and digits are returned unchanged but shifted into the
    private-use area like everything else.
    """
    out: list[str] = []
    for i, ch in enumerate(word):
        if ch in _VOWELS and not (ch == "و" and i == 0):
            continue
        cls = _CLASSES.get(ch, ch)
        if out and out[-1] == cls:
            continue
        out.append(cls)
    return "".join(chr(_PUA + (ord(c) & 0x1FFF)) if c.isupper() else _shift(c) for c in out)


def _shift(ch: str) -> str:
    # Arabic letters live in U+0600-U+06FF; shift them (and anything else) into a private block
    # far from the class letters so the two never collide.
    return chr(0xF0000 + ord(ch)) if ord(ch) < 0xFFFF else ch
