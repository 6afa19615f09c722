"""Compile every alias of a rule set into one Aho-Corasick automaton, and scan text with it.

Texts and aliases are turned into the same *token line*: normalised tokens joined by single
spaces, with a space at both ends. An alias key is its token line (`` بالجفره ``), so a key can
only match on token boundaries, and one pass of the automaton finds every alias of every entity.
Proclitic forms are precompiled as extra keys instead of being stripped from the text, so the
text is never guessed at: ``كسرت`` stays one token and simply has no key.

Entities that opt in to variant-tolerant matching also get *skeleton* keys
(:func:`monitor.match.tokens.skeleton`); a text's skeleton line is appended after its token line,
so the same single scan covers both.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

from monitor.match import fastlines
from monitor.match.fastlines import PLACEHOLDER
from monitor.match.model import RuleSet
from monitor.match.tokens import Token, clitic_forms, skeleton, tokenize
from monitor.normalize import normalize_text

__all__ = ["Pattern", "Candidate", "Compiled", "compile_ruleset", "MIN_SKELETON"]

# Skeletons shorter than this (in skeleton letters) are not used: short skeletons such as شG
# (شويغو) collide with ordinary words. Every token of a variant key needs MIN_TOKEN_SKELETON
# letters too: "أيدر أغانين" would otherwise become "Dر Gن" and match "دور كان". Measured in
# docs/matching.md.
MIN_SKELETON = 4
MIN_TOKEN_SKELETON = 3


@dataclass(frozen=True, slots=True)
class Pattern:
    """What a key stands for: an alias (or a not_in phrase) of one entity."""

    entity: str
    alias: str
    ntokens: int
    negative: bool = False
    variant: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A raw automaton match, in token indices of one field."""

    pattern: Pattern
    first: int
    last: int


def _alias_keys(alias: str, variant: bool) -> list[tuple[str, int]]:
    """Keys (token lines) for one alias with all its clitic forms; ``(key, ntokens)``."""
    words = [t.text for t in tokenize(normalize_text(alias))]
    if not words:
        return []
    if variant:
        return _variant_key(words)
    return [(" " + " ".join([first, *words[1:]]) + " ", len(words))
            for first in clitic_forms(words[0])]


def _variant_key(words: list[str]) -> list[tuple[str, int]]:
    """The skeleton key of an alias, or nothing when the skeleton is too short to be safe.

    No clitic forms here: a clitic letter read into a skeleton made فولكنر (Faulkner) and
    بايكونور look like ف+ل+واغنر and ب+واغنر. Clitic-prefixed spellings are matched exactly.
    """
    skels = [skeleton(w) for w in words]
    if (sum(len(s) for s in skels) < MIN_SKELETON
            or min(len(s) for s in skels) < MIN_TOKEN_SKELETON):
        return []
    return [(" " + " ".join(skels) + " ", len(words))]


class Compiled:
    """The automaton of a rule set plus the bookkeeping to turn matches into token spans."""

    def __init__(self, ruleset: RuleSet) -> None:
        table: dict[str, list[Pattern]] = {}
        self.has_variants = False
        for ent in ruleset.entities:
            for variant in (False, True) if ent.variants else (False,):
                for negative, phrases in ((False, ent.aliases), (True, ent.not_in)):
                    for phrase in phrases:
                        for key, n in _alias_keys(phrase, variant):
                            self.has_variants |= variant
                            pats = table.setdefault(key, [])
                            pat = Pattern(ent.id, phrase, n, negative, variant)
                            if pat not in pats:
                                pats.append(pat)
        self.keys = len(table)
        # What the C path lets through (fastlines.py): the keys' tokens, and the token
        # skeletons of the variant keys.
        exact = {tok for key, pats in table.items() if not all(p.variant for p in pats)
                 for tok in key.split()}
        skeletons = {tok for key, pats in table.items() if any(p.variant for p in pats)
                     for tok in key.split()}
        self.token_filter = fastlines.token_filter(exact)
        self.skeleton_filter = fastlines.skeleton_filter(skeletons) if self.has_variants else None
        self.automaton = ahocorasick.Automaton()
        for key, pats in table.items():
            self.automaton.add_word(key, (len(key), tuple(pats)))
        if table:
            self.automaton.make_automaton()

    def scan(self, tokens: list[Token]) -> list[Candidate]:
        """Every alias and not_in match in a tokenised field, as token spans."""
        if not tokens or not self.keys:
            return []
        words = [t.text for t in tokens]
        return self.scan_lines(" " + " ".join(words) + " ",
                               " " + " ".join(map(skeleton, words)) + " "
                               if self.has_variants else None)

    def scan_lines(self, line: str, sk_line: str | None, line_index: bytes | None = None,
                   sk_index: bytes | None = None) -> list[Candidate]:
        """Like :meth:`scan`, on a token line and its skeleton line (:func:`token_lines`).

        Or on the lines of :func:`monitor.match.fastlines.lines`, with their indexes: there a
        line spells out only some tokens (placeholders stand for the others), and the index gives
        the token number of each spelled-out item.

        Every key starts with the space before its first token, so a match's item number is the
        number of spaces before it (less the placeholders): counted only for the (few) matches.
        """
        if not self.keys:
            return []
        split = len(line)
        if self.has_variants and sk_line is not None:
            line = line + "\n" + sk_line
        out = []
        # Matches come in order of their end, so counting from the previous match keeps the
        # total linear (a page repeating a name 100,000 times must not cost n² counting).
        spaces = (_Counter(line, " ", 0), _Counter(line, " ", split + 1))
        holders = (_Counter(line, PLACEHOLDER, 0), _Counter(line, PLACEHOLDER, split + 1))
        indexes = tuple(fastlines.ints(x) if x is not None else None
                        for x in (line_index, sk_index))
        for end, (keylen, pats) in self.automaton.iter(line):
            begin = end - keylen + 1
            in_skeleton = begin >= split
            first = spaces[in_skeleton].before(begin + 1) - 1
            index = indexes[in_skeleton]
            if index is not None:
                first = index[first - holders[in_skeleton].before(begin)]
            for pat in pats:
                if pat.variant == in_skeleton:
                    out.append(Candidate(pat, first, first + pat.ntokens - 1))
        return out


class _Counter:
    """Occurrences of ``ch`` in ``line[lo:pos]``, counted from the previous position asked."""

    __slots__ = ("line", "ch", "pos", "n")

    def __init__(self, line: str, ch: str, lo: int) -> None:
        self.line, self.ch, self.pos, self.n = line, ch, lo, 0

    def before(self, pos: int) -> int:
        if pos >= self.pos:
            self.n += self.line.count(self.ch, self.pos, pos)
        else:
            self.n -= self.line.count(self.ch, pos, self.pos)
        self.pos = pos
        return self.n


def compile_ruleset(ruleset: RuleSet) -> Compiled:
    """Build the automaton for a rule set (done once per rule set)."""
    return Compiled(ruleset)
