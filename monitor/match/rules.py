"""Loading and validating rule files (``rules/*.yaml``); the format is in ``rules/README.md``.

Every problem found is collected (not only the first) and reported as a :class:`RulesError`
whose ``problems`` each carry the file and line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from monitor.errors import RulesError
from monitor.match.concepts import dependency_order
from monitor.match.forms import INFLECTIONS
from monitor.match.model import Compose, Entity, Group, Near, Rule, RuleSet, Unless
from monitor.match.tokens import tokenize
from monitor.normalize import normalize_text
from monitor.yamlfile import LineDict, LineList, YamlSyntaxError, load_yaml

__all__ = ["load_rules", "SEVERITIES"]

SEVERITIES = ("low", "medium", "high", "critical")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"entities", "groups", "rules"}
_ENTITY_KEYS = {"id", "name", "type", "weight", "aliases", "variants", "not_in", "inflect",
                "compose", "unless"}
_GROUP_KEYS = {"id", "members"}
_RULE_KEYS = {"id", "title", "all", "any", "none", "near", "title_boost", "threshold",
              "severity", "destination"}
_MAX_WEIGHT = 10.0
#: Aliases and not_in phrases a rule pack may hold (rules/README.md, "Limits").
MAX_ALIASES = 100_000


class _Problems:
    """Collects problems while loading; each knows its file and line."""

    def __init__(self) -> None:
        self.items: list[RulesError] = []
        self.file = ""

    def add(self, reason: str, line: int | None) -> None:
        self.items.append(RulesError(reason, file=self.file, line=line))


def load_rules(path: str | Path) -> RuleSet:
    """Load a directory of ``*.yaml`` rule files (or one file) and validate all of it.

    Raises :class:`RulesError` listing every problem (unknown or duplicate ids, empty aliases,
    bad weights and thresholds, unknown keys, YAML syntax) with file and line.
    """
    root = Path(path)
    files = sorted(root.glob("*.yaml")) if root.is_dir() else [root]
    probs = _Problems()
    if not root.exists():
        raise RulesError("no such file or directory", file=str(root))
    if not files:
        raise RulesError("no *.yaml rule files here", file=str(root))
    entities: list[Entity] = []
    groups: list[tuple[Group, LineDict]] = []
    rules: list[tuple[Rule, LineDict]] = []
    for f in files:
        probs.file = str(f)
        data = _read(f, probs)
        if data is not None:
            _parse_file(data, probs, entities, groups, rules)
    _check_references(entities, groups, rules, probs)
    _check_size(entities, probs)
    if probs.items:
        first = probs.items[0]
        raise RulesError(f"{len(probs.items)} problem(s) in rules; first: {first}",
                         file=first.file, line=first.line, problems=probs.items)
    return _build(entities, [g for g, _ in groups], [r for r, _ in rules])


def _read(f: Path, probs: _Problems) -> LineDict | None:
    try:
        data = load_yaml(f)
    except YamlSyntaxError as exc:
        probs.add(f"YAML syntax: {exc.reason}", exc.line)
        return None
    except (OSError, UnicodeDecodeError) as exc:
        probs.add(f"cannot read: {exc}", None)
        return None
    if data is None:
        return None
    if not isinstance(data, LineDict):
        probs.add("a rule file must be a mapping with entities/groups/rules", 1)
        return None
    for key in data:
        if key not in _TOP_KEYS:
            probs.add(f"unknown top-level key {_quote(key)} (expected entities, groups, rules)",
                      data.lines[key])
    return data


def _items(data: LineDict, key: str, probs: _Problems) -> list[tuple[LineDict, int]]:
    """The mapping items of a top-level list, with their lines; reports non-mappings."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, LineList):
        probs.add(f"{_quote(key)} must be a list", data.lines[key])
        return []
    out = []
    for item, line in zip(value, value.lines, strict=True):
        if isinstance(item, LineDict):
            out.append((item, line))
        else:
            probs.add(f"each item of {_quote(key)} must be a mapping", line)
    return out


