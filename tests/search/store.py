"""Articles stored the way the pipeline stores them (record the item, then save its page)."""

from __future__ import annotations

from itertools import count

from monitor.config import FeedSource
from monitor.models import Extracted, ExtractionStatus, RawItem
from monitor.store import articles as article_store
from monitor.store.db import Database
from monitor.store.feeds import sync_feeds

_N = count(1)


def feed_id(db: Database) -> int:
    return sync_feeds(db, [FeedSource(name="f", url="https://example.com/feed")], 0.0)["f"].id


def store_article(db: Database, title: str, text: str | None, *, seen: float = 1000.0,
                  summary: str = "ملخص الخبر", entities: tuple[str, ...] = ()) -> int:
    """Record a feed item and save its extracted page; returns the article id. ``text`` None:
    the item is only recorded (pending, its feed text indexed)."""
    n = next(_N)
    fid = feed_id(db)
    item = RawItem(f"id-{n}", f"https://example.com/a/{n}", None, title, summary, None, None)
    article_store.record_items(db, fid, [item], seen, new_limit=10)
    art = [a for a in article_store.pending_articles(db) if a.url == item.url][0]
    if text is None:
        return art.id
    page = art.with_page(ExtractionStatus.EXTRACTED, Extracted(title, text, None, None, "ar"),
                         None)
    with db.transaction() as conn:
        article_store.save_article(conn, page, now=seen)
        conn.executemany("INSERT INTO mentions(entity, article_id, outlet, at) VALUES (?,?,?,?)",
                         [(e, art.id, "o", seen) for e in entities])
    return art.id


def indexed(db: Database, art_id: int) -> tuple[str, str] | None:
    row = db.conn.execute("SELECT title, body FROM article_search WHERE rowid = ?",
                          (art_id,)).fetchone()
    return (row[0], row[1]) if row else None
