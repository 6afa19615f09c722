"""Which raw matches of one field stand: not_in phrases applied, duplicates dropped, and the
longer match hiding the ones inside it (all in O(n log n) of the candidates)."""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict

from monitor.match.automaton import Candidate

__all__ = ["resolve"]


def resolve(cands: list[Candidate]) -> list[Candidate]:
    """Apply not_in phrases, drop duplicates, and let longer matches hide the ones inside them.

    ``روسيا البيضاء`` (Belarus) hides ``روسيا``; ``صدام حفتر`` hides ``حفتر``; an exact match
    hides a variant match of the same span. O(n log n): a hostile page repeating a name a
    hundred thousand times must not stall the daemon.
    """
    covers = {entity: _Cover(spans) for entity, spans in _negative_spans(cands).items()}
    best: dict[tuple[str, int, int], Candidate] = {}
    for c in cands:
        p = c.pattern
        if p.negative or (p.entity in covers and covers[p.entity].covers(c.first, c.last)):
            continue
        key = (p.entity, c.first, c.last)
        if key not in best or _better(c, best[key]):
            best[key] = c
    return _outermost(list(best.values()))


def _better(c: Candidate, than: Candidate) -> bool:
    """Of two matches of one entity on one span, the one to show: exact over variant, the alias
    as written over an inflected reading (روسيا as روسيا, not as روسي + ا)."""
    if than.pattern.variant != c.pattern.variant:
        return than.pattern.variant
    return than.inflected and not c.inflected


def _negative_spans(cands: list[Candidate]) -> dict[str, list[tuple[int, int]]]:
    negatives: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for c in cands:
        if c.pattern.negative:
            negatives[c.pattern.entity].append((c.first, c.last))
    return negatives


class _Cover:
    """Does some span of a set contain ``[first, last]``? (sorted starts, running max of ends)"""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans.sort()
        self.starts = [a for a, _ in spans]
        self.reach = list(itertools.accumulate((b for _, b in spans), max))

    def covers(self, first: int, last: int) -> bool:
        i = bisect.bisect_right(self.starts, first)
        return i > 0 and self.reach[i - 1] >= last


def _outermost(kept: list[Candidate]) -> list[Candidate]:
    """The candidates that lie inside no longer candidate, in their original order.

    Distinct spans sorted by start, longest first: a span lies inside a longer one exactly when
    a span before it reaches at least as far.
    """
    hidden: set[tuple[int, int]] = set()
    reach = -1
    for first, last in sorted({(c.first, c.last) for c in kept}, key=lambda s: (s[0], -s[1])):
        if reach >= last:
            hidden.add((first, last))
        reach = max(reach, last)
    return [c for c in kept if (c.first, c.last) not in hidden]
