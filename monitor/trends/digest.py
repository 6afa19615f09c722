"""``monitor digest``: what a period brought, from the state database.

Stories (articles grouped by ``story_id``; an article without one is its own story), the entities
named most (from ``mentions``), the surges that started, the counts of articles seen and
alerts sent, and per rule how many of its alerts analysts judged relevant. Printed as text
tables or as one JSON object, and optionally queued as one digest message for the default
destination.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.alert.payload import AlertPayload, DigestItem
from monitor.report import duration, table
from monitor.store import digest as digest_store
from monitor.store import outbox
from monitor.store import surges as surge_store
from monitor.store.db import Database
from monitor.store.judgements import rule_precision
from monitor.store.mentions import mentioned_entities, window_counts

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$", re.IGNORECASE)
_UNIT = {"m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_STORIES = 15
MAX_ENTITIES = 10
_MESSAGE_STORIES = 10      # stories linked in the queued message (a digest holds up to 50)


def parse_span(text: str) -> float:
    """Seconds in "30m", "24h" or "7d". ValueError otherwise."""
    match = _SPAN.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"expected a duration like 30m, 24h or 7d, got {text!r}")
    return float(match.group(1)) * _UNIT[match.group(2).lower()]


@dataclass(frozen=True)
class StoryLine:
    """One story of the period: its first article's title and link, and how widely it ran."""

    story: int                 # story_id, or -article_id for an article without a story
    articles: int
    outlets: int
    title: str
    url: str | None
    outlet: str | None
    alerted: bool
    score: float | None
    first_seen_at: float


@dataclass(frozen=True)
class EntityLine:
    """One entity's mentions in the period."""

    entity: str
    name: str
    mentions: int
    outlets: int
    stories: int


@dataclass(frozen=True)
class SurgeLine:
    """A surge that started in the period."""

    entity: str
    name: str
    started_at: float
    ended_at: float | None
    peak_count: int


@dataclass(frozen=True)
class JudgedLine:
    """A rule's alerts judged in the period (each article once, by its majority label)."""

    rule: str
    judged: int
    relevant: int
    share: float


@dataclass(frozen=True)
class Digest:
    """Everything ``monitor digest`` shows."""

    since: float
    until: float
    articles_seen: int
    alerts_sent: int
    alerts_queued: int
    story_count: int
    stories: list[StoryLine] = field(default_factory=list)
    entities: list[EntityLine] = field(default_factory=list)
    surges: list[SurgeLine] = field(default_factory=list)
    judged: list[JudgedLine] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the ``--json`` output)."""
        return asdict(self)


# --------------------------------------------------------------------------- queries


def build_digest(db: Database, since: float, now: float, entity_names: dict[str, str] | None = None,
                 *, max_stories: int = MAX_STORIES, max_entities: int = MAX_ENTITIES) -> Digest:
    """The digest of ``[since, now]``."""
    names = entity_names or {}
    seen = digest_store.articles_seen(db.conn, since, now)
    sent, queued = digest_store.alert_counts(db.conn, since, now)
    stories, total = _stories(db, since, now, max_stories)
    return Digest(since, now, seen, sent, queued, total, stories,
                  _entities(db, since, now, names, max_entities), _surges(db, since, now, names),
                  _judged(db, since))


def _stories(db: Database, since: float, now: float, limit: int) -> tuple[list[StoryLine], int]:
    """Stories with at least one relevant article (alerted, scored above 0 or naming an entity):
    the period's other news is not what analysts asked for."""
    found, total = digest_store.relevant_stories(db.conn, since, now, limit)
    return [StoryLine(s.story, s.articles, s.outlets, s.title or "(untitled)", s.url, s.outlet,
                      s.alerted, s.score, s.first_seen_at) for s in found], total


def _entities(db: Database, since: float, now: float, names: dict[str, str],
              limit: int) -> list[EntityLine]:
    # Per-entity range aggregates on mentions(entity, at): a few seeks per entity.
    out = []
    for entity in mentioned_entities(db.conn):
        counts = window_counts(db.conn, entity, since, now)
        if counts.articles:
            out.append(EntityLine(entity, names.get(entity, entity), counts.articles,
                                  counts.outlets, counts.stories))
    out.sort(key=lambda e: (-e.mentions, -e.outlets, e.entity))
    return out[:limit]


