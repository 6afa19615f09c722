"""Parsing the items of a rule file (entities, groups, rules) with their file and line.

Each ``parse_*`` function validates one mapping and reports every problem it finds to a
:class:`Problems` collector; nothing here raises for bad input.
"""

from __future__ import annotations

import re
from typing import Any

from monitor.errors import RulesError
from monitor.match.forms import INFLECTIONS
from monitor.match.model import Compose, Entity, Group, Near, Rule, Unless
from monitor.match.tokens import tokenize
from monitor.normalize import normalize_text
from monitor.yamlfile import LineDict, LineList

__all__ = ["Problems", "SEVERITIES", "parse_entity", "parse_group", "parse_rule", "quote"]

SEVERITIES = ("low", "medium", "high", "critical")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ENTITY_KEYS = {"id", "name", "type", "weight", "aliases", "variants", "not_in", "inflect",
                "compose", "unless"}
_GROUP_KEYS = {"id", "members"}
_RULE_KEYS = {"id", "title", "all", "any", "none", "near", "title_boost", "threshold",
              "severity", "destination"}
_MAX_WEIGHT = 10.0


class Problems:
    """Collects problems while loading; each knows its file and line."""

    def __init__(self) -> None:
        self.items: list[RulesError] = []
        self.file = ""

    def add(self, reason: str, line: int | None) -> None:
        self.items.append(RulesError(reason, file=self.file, line=line))


def _line(item: LineDict, key: str, default: int) -> int:
    return item.lines.get(key, default)


def _unknown_keys(item: LineDict, allowed: set[str], what: str, probs: Problems) -> None:
    for key in item:
        if key not in allowed:
            probs.add(f"unknown {what} key {quote(key)}", item.lines[key])


def _req_id(item: LineDict, line: int, what: str, probs: Problems) -> str | None:
    value = item.get("id")
    if not isinstance(value, str) or not _ID.match(value):
        probs.add(f"{what} needs an id of lowercase letters, digits and _ (got {quote(value)})",
                  _line(item, "id", line))
        return None
    return value


def _number(item: LineDict, key: str, default: float, low: float, high: float, line: int,
            probs: Problems) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        probs.add(f"bad {key} {quote(value)}: must be a number > {low:g} and <= {high:g}",
                  _line(item, key, line))
        return default
    return float(value)


def _str_list(item: LineDict, key: str, line: int, probs: Problems) -> list[tuple[str, int]]:
    if key not in item:
        return []
    value = item[key]
    if isinstance(value, str):
        value = LineList([value])
        value.lines = [_line(item, key, line)]
    if not isinstance(value, LineList):
        probs.add(f"{quote(key)} must be a list of strings", _line(item, key, line))
        return []
    out = []
    for v, vline in zip(value, value.lines, strict=True):
        if isinstance(v, str) and v.strip():
            out.append((v, vline))
        else:
            probs.add(f"empty or non-text entry in {quote(key)}: {quote(v)}", vline)
    return out


