"""Scoring a document against a rule set (the formula is documented in docs/matching.md).

For each rule, every entity in the rule's scope (the entities named by its ``all``, ``any`` and
``near`` lists, groups expanded) that was found contributes::

    weight × (saturation(n) + title_boost × [found in the title])
    saturation(n) = 2 − 2^(1 − n)        # 1, 1.5, 1.75, ... never above 2

so a name repeated fifty times is worth at most twice its weight, while distinct signals add up.
The rule's score is the sum, or 0 when a condition (all / any / none / near) fails. It alerts
when the score reaches its threshold. The document's score is the best rule score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, NamedTuple

from monitor.match.automaton import Candidate, compile_ruleset
from monitor.match.concepts import Concepts, echo_exclusions
from monitor.match.layout import SENTENCE_GAP, is_digest, positions
from monitor.match.model import Hit, Rule, RuleResult, RuleSet, ScoreResult
from monitor.match.relevance import Relevance
from monitor.match.resolve import resolve
from monitor.match.tokens import Tokens
from monitor.normalize import Normalized, normalize

__all__ = ["Matcher", "saturation"]

FIELDS = ("title", "text")
#: Entity types that only serve composed concepts and exclusions (rules/README.md).
HELPER_TYPES = frozenset({"part", "context"})
#: How far into the text a headline's exclusion contexts are looked for (its lede).
LEDE_TOKENS = 60


def saturation(n: int) -> float:
    """Worth of ``n`` occurrences of one entity, in units of its weight: 1, 1.5, 1.75 … < 2."""
    return 0.0 if n <= 0 else 2.0 - 2.0 ** (1 - n)


@dataclass(frozen=True, slots=True)
class _RulePlan:
    """A rule with its group references expanded once at build time."""

    rule: Rule
    all: tuple[frozenset[str], ...]
    any: tuple[frozenset[str], ...]
    none: tuple[frozenset[str], ...]
    near: tuple[tuple[frozenset[str], frozenset[str], int], ...]
    scope: frozenset[str]


def entity_names(scorer: Any) -> dict[str, str]:
    """Entity id → display name from a scorer's rule set (empty when there is none)."""
    ruleset = getattr(scorer, "ruleset", None)
    return ruleset.entity_names() if ruleset is not None else {}


