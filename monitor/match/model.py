"""Immutable values of the matching stage: entities, groups, rules, hits and results."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Entity", "Group", "Near", "Rule", "RuleSet", "Hit", "RuleResult", "ScoreResult",
           "Compose", "Unless"]


@dataclass(frozen=True, slots=True)
class Compose:
    """A composed concept: a hit of every part within ``within`` tokens of the previous one
    (``ordered``) or of the first (either order). With ``rivals`` (two ordered parts), each hit of
    the second part takes the nearest hit of the first before it, and no hit of the rivals may
    stand between them: a pronoun's antecedent is the nearest possible owner (روسيا … قواتها,
    but not روسيا … تركيا … قواتها)."""

    parts: tuple[str, ...]
    within: int
    ordered: bool = True
    rivals: str | None = None


@dataclass(frozen=True, slots=True)
class Unless:
    """Context exclusion: a hit is dropped when a hit of ``ref`` lies within ``within`` tokens."""

    ref: str
    within: int
    except_near: str | None = None   # …but kept when a hit of this is near too,
    except_within: int = 0           # within this many tokens (0: ``within``)
    side: str = "either"             # where the context stands: before, after or either


@dataclass(frozen=True, slots=True)
class Entity:
    """Something worth naming: a person, unit, place, weapon or term, with its spellings."""

    id: str
    name: str
    type: str
    weight: float
    aliases: tuple[str, ...]
    variants: bool = False          # opt-in variant-tolerant (skeleton) matching
    not_in: tuple[str, ...] = ()    # phrases in which an alias does not mean this entity
    source: str = ""                # "file:line", for messages
    inflect: str = "none"           # inflection class of the aliases (monitor.match.forms)
    alias_inflect: tuple[tuple[str, str], ...] = ()   # per-alias overrides (alias, class)
    compose: tuple[Compose, ...] = ()   # a composed concept: alternatives
    unless: tuple[Unless, ...] = ()     # context exclusions

    def inflect_of(self, alias: str) -> str:
        """The inflection class of one alias (its override, else the entity's)."""
        for text, inflect in self.alias_inflect:
            if text == alias:
                return inflect
        return self.inflect


@dataclass(frozen=True, slots=True)
class Group:
    """A named set of entities (and groups) that rules may refer to as one."""

    id: str
    members: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True, slots=True)
class Near:
    """Proximity condition: some hit of ``a`` within ``within`` tokens of some hit of ``b``."""

    a: str
    b: str
    within: int


@dataclass(frozen=True, slots=True)
class Rule:
    """An alert rule: conditions on entities/groups, a threshold and where alerts go."""

    id: str
    title: str
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    near: tuple[Near, ...] = ()
    title_boost: float = 0.5
    threshold: float = 1.0
    severity: str = "medium"
    destination: str = "default"
    source: str = ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Everything loaded from the rule files. Immutable; ``fingerprint`` hashes the content."""

    entities: tuple[Entity, ...]
    groups: tuple[Group, ...]
    rules: tuple[Rule, ...]
    fingerprint: str

    def entity(self, entity_id: str) -> Entity:
        """The entity with this id (KeyError when unknown)."""
        for e in self.entities:
            if e.id == entity_id:
                return e
        raise KeyError(entity_id)

    def expand(self, ref: str) -> frozenset[str]:
        """Entity ids behind an entity or group id (groups may nest; cycles are rejected at load)."""
        groups = {g.id: g for g in self.groups}
        out: set[str] = set()
        stack = [ref]
        while stack:
            cur = stack.pop()
            if cur in groups:
                stack.extend(groups[cur].members)
            else:
                out.add(cur)
        return frozenset(out)

    def summary(self) -> dict[str, int]:
        """Counts for ``monitor rules check``."""
        return {
            "entities": len(self.entities),
            "aliases": sum(len(e.aliases) for e in self.entities),
            "groups": len(self.groups),
            "rules": len(self.rules),
        }

    def entity_names(self) -> dict[str, str]:
        """Entity id → display name."""
        return {e.id: e.name for e in self.entities}

    def entity_types(self) -> dict[str, int]:
        """How many entities of each type."""
        return dict(Counter(e.type for e in self.entities))


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of an entity alias; ``start``/``end`` index the ORIGINAL field text."""

    entity: str
    alias: str
    match: str
    field: str
    start: int
    end: int
    token: int = 0          # index of the first token in the field (for proximity)
    variant: bool = False   # found by variant-tolerant matching only
    last: int = -1          # index of the last token (-1: same as ``token``)
    inflected: bool = False  # a suffix was read off (قواتها = قوات + ها)
    parts: tuple[Hit, ...] = ()   # a composed concept's part hits

    @property
    def last_token(self) -> int:
        """Index of the hit's last token."""
        return self.token if self.last < 0 else self.last

    def to_json(self) -> dict[str, Any]:
        """The JSONL contract shape of a hit."""
        return {"entity": self.entity, "alias": self.alias, "match": self.match,
                "field": self.field, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class RuleResult:
    """How one rule scored a document; ``missing`` says which condition failed, if any."""

    id: str
    title: str
    score: float
    threshold: float
    alert: bool
    severity: str
    destination: str
    entities: tuple[str, ...]
    missing: tuple[str, ...] = ()
    raw_score: float = 0.0


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The verdict on one document: best rule score, alert flag, per-rule results and hits."""

    score: float
    alert: bool
    rules: list[RuleResult] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    suppressed: list[tuple[Hit, str]] = field(default_factory=list)   # (hit, reason)

    @property
    def alerting_rules(self) -> list[RuleResult]:
        """The rules that fired."""
        return [r for r in self.rules if r.alert]

    def to_json(self, id: Any) -> dict[str, Any]:  # noqa: A002 - the contract names it "id"
        """The stable JSONL contract: id, score, alert, rules[], hits[]."""
        return {
            "id": id,
            "score": round(self.score, 4),
            "alert": self.alert,
            "rules": [{"id": r.id, "score": round(r.score, 4), "threshold": r.threshold,
                       "alert": r.alert} for r in self.rules],
            "hits": [h.to_json() for h in self.hits],
        }