def parse_entity(item: LineDict, line: int, probs: Problems) -> Entity | None:
    _unknown_keys(item, _ENTITY_KEYS, "entity", probs)
    eid = _req_id(item, line, "entity", probs)
    inflect = _inflect(item.get("inflect", "none"), _line(item, "inflect", line), probs)
    aliases, overrides = _aliases(item, "aliases", line, probs)
    compose = _parse_compose(item, line, probs)
    if not aliases and not compose:
        probs.add(f"entity {quote(eid)} has no aliases (and is not composed)",
                  _line(item, "aliases", line))
    if aliases and compose:
        probs.add(f"entity {quote(eid)}: give either aliases or compose, not both",
                  _line(item, "compose", line))
    not_in, _ = _aliases(item, "not_in", line, probs)
    etype = item.get("type", "term")
    if not isinstance(etype, str) or not etype.strip():
        probs.add(f"bad entity type {quote(etype)}", _line(item, "type", line))
    variants = item.get("variants", False)
    if not isinstance(variants, bool):
        probs.add(f"'variants' must be true or false, got {quote(variants)}",
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


def _inflect(value: Any, line: int, probs: Problems) -> str:
    if value not in INFLECTIONS:
        probs.add(f"bad inflect {quote(value)}: one of {', '.join(INFLECTIONS)}", line)
        return "none"
    return str(value)


def _aliases(item: LineDict, key: str, line: int, probs: Problems
             ) -> tuple[list[str], dict[str, str]]:
    """Aliases (strings, or ``{alias: TEXT, inflect: CLASS}``) and their inflection overrides.

    Deduplicated through a set: a pack of a million aliases must load in linear time.
    """
    out: list[str] = []
    seen: set[str] = set()
    overrides: dict[str, str] = {}
    for text, aline, inflect in _alias_entries(item, key, line, probs):
        if not tokenize(normalize_text(text)):
            probs.add(f"empty alias {quote(text)}: no letters or digits after normalisation",
                      aline)
        elif text not in seen:
            seen.add(text)
            out.append(text)
            if inflect is not None:
                overrides[text] = inflect
    return out, overrides


def _alias_entries(item: LineDict, key: str, line: int, probs: Problems
                   ) -> list[tuple[str, int, str | None]]:
    if key not in item:
        return []
    value = item[key]
    if isinstance(value, str):
        return [(value, _line(item, key, line), None)]
    if not isinstance(value, LineList):
        probs.add(f"{quote(key)} must be a list of strings", _line(item, key, line))
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
            probs.add(f"empty or non-text entry in {quote(key)}: {quote(v)}", vline)
    return out


def quote(value: Any, limit: int = 80) -> str:
    """``repr`` of a value quoted in a message, cut short: a hostile file must not make the
    message (or the memory behind it) huge."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def _ref_within_list(item: LineDict, key: str, names: tuple[str, str], line: int,
                     probs: Problems) -> list[tuple[str, int, str | None, int, int]]:
    """Items ``{<ref>: ID, within: N[, except_near: ID, except_within: M]}`` of a list
    (``unless``), with their lines."""
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, LineList):
        probs.add(f"{quote(key)} must be a list of {{{names[0]}: ID, within: N}}",
                  _line(item, key, line))
        return []
    out = []
    for cond, cline in zip(value, value.lines, strict=True):
        if (not isinstance(cond, LineDict) or not set(names) <= set(cond)
                or not set(cond) <= {*names, "except_near", "except_within"}):
            probs.add(f"each {quote(key)} item needs {names[0]} and within (and may say "
                      "except_near)", cline)
            continue
        ref, within, keep = cond[names[0]], cond["within"], cond.get("except_near")
        keep_within = cond.get("except_within", 0)
        if not isinstance(ref, str) or not _ID.match(ref) or not (
                keep is None or isinstance(keep, str) and _ID.match(keep)):
            probs.add(f"{quote(key)}: {names[0]} and except_near must be entity or group ids",
                      cline)
        elif any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in
                 (within, keep_within)) or within < 1:
            probs.add(f"bad within {quote(within)} / except_within {quote(keep_within)}: "
                      "positive whole numbers of tokens", cline)
        else:
            out.append((ref, within, keep, keep_within, cline))
    return out


def _parse_compose(item: LineDict, line: int, probs: Problems) -> tuple[Compose, ...]:
    value = item.get("compose")
    if value is None:
        return ()
    if not isinstance(value, LineList) or not value:
        probs.add("'compose' must be a list of {parts: [A, B, ...], within: N, ordered: BOOL, "
                  "rivals: ID}",
                  _line(item, "compose", line))
        return ()
    out = []
    for cond, cline in zip(value, value.lines, strict=True):
        if not isinstance(cond, LineDict) or not {"parts", "within"} <= set(cond) \
                or not set(cond) <= {"parts", "within", "ordered", "rivals"}:
            probs.add("each 'compose' item needs parts and within (and may say ordered and "
                      "rivals)", cline)
            continue
        parts, within, ordered = cond["parts"], cond["within"], cond.get("ordered", True)
        rivals = cond.get("rivals")
        if (not isinstance(parts, list) or len(parts) < 2
                or not all(isinstance(p, str) and _ID.match(p) for p in parts)):
            probs.add("'compose' parts must be a list of two or more entity or group ids",
                      cline)
        elif isinstance(within, bool) or not isinstance(within, int) or within < 1:
            probs.add(f"bad within {quote(within)}: a positive whole number of tokens", cline)
        elif not isinstance(ordered, bool):
            probs.add(f"'ordered' must be true or false, got {quote(ordered)}", cline)
        elif rivals is not None and not (isinstance(rivals, str) and _ID.match(rivals)):
            probs.add(f"'rivals' must be one entity or group id, got {quote(rivals)}", cline)
        elif rivals is not None and (len(parts) != 2 or not ordered):
            probs.add("'rivals' needs exactly two ordered parts: an owner, then what it owns",
                      cline)
        else:
            out.append(Compose(tuple(parts), within, ordered, rivals))
    return tuple(out)


def parse_group(item: LineDict, line: int, probs: Problems) -> Group | None:
    _unknown_keys(item, _GROUP_KEYS, "group", probs)
    gid = _req_id(item, line, "group", probs)
    members = [m for m, _ in _str_list(item, "members", line, probs)]
    if not members:
        probs.add(f"group {quote(gid)} has no members", _line(item, "members", line))
    return Group(gid, tuple(members), f"{probs.file}:{line}") if gid else None


def parse_rule(item: LineDict, line: int, probs: Problems) -> Rule | None:
    _unknown_keys(item, _RULE_KEYS, "rule", probs)
    rid = _req_id(item, line, "rule", probs)
    severity = item.get("severity", "medium")
    if severity not in SEVERITIES:
        probs.add(f"bad severity {quote(severity)}: one of {', '.join(SEVERITIES)}",
                  _line(item, "severity", line))
    destination = item.get("destination", "default")
    if not isinstance(destination, str) or not destination.strip():
        probs.add(f"bad destination {quote(destination)}: a non-empty name",
                  _line(item, "destination", line))
    refs = {k: tuple(v for v, _ in _str_list(item, k, line, probs)) for k in ("all", "any", "none")}
    near = _parse_near(item, line, probs)
    if not refs["all"] and not refs["any"] and not near:
        probs.add(f"rule {quote(rid)} needs at least one of all, any, near", line)
    if "threshold" not in item:
        probs.add(f"rule {quote(rid)} needs a threshold", line)
    threshold = _number(item, "threshold", 1.0, 0.0, 1000.0, line, probs)
    boost = item.get("title_boost", 0.5)
    if isinstance(boost, bool) or not isinstance(boost, int | float) or not 0 <= boost <= 10:
        probs.add(f"bad title_boost {quote(boost)}: a number from 0 to 10",
                  _line(item, "title_boost", line))
        boost = 0.5
    if rid is None:
        return None
    return Rule(rid, str(item.get("title", rid)), refs["all"], refs["any"], refs["none"], near,
                float(boost), threshold, str(severity), str(destination), f"{probs.file}:{line}")


def _parse_near(item: LineDict, line: int, probs: Problems) -> tuple[Near, ...]:
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
            probs.add(f"bad within {quote(within)}: a positive whole number of tokens", cline)
            continue
        if not isinstance(cond["a"], str) or not isinstance(cond["b"], str):
            probs.add("'near' a and b must be entity or group ids", cline)
            continue
        out.append(Near(cond["a"], cond["b"], within))
    return tuple(out)
