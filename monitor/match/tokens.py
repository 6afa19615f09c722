"""Tokens, Arabic proclitics and variant skeletons, shared by rule compilation and scanning.

Everything here works on *normalised* text (:func:`monitor.normalize.normalize`). A token is a
run of letters or a run of digits, so ``تور-ام2``, ``تور ام 2`` and ``تور ام-2`` all become the
three tokens ``تور ام 2``; that is what makes multi-word aliases tolerant of hyphens and spacing.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, compress, islice, repeat

from monitor.match.forms import clitic_forms, is_arabic

__all__ = ["Token", "Tokens", "tokenize", "clitic_forms", "skeleton", "skeleton_line", "skeletons",
           "is_arabic", "token_spans"]

_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_SPLIT = re.compile(f"({_TOKEN.pattern})")
_WORDS = re.compile(r"(\w+)")

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

    An article holds a dozen or so distinct characters that are not word characters (space,
    stops, commas, quotes, brackets): replacing each by a space and splitting on spaces is four
    times cheaper than a regular-expression split. Most fields of most articles need the tokens
    only (no alias stem is found in them), so the spans wait until a hit asks for one. A text
    with many distinct separators takes the regular-expression split (property-tested equal).
    """

    __slots__ = ("words", "_spaced", "_parts", "_starts")

    def __init__(self, text: str, chars: Iterable[str] | None = None) -> None:
        seps = _separators(text if chars is None else chars)
        self._parts: list[str] | None = None
        self._starts: list[int] | None = None
        self._spaced = ""
        if seps is None:
            self._parts = split_tokens(text)
            self.words: list[str] = self._parts[1::2]
            return
        for ch in seps:
            text = text.replace(ch, " ")
        self._spaced = text
        self.words = text.split()
        odd = compress(range(len(self.words)), map(operator.not_, map(str.isalpha, self.words)))
        bad = [k for k in odd if not self.words[k].isdecimal()]
        if bad:
            self._split_mixed(bad)

    def __len__(self) -> int:
        return len(self.words)

    def span(self, k: int) -> tuple[int, int]:
        """``(start, end)`` of token ``k`` in the text."""
        if self._starts is None:
            self._starts = self._word_starts()
        start = self._starts[k]
        return start, start + len(self.words[k])

    def _word_starts(self) -> list[int]:
        if self._parts is not None:
            ends = list(accumulate(map(len, self._parts)))
            return ends[0::2][:len(self.words)]
        pieces = self._spaced.split(" ")
        starts = accumulate(map(operator.add, map(len, pieces), repeat(1)), initial=0)
        return list(compress(starts, pieces))

    def _split_mixed(self, bad: list[int]) -> None:
        """Words that are not one letter run or one digit run (``ام2``, ``a_b``) become the
        tokens the token pattern finds in them."""
        starts = self._word_starts()
        words, out_starts, last = [], [], 0
        for k in bad:
            words += self.words[last:k]
            out_starts += starts[last:k]
            for m in _TOKEN.finditer(self.words[k]):
                words.append(m.group())
                out_starts.append(starts[k] + m.start())
            last = k + 1
        self.words = words + self.words[last:]
        self._starts = out_starts + starts[last:]


def _separators(chars: Iterable[str]) -> list[str] | None:
    """The distinct characters other than the space that separate tokens, or None when there
    are too many to replace one by one."""
    seps = [ch for ch in set(chars) if ch != " " and not (ch.isalnum() or ch == "_")]
    return seps if len(seps) <= _MAX_SEPARATORS else None


# Past this many distinct separators the replacements cost more than one regex split.
_MAX_SEPARATORS = 40


def split_tokens(text: str) -> list[str]:
    """``_SPLIT.split(text)``: the text between tokens and the tokens, alternately.

    Splitting at word characters is a third cheaper; the few words that are not one letter run
    or one digit run (``ام2``, ``a_b``), found with C-level maps, are then split again.
    """
    parts = _WORDS.split(text)
    words = parts[1::2]
    odd = compress(range(len(words)), map(operator.not_, map(str.isalpha, words)))
    bad = [k for k in odd if not words[k].isdecimal()]
    if not bad:
        return parts
    out = parts[:2 * bad[0] + 1]
    for n, k in enumerate(bad):
        pieces = _SPLIT.split(words[k])      # its own gaps at its edges join its neighbours'
        out[-1] += pieces[0]
        out += pieces[1:]
        upto = bad[n + 1] if n + 1 < len(bad) else len(words)
        out[-1] += parts[2 * k + 2]
        out += parts[2 * k + 3:2 * upto + 1]
    return out


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
    """The skeletons of a token line's tokens, in one line spaced like it."""
    return " ".join(skeletons(line.split(" ")))


def skeletons(words: list[str]) -> list[str]:
    """The skeletons of tokens, in order.

    A news text repeats its vocabulary, so the skeletons of tokens seen before come from a
    bounded cache (plain dict lookups mapped in C; only the tokens not in it are computed):
    several times faster than whole-line ``translate`` and substitution, whose output is astral
    (UCS-4) text.
    """
    cache = _SKELETONS
    skels = list(map(cache.get, words))
    if None not in skels:
        return skels                    # type: ignore[return-value]
    new = {w: _skeleton(w) for w in set(words).difference(cache)}
    if len(cache) >= _SKELETONS_MAX:
        cache.clear()     # bounded: a hostile page of unique tokens refills it, it cannot grow it
    cache.update(new)
    return list(map(new.get, words, skels))  # type: ignore[arg-type]


# ~15 MB when full. Safe under threads: a line only reads its own lookups and its own new words.
_SKELETONS: dict[str, str] = {}
_SKELETONS_MAX = 50_000
_skeleton = skeleton.__wrapped__


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
