"""Compile every alias of a rule set into one Aho-Corasick automaton, and scan text with it.

A text becomes its *token line*: normalised tokens joined by single spaces, with a space at both
ends. Each alias token is a :class:`~monitor.match.forms.TokenSpec` whose stem is a key of the
automaton; one pass over the line finds every stem of every alias, and each hit is accepted only
when what surrounds it inside its token is an allowed proclitic and an allowed suffix (so
``قواتها`` is ``قوات`` + ``ها``, while ``كسرت`` stays one word that is not Sirte). Multi-token
aliases are then assembled from consecutive accepted tokens: work linear in the hits.

Entities that opt in to variant-tolerant matching also get *skeleton* keys
(:func:`monitor.match.tokens.skeleton`); a text's skeleton line, which keeps only the skeletons
that some variant key is made of, is scanned by the same automaton when anything is left in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from itertools import compress, count

import ahocorasick

from monitor.match.assemble import Candidate, Pattern, Phrases, Reading
from monitor.match.forms import TokenSpec, is_arabic, token_spec
from monitor.match.model import Entity, RuleSet
from monitor.match.tokens import skeleton, skeletons, tokenize
from monitor.normalize import normalize_text

__all__ = ["Pattern", "Candidate", "Compiled", "compile_ruleset", "MIN_SKELETON", "alias_words",
           "variant_key"]

# Skeletons shorter than this (in skeleton letters) are not used: short skeletons such as شG
# (شويغو) collide with ordinary words. Every token of a variant key needs MIN_TOKEN_SKELETON
# letters too: "أيدر أغانين" would otherwise become "Dر Gن" and match "دور كان". Measured in
# docs/matching.md.
MIN_SKELETON = 4
MIN_TOKEN_SKELETON = 3
# Longest proclitic chain (وبالال: the article again before a word that starts like it, as in
# وبالألمانية) and longest suffix (اتهما) a token may carry around a stem;
# anything longer is another word, and checking the length first keeps a hostile one-token page
# from making every hit copy the whole token.
_MAX_BEFORE = 6
_MAX_AFTER = 5
_VARIANT_WORDS_MAX = 50_000
# Words whose readings a matcher remembers in each of its two generations (at most about 6 MB
# together; most words have no reading, one shared empty tuple). 20,000 words of the news cover
# 86 % of the words of the next articles, measured on the ANT sample.
_READINGS_MAX = 20_000


def alias_words(alias: str) -> list[str]:
    """The normalised tokens of an alias (or a not_in phrase)."""
    return [t.text for t in tokenize(normalize_text(alias))]


def variant_key(words: list[str]) -> str | None:
    """The skeleton key of an alias, or nothing when the skeleton is too short to be safe.

    No clitic forms here: a clitic letter read into a skeleton made فولكنر (Faulkner) and
    بايكونور look like ف+ل+واغنر and ب+واغنر. Clitic-prefixed spellings are matched exactly.
    """
    skels = [skeleton(w) for w in words]
    if (sum(len(s) for s in skels) < MIN_SKELETON
            or min(len(s) for s in skels) < MIN_TOKEN_SKELETON):
        return None
    return " " + " ".join(skels) + " "


class Compiled:
    """The automaton of a rule set plus the tables that turn its hits into alias matches."""

    def __init__(self, ruleset: RuleSet, stem: Callable[[str], str] | None = None) -> None:
        # ``stem``: a word → stem function applied to alias and text tokens alike, in place of
        # the inflection classes (benchmarks/eval_matching.py compares a stemmer this way).
        self.stem = stem
        self._spec_ids: dict[TokenSpec, int] = {}
        self.specs: list[TokenSpec] = []
        # first token spec → [(pattern, specs of the following tokens)]
        by_first: dict[int, list[tuple[Pattern, tuple[int, ...]]]] = defaultdict(list)
        variant_table: dict[str, list[Pattern]] = {}
        self._seen: set[tuple[Pattern, tuple[int, ...]]] = set()
        for ent in ruleset.entities:
            if not ent.aliases:
                continue     # a composed entity: no words of its own
            self._add_entity(ent, variant_table, by_first)
        del self._seen
        self.has_variants = bool(variant_table)
        # The skeletons that some variant key is made of: a text's other words cannot be part
        # of a skeleton hit, so its skeleton line holds only these (most lines: none at all).
        self._variant_tokens = frozenset(t for key in variant_table for t in key.split())
        self._variant_words: dict[str, str] = {}
        keys: dict[str, list[int]] = defaultdict(list)
        for sid, spec in enumerate(self.specs):
            keys[f" {spec.stem} " if spec.exact else spec.stem].append(sid)
        self.keys = len(keys) + len(variant_table)
        self.automaton = ahocorasick.Automaton()
        for key, sids in keys.items():
            # A whole-token key carries its readings ready-made: nothing around it to check.
            bounded = key[0] == " "
            self.automaton.add_word(key, (len(key), bounded, tuple(
                (sid, True, True, False) for sid in sids) if bounded else tuple(sids)))
        for key, pats in variant_table.items():
            self.automaton.add_word(key, (len(key), None, tuple(pats)))
        if self.keys:
            self.automaton.make_automaton()
        self.phrases = Phrases(by_first)
        # Tokens longer than this can hold no hit: a key plus the longest proclitic chain and
        # suffix around it (or a whole-token key).
        self._longest = max((len(k) for k in keys), default=0) + _MAX_BEFORE + _MAX_AFTER
        self._readings: dict[str, tuple[Reading, ...]] = {}
        self._readings_old: dict[str, tuple[Reading, ...]] = {}

    def _add_entity(self, ent: Entity, variant_table: dict[str, list[Pattern]],
                    by_first: dict[int, list[tuple[Pattern, tuple[int, ...]]]]) -> None:
        for negative, phrases in ((False, ent.aliases), (True, ent.not_in)):
            for phrase in phrases:
                words = alias_words(phrase)
                if not words:
                    continue
                inflect = "none" if negative else ent.inflect_of(phrase)
                if self.stem is not None:
                    words, inflect = [self.stem(w) for w in words], "none"
                # A possessive sits on the head noun; the adjectives after it take the article
                # (قطعها البحرية، طائراتها الحربية), not a pronoun of their own.
                sids = [self._spec(token_spec(w, inflect if i == 0 or not
                                              inflect.startswith("possessed") else "none"))
                        for i, w in enumerate(words)]
                entry = (Pattern(ent.id, phrase, len(words), negative), tuple(sids[1:]))
                if entry not in self._seen:      # a set: a million aliases load in linear time
                    self._seen.add(entry)
                    by_first[sids[0]].append(entry)
                # Variant keys for Arabic spellings only: Latin ones are listed as written, and a
                # text without Arabic letters then needs no skeleton line at all.
                key = variant_key(words) if ent.variants and is_arabic(phrase) else None
                if key is not None:
                    vpat = Pattern(ent.id, phrase, len(words), negative, True)
                    pats = variant_table.setdefault(key, [])
                    if vpat not in pats:
                        pats.append(vpat)

    def _spec(self, spec: TokenSpec) -> int:
        sid = self._spec_ids.get(spec)
        if sid is None:
            sid = self._spec_ids[spec] = len(self.specs)
            self.specs.append(spec)
        return sid

    def scan(self, words: list[str]) -> list[Candidate]:
        """Every alias and not_in match among the normalised tokens of one field."""
        if not words or not self.keys:
            return []
        if self.stem is not None:
            words = [self.stem(w) for w in words]
        out: list[Candidate] = []
        arabic = is_arabic(" ".join(words))
        if self.has_variants and arabic:
            out += self._scan_skeletons(words)
        # Remembering words pays where the vocabulary repeats: the Arabic news the monitor
        # reads. A page in another language (most of its words never met) is read directly.
        readings = self._read(words) if arabic else self._read_line(words)
        # Only the positions whose word has a reading, in text order.
        found = dict(zip(compress(count(), readings), compress(readings, readings), strict=True))
        out.extend(self.phrases.assemble(found))
        return out

    def _read(self, words: list[str]) -> list[tuple[Reading, ...]]:
        """Each word's readings as alias tokens. What a token can be read as depends on that
        token alone, so a word is read once and remembered (news repeats its vocabulary: a
        long-running matcher knows most words of the next article); the words not yet known
        are read together, in one automaton pass over a line of them. (Set and map operations
        throughout: a page of words never met must not cost a Python step per word.)"""
        got = list(map(self._readings.get, words))
        if None not in got:
            return got      # type: ignore[return-value]
        # Two generations, so that a full memory forgets the words not met since the last
        # turn over, not the common ones: a word found in the older is brought forward.
        young, old = self._readings, self._readings_old
        missing = set(words).difference(young)
        in_old = missing & old.keys()
        unknown = list(missing - in_old)
        new = dict(zip(unknown, self._read_line(unknown), strict=True))
        new.update(zip(in_old, map(old.__getitem__, in_old), strict=True))
        if len(young) + len(missing) > _READINGS_MAX:
            self._readings_old, self._readings = young, {}
            young = self._readings
        if len(missing) <= _READINGS_MAX:      # (a hostile page of a million new words: none)
            if max(map(len, unknown), default=0) <= self._longest:
                young.update(new)
            else:     # words too long to hold a hit are not worth remembering
                young.update((w, r) for w, r in new.items() if len(w) <= self._longest)
        return list(map(new.get, words, got))  # type: ignore[arg-type]

    def _read_line(self, words: list[str]) -> list[tuple[Reading, ...]]:
        """The readings of each of ``words``, from one pass over their line."""
        line = " " + " ".join(words) + " "
        hits: dict[int, list[Reading]] = defaultdict(list)
        # Hits come in order of their end: counting spaces from the previous hit keeps finding
        # each hit's token number linear (a page repeating a name 100,000 times stays cheap).
        spaces = _Counter(line, 0)
        specs = self.specs
        for end, (keylen, bounded, payload) in self.automaton.iter(line):
            begin = end - keylen + 1
            if bounded is None:
                continue                 # cannot happen: skeleton keys are in their own alphabet
            if bounded:
                hits[spaces.before(begin + 1) - 1].extend(payload)
                continue
            # The token around the stem, looked for no further than a clitic chain or a suffix
            # can reach: anything longer is another word.
            tok_start = line.rfind(" ", max(0, begin - _MAX_BEFORE - 1), begin) + 1
            tok_end = line.find(" ", end + 1, end + 2 + _MAX_AFTER)
            if tok_start == 0 or tok_end < 0:
                continue
            before, after = line[tok_start:begin], line[end + 1:tok_end]
            accepted = []
            for sid in payload:
                spec = specs[sid]
                if spec.accepts(before, after):
                    first, inner = before in spec.first, before in spec.inner
                    if first or inner:
                        accepted.append((sid, first, inner, after != ""))
            if accepted:
                hits[spaces.before(tok_start) - 1].extend(accepted)
        out: list[tuple[Reading, ...]] = [()] * len(words)
        for k, readings in hits.items():
            out[k] = tuple(readings)
        return out

    def _scan_skeletons(self, words: list[str]) -> list[Candidate]:
        """Variant (skeleton) matches among the tokens: a line of their skeletons, blank
        where a word's skeleton is in no variant key, scanned only when something is left."""
        cache = self._variant_words
        skels = list(map(cache.get, words))
        if None in skels:
            if len(cache) >= _VARIANT_WORDS_MAX:
                cache.clear()     # bounded like the skeleton cache itself
            vocab = self._variant_tokens
            missing = [w for w in set(words) if w not in cache]
            new = {w: s if s in vocab else ""
                   for w, s in zip(missing, skeletons(missing), strict=True)}
            cache.update(new)
            skels = list(map(new.get, words, skels))
        if not any(skels):
            return []
        line = " " + " ".join(skels) + " "
        spaces = _Counter(line, 0)
        out = []
        for end, (keylen, bounded, payload) in self.automaton.iter(line):
            if bounded is None:          # only skeleton keys can be in a skeleton line
                k = spaces.before(end - keylen + 2) - 1
                out.extend(Candidate(p, k, k + p.ntokens - 1) for p in payload)
        return out

class _Counter:
    """Occurrences of ``ch`` in ``line[lo:pos]``, counted from the previous position asked."""

    __slots__ = ("line", "pos", "n")

    def __init__(self, line: str, lo: int) -> None:
        self.line, self.pos, self.n = line, lo, 0

    def before(self, pos: int) -> int:
        if pos >= self.pos:
            self.n += self.line.count(" ", self.pos, pos)
        else:
            self.n -= self.line.count(" ", pos, self.pos)
        self.pos = pos
        return self.n


def compile_ruleset(ruleset: RuleSet, stem: Callable[[str], str] | None = None) -> Compiled:
    """Build the automaton for a rule set (done once per rule set)."""
    return Compiled(ruleset, stem)
