"""Loading and validating rule files (``rules/*.yaml``); the format is in ``rules/README.md``.

Every problem found is collected (not only the first) and reported as a :class:`RulesError`
whose ``problems`` each carry the file and line. Items are parsed in
:mod:`monitor.match.rule_items`, checks across the pack are in :mod:`monitor.match.rule_checks`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from monitor.errors import RulesError
from monitor.match.model import Entity, Group, Rule, RuleSet
from monitor.match.rule_checks import MAX_ALIASES, check_pack
from monitor.match.rule_items import (
    SEVERITIES,
    Problems,
    parse_entity,
    parse_group,
    parse_rule,
    quote,
)
from monitor.yamlfile import LineDict, LineList, YamlSyntaxError, load_yaml

__all__ = ["load_rules", "SEVERITIES", "MAX_ALIASES"]

_TOP_KEYS = {"entities", "groups", "rules"}


def load_rules(path: str | Path) -> RuleSet:
    """Load a directory of ``*.yaml`` rule files (or one file) and validate all of it.

    Raises :class:`RulesError` listing every problem (unknown or duplicate ids, empty aliases,
    bad weights and thresholds, unknown keys, YAML syntax) with file and line.
    """
    root = Path(path)
    files = sorted(root.glob("*.yaml")) if root.is_dir() else [root]
    probs = Problems()
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
    check_pack(entities, groups, rules, probs)
    if probs.items:
        first = probs.items[0]
        raise RulesError(f"{len(probs.items)} problem(s) in rules; first: {first}",
                         file=first.file, line=first.line, problems=probs.items)
    return _build(entities, [g for g, _ in groups], [r for r, _ in rules])


def _read(f: Path, probs: Problems) -> LineDict | None:
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
            probs.add(f"unknown top-level key {quote(key)} (expected entities, groups, rules)",
                      data.lines[key])
    return data


def _items(data: LineDict, key: str, probs: Problems) -> list[tuple[LineDict, int]]:
    """The mapping items of a top-level list, with their lines; reports non-mappings."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, LineList):
        probs.add(f"{quote(key)} must be a list", data.lines[key])
        return []
    out = []
    for item, line in zip(value, value.lines, strict=True):
        if isinstance(item, LineDict):
            out.append((item, line))
        else:
            probs.add(f"each item of {quote(key)} must be a mapping", line)
    return out


def _parse_file(data: LineDict, probs: Problems, entities: list[Entity],
                groups: list[tuple[Group, LineDict]], rules: list[tuple[Rule, LineDict]]) -> None:
    for item, line in _items(data, "entities", probs):
        ent = parse_entity(item, line, probs)
        if ent:
            entities.append(ent)
    for item, line in _items(data, "groups", probs):
        grp = parse_group(item, line, probs)
        if grp:
            groups.append((grp, item))
    for item, line in _items(data, "rules", probs):
        rule = parse_rule(item, line, probs)
        if rule:
            rules.append((rule, item))


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
