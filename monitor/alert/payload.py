"""The alert record stored in the outbox: everything needed to render a message later.

Stored as JSON so a message can be re-rendered (plain-text fallback, digest, edit) after a
restart without the article or the rules that produced it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["alert", "digest", "test", "notice", "update", "tally"]


@dataclass(frozen=True)
class Snippet:
    """A short excerpt of the article, in its original spelling; ``marks`` are [start, end)
    spans inside ``text`` to show in bold (the matched words)."""

    text: str
    marks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class DigestItem:
    """One entry of a digest: a linked headline with its outlet, severity and rule."""

    title: str
    url: str | None = None
    outlet: str | None = None
    severity: str | None = None
    rule_title: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry as stored in a payload's ``items`` (plain JSON)."""
        return asdict(self)


@dataclass(frozen=True)
class AlertPayload:
    """One message to send. ``kind`` selects the layout."""

    kind: Kind
    title: str
    url: str | None = None
    outlet: str | None = None
    published_at: float | None = None      # unix time; shown in the configured time zone
    rule_id: str | None = None
    rule_title: str | None = None
    severity: str | None = None             # low | medium | high | critical
    score: float | None = None
    threshold: float | None = None
    entities: tuple[str, ...] = ()          # display names, become hashtags
    snippets: tuple[Snippet, ...] = ()
    article_id: int | None = None
    body: str | None = None                 # free text (test, notice, digest lines)
    items: tuple[dict[str, Any], ...] = field(default_factory=tuple)  # digest entries
    also: tuple[str, ...] = ()              # other outlets that reported the same story
    target_id: int | None = None            # "update", "tally": the outbox row of the alert
    replied: int = 0                        # outlets already announced in threaded replies

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AlertPayload:
        data = json.loads(text)
        data["entities"] = tuple(data.get("entities") or ())
        data["snippets"] = tuple(Snippet(s["text"], tuple(tuple(m) for m in s.get("marks", ())))
                                 for s in data.get("snippets") or ())
        data["items"] = tuple(data.get("items") or ())
        data["also"] = tuple(data.get("also") or ())
        return cls(**data)
