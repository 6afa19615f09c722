"""Parsing the items of a rule file (entities, groups, rules) with their file and line.

The models of :mod:`monitor.match.rule_models` say what each key may hold; here their
validation errors become problems with the line of the offending value (through
:func:`monitor.yamlfile.line_of`, as for the configuration). Each ``parse_*`` function reports
every problem of one mapping to a :class:`Problems` collector; nothing here raises for bad input.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.errors import RulesError
from monitor.match.model import Compose, Entity, Group, Near, Rule, Unless
from monitor.match.rule_models import (
    MESSAGES,
    SEVERITIES,
    AtKey,
    EntityItem,
    GroupItem,
    RuleItem,
    is_id,
    quote,
)
from monitor.yamlfile import LineDict, line_of

__all__ = ["Problems", "SEVERITIES", "parse_entity", "parse_group", "parse_rule", "quote"]

_REF_LISTS = ("all", "any", "none", "members", "parts")
# What a nested item that lacks a key needs, in the rule writer's terms.
_NESTED_NEEDS = {"compose": "parts and within", "unless": "near and within",
                 "near": "exactly a, b and within"}


class Problems:
    """Collects problems while loading; each knows its file and line."""

    def __init__(self) -> None:
        self.items: list[RulesError] = []
        self.file = ""

    def add(self, reason: str, line: int | None) -> None:
        self.items.append(RulesError(reason, file=self.file, line=line))


def parse_entity(item: LineDict, line: int, probs: Problems) -> Entity | None:
    """An :class:`Entity` from one mapping of ``entities:``, or None (problems reported)."""
    model = _validate(EntityItem, item, line, "entity", probs)
    if not isinstance(model, EntityItem):
        # Still an entity for the checks across the pack (duplicate ids, references).
        return Entity(item["id"], "", "term", 1.0, (), source=f"{probs.file}:{line}",
                      compose=tuple(Compose(tuple(_ids(c, "parts")), 1) for c
                                    in _list(item, "compose") if isinstance(c, dict)),
                      ) if _valid_id(item) else None
    aliases, overrides = _dedupe(model.aliases)
    not_in, _ = _dedupe(model.not_in)
    compose = tuple(Compose(tuple(c.parts), c.within, c.ordered, c.rivals)
                    for c in model.compose or ())
    unless = tuple(Unless(u.near, u.within, u.except_near, u.except_within, u.side)
                   for u in model.unless)
    return Entity(model.id, str(model.id if model.name is None else model.name), model.type,
                  float(model.weight), tuple(aliases), model.variants, tuple(not_in),
                  f"{probs.file}:{line}", model.inflect, tuple(overrides.items()), compose,
                  unless)


def _dedupe(entries: list[tuple[str, str | None]]) -> tuple[list[str], dict[str, str]]:
    """Aliases in order without repeats, and their inflection overrides.

    Through a set: a pack of a million aliases must load in linear time.
    """
    out: list[str] = []
    seen: set[str] = set()
    overrides: dict[str, str] = {}
    for text, inflect in entries:
        if text not in seen:
            seen.add(text)
            out.append(text)
            if inflect is not None:
                overrides[text] = inflect
    return out, overrides


def parse_group(item: LineDict, line: int, probs: Problems) -> Group | None:
    """A :class:`Group` from one mapping of ``groups:``, or None (problems reported)."""
    model = _validate(GroupItem, item, line, "group", probs)
    if not isinstance(model, GroupItem):
        return (Group(item["id"], tuple(_ids(item, "members")), f"{probs.file}:{line}")
                if _valid_id(item) else None)
    return Group(model.id, tuple(model.members), f"{probs.file}:{line}")


def parse_rule(item: LineDict, line: int, probs: Problems) -> Rule | None:
    """A :class:`Rule` from one mapping of ``rules:``, or None (problems reported)."""
    model = _validate(RuleItem, item, line, "rule", probs)
    if not isinstance(model, RuleItem):
        return (Rule(item["id"], "", *(tuple(_ids(item, k)) for k in ("all", "any", "none")),
                     source=f"{probs.file}:{line}") if _valid_id(item) else None)
    near = tuple(Near(n.a, n.b, n.within) for n in model.near)
    return Rule(model.id, str(model.id if model.title is None else model.title),
                tuple(model.all), tuple(model.any), tuple(model.none), near,
                float(model.title_boost), float(model.threshold), model.severity,
                model.destination, f"{probs.file}:{line}")


def _valid_id(item: LineDict) -> bool:
    """Whether the item's id is well formed (the one pattern the models check it with)."""
    value = item.get("id")
    return isinstance(value, str) and is_id(value)


def _list(item: Any, key: str) -> list[Any]:
    value = item.get(key) if isinstance(item, dict) else None
    return [value] if isinstance(value, str) else value if isinstance(value, list) else []


def _ids(item: Any, key: str) -> list[str]:
    """The strings of a list of references, as written (for checks after a failed validation)."""
    return [v for v in _list(item, key) if isinstance(v, str)]


def _validate(model: type[BaseModel], item: LineDict, line: int, kind: str,
              probs: Problems) -> BaseModel | None:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        seen: set[tuple[str, int | None]] = set()
        for err in exc.errors():
            cause = (err.get("ctx") or {}).get("error")
            loc = (*err["loc"], cause.key) if isinstance(cause, AtKey) else err["loc"]
            problem = (_reason(err, item, kind), line_of(item, loc) or line)
            if problem not in seen:       # a value wrong for two reasons is reported once
                seen.add(problem)
                probs.add(*problem)
        return None


def _reason(err: Any, item: LineDict, kind: str) -> str:
    """The rule writer's wording of one validation error."""
    loc = [p for p in err["loc"] if isinstance(p, str)]
    field = loc[-1] if loc else ""
    parent = next((p for p in loc[:-1] if p in _NESTED_NEEDS), None)
    value = quote(err.get("input"))
    name = f"{kind} {quote(item.get('id'))}"
    if err["type"] == "extra_forbidden":
        return f"unknown {parent or kind} key {quote(field)}"
    if err["type"] == "missing":
        if parent:
            return f"each {quote(parent)} item needs {_NESTED_NEEDS[parent]}"
        return f"{name} needs {'an' if field == 'id' else 'a'} {field}"
    if err["type"] == "value_error" and (not err["loc"] or not isinstance(err["loc"][-1], str)
                                         and field in ("aliases", "not_in", "compose", "")):
        # A problem of a whole item, or of one alias entry: the validator's own words.
        message = str(err["msg"]).removeprefix("Value error, ")
        return f"{message} (in {quote(field)})" if field in ("aliases", "not_in") else message
    if field in _REF_LISTS and err["loc"] and isinstance(err["loc"][-1], int):
        return f"{quote(field)}: {value} is not an entity or group id"
    if parent and field in ("near", "except_near", "a", "b"):
        return f"{quote(parent)}: {field} must be an entity or group id, got {value}"
    if field == "id" and not parent:
        return f"{kind} {MESSAGES['id'].format(v=value)}"
    if field in MESSAGES:
        return MESSAGES[field].format(v=value)
    return f"bad {field} {value}: {err['msg']}"
