"""From a match to alert payloads: one per destination, the strongest firing rule's view.

Used by :func:`monitor.alert.plan.plan_alerts`; the plan is saved in the transaction that
stores the article's score, so the alert and the match are recorded together or not at all.
"""

from __future__ import annotations

from typing import Any

from monitor.alert.payload import AlertPayload, Snippet
from monitor.models import Article

SNIPPET_RADIUS = 140


def build_alerts(article: Article, result: Any, entity_names: dict[str, str],
                 default_destination: str = "default") -> list[tuple[str, AlertPayload]]:
    """(destination, payload) for each destination whose rules fired, best rule first."""
    best: dict[str, Any] = {}
    for rule in sorted(result.alerting_rules, key=lambda r: -r.score):
        best.setdefault(rule.destination or default_destination, rule)
    out = []
    for destination, rule in best.items():
        wanted = set(rule.entities)
        hits = [h for h in result.hits if h.entity in wanted] or list(result.hits)
        names = tuple(dict.fromkeys(entity_names.get(h.entity, h.entity) for h in hits))
        out.append((destination, AlertPayload(
            kind="alert", title=article.title, url=article.url, outlet=article.outlet,
            published_at=article.published_at, rule_id=rule.id, rule_title=rule.title,
            severity=rule.severity, score=round(rule.score, 2), threshold=rule.threshold,
            entities=names, snippets=snippets(article.text, hits), article_id=article.id)))
    return out


def snippets(text: str, hits: list[Any], limit: int = 2) -> tuple[Snippet, ...]:
    """Up to ``limit`` excerpts around hits of distinct entities, matched words marked."""
    body_hits = sorted((h for h in hits if h.field == "text"), key=lambda h: h.start)
    chosen: list[tuple[int, int]] = []
    seen_entities: set[str] = set()
    for hit in body_hits:
        if hit.entity in seen_entities:
            continue
        lo, hi = _window(text, hit.start, hit.end)
        if any(lo < b and a < hi for a, b in chosen):
            continue   # overlapping excerpts would quote the same words twice
        seen_entities.add(hit.entity)
        chosen.append((lo, hi))
        if len(chosen) == limit:
            break
    out = []
    for start, end in sorted(chosen):
        marks = tuple((h.start - start, h.end - start) for h in body_hits
                      if h.start >= start and h.end <= end)
        out.append(Snippet(text[start:end], _disjoint(marks)))
    return tuple(out)


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    """A window around [start, end) that stays in its paragraph and does not cut words."""
    para_lo = text.rfind("\n", 0, start) + 1
    para_hi = text.find("\n", end)
    para_hi = len(text) if para_hi == -1 else para_hi
    lo, hi = max(para_lo, start - SNIPPET_RADIUS), min(para_hi, end + SNIPPET_RADIUS)
    if lo > para_lo:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < para_hi:
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return lo, hi


def _disjoint(marks: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(marks):
        if out and a < out[-1][1]:
            continue
        out.append((a, b))
    return tuple(out)