class Matcher:
    """Scores documents against a :class:`RuleSet`. Build once; :meth:`score` is thread-safe."""

    def __init__(self, ruleset: RuleSet, stem: Callable[[str], str] | None = None) -> None:
        self.ruleset = ruleset
        self.compiled = compile_ruleset(ruleset, stem)
        self.concepts = Concepts(ruleset)
        # Helper entities (parts of composed concepts, exclusion contexts) neither hide nor are
        # hidden by other entities' longer matches, and are not reported as hits themselves.
        self._helpers = frozenset(e.id for e in ruleset.entities if e.type in HELPER_TYPES)
        self._contexts = frozenset(e.id for e in ruleset.entities if e.type == "context")
        self._weights = {e.id: e.weight for e in ruleset.entities}
        self._plans = tuple(_plan(ruleset, r) for r in ruleset.rules)
        self._relevance = Relevance(self.concepts, self._helpers)
        self._no_hits: tuple[RuleResult, ...] | None = None

    def __reduce__(self) -> tuple[type[Matcher], tuple[RuleSet]]:
        # Rebuilding from the rule set is cheap and avoids pickling automaton internals.
        return (Matcher, (self.ruleset,))

    def find(self, text: str, field: str = "text") -> list[Hit]:
        """Every entity hit in one field, in original-text offsets, in text order."""
        scanned = self._scan(text)
        return self._find(scanned, field, needed=self._needed(scanned))[0]

    def _scan(self, text: str) -> _Scanned:
        norm, tokens = _prepared(text)
        return _Scanned(norm, tokens, self.compiled.scan(tokens.words) if tokens.words else [])

    def _needed(self, *scans: _Scanned) -> frozenset[str] | set[str]:
        """The helper entities that can matter to a document with these fields."""
        return self._relevance.needed({c.pattern.entity for s in scans for c in s.cands})

    def _find(self, scanned: _Scanned, field: str, lede: Sequence[Hit] = (),
              digest: bool | None = None, head: tuple[Sequence[Hit], int] = ((), 0),
              needed: frozenset[str] | set[str] | None = None
              ) -> tuple[list[Hit], list[tuple[Hit, str]], list[Hit]]:
        """Hits of one field, the hits context exclusions dropped (with the reason), and the
        field's exclusion-context hits. ``lede``: context hits of the text that follow a title;
        ``head``: a headline's context hits and its length, read just before a text;
        ``digest``: whether the document is a digest, its items judged apart (None: as the
        field itself announces); ``needed``: the helper entities worth building hits for
        (None: all of them)."""
        norm, tokens, cands = scanned
        text = norm.original
        if not cands:
            return [], [], []
        helpers: dict[str, list[Candidate]] = defaultdict(list)
        for c in cands:
            if c.pattern.entity in self._helpers and (needed is None
                                                      or c.pattern.entity in needed):
                helpers[c.pattern.entity].append(c)
        kept = resolve([c for c in cands if c.pattern.entity not in self._helpers])
        for part in helpers.values():
            # Each helper alone: «سلاح الجو» (soldiers, flights, arms) must not hide «سلاح»
            # (a military noun) from another composition.
            kept += resolve(part)
        if not kept:
            return [], [], []
        hits = []
        if digest is None:
            digest = is_digest(norm.text, field == "title")
        span = tokens.span
        place = positions(norm.text, lambda k: span(k)[0], digest, field == "title")
        for cand in kept:
            # Highlight whole tokens (clitics included) so the quote reads naturally.
            start, end = norm.to_original(span(cand.first)[0], span(cand.last)[1])
            hits.append(Hit(cand.pattern.entity, cand.pattern.alias, text[start:end], field,
                            start, end, place(cand.first), cand.pattern.variant,
                            place(cand.last), cand.inflected))
        hits.sort(key=lambda h: (h.start, h.end, h.entity))
        if lede:
            # A headline is read with its lede: the lede's contexts count, as if they came
            # right after it (a history piece names its war in the lede, not in its headline).
            after = place(len(tokens) - 1) + 1
            hits += [replace(h, token=after + h.token, last=after + h.last_token) for h in lede]
        if head[0]:
            # ... and a text after its headline: a report headlined "ambush in northern Mali"
            # is set there from its first words.
            before = max([head[1]] + [h.last_token + 1 for h in head[0]])
            hits += [replace(h, token=h.token - before, last=h.last_token - before)
                     for h in head[0]]
        hits, dropped = self.concepts.apply(hits, text)
        contexts = [h for h in hits if h.entity in self._contexts and h.field == field]
        if self._helpers:
            hits = [h for h in hits if h.entity not in self._helpers]
            dropped = [(h, why) for h, why in dropped if h.entity not in self._helpers]
        return hits, dropped, contexts

    def score(self, title: str, text: str) -> ScoreResult:
        """Score one document (title and body text)."""
        title_scan, text_scan = self._scan(title or ""), self._scan(text or "")
        digest = bool(title) and is_digest(title_scan.norm.text, whole=True)
        title_hits, title_dropped, heading = self._find(title_scan, "title", digest=digest)
        # A digest's headline lists items its text separates: its contexts set no scene.
        head = (() if digest else heading, len(title_scan.tokens))
        # A digest heading in the title makes the text a digest; otherwise its opening decides.
        # Only the text leaves out the helpers that cannot matter: the headline is short, and
        # its contexts set where the text starts (``head``).
        text_hits, text_dropped, contexts = self._find(
            text_scan, "text", digest=True if digest else None, head=head,
            needed=self._needed(title_scan, text_scan))
        lede = [h for h in contexts if h.token < LEDE_TOKENS]
        if lede and title_hits:    # only the headline's own hits can be excluded by its lede
            title_hits, title_dropped, _ = self._find(title_scan, "title", lede, digest=digest)
        title_hits, echoed = echo_exclusions(title_hits, text_hits, text_dropped)
        title_dropped += echoed
        hits = title_hits + text_hits
        # A headline is read just before its text, so a condition may pair a hit of each; not
        # in a digest, whose headline lists items that its text then separates.
        title_end = None if digest else max(
            [len(title_scan.tokens)] + [h.last_token + 1 for h in title_hits])
        if hits:
            results = [self._score_rule(p, hits, title_end) for p in self._plans]
        else:   # most documents: the same (immutable) rule results every time
            if self._no_hits is None:
                self._no_hits = tuple(self._score_rule(p, [], None) for p in self._plans)
            results = list(self._no_hits)
        best = max((r.score for r in results), default=0.0)
        return ScoreResult(best, any(r.alert for r in results), results, hits,
                           title_dropped + text_dropped)

    def _score_rule(self, plan: _RulePlan, hits: list[Hit], title_end: int | None
                    ) -> RuleResult:
        counts: dict[str, int] = defaultdict(int)
        in_title: set[str] = set()
        for h in hits:
            counts[h.entity] += 1
            if h.field == "title":
                in_title.add(h.entity)
        found = set(counts)
        missing = _missing(plan, found, hits, title_end)
        scope = sorted(e for e in plan.scope if e in found)
        raw = sum(self._weights[e] * (saturation(counts[e])
                                      + plan.rule.title_boost * (e in in_title)) for e in scope)
        score = 0.0 if missing else raw
        rule = plan.rule
        return RuleResult(rule.id, rule.title, score, rule.threshold,
                          score >= rule.threshold and not missing, rule.severity,
                          rule.destination, tuple(scope), tuple(missing), raw)


