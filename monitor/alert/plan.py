"""What an article's match means for the outbox: new alerts, edits of queued ones, updates.

Pure: given the article, its score, where it was placed and the alerts its story already has,
:func:`plan_alerts` decides; the store writes the plan in the transaction that saves the article.

* An article whose rules fired gets one alert per destination, unless its story already alerted
  that destination.
* An article that joins a story which alerted already, from an outlet not counted yet and not an
  exact copy, adds "also reported by": to the alert itself while it waits in the outbox (its
  payload is edited), as an update message once it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from monitor.alert.build import build_alerts
from monitor.alert.payload import AlertPayload
from monitor.dedupe.stories import StoryMatch
from monitor.models import Article

__all__ = ["AlertPlan", "StoryAlert", "plan_alerts"]


@dataclass(frozen=True)
class StoryAlert:
    """An alert already queued for another article of the same story."""

    id: int
    destination: str
    status: str
    payload: AlertPayload | None


@dataclass(frozen=True)
class AlertPlan:
    """The outbox rows an article adds or changes."""

    alerts: tuple[tuple[str, AlertPayload], ...] = ()      # (destination, payload): new alerts
    edits: tuple[tuple[int, AlertPayload], ...] = ()       # (outbox id, new payload)
    updates: tuple[tuple[int, str, AlertPayload], ...] = ()  # (target id, destination, payload)


def plan_alerts(article: Article, score: Any, entity_names: dict[str, str],
                default_destination: str, match: StoryMatch | None = None,
                story_alerts: list[StoryAlert] | None = None,
                earlier_outlets: list[str] | None = None) -> AlertPlan:
    """The plan for one article. ``story_alerts`` and ``earlier_outlets`` describe the story it
    joined (``match``) before this article: its alerts, and its outlets in order of first report."""
    alerts = (build_alerts(article, score, entity_names, default_destination)
              if score is not None and score.alert else [])
    if match is None or not match.joined:
        return AlertPlan(tuple(alerts))
    earlier = story_alerts or []
    outlets = earlier_outlets or []
    edits: list[tuple[int, AlertPayload]] = []
    updates: list[tuple[int, str, AlertPayload]] = []
    # Exact copies and outlets already counted add nothing the analysts have not seen.
    if not match.exact and article.outlet not in outlets:
        everyone = [*outlets, article.outlet]
        for row in earlier:
            if row.status == "pending" and row.payload is not None:
                also = tuple(o for o in everyone if o != row.payload.outlet)
                edits.append((row.id, replace(row.payload, also=also)))
            elif row.status in ("sending", "sent"):
                updates.append((row.id, row.destination, AlertPayload(
                    kind="update", title=article.title, url=article.url, outlet=article.outlet,
                    article_id=article.id, target_id=row.id)))
    done = {row.destination for row in earlier}
    return AlertPlan(tuple((d, p) for d, p in alerts if d not in done), tuple(edits),
                     tuple(updates))
