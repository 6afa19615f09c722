"""Which stored articles a rule edit can change: the backtest's candidates (docs/search.md).

An article is scored from the hits of the pack's entities. Compare the live and the edited pack:

* an entity whose definition changed (aliases, weight, type, inflection, variants, not_in,
  compose, unless), was added or removed can only change hits, directly or through
  longer-match hiding, composition and exclusions, in an article where one of its aliases
  matches, old or new (a composed entity: where its parts' aliases match);
* a group whose members changed can only change results where the members that moved have hits;
* a rule that changed, was added or removed can only alert, in either version, where an entity
  of its scope has a hit: its threshold is above zero, so an article without such a hit scores 0.

Every other article has the same hits, rule results, score and alerts under both packs. The
aliases behind those entities become one FTS5 expression over the search index: per alias, its
tokens in a row with every proclitic the matcher allows and the stem as a prefix (so every
suffix), and for variant-matched entities the skeletons of its tokens. The expression may match
more articles than can change (they are re-scored for nothing) but never fewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from monitor.match.automaton import alias_words, variant_key
from monitor.match.forms import is_arabic, token_spec
from monitor.match.model import Entity, RuleSet
from monitor.search.fields import compact_skeleton
from monitor.search.query import TEXT_COLUMNS, phrase_expression, skeleton_expression

__all__ = ["EditScope", "edit_scope", "MAX_SHARE"]

#: An edit touching more of the pack's entities than this share is re-scored in full: the
#: index would select nearly everything at a high query cost.
MAX_SHARE = 0.5


@dataclass(frozen=True)
class EditScope:
    """What an edit can change. ``expression`` is None when every article must be re-scored
    (``note`` says why); an empty expression means no article can change."""

    expression: str | None
    note: str
    entities: tuple[str, ...] = ()     # entities whose aliases select the candidates
    rules: tuple[str, ...] = ()        # rules added, removed or changed
    changed: tuple[str, ...] = field(default=())   # entities and groups edited


def _same_entities(live: RuleSet, edited: RuleSet) -> tuple[set[str], dict[str, Entity],
                                                             dict[str, Entity]]:
    old = {e.id: replace(e, source="") for e in live.entities}
    new = {e.id: replace(e, source="") for e in edited.entities}
    changed = {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)}
    return changed, old, new


def _group_moves(live: RuleSet, edited: RuleSet) -> tuple[set[str], set[str]]:
    """(groups edited, entities that joined or left one of them)."""
    old = {g.id: g for g in live.groups}
    new = {g.id: g for g in edited.groups}
    edited_ids, moved = set(), set()
    for gid in old.keys() | new.keys():
        a = live.expand(gid) if gid in old else frozenset()
        b = edited.expand(gid) if gid in new else frozenset()
        if a != b or (gid in old) != (gid in new):
            edited_ids.add(gid)
            moved |= a ^ b
    return edited_ids, moved


def _rule_scopes(live: RuleSet, edited: RuleSet) -> tuple[set[str], set[str]]:
    """(rules edited, the entities of their scopes in both versions)."""
    old = {r.id: replace(r, source="") for r in live.rules}
    new = {r.id: replace(r, source="") for r in edited.rules}
    rules, scope = set(), set()
    for rid in old.keys() | new.keys():
        if old.get(rid) == new.get(rid):
            continue
        rules.add(rid)
        for pack, rule in ((live, old.get(rid)), (edited, new.get(rid))):
            if rule is None:
                continue
            refs = [*rule.all, *rule.any, *(x for n in rule.near for x in (n.a, n.b))]
            for ref in refs:
                scope |= pack.expand(ref)
    return rules, scope


def _alias_terms(pack: RuleSet, entity_id: str, out: list[str], seen: set[str]) -> None:
    """FTS5 sub-expressions for the aliases of one entity of ``pack`` (a composed entity: of its
    parts, recursively)."""
    if entity_id in seen:
        return
    seen.add(entity_id)
    ent = next((e for e in pack.entities if e.id == entity_id), None)
    if ent is None:
        return
    for phrase in ent.aliases:
        words = alias_words(phrase)
        if not words:
            continue
        specs = [token_spec(w, ent.inflect_of(phrase)) for w in words]
        out.append(f"{TEXT_COLUMNS}: ({phrase_expression(specs)})")
        key = variant_key(words) if ent.variants and is_arabic(phrase) else None
        if key is not None:
            out.append(skeleton_expression([compact_skeleton(k) for k in key.split()]))
    for comp in ent.compose:
        for part in comp.parts:
            for member in pack.expand(part):
                _alias_terms(pack, member, out, seen)


def edit_scope(live: RuleSet, edited: RuleSet) -> EditScope:
    """The articles the edit from ``live`` to ``edited`` can change, as an FTS5 expression."""
    changed, _, _ = _same_entities(live, edited)
    groups, moved = _group_moves(live, edited)
    rules, scope = _rule_scopes(live, edited)
    selecting = changed | moved | scope
    if not selecting and not rules:
        return EditScope("", "the edited rules score every article as the live ones do")
    with_words = {e.id for e in live.entities} | {e.id for e in edited.entities}
    if len(selecting) > MAX_SHARE * max(1, len(with_words)):
        return EditScope(None, f"the edit touches {len(selecting)} of the {len(with_words)} "
                               "entities",
                         tuple(sorted(selecting)), tuple(sorted(rules)),
                         tuple(sorted(changed | groups)))
    parts: list[str] = []
    for pack in (live, edited):
        seen: set[str] = set()
        for eid in sorted(selecting):
            _alias_terms(pack, eid, parts, seen)
    unique = list(dict.fromkeys(parts))
    note = (f"{len(changed)} entit{'y' if len(changed) == 1 else 'ies'}, {len(groups)} "
            f"group(s), {len(rules)} rule(s) edited")
    return EditScope(" OR ".join(f"({p})" for p in unique), note, tuple(sorted(selecting)),
                     tuple(sorted(rules)), tuple(sorted(changed | groups)))
