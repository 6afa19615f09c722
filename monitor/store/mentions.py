"""Entity mentions over time: the range aggregates surge detection and digests are built on.

Only the indexed ``mentions(entity, at)`` is read per entity (range aggregates), and the list of
entities comes from a loose index scan, so a check costs a few index seeks per entity, not a scan
of the table. An article without a story (old rows, not yet clustered) counts as a story of its
own: its story is ``-article_id``, which cannot collide with a story id.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowCounts:
    """Mentions of one entity in a time range."""

    articles: int
    outlets: int
    stories: int


@dataclass(frozen=True)
class MentioningArticle:
    """An article that mentions an entity, as a message links it."""

    id: int
    story: int             # story_id, or -id for an article without a story
    title: str | None      # the page title, else the feed's
    url: str | None
    outlet: str | None     # the mention's outlet, else the article's, else its feed's name
    alerted: bool


def mentioned_entities(conn: sqlite3.Connection) -> list[str]:
    """Every entity in ``mentions``, by a loose index scan (one seek per entity, not a table scan)."""
    rows = conn.execute(
        "WITH RECURSIVE e(name) AS ("
        " SELECT MIN(entity) FROM mentions"
        " UNION ALL"
        " SELECT (SELECT MIN(entity) FROM mentions WHERE entity > e.name) FROM e"
        " WHERE e.name IS NOT NULL)"
        " SELECT name FROM e WHERE name IS NOT NULL").fetchall()
    return [r[0] for r in rows]


def window_counts(conn: sqlite3.Connection, entity: str, start: float, end: float) -> WindowCounts:
    """Distinct articles, outlets and stories mentioning ``entity`` with ``start <= at <= end``."""
    row = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT COALESCE(m.outlet, a.outlet)), "
        "COUNT(DISTINCT COALESCE(a.story_id, -m.article_id)) "
        "FROM mentions m JOIN articles a ON a.id = m.article_id "
        "WHERE m.entity = ? AND m.at >= ? AND m.at <= ?", (entity, start, end)).fetchone()
    return WindowCounts(int(row[0]), int(row[1]), int(row[2]))


def mention_count(conn: sqlite3.Connection, entity: str, start: float, end: float) -> int:
    """Mentions of ``entity`` with ``start <= at < end`` (the baseline; index-only)."""
    return int(conn.execute("SELECT COUNT(*) FROM mentions WHERE entity = ? AND at >= ? AND at < ?",
                            (entity, start, end)).fetchone()[0])


def earliest_mention(conn: sqlite3.Connection) -> float | None:
    """When the oldest stored mention was recorded, None when there is none."""
    row = conn.execute("SELECT MIN(at) FROM mentions").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def top_story_articles(conn: sqlite3.Connection, entity: str, start: float, end: float,
                       limit: int) -> list[MentioningArticle]:
    """The best-scored article of each story mentioning ``entity`` with ``start <= at <= end``,
    highest score first (then the latest mention, then the newest article); at most ``limit``."""
    if limit <= 0:
        return []
    rows = conn.execute(
        "SELECT a.id, COALESCE(a.story_id, -a.id) AS story, "
        "COALESCE(NULLIF(a.title, ''), a.feed_title) AS title, a.canonical_url, "
        "COALESCE(m.outlet, a.outlet, f.name) AS outlet, a.alert "
        "FROM mentions m JOIN articles a ON a.id = m.article_id "
        "LEFT JOIN feeds f ON f.id = a.feed_id "
        "WHERE m.entity = ? AND m.at >= ? AND m.at <= ? "
        "ORDER BY COALESCE(a.score, 0) DESC, m.at DESC, a.id DESC", (entity, start, end))
    found: list[MentioningArticle] = []
    seen: set[int] = set()
    for r in rows:   # streamed: stops reading once ``limit`` stories are found
        if r[1] in seen:
            continue
        seen.add(r[1])
        found.append(MentioningArticle(r[0], r[1], r[2], r[3], r[4], bool(r[5])))
        if len(found) >= limit:
            break
    return found


def article_entities(conn: sqlite3.Connection, article_id: int) -> list[str]:
    """The entities an article mentions (index ``mentions_article``)."""
    return [r[0] for r in conn.execute("SELECT entity FROM mentions WHERE article_id = ? "
                                       "ORDER BY entity", (article_id,))]
