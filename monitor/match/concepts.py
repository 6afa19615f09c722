"""Composed concepts and context exclusions, applied to the alias hits of one field.

A *composed* entity has no words of its own: it is found where its parts are found close
together (a military noun within three tokens of a Russian adjective: ``سفن حربية روسية``,
``القوات البحرية الروسية``), so a concept is covered without listing every phrase of it. A
*context exclusion* (``unless``) drops an entity's hit when a disambiguating hit lies near it
(Africa Corps next to Rommel is the German WW2 corps). Both are explained: a composed hit carries
its parts, a dropped hit its reason.

Entities are evaluated in dependency order (parts and exclusion contexts first; cycles are
refused when the rules are loaded), each step a bisection per hit, so the cost stays linear in
the number of hits up to a log factor.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import NamedTuple

from monitor.match.model import Compose, Entity, Hit, RuleSet

__all__ = ["Concepts", "dependency_order", "echo_exclusions", "gap"]

class _Sorted(NamedTuple):
    """Hits sorted by first token, those tokens, and the most tokens one hit spans beyond its
    first (a composed hit spans its parts: «موسكو … فهي» is one antecedent)."""

    hits: list[Hit]
    tokens: list[int]
    span: int = 0


# A context hit is looked for among hits starting up to this many tokens before the hit it
# might cancel, beyond ``within``: no alias is longer.
_LONGEST = 12


def gap(a: Hit, b: Hit) -> int:
    """Tokens between two hits of one field: 0 when they overlap, 1 when adjacent."""
    return max(0, b.token - a.last_token, a.token - b.last_token)


def dependency_order(entities: Iterable[Entity], expand: object) -> list[Entity]:
    """The entities that compose or exclude, each after everything it depends on.

    Raises ValueError naming the entity when the dependencies form a cycle.
    """
    todo = {e.id: e for e in entities if e.compose or e.unless}
    order: list[Entity] = []
    state: dict[str, int] = {}      # 1 visiting, 2 done

    def deps(ent: Entity) -> set[str]:
        refs = ([p for c in ent.compose for p in c.parts] + [u.ref for u in ent.unless]
                + [c.rivals for c in ent.compose if c.rivals]
                + [u.except_near for u in ent.unless if u.except_near])
        return {x for r in refs for x in expand(r)} - {ent.id}   # type: ignore[operator]

    def visit(eid: str, path: tuple[str, ...]) -> None:
        if state.get(eid) == 2 or eid not in todo:
            return
        if state.get(eid) == 1:
            raise ValueError(f"entity {eid!r} depends on itself through {' -> '.join(path)}")
        state[eid] = 1
        for dep in sorted(deps(todo[eid])):
            visit(dep, (*path, dep))
        state[eid] = 2
        order.append(todo[eid])

    for eid in todo:
        visit(eid, (eid,))
    return order


class Concepts:
    """Applies composition and exclusions of a rule set to one field's hits."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.order = dependency_order(ruleset.entities, ruleset.expand)
        #: every reference the ordered entities make (parts, rivals, contexts) → its entity ids
        self.expanded = {ref: ruleset.expand(ref) for ent in self.order
                        for ref in [*(p for c in ent.compose for p in c.parts),
                                    *(c.rivals for c in ent.compose if c.rivals),
                                    *(u.ref for u in ent.unless),
                                    *(u.except_near for u in ent.unless if u.except_near)]}

    def apply(self, hits: list[Hit], text: str) -> tuple[list[Hit], list[tuple[Hit, str]]]:
        """The field's hits with composed ones added and excluded ones removed, and the removed
        ones with their reasons."""
        if not self.order or not hits:
            return hits, []
        by_entity: dict[str, list[Hit]] = defaultdict(list)
        for h in hits:
            by_entity[h.entity].append(h)
        dropped: list[tuple[Hit, str]] = []
        # A reference's hits are final once asked for: every entity it names comes earlier in
        # the dependency order, so one sorted list per reference serves every later entity.
        cache: dict[str, _Sorted] = {}

        def hits_of(ref: str) -> _Sorted:
            got = cache.get(ref)
            if got is None:
                got = cache[ref] = self._hits_of(ref, by_entity)
            return got

        for ent in self.order:
            if ent.compose:
                by_entity[ent.id] = self._composed(ent, hits_of, text)
            if ent.unless and by_entity.get(ent.id):
                kept = []
                contexts = [(hits_of(u.ref), hits_of(u.except_near) if u.except_near else None)
                            for u in ent.unless]
                for h in by_entity[ent.id]:
                    reason = self._excluded(ent, h, contexts)
                    if reason:
                        dropped.append((h, reason))
                    else:
                        kept.append(h)
                by_entity[ent.id] = kept
        out = [h for group in by_entity.values() for h in group]
        out.sort(key=lambda h: (h.start, h.end, h.entity))
        return out, dropped

    def _hits_of(self, ref: str, by_entity: dict[str, list[Hit]]) -> _Sorted:
        found = [h for e in self.expanded[ref] for h in by_entity.get(e, ())]
        # Ties in token order go to the longer hit, then by entity: the set of a group's
        # entities has no order of its own, and a reason must not change from run to run.
        found.sort(key=lambda h: (h.token, -h.last_token, h.entity))
        return _Sorted(found, [h.token for h in found],
                       max((h.last_token - h.token for h in found), default=0))

    def _composed(self, ent: Entity, hits_of: Callable[[str], _Sorted], text: str) -> list[Hit]:
        out: dict[tuple[int, int], Hit] = {}
        for comp in ent.compose:
            parts = []
            for ref in comp.parts:
                part = hits_of(ref)
                if not part.hits:
                    break
                parts.append(part)
            if len(parts) < len(comp.parts):
                continue
            rivals = hits_of(comp.rivals) if comp.rivals else None
            # With rivals, each hit of the second part looks back for its antecedent (every
            # قواتها has one owner); otherwise each hit of the first part looks for the rest.
            for anchor in (parts[1].hits if rivals else parts[0].hits):
                chosen = (_antecedent(anchor, parts[0], comp.within) if rivals
                          else _chain(anchor, parts[1:], comp))
                if chosen is None or (rivals and _interposed(chosen, rivals)):
                    continue
                start = min(h.start for h in chosen)
                end = max(h.end for h in chosen)
                key = (start, end)
                if key not in out:
                    out[key] = Hit(ent.id, " + ".join(comp.parts), text[start:end],
                                   anchor.field, start, end,
                                   min(h.token for h in chosen),
                                   last=max(h.last_token for h in chosen),
                                   parts=tuple(sorted(chosen, key=lambda h: h.start)))
        return sorted(out.values(), key=lambda h: h.start)

    def _excluded(self, ent: Entity, hit: Hit,
                  contexts: list[tuple[_Sorted, _Sorted | None]]) -> str | None:
        for rule, (context, keep) in zip(ent.unless, contexts, strict=True):
            near = _nearest(hit, context, rule.within, side=rule.side)
            if near is None:
                continue
            if keep is not None and _nearest(hit, keep,
                                             rule.except_within or rule.within) is not None:
                continue     # the context that keeps the hit is within reach too
            where = "" if rule.side == "either" else f" {rule.side} it"
            return f"{rule.ref} within {rule.within} tokens{where}: «{near.match}»"
        return None