def _surges(db: Database, since: float, now: float, names: dict[str, str]) -> list[SurgeLine]:
    return [SurgeLine(r.entity, names.get(r.entity, r.entity), r.started_at, r.ended_at,
                      r.peak_count) for r in surge_store.surges_started(db.conn, since, now)]


def _judged(db: Database, since: float) -> list[JudgedLine]:
    return [JudgedLine(r.rule_id, r.judged, r.relevant, round(r.share, 4))
            for r in rule_precision(db, since)]


# --------------------------------------------------------------------------- output


def _at(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def headline(d: Digest) -> str:
    """One line: the period and its counts."""
    return (f"digest {_at(d.since)} → {_at(d.until)} ({duration(d.until - d.since)}): "
            f"articles seen: {d.articles_seen} | alerts sent: {d.alerts_sent} "
            f"(queued {d.alerts_queued}) | stories: {d.story_count} | surges: {len(d.surges)}")


def render_text(d: Digest) -> str:
    """The digest as text tables for the terminal."""
    parts = [headline(d)]
    if d.stories:
        rows = [(n, s.articles, s.outlets, "yes" if s.alerted else "", _clip(s.title, 60),
                 s.url or "-") for n, s in enumerate(d.stories, start=1)]
        more = f"\n… and {d.story_count - len(d.stories)} more" if d.story_count > len(d.stories) \
            else ""
        parts.append("stories\n" + table(["#", "articles", "outlets", "alerted", "title", "link"],
                                         rows) + more)
    else:
        parts.append("stories: none with a match in this period")
    if d.entities:
        parts.append("top entities\n" + table(
            ["entity", "mentions", "outlets", "stories"],
            [(e.name, e.mentions, e.outlets, e.stories) for e in d.entities]))
    if d.surges:
        parts.append("surges\n" + table(
            ["entity", "started", "ended", "peak articles"],
            [(s.name, _at(s.started_at), _at(s.ended_at) if s.ended_at else "ongoing",
              s.peak_count) for s in d.surges]))
    if d.judged:
        parts.append("judged by analysts (✅ share per rule)\n" + table(
            ["rule", "judged", "relevant", "share"],
            [(j.rule, j.judged, j.relevant, f"{j.share:.0%}") for j in d.judged]))
    return "\n\n".join(parts)


def digest_payload(d: Digest, label: str) -> AlertPayload:
    """The digest as one message: counts, entities and surges in the body, stories as items."""
    stories = "1 story" if d.story_count == 1 else f"{d.story_count} stories"
    lines = [f"{_count(d.articles_seen, 'article')} seen, {_count(d.alerts_sent, 'alert')} sent, "
             f"{stories} with a match"]
    if d.entities:
        lines.append("Most named: " + ", ".join(f"{e.name} ({e.mentions})" for e in d.entities))
    for s in d.surges:
        lines.append(f"📈 Surge: {s.name} from {_at(s.started_at)}, peak {s.peak_count} articles"
                     + ("" if s.ended_at else " (ongoing)"))
    if d.judged:
        lines.append("Judged: " + ", ".join(f"{j.rule} {j.relevant}/{j.judged} relevant"
                                            for j in d.judged))
    items = tuple(DigestItem(s.title, s.url, f"{s.outlet or '?'} · "
                             f"{_count(s.articles, 'article')}, {_count(s.outlets, 'outlet')}",
                             "high" if s.alerted else None).as_dict()
                  for s in d.stories[:_MESSAGE_STORIES])
    return AlertPayload(kind="digest", title=f"Digest of the last {label}", body="\n".join(lines),
                        items=items)


def queue_digest(db: Database, d: Digest, label: str, destination: str) -> tuple[int, AlertPayload]:
    """Queue the digest as one outbox row; returns its id and payload. Nothing is woken: the
    daemon or the next ``monitor once`` delivers it."""
    payload = digest_payload(d, label)
    key = f"digest-command:{destination}:{d.since:.0f}-{d.until:.0f}"
    with db.transaction() as conn:
        row_id = (outbox.enqueue(conn, key=key, destination=destination, payload=payload,
                                 now=d.until) or outbox.id_for_key(conn, key))
    assert row_id is not None   # just queued, or queued before under the same key
    return row_id, payload