class _Scanned(NamedTuple):
    """A field normalised, tokenised and scanned."""

    norm: Normalized
    tokens: Tokens
    cands: list[Candidate]


@lru_cache(maxsize=8)
def _prepared(text: str) -> tuple[Normalized, Tokens]:
    """A field normalised and tokenised (read-only). Cached for a few texts: a backtest scores
    every article with the live and the edited rules, and the second pass reuses the first's."""
    norm = normalize(text)
    return norm, Tokens(norm.text, norm.chars)


def _plan(ruleset: RuleSet, rule: Rule) -> _RulePlan:
    def ex(refs: tuple[str, ...]) -> tuple[frozenset[str], ...]:
        return tuple(ruleset.expand(r) for r in refs)
    near = tuple((ruleset.expand(n.a), ruleset.expand(n.b), n.within) for n in rule.near)
    scope: set[str] = set()
    for group in (*ex(rule.all), *ex(rule.any), *(x for a, b, _ in near for x in (a, b))):
        scope |= group
    return _RulePlan(rule, ex(rule.all), ex(rule.any), ex(rule.none), near, frozenset(scope))


def _missing(plan: _RulePlan, found: set[str], hits: list[Hit], title_end: int | None
             ) -> list[str]:
    """Human-readable reasons the rule's conditions fail (empty when they hold)."""
    rule = plan.rule
    out = [f"all: {ref}" for ref, ents in zip(rule.all, plan.all, strict=True)
           if not ents & found]
    if plan.any and not any(ents & found for ents in plan.any):
        out.append("any: " + " | ".join(rule.any))
    out += [f"none: {ref} present" for ref, ents in zip(rule.none, plan.none, strict=True)
            if ents & found]
    for cond, (a, b, within) in zip(rule.near, plan.near, strict=True):
        if not _near(hits, a, b, within, title_end):
            out.append(f"near: {cond.a} within {within} tokens of {cond.b}")
    return out


def _near(hits: list[Hit], a: frozenset[str], b: frozenset[str], within: int,
          title_end: int | None = None) -> bool:
    """Some hit of ``a`` and some hit of ``b`` at most ``within`` tokens apart: in the same
    field, or (``title_end``: the title's length in positions) in the title and the text read
    as one, the title ending a sentence before the text begins."""
    if title_end is not None:
        shift = title_end + SENTENCE_GAP
        pa = sorted(h.token - shift * (h.field == "title") for h in hits if h.entity in a)
        pb = sorted(h.token - shift * (h.field == "title") for h in hits if h.entity in b)
        return bool(pa and pb) and _closest(pa, pb) <= within
    for field in FIELDS:
        pa = sorted(h.token for h in hits if h.field == field and h.entity in a)
        pb = sorted(h.token for h in hits if h.field == field and h.entity in b)
        if pa and pb and _closest(pa, pb) <= within:
            return True
    return False


def _closest(xs: list[int], ys: list[int]) -> int:
    """Smallest |x − y| between two sorted lists (merge walk)."""
    i = j = 0
    best = abs(xs[0] - ys[0])
    while i < len(xs) and j < len(ys):
        best = min(best, abs(xs[i] - ys[j]))
        if xs[i] < ys[j]:
            i += 1
        else:
            j += 1
    return best
