"""Tokens, Arabic proclitics and variant skeletons, shared by rule compilation and scanning.

Everything here works on *normalised* text (:func:`monitor.normalize.normalize`). A token is a
run of letters or a run of digits, so ``تور-ام2``, ``تور ام 2`` and ``تور ام-2`` all become the
three tokens ``تور ام 2``; that is what makes multi-word aliases tolerant of hyphens and spacing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, islice

from monitor.match.forms import clitic_forms, is_arabic

__all__ = ["Token", "Tokens", "tokenize", "clitic_forms", "skeleton", "skeleton_line", "is_arabic",
           "token_spans"]

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_SPLIT = re.compile(f"({_TOKEN.pattern})")

@dataclass(frozen=True, slots=True)
class Token:
    """A token of normalised text: its characters and its span in that text."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split normalised text into letter runs and digit runs."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


class Tokens:
    """The tokens of normalised text and, computed on first use, their spans.

    One ``re.split`` yields the tokens and the text between them; most fields of most
    articles need the tokens only (no alias stem is found in them), so the spans, prefix sums
    of the pieces' lengths, wait until a hit asks for one.
    """

    __slots__ = ("words", "_parts", "_ends")

    def __init__(self, text: str) -> None:
        self._parts = _SPLIT.split(text)
        self.words: list[str] = self._parts[1::2]
        self._ends: list[int] | None = None

    def __len__(self) -> int:
        return len(self.words)

    def span(self, k: int) -> tuple[int, int]:
        """``(start, end)`` of token ``k`` in the text."""
        if self._ends is None:
            self._ends = list(accumulate(map(len, self._parts)))
        return self._ends[2 * k], self._ends[2 * k + 1]


def token_spans(text: str, limit: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of the tokens of normalised text (the first ``limit`` when given)."""
    return [m.span() for m in islice(_TOKEN.finditer(text), limit)]


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
    if not word:
        return ""
    head = word[0] if word[0] == "و" else ""      # a word-initial و is a consonant (w/v)
    body = (head.translate(_CLASS_TABLE) + word[len(head):].translate(_SKELETON_TABLE))
    return _REPEAT.sub(r"\1", body).translate(_SHIFT_TABLE)


def skeleton_line(line: str) -> str:
    """The skeletons of a token line's tokens, in one line spaced like it.

    A news text repeats its vocabulary, so the skeletons of tokens seen before come from a
    bounded cache: three times faster than whole-line ``translate`` and substitution, whose
    output is astral (UCS-4) text.
    """
    return " ".join(map(_text_skeleton, line.split(" ")))


# Bounded: a hostile page of unique tokens evicts, it cannot grow the cache (~15 MB when full).
_text_skeleton = lru_cache(maxsize=50_000)(skeleton.__wrapped__)


def _skeleton_tables() -> tuple[dict[int, str | None], dict[int, str]]:
    skel: dict[int, str | None] = {ord(k): v for k, v in _CLASSES.items()}
    skel.update({ord(v): None for v in _VOWELS})      # و inside a word is a vowel
    return skel, {ord(k): v for k, v in _CLASSES.items()}


class _Shift(dict):  # type: ignore[type-arg]
    """translate() table that shifts every character into the private-use skeleton alphabet."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        out = chr(_PUA + (cp & 0x1FFF)) if ch in ("G", "V") else _shift(ch)
        self[cp] = out
        return out


_SKELETON_TABLE, _CLASS_TABLE = _skeleton_tables()
_SHIFT_TABLE = _Shift({ord(" "): " "})
_REPEAT = re.compile(r"(.)\1+")


def _shift(ch: str) -> str:
    # Arabic letters live in U+0600-U+06FF; shift them (and anything else) into a private block
    # far from the class letters so the two never collide.
    return chr(0xF0000 + ord(ch)) if ord(ch) < 0xFFFF else ch
