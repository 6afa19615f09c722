"""What a period brought, as ``monitor digest`` reports it: articles seen, alerts sent and
queued, and the period's stories (articles grouped by ``story_id``; an article without one is
a story of its own, ``-article_id``). Entity counts are in :mod:`monitor.store.mentions`, surges
in :mod:`monitor.store.surges`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodStory:
    """One story of a period, with its first article's title, link and outlet."""

    story: int                 # story_id, or -article_id for an article without a story
    articles: int
    outlets: int
    title: str | None          # the page title, else the feed's
    url: str | None
    outlet: str | None
    alerted: bool
    score: float | None        # the best score of its articles
    first_seen_at: float


def articles_seen(conn: sqlite3.Connection, since: float, until: float) -> int:
    """Articles first seen with ``since <= first_seen_at <= until``."""
    return int(conn.execute("SELECT COUNT(*) FROM articles WHERE first_seen_at >= ? AND "
                            "first_seen_at <= ?", (since, until)).fetchone()[0])


def alert_counts(conn: sqlite3.Connection, since: float, until: float) -> tuple[int, int]:
    """(sent, queued): alert messages sent, and queued, with the time in ``[since, until]``."""
    sent, queued = conn.execute(
        "SELECT SUM(CASE WHEN status = 'sent' AND sent_at >= ? AND sent_at <= ? THEN 1 ELSE 0 "
        "END), SUM(CASE WHEN created_at >= ? AND created_at <= ? THEN 1 ELSE 0 END) "
        "FROM outbox WHERE kind = 'alert'",
        (since, until, since, until)).fetchone()
    return int(sent or 0), int(queued or 0)


def relevant_stories(conn: sqlite3.Connection, since: float, until: float,
                     limit: int) -> tuple[list[PeriodStory], int]:
    """The stories first seen in ``[since, until]`` with at least one relevant article
    (alerted, scored above 0 or naming an entity), alerted ones first, then the widest, the best
    scored and the latest; at most ``limit`` of them, and how many there are in all."""
    # The story's first article (rn = 1) gives its title and link.
    rows = conn.execute(
        "WITH period AS ("
        " SELECT COALESCE(a.story_id, -a.id) AS story, a.first_seen_at, a.alert, a.score,"
        " COALESCE(NULLIF(a.title, ''), a.feed_title) AS title, a.canonical_url,"
        " COALESCE(a.outlet, f.name) AS outlet,"
        " CASE WHEN COALESCE(a.alert, 0) = 1 OR COALESCE(a.score, 0) > 0"
        "  OR EXISTS (SELECT 1 FROM mentions m WHERE m.article_id = a.id) THEN 1 ELSE 0 END"
        "  AS relevant,"
        " ROW_NUMBER() OVER (PARTITION BY COALESCE(a.story_id, -a.id)"
        "  ORDER BY a.first_seen_at, a.id) AS rn"
        " FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id"
        " WHERE a.first_seen_at >= ? AND a.first_seen_at <= ?)"
        " SELECT story, COUNT(*) AS articles, COUNT(DISTINCT outlet) AS outlets,"
        " MAX(COALESCE(alert, 0)) AS alerted, MAX(score) AS score, MIN(first_seen_at) AS first,"
        " MAX(CASE WHEN rn = 1 THEN title END) AS title,"
        " MAX(CASE WHEN rn = 1 THEN canonical_url END) AS url,"
        " MAX(CASE WHEN rn = 1 THEN outlet END) AS first_outlet,"
        " COUNT(*) OVER () AS total"
        " FROM period GROUP BY story HAVING MAX(relevant) = 1"
        " ORDER BY alerted DESC, articles DESC, COALESCE(MAX(score), 0) DESC, first DESC"
        " LIMIT ?", (since, until, limit)).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    return [PeriodStory(r["story"], r["articles"], r["outlets"], r["title"], r["url"],
                        r["first_outlet"], bool(r["alerted"]), r["score"], r["first"])
            for r in rows], total
