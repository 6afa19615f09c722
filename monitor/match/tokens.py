"""Tokens, Arabic proclitics and variant skeletons, shared by rule compilation and scanning.

Everything here works on *normalised* text (:func:`monitor.normalize.normalize`). A token is a
run of letters or a run of digits, so ``تور-ام2``, ``تور ام 2`` and ``تور ام-2`` all become the
three tokens ``تور ام 2``; that is what makes multi-word aliases tolerant of hyphens and spacing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Token", "tokenize", "clitic_forms", "skeleton", "is_arabic"]

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