def _parse_file(data: LineDict, probs: _Problems, entities: list[Entity],
                groups: list[tuple[Group, LineDict]], rules: list[tuple[Rule, LineDict]]) -> None:
    for item, line in _items(data, "entities", probs):
        ent = _parse_entity(item, line, probs)
        if ent:
            entities.append(ent)
    for item, line in _items(data, "groups", probs):
        grp = _parse_group(item, line, probs)
        if grp:
            groups.append((grp, item))
    for item, line in _items(data, "rules", probs):
        rule = _parse_rule(item, line, probs)
        if rule:
            rules.append((rule, item))


def _line(item: LineDict, key: str, default: int) -> int:
    return item.lines.get(key, default)


def _unknown_keys(item: LineDict, allowed: set[str], what: str, probs: _Problems) -> None:
    for key in item:
        if key not in allowed:
            probs.add(f"unknown {what} key {_quote(key)}", item.lines[key])


def _req_id(item: LineDict, line: int, what: str, probs: _Problems) -> str | None:
    value = item.get("id")
    if not isinstance(value, str) or not _ID.match(value):
        probs.add(f"{what} needs an id of lowercase letters, digits and _ (got {_quote(value)})",
                  _line(item, "id", line))
        return None
    return value


def _number(item: LineDict, key: str, default: float, low: float, high: float, line: int,
            probs: _Problems) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        probs.add(f"bad {key} {_quote(value)}: must be a number > {low:g} and <= {high:g}",
                  _line(item, key, line))
        return default
    return float(value)


def _str_list(item: LineDict, key: str, line: int, probs: _Problems) -> list[tuple[str, int]]:
    if key not in item:
        return []
    value = item[key]
    if isinstance(value, str):
        value = LineList([value])
        value.lines = [_line(item, key, line)]
    if not isinstance(value, LineList):
        probs.add(f"{_quote(key)} must be a list of strings", _line(item, key, line))
        return []
    out = []
    for v, vline in zip(value, value.lines, strict=True):
        if isinstance(v, str) and v.strip():
            out.append((v, vline))
        else:
            probs.add(f"empty or non-text entry in {_quote(key)}: {_quote(v)}", vline)
    return out


def _parse_entity(item: LineDict, line: int, probs: _Problems) -> Entity | None:
    _unknown_keys(item, _ENTITY_KEYS, "entity", probs)
    eid = _req_id(item, line, "entity", probs)
    inflect = _inflect(item.get("inflect", "none"), _line(item, "inflect", line), probs)
    aliases, overrides = _aliases(item, "aliases", line, probs)
    compose = _parse_compose(item, line, probs)
    if not aliases and not compose:
        probs.add(f"entity {_quote(eid)} has no aliases (and is not composed)",
                  _line(item, "aliases", line))
    if aliases and compose:
        probs.add(f"entity {_quote(eid)}: give either aliases or compose, not both",
                  _line(item, "compose", line))
    not_in, _ = _aliases(item, "not_in", line, probs)
    etype = item.get("type", "term")
    if not isinstance(etype, str) or not etype.strip():
        probs.add(f"bad entity type {_quote(etype)}", _line(item, "type", line))
    variants = item.get("variants", False)
    if not isinstance(variants, bool):
        probs.add(f"'variants' must be true or false, got {_quote(variants)}",
                  _line(item, "variants", line))
    weight = _number(item, "weight", 1.0, 0.0, _MAX_WEIGHT, line, probs)
    unless = tuple(Unless(ref, within, keep, keep_within) for ref, within, keep, keep_within, _
                   in _ref_within_list(item, "unless", ("near", "within"), line, probs))
    name = item.get("name", eid)
    if eid is None:
        return None
    return Entity(eid, str(name), str(etype), weight, tuple(aliases), variants is True,
                  tuple(not_in), f"{probs.file}:{line}", inflect, tuple(overrides.items()),
                  compose, unless)


