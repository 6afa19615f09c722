"""Resolved links: a Google News item link and the publisher URL it stands for.

:class:`StoredLinkCache` is the store side of the resolver's ``LinkCache`` protocol
(:mod:`monitor.source.google_news`); :func:`prune_links` is for housekeeping.
"""

from __future__ import annotations

from monitor.store.db import Database


class StoredLinkCache:
    """Link → resolved URL in the ``link_cache`` table of the state database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, link: str) -> str | None:
        """The URL ``link`` was resolved to, or None when it never was (or was pruned)."""
        row = self.db.conn.execute("SELECT resolved FROM link_cache WHERE link = ?",
                                   (link,)).fetchone()
        return str(row[0]) if row else None

    def put(self, link: str, resolved: str, now: float) -> None:
        """Remember that ``link`` resolves to ``resolved`` (replacing an older answer)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO link_cache(link, resolved, resolved_at) VALUES (?,?,?) "
                "ON CONFLICT(link) DO UPDATE SET resolved = excluded.resolved, "
                "resolved_at = excluded.resolved_at", (link, resolved, now))


def prune_links(db: Database, older_than: float) -> int:
    """Forget resolutions made before ``older_than``; returns how many were dropped."""
    with db.transaction() as conn:
        return conn.execute("DELETE FROM link_cache WHERE resolved_at < ?",
                            (older_than,)).rowcount
