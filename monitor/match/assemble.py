"""From alias tokens read at each position of a field to whole aliases (phrase assembly).

The automaton reads each word of a field as the alias tokens it can be (a :data:`Reading`: the
token spec, whether it may start an alias, whether it may follow another token of one, and
whether a suffix was read off). An alias of several tokens is found where its tokens were read
at consecutive positions: work linear in the readings, since a phrase is looked up by its first
two tokens and most readings start none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "Pattern", "Phrases", "Reading"]

#: (token spec id, may start an alias, may follow a token of one, inflected)
Reading = tuple[int, bool, bool, bool]


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
    """A raw match, in token indices of one field; ``inflected`` when a suffix was read off."""

    pattern: Pattern
    first: int
    last: int
    inflected: bool = False


class Phrases:
    """The aliases of a rule set by their first token spec, ready to be assembled."""

    def __init__(self, by_first: Mapping[int, Sequence[tuple[Pattern, tuple[int, ...]]]]
                 ) -> None:
        """``by_first``: first token spec → [(pattern, specs of its following tokens)]."""
        # One-token phrases apart (nothing to assemble); longer ones by their second token.
        # Each keeps its place in the pack, so that equal matches come out in the pack's order.
        self._singles: dict[int, tuple[Pattern, ...]] = {}
        self._multis: dict[int, dict[int, list[tuple[int, Pattern, tuple[int, ...]]]]] = {}
        for sid, entries in by_first.items():
            if one := tuple(pat for pat, rest in entries if not rest):
                self._singles[sid] = one
            for n, (pat, rest) in enumerate(entries):
                if rest:
                    self._multis.setdefault(sid, {}).setdefault(rest[0], []).append(
                        (n, pat, rest[1:]))

    def assemble(self, found: Mapping[int, Sequence[Reading]]) -> list[Candidate]:
        """Aliases whose tokens were read at consecutive positions (``found``: position →
        the readings of its word, positions in text order)."""
        out = []
        singles, multis = self._singles, self._multis
        # Per position, the specs read there as a following token (and whether inflected),
        # built when a phrase first asks: most positions are never asked.
        inner_at: dict[int, dict[int, bool]] = {}

        def followers(j: int) -> dict[int, bool]:
            at = inner_at.get(j)
            if at is None:
                at = inner_at[j] = _followers(found.get(j, ()))
            return at

        for k, readings in found.items():
            for sid, first, _inner, inflected in readings:
                if not first:
                    continue
                for pat in singles.get(sid, ()):
                    out.append(Candidate(pat, k, k, inflected))
                by_second = multis.get(sid)
                if by_second is None:
                    continue
                matched = []
                for second, flag in followers(k + 1).items():
                    for n, pat, rest in by_second.get(second, ()):
                        last = _rest_matches(rest, k + 2, followers)
                        if last is not None:
                            matched.append((n, pat, last[0], inflected or flag or last[1]))
                matched.sort(key=lambda m: m[0])
                out += [Candidate(pat, k, end, infl) for _, pat, end, infl in matched]
        return out


def _rest_matches(rest: tuple[int, ...], j: int, followers: Callable[[int], dict[int, bool]]
                  ) -> tuple[int, bool] | None:
    """The last position of a phrase whose tokens after its second are ``rest`` (from position
    ``j``) and whether one of them was inflected, or None when one is missing."""
    inflected = False
    for pos, want in enumerate(rest, j):
        got = followers(pos).get(want)
        if got is None:
            return None
        inflected = inflected or got
    return j + len(rest) - 1, inflected


def _followers(readings: Sequence[Reading]) -> dict[int, bool]:
    """The specs read as a following token at one position, each with whether its first such
    reading was inflected."""
    out: dict[int, bool] = {}
    for sid, _first, inner, inflected in readings:
        if inner and sid not in out:
            out[sid] = inflected
    return out
