"""Synthetic timelines: articles and mentions written straight into a real state database (the
pipeline fills these tables in production; here each test says exactly what happened when)."""

from __future__ import annotations

import itertools
from pathlib import Path

from monitor.store.db import Database, open_database

DAY = 86400.0
HOUR = 3600.0
T0 = 1_000 * DAY          # an arbitrary "now" far from the epoch


class Timeline:
    """Adds articles (one per call) with their entity mentions."""

    def __init__(self, path: Path) -> None:
        self.db: Database = open_database(path)
        self._ids = itertools.count(1)
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('feed', "
                         "'https://feed.example/rss', 0)")

    def article(self, at: float, outlet: str, *entities: str, story: int | None = None,
                score: float = 1.0, alert: bool = False, title: str | None = None) -> int:
        """One article first seen at ``at`` from ``outlet``, mentioning ``entities``."""
        n = next(self._ids)
        with self.db.transaction() as conn:
            article_id = int(conn.execute(
                "INSERT INTO articles(identity, canonical_url, feed_id, title, first_seen_at, "
                "outlet, story_id, score, alert, extraction_status) "
                "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, 'done') RETURNING id",
                (f"id-{n}", f"https://{outlet}.example/a/{n}", title or f"Article {n}", at, outlet,
                 story, score, int(alert))).fetchone()[0])
            conn.executemany("INSERT INTO mentions(entity, article_id, outlet, at) VALUES (?,?,?,?)",
                             [(e, article_id, outlet, at) for e in entities])
        return article_id

    def burst(self, end: float, entity: str, articles: int, outlets: int,
              span: float = 2 * HOUR, story: int | None = None) -> list[int]:
        """``articles`` articles spread over ``span`` before ``end``, cycling through ``outlets``;
        scores rise with each article so the last one is the best."""
        step = span / max(articles, 1)
        return [self.article(end - span + (i + 0.5) * step, f"outlet{i % outlets}", entity,
                             story=story, score=float(i + 1))
                for i in range(articles)]

    def outbox(self) -> list[tuple[str, str, str]]:
        """(idempotency key, destination, kind) of every queued row."""
        return [tuple(r) for r in self.db.conn.execute(
            "SELECT idempotency_key, destination, kind FROM outbox ORDER BY id")]

    def surges(self) -> list[dict[str, object]]:
        """The surges table."""
        return [dict(r) for r in self.db.conn.execute("SELECT * FROM surges ORDER BY id")]