def _inflect(value: Any, line: int, probs: _Problems) -> str:
    if value not in INFLECTIONS:
        probs.add(f"bad inflect {_quote(value)}: one of {', '.join(INFLECTIONS)}", line)
        return "none"
    return str(value)


def _aliases(item: LineDict, key: str, line: int, probs: _Problems
             ) -> tuple[list[str], dict[str, str]]:
    """Aliases (strings, or ``{alias: TEXT, inflect: CLASS}``) and their inflection overrides.

    Deduplicated through a set: a pack of a million aliases must load in linear time.
    """
    out: list[str] = []
    seen: set[str] = set()
    overrides: dict[str, str] = {}
    for text, aline, inflect in _alias_entries(item, key, line, probs):
        if not tokenize(normalize_text(text)):
            probs.add(f"empty alias {_quote(text)}: no letters or digits after normalisation",
                      aline)
        elif text not in seen:
            seen.add(text)
            out.append(text)
            if inflect is not None:
                overrides[text] = inflect
    return out, overrides


def _alias_entries(item: LineDict, key: str, line: int, probs: _Problems
                   ) -> list[tuple[str, int, str | None]]:
    if key not in item:
        return []
    value = item[key]
    if isinstance(value, str):
        return [(value, _line(item, key, line), None)]
    if not isinstance(value, LineList):
        probs.add(f"{_quote(key)} must be a list of strings", _line(item, key, line))
        return []
    out: list[tuple[str, int, str | None]] = []
    for v, vline in zip(value, value.lines, strict=True):
        if isinstance(v, LineDict) and key == "aliases" and set(v) <= {"alias", "inflect"}:
            text = v.get("alias")
            if isinstance(text, str) and text.strip():
                out.append((text, vline, _inflect(v.get("inflect", "none"), vline, probs)))
                continue
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)           # a year or a model number written without quotes: 1941, 29
        if isinstance(v, str) and v.strip():
            out.append((v, vline, None))
        else:
            probs.add(f"empty or non-text entry in {_quote(key)}: {_quote(v)}", vline)
    return out


