"""Hit resolution (not_in phrases, duplicates, longer matches hiding shorter ones) is exact and
does not grow quadratically with the number of hits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import Matcher, load_rules
from monitor.match.automaton import Candidate, Pattern
from monitor.match.resolve import resolve
from tests.conftest import REPO

PATTERNS = [Pattern(e, e, n, neg, var) for e in ("a", "b") for n in (1, 2, 3)
            for neg in (False, True) for var in (False, True)]


def _reference(cands: list[Candidate]) -> list[Candidate]:
    """The definition, pair by pair (what resolve computed before it was made n log n)."""
    negatives = {(c.pattern.entity, c.first, c.last) for c in cands if c.pattern.negative}
    best: dict[tuple[str, int, int], Candidate] = {}
    for c in cands:
        p = c.pattern
        if p.negative or any(e == p.entity and a <= c.first and c.last <= b
                             for e, a, b in negatives):
            continue
        key = (p.entity, c.first, c.last)
        if key not in best or (best[key].pattern.variant and not p.variant):
            best[key] = c
    kept = list(best.values())
    return [c for c in kept if not any(o.first <= c.first and c.last <= o.last
                                       and (o.last - o.first) > (c.last - c.first) for o in kept)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATTERNS), st.integers(0, 12)), max_size=30))
def test_resolve_equals_the_pairwise_definition(raw: list[tuple[Pattern, int]]) -> None:
    cands = [Candidate(p, first, first + p.ntokens - 1) for p, first in raw]
    assert resolve(cands) == _reference(cands)


def test_a_page_repeating_a_name_is_scored_in_linear_time() -> None:
    # A hostile page can repeat a name as often as its 5 MB allow; hit resolution was quadratic.
    matcher = Matcher(load_rules(REPO / "rules"))
    text = "صدام حفتر وخليفة حفتر " * 20_000
    hits = matcher.find(text)
    assert len(hits) == 40_000
    assert {h.entity for h in hits} == {"saddam_haftar", "khalifa_haftar"}
