"""The items of a rule file as pydantic models: what each key may hold, checked in one place.

A validation error is turned into a problem with the file and line of the offending value by the
parse functions of :mod:`monitor.match.rule_items` (through :func:`monitor.yamlfile.line_of`, the
helper the configuration uses too). Messages say what was wrong in the rule writer's terms; the
models raise them from their validators, and :data:`MESSAGES` words the type errors of a key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from monitor.match.forms import INFLECTIONS
from monitor.match.tokens import tokenize
from monitor.normalize import normalize_text

__all__ = ["SEVERITIES", "MESSAGES", "AtKey", "EntityItem", "GroupItem", "RuleItem", "is_id",
           "quote"]

SEVERITIES = ("low", "medium", "high", "critical")
MAX_WEIGHT = 10.0
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def quote(value: Any, limit: int = 80) -> str:
    """``repr`` of a value quoted in a message, cut short: a hostile file must not make the
    message (or the memory behind it) huge."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


class AtKey(ValueError):
    """A problem of the whole item that is best shown at the line of one of its keys."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def is_id(value: str) -> bool:
    """Whether ``value`` is an id: lowercase letters, digits and _, starting with a letter."""
    return _ID.match(value) is not None


def _ident(value: str) -> str:
    if not is_id(value):
        raise ValueError(f"{quote(value)} is not an id of lowercase letters, digits and _")
    return value


def _alias(value: Any) -> tuple[str, str | None]:
    """One alias entry: text (or a number written without quotes: 1941, 29), or
    ``{alias: TEXT, inflect: CLASS}``; returned as (text, class override)."""
    inflect = None
    if isinstance(value, dict) and set(value) <= {"alias", "inflect"}:
        inflect = value.get("inflect", "none")
        if inflect not in INFLECTIONS:
            raise ValueError(f"bad inflect {quote(inflect)}: one of {', '.join(INFLECTIONS)}")
        value = value.get("alias")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"empty or non-text entry: {quote(value)}")
    if not tokenize(normalize_text(value)):
        raise ValueError(f"empty alias {quote(value)}: no letters or digits after normalisation")
    return value, inflect


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value   # one string is a list of one


Id = Annotated[StrictStr, AfterValidator(_ident)]
Alias = Annotated[Any, AfterValidator(_alias)]
Aliases = Annotated[list[Alias], BeforeValidator(_listed)]
Ids = Annotated[list[Id], BeforeValidator(_listed)]
Tokens = Annotated[StrictInt, Field(ge=1)]
Inflect = Literal[INFLECTIONS]  # type: ignore[valid-type]
Number = float   # strict: an int is accepted, a bool or a string is not


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ComposeItem(_Item):
    """One way to compose a concept: its parts within ``within`` tokens."""

    parts: Annotated[list[Id], Field(min_length=2)]
    within: Tokens
    ordered: StrictBool = True
    rivals: Id | None = None

    @model_validator(mode="after")
    def _rivals_need_two_ordered_parts(self) -> ComposeItem:
        if self.rivals is not None and (len(self.parts) != 2 or not self.ordered):
            raise ValueError("'rivals' needs exactly two ordered parts: an owner, then what it "
                             "owns")
        return self


class UnlessItem(_Item):
    """A context exclusion: drop the hit when ``near`` is within ``within`` tokens."""

    near: Id
    within: Tokens
    except_near: Id | None = None
    except_within: Annotated[StrictInt, Field(ge=0)] = 0
    side: Literal["before", "after", "either"] = "either"


class EntityItem(_Item):
    """An entity: aliases or a composition, inflection, exclusions."""

    id: Id
    name: Any = None
    type: Annotated[StrictStr, Field(pattern=r"\S")] = "term"
    weight: Annotated[Number, Field(gt=0, le=MAX_WEIGHT)] = 1.0
    aliases: Aliases = []
    variants: StrictBool = False
    not_in: Aliases = []
    inflect: Inflect = "none"
    compose: Annotated[list[ComposeItem], Field(min_length=1)] | None = None
    unless: list[UnlessItem] = []

    @model_validator(mode="after")
    def _aliases_or_compose(self) -> EntityItem:
        if not self.aliases and not self.compose:
            raise AtKey("aliases", f"entity {quote(self.id)} has no aliases (and is not composed)")
        if self.aliases and self.compose:
            raise AtKey("compose", f"entity {quote(self.id)}: give either aliases or compose, "
                                   "not both")
        return self


class GroupItem(_Item):
    """A named set of entities and groups."""

    id: Id
    members: Annotated[Ids, Field(min_length=1)]


class NearItem(_Item):
    """Some hit of ``a`` within ``within`` tokens of some hit of ``b``."""

    a: Id
    b: Id
    within: Tokens


class RuleItem(_Item):
    """An alert rule."""

    id: Id
    title: Any = None
    all: Ids = []
    any: Ids = []
    none: Ids = []
    near: list[NearItem] = []
    title_boost: Annotated[Number, Field(ge=0, le=10)] = 0.5
    threshold: Annotated[Number, Field(gt=0, le=1000)]
    severity: Literal[SEVERITIES] = "medium"  # type: ignore[valid-type]
    destination: Annotated[StrictStr, Field(pattern=r"\S")] = "default"

    @model_validator(mode="after")
    def _needs_a_condition(self) -> RuleItem:
        if not self.all and not self.any and not self.near:
            raise ValueError(f"rule {quote(self.id)} needs at least one of all, any, near")
        return self


#: How a type or range error of a key is worded (``{v}``: the offending value, quoted).
MESSAGES = {
    "id": "needs an id of lowercase letters, digits and _ (got {v})",
    "weight": f"bad weight {{v}}: must be a number > 0 and <= {MAX_WEIGHT:g}",
    "threshold": "bad threshold {v}: must be a number > 0 and <= 1000",
    "title_boost": "bad title_boost {v}: a number from 0 to 10",
    "within": "bad within {v}: a positive whole number of tokens",
    "except_within": "bad except_within {v}: a whole number of tokens",
    "severity": f"bad severity {{v}}: one of {', '.join(SEVERITIES)}",
    "inflect": f"bad inflect {{v}}: one of {', '.join(INFLECTIONS)}",
    "destination": "bad destination {v}: a non-empty name",
    "type": "bad entity type {v}",
    "variants": "'variants' must be true or false, got {v}",
    "ordered": "'ordered' must be true or false, got {v}",
    "parts": "'compose' parts must be a list of two or more entity or group ids",
    "rivals": "'rivals' must be one entity or group id, got {v}",
    "compose": "'compose' must be a list of {{parts: [A, B, ...], within: N, ordered: BOOL, "
               "rivals: ID}}",
    "unless": "'unless' must be a list of {{near: ID, within: N}}",
    "near": "each 'near' item needs exactly a, b and within",
    "members": "a group needs a list of members",
}