def echo_exclusions(title_hits: list[Hit], text_hits: list[Hit],
                    text_dropped: list[tuple[Hit, str]]
                    ) -> tuple[list[Hit], list[tuple[Hit, str]]]:
    """A headline names what its text names: an entity whose every mention in the text a
    context excluded is excluded in the headline too (a history piece's «الفيلق الأفريقي»,
    whose war and Rommel are named only in its text)."""
    reasons: dict[str, str] = {}
    for h, why in text_dropped:
        reasons.setdefault(h.entity, why)
    if not reasons:
        return title_hits, []
    in_text = {h.entity for h in text_hits}
    kept, dropped = [], []
    for h in title_hits:
        why = reasons.get(h.entity)
        if why is None or h.entity in in_text:
            kept.append(h)
        else:
            dropped.append((h, f"as in the text: {why}"))
    return kept, dropped


def _nearest(hit: Hit, sorted_hits: _Sorted, within: int, side: str = "either") -> Hit | None:
    """A hit (of hits sorted by token, with their tokens) within ``within`` tokens of ``hit``,
    not ``hit`` itself; with ``side="after"``, only one that starts after ``hit`` ends; with
    ``side="before"``, only one that ends before ``hit`` starts."""
    others, tokens = sorted_hits.hits, sorted_hits.tokens
    lo = (hit.last_token + 1 if side == "after"
          else hit.token - within - max(_LONGEST, sorted_hits.span))
    hi = hit.token - 1 if side == "before" else hit.last_token + within
    i = bisect.bisect_left(tokens, lo)
    best: Hit | None = None
    while i < len(others) and tokens[i] <= hi:
        other = others[i]
        i += 1
        if side == "before" and other.last_token >= hit.token:
            continue
        if (other.start, other.end) != (hit.start, hit.end) and gap(hit, other) <= within:
            if best is None or gap(hit, other) < gap(hit, best):
                best = other
        if best is not None and gap(hit, best) <= 1:
            break
    return best


def _antecedent(hit: Hit, part: _Sorted, within: int) -> list[Hit] | None:
    """The hit of ``part`` that ends nearest before ``hit``, within ``within`` tokens, then
    ``hit``."""
    others, tokens = part.hits, part.tokens
    i = bisect.bisect_left(tokens, hit.token) - 1
    best: Hit | None = None
    while i >= 0 and hit.token - tokens[i] <= within + max(_LONGEST, part.span):
        other = others[i]
        if (other.last_token < hit.token and gap(other, hit) <= within
                and (best is None or other.last_token > best.last_token)):
            best = other
        i -= 1
    return None if best is None else [best, hit]


def _interposed(chosen: list[Hit], rivals: _Sorted) -> bool:
    """Does a rival hit stand wholly between two consecutive parts of a composed hit?"""
    others, tokens = rivals.hits, rivals.tokens
    for a, b in zip(chosen, chosen[1:], strict=False):
        left, right = (a, b) if a.token <= b.token else (b, a)
        i = bisect.bisect_right(tokens, left.last_token)
        while i < len(others) and tokens[i] < right.token:
            if others[i].last_token < right.token:
                return True
            i += 1
    return False


def _chain(anchor: Hit, rest: list[_Sorted], comp: Compose) -> list[Hit] | None:
    """Hits of the remaining parts that complete ``anchor`` into the composed concept."""
    chosen = [anchor]
    for part in rest:
        ref = chosen[-1] if comp.ordered else anchor
        nxt = _nearest(ref, part, comp.within, side="after" if comp.ordered else "either")
        if nxt is None or any((nxt.start, nxt.end) == (h.start, h.end) for h in chosen):
            return None
        chosen.append(nxt)
    return chosen
