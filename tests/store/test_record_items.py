"""A feed's items are recorded in one transaction: all of them, or none after a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import FeedSource
from monitor.models import RawItem
from monitor.store import articles as article_store
from monitor.store.articles import Sighting
from monitor.store.db import open_database
from monitor.store.feeds import sync_feeds


def _item(n: int) -> RawItem:
    return RawItem(f"id-{n}", f"https://example.com/a/{n}", None, f"عنوان {n}", "ملخص", None, None)


def _count(db, table: str) -> int:
    return db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_items_are_recorded_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = open_database(tmp_path / "m.db")
    feed = sync_feeds(db, [FeedSource(name="f", url="https://example.com/feed")], 0.0)["f"]
    items = [_item(n) for n in range(5)]
    real = article_store._find_existing

    def third_fails(conn, item):
        if item.identity == "id-2":
            raise RuntimeError("disk trouble")
        return real(conn, item)

    monkeypatch.setattr(article_store, "_find_existing", third_fails)
    with pytest.raises(RuntimeError):
        article_store.record_items(db, feed.id, items, 1.0, new_limit=100)
    assert _count(db, "articles") == _count(db, "sightings") == 0   # the next poll retries all

    monkeypatch.setattr(article_store, "_find_existing", real)
    got = article_store.record_items(db, feed.id, items + [_item(0)], 2.0, new_limit=100)
    assert got == [Sighting.NEW] * 5 + [Sighting.SEEN]
    assert _count(db, "articles") == 5
    again = article_store.record_items(db, feed.id, [_item(7), _item(8), _item(9)], 3.0,
                                       new_limit=2)
    assert again == [Sighting.NEW, Sighting.NEW]          # stops at the per-poll limit
    assert _count(db, "articles") == 7
