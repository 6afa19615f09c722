"""Which helper entities can matter to a document, decided from the entities its scan found.

Helper entities (``type: part`` and ``type: context``) are never hits of their own: a part
counts only inside a composed concept whose every part is found, a context only near a hit it
may exclude. News about anything else is full of them (forces, aircraft, Sudan, Syria), and
turning each into a hit with its quote, its place in the layout and its neighbours costs more
than the scan that found it. So before any hit is built, the entities found anywhere in the
document (title and text) decide which helpers can play a part: those of composed concepts
whose every part is present, and the contexts (and their keepers) of entities that are present
or can be composed. The rest are left out. The decision over-approximates (a not_in phrase
counts as present, a part found in the title counts for the text), so leaving them out can
never change a result: it only skips work whose outcome was nothing.
"""

from __future__ import annotations

from typing import NamedTuple

from monitor.match.concepts import Concepts

__all__ = ["Relevance"]


class _Needs(NamedTuple):
    """What one entity depends on, its references expanded to entity ids."""

    alternatives: tuple[tuple[frozenset[str], ...], ...]   # compose: the parts of each
    rivals: tuple[frozenset[str], ...]                      # compose: each alternative's rivals
    contexts: tuple[frozenset[str], ...]                    # unless: refs and except_near


class Relevance:
    """The helper entities worth building hits for, given the entities a scan found."""

    def __init__(self, concepts: Concepts, helpers: frozenset[str]) -> None:
        self._helpers = helpers
        self._order = tuple(e.id for e in concepts.order)
        ex = concepts.expanded
        self._needs = {
            e.id: _Needs(tuple(tuple(ex[p] for p in c.parts) for c in e.compose),
                         tuple(ex[c.rivals] if c.rivals else frozenset() for c in e.compose),
                         tuple(ex[r] for u in e.unless for r in (u.ref, u.except_near) if r))
            for e in concepts.order}

    def needed(self, present: set[str]) -> frozenset[str] | set[str]:
        """The helpers whose hits can change the result of a document in which the entities
        ``present`` were found (aliases and not_in phrases alike)."""
        if not self._helpers or not present & self._helpers:
            return frozenset()
        found = set(present)
        complete: dict[str, list[int]] = {}
        for eid in self._order:      # parts before what they compose
            alts = self._needs[eid].alternatives
            ok = [i for i, parts in enumerate(alts) if all(p & found for p in parts)]
            if ok:
                complete[eid] = ok
                found.add(eid)
        # From every non-helper that may be a hit, what it may be built of or excluded by.
        todo = [e for e in found if e not in self._helpers]
        seen = set(todo)
        while todo:
            eid = todo.pop()
            needs = self._needs.get(eid)
            if needs is None:
                continue
            refs = list(needs.contexts)
            for i in complete.get(eid, ()):
                refs += [*needs.alternatives[i], needs.rivals[i]]
            for ids in refs:
                for dep in ids & found:
                    if dep not in seen:
                        seen.add(dep)
                        todo.append(dep)
        return seen & self._helpers
