"""Checks across the items of a rule pack: ids, references, cycles, size."""

from __future__ import annotations

from typing import Any

from monitor.match.concepts import dependency_order
from monitor.match.model import Entity, Group, Rule, RuleSet
from monitor.match.rule_items import Problems, quote
from monitor.yamlfile import LineDict, LineList

__all__ = ["MAX_ALIASES", "check_pack"]

#: Aliases and not_in phrases a rule pack may hold (rules/README.md, "Limits").
MAX_ALIASES = 100_000


def check_pack(entities: list[Entity], groups: list[tuple[Group, LineDict]],
               rules: list[tuple[Rule, LineDict]], probs: Problems) -> None:
    """Every check that needs the whole pack; problems go to ``probs``."""
    _check_references(entities, groups, rules, probs)
    _check_size(entities, probs)


def _check_references(entities: list[Entity], groups: list[tuple[Group, LineDict]],
                      rules: list[tuple[Rule, LineDict]], probs: Problems) -> None:
    seen: dict[str, str] = {}
    for obj in [*entities, *(g for g, _ in groups), *(r for r, _ in rules)]:
        if obj.id in seen:
            file, _, line = obj.source.rpartition(":")
            probs.file = file
            probs.add(f"duplicate id {quote(obj.id)} (first defined at {seen[obj.id]})", int(line))
        else:
            seen[obj.id] = obj.source
    known = {e.id for e in entities} | {g.id for g, _ in groups}
    for ent in entities:
        refs = [*(p for c in ent.compose for p in c.parts),
                *(c.rivals for c in ent.compose if c.rivals), *(u.ref for u in ent.unless),
                *(u.except_near for u in ent.unless if u.except_near)]
        _check_refs(refs, known, ent.source, "entity", ent.id, probs)
    for g, item in groups:
        _check_refs(g.members, known, g.source, "group", g.id, probs, item)
    _check_cycles([g for g, _ in groups], probs)
    if not probs.items:
        _check_concept_cycles(entities, [g for g, _ in groups], probs)
    for rule, item in rules:
        refs = [*rule.all, *rule.any, *rule.none, *(n.a for n in rule.near),
                *(n.b for n in rule.near)]
        _check_refs(refs, known, rule.source, "rule", rule.id, probs, item)


def _check_refs(refs: Any, known: set[str], source: str, what: str, oid: str,
                probs: Problems, item: LineDict | None = None) -> None:
    file, _, line = source.rpartition(":")
    for ref in refs:
        if ref not in known:
            probs.file = file
            at = int(line)
            if item is not None:
                at = _ref_line(item, ref, at)
            probs.add(f"{what} {quote(oid)} refers to unknown entity or group {quote(ref)}", at)


def _ref_line(item: LineDict, ref: str, default: int) -> int:
    """Line of the list item naming ``ref`` inside a rule, for a precise message."""
    for key in ("all", "any", "none", "members"):
        value = item.get(key)
        if isinstance(value, LineList) and ref in value:
            return value.lines[value.index(ref)]
    near = item.get("near")
    if isinstance(near, LineList):
        for cond, cline in zip(near, near.lines, strict=True):
            if isinstance(cond, dict) and ref in (cond.get("a"), cond.get("b")):
                return cline
    return default


def _check_cycles(groups: list[Group], probs: Problems) -> None:
    members = {g.id: g.members for g in groups}
    for g in groups:
        stack, seen = list(g.members), set()
        while stack:
            cur = stack.pop()
            if cur == g.id:
                file, _, line = g.source.rpartition(":")
                probs.file = file
                probs.add(f"group {quote(g.id)} contains itself", int(line))
                break
            if cur not in seen:
                seen.add(cur)
                stack.extend(members.get(cur, ()))


def _check_size(entities: list[Entity], probs: Problems) -> None:
    """Refuse packs beyond MAX_ALIASES: the matcher holds about 1.2 KB per alias (measured in
    docs/matching.md §7), so the limit keeps a careless import from taking gigabytes."""
    total = 0
    for ent in entities:
        total += len(ent.aliases) + len(ent.not_in)
        if total > MAX_ALIASES:
            file, _, line = ent.source.rpartition(":")
            probs.file = file
            probs.add(f"the pack has more than {MAX_ALIASES:,} aliases from here on (entity "
                      f"{quote(ent.id)}); split it into smaller packs (rules/README.md, Limits)",
                      int(line))
            return


def _check_concept_cycles(entities: list[Entity], groups: list[Group],
                          probs: Problems) -> None:
    probe = RuleSet(tuple(entities), tuple(groups), (), "")
    try:
        dependency_order(entities, probe.expand)
    except ValueError as exc:
        eid = str(exc).split("'")[1]
        ent = next(e for e in entities if e.id == eid)
        file, _, line = ent.source.rpartition(":")
        probs.file = file
        probs.add(f"composed or excluded entities form a cycle: {exc}", int(line))