def _quote(value: Any, limit: int = 80) -> str:
    """``repr`` of a value quoted in a message, cut short: a hostile file must not make the
    message (or the memory behind it) huge."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def _ref_within_list(item: LineDict, key: str, names: tuple[str, str], line: int,
                     probs: _Problems) -> list[tuple[str, int, str | None, int, int]]:
    """Items ``{<ref>: ID, within: N[, except_near: ID, except_within: M]}`` of a list
    (``unless``), with their lines."""
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, LineList):
        probs.add(f"{_quote(key)} must be a list of {{{names[0]}: ID, within: N}}",
                  _line(item, key, line))
        return []
    out = []
    for cond, cline in zip(value, value.lines, strict=True):
        if (not isinstance(cond, LineDict) or not set(names) <= set(cond)
                or not set(cond) <= {*names, "except_near", "except_within"}):
            probs.add(f"each {_quote(key)} item needs {names[0]} and within (and may say "
                      "except_near)", cline)
            continue
        ref, within, keep = cond[names[0]], cond["within"], cond.get("except_near")
        keep_within = cond.get("except_within", 0)
        if not isinstance(ref, str) or not _ID.match(ref) or not (
                keep is None or isinstance(keep, str) and _ID.match(keep)):
            probs.add(f"{_quote(key)}: {names[0]} and except_near must be entity or group ids",
                      cline)
        elif any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in
                 (within, keep_within)) or within < 1:
            probs.add(f"bad within {_quote(within)} / except_within {_quote(keep_within)}: "
                      "positive whole numbers of tokens", cline)
        else:
            out.append((ref, within, keep, keep_within, cline))
    return out


def _parse_compose(item: LineDict, line: int, probs: _Problems) -> tuple[Compose, ...]:
    value = item.get("compose")
    if value is None:
        return ()
    if not isinstance(value, LineList) or not value:
        probs.add("'compose' must be a list of {parts: [A, B, ...], within: N, ordered: BOOL}",
                  _line(item, "compose", line))
        return ()
    out = []
    for cond, cline in zip(value, value.lines, strict=True):
        if not isinstance(cond, LineDict) or not {"parts", "within"} <= set(cond) \
                or not set(cond) <= {"parts", "within", "ordered"}:
            probs.add("each 'compose' item needs parts and within (and may say ordered)", cline)
            continue
        parts, within, ordered = cond["parts"], cond["within"], cond.get("ordered", True)
        if (not isinstance(parts, list) or len(parts) < 2
                or not all(isinstance(p, str) and _ID.match(p) for p in parts)):
            probs.add("'compose' parts must be a list of two or more entity or group ids",
                      cline)
        elif isinstance(within, bool) or not isinstance(within, int) or within < 1:
            probs.add(f"bad within {_quote(within)}: a positive whole number of tokens", cline)
        elif not isinstance(ordered, bool):
            probs.add(f"'ordered' must be true or false, got {_quote(ordered)}", cline)
        else:
            out.append(Compose(tuple(parts), within, ordered))
    return tuple(out)


def _parse_group(item: LineDict, line: int, probs: _Problems) -> Group | None:
    _unknown_keys(item, _GROUP_KEYS, "group", probs)
    gid = _req_id(item, line, "group", probs)
    members = [m for m, _ in _str_list(item, "members", line, probs)]
    if not members:
        probs.add(f"group {_quote(gid)} has no members", _line(item, "members", line))
    return Group(gid, tuple(members), f"{probs.file}:{line}") if gid else None


def _parse_rule(item: LineDict, line: int, probs: _Problems) -> Rule | None:
    _unknown_keys(item, _RULE_KEYS, "rule", probs)
    rid = _req_id(item, line, "rule", probs)
    severity = item.get("severity", "medium")
    if severity not in SEVERITIES:
        probs.add(f"bad severity {_quote(severity)}: one of {', '.join(SEVERITIES)}",
                  _line(item, "severity", line))
    destination = item.get("destination", "default")
    if not isinstance(destination, str) or not destination.strip():
        probs.add(f"bad destination {_quote(destination)}: a non-empty name",
                  _line(item, "destination", line))
    refs = {k: tuple(v for v, _ in _str_list(item, k, line, probs)) for k in ("all", "any", "none")}
    near = _parse_near(item, line, probs)
    if not refs["all"] and not refs["any"] and not near:
        probs.add(f"rule {_quote(rid)} needs at least one of all, any, near", line)
    if "threshold" not in item:
        probs.add(f"rule {_quote(rid)} needs a threshold", line)
    threshold = _number(item, "threshold", 1.0, 0.0, 1000.0, line, probs)
    boost = item.get("title_boost", 0.5)
    if isinstance(boost, bool) or not isinstance(boost, int | float) or not 0 <= boost <= 10:
        probs.add(f"bad title_boost {_quote(boost)}: a number from 0 to 10",
                  _line(item, "title_boost", line))
        boost = 0.5
    if rid is None:
        return None
    return Rule(rid, str(item.get("title", rid)), refs["all"], refs["any"], refs["none"], near,
                float(boost), threshold, str(severity), str(destination), f"{probs.file}:{line}")


def _parse_near(item: LineDict, line: int, probs: _Problems) -> tuple[Near, ...]:
    value = item.get("near")
    if value is None:
        return ()   # optional
    if not isinstance(value, LineList):
        probs.add("'near' must be a list of {a, b, within}", _line(item, "near", line))
        return ()
    out = []
    for cond, cline in zip(value, value.lines, strict=True):
        if not isinstance(cond, LineDict) or set(cond) != {"a", "b", "within"}:
            probs.add("each 'near' item needs exactly a, b and within", cline)
            continue
        within = cond["within"]
        if isinstance(within, bool) or not isinstance(within, int) or within < 1:
            probs.add(f"bad within {_quote(within)}: a positive whole number of tokens", cline)
            continue
        if not isinstance(cond["a"], str) or not isinstance(cond["b"], str):
            probs.add("'near' a and b must be entity or group ids", cline)
            continue
        out.append(Near(cond["a"], cond["b"], within))
    return tuple(out)


def _check_references(entities: list[Entity], groups: list[tuple[Group, LineDict]],
                      rules: list[tuple[Rule, LineDict]], probs: _Problems) -> None:
    seen: dict[str, str] = {}
    for obj in [*entities, *(g for g, _ in groups), *(r for r, _ in rules)]:
        if obj.id in seen:
            file, _, line = obj.source.rpartition(":")
            probs.file = file
            probs.add(f"duplicate id {_quote(obj.id)} (first defined at {seen[obj.id]})", int(line))
        else:
            seen[obj.id] = obj.source
    known = {e.id for e in entities} | {g.id for g, _ in groups}
    for ent in entities:
        refs = [*(p for c in ent.compose for p in c.parts), *(u.ref for u in ent.unless),
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
                probs: _Problems, item: LineDict | None = None) -> None:
    file, _, line = source.rpartition(":")
    for ref in refs:
        if ref not in known:
            probs.file = file
            at = int(line)
            if item is not None:
                at = _ref_line(item, ref, at)
            probs.add(f"{what} {_quote(oid)} refers to unknown entity or group {_quote(ref)}", at)


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


def _check_cycles(groups: list[Group], probs: _Problems) -> None:
    members = {g.id: g.members for g in groups}
    for g in groups:
        stack, seen = list(g.members), set()
        while stack:
            cur = stack.pop()
            if cur == g.id:
                file, _, line = g.source.rpartition(":")
                probs.file = file
                probs.add(f"group {_quote(g.id)} contains itself", int(line))
                break
            if cur not in seen:
                seen.add(cur)
                stack.extend(members.get(cur, ()))


def _check_size(entities: list[Entity], probs: _Problems) -> None:
    """Refuse packs beyond MAX_ALIASES: the matcher holds about 1.2 KB per alias (measured in
    docs/matching.md §7), so the limit keeps a careless import from taking gigabytes."""
    total = 0
    for ent in entities:
        total += len(ent.aliases) + len(ent.not_in)
        if total > MAX_ALIASES:
            file, _, line = ent.source.rpartition(":")
            probs.file = file
            probs.add(f"the pack has more than {MAX_ALIASES:,} aliases from here on (entity "
                      f"{_quote(ent.id)}); split it into smaller packs (rules/README.md, Limits)",
                      int(line))
            return


def _check_concept_cycles(entities: list[Entity], groups: list[Group],
                          probs: _Problems) -> None:
    probe = RuleSet(tuple(entities), tuple(groups), (), "")
    try:
        dependency_order(entities, probe.expand)
    except ValueError as exc:
        eid = str(exc).split("'")[1]
        ent = next(e for e in entities if e.id == eid)
        file, _, line = ent.source.rpartition(":")
        probs.file = file
        probs.add(f"composed or excluded entities form a cycle: {exc}", int(line))


def _build(entities: list[Entity], groups: list[Group], rules: list[Rule]) -> RuleSet:
    # The fingerprint covers content only (not file names or lines), so moving an entity to
    # another file does not look like a change.
    def content(obj: Any) -> dict[str, Any]:
        d = asdict(obj)
        d.pop("source", None)
        return d
    payload = json.dumps({"entities": [content(e) for e in entities],
                          "groups": [content(g) for g in groups],
                          "rules": [content(r) for r in rules]},
                         ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return RuleSet(tuple(entities), tuple(groups), tuple(rules), digest)
