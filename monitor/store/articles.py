"""Article rows and sightings: recording new items exactly once, extraction and score results."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from monitor.alert.payload import AlertPayload
from monitor.alert.plan import AlertPlan, StoryAlert
from monitor.dedupe.stories import Placement
from monitor.errors import StoreError
from monitor.models import Article, ExtractionStatus, RawItem
from monitor.parse.dates import sane_timestamp
from monitor.parse.identity import reusing
from monitor.store import outbox
from monitor.store import stories as story_store
from monitor.store.db import Database
from monitor.store.search import index_articles


class Sighting(StrEnum):
    """What recording an item found."""

    NEW = "new"              # first time anywhere: an article row was created (status pending)
    DUPLICATE = "duplicate"  # same article already known from another feed or another guid
    SEEN = "seen"            # this feed already delivered this item
    EDITED = "edited"        # a post seen before whose text was edited: its text is replaced


def record_items(db: Database, feed_id: int, items: Iterable[RawItem], now: float,
                 new_limit: int) -> list[Sighting]:
    """Record a feed's items in one transaction, stopping after ``new_limit`` new ones.

    One transaction for the whole feed, not one per item: the pages the items share (the
    articles and sightings tables and their indexes) are written once. All or nothing is safe
    here: the feed's poll is only recorded as done after its items are processed, so a crash
    before this commit means the next poll sees the same items again.
    """
    out: list[Sighting] = []
    new = 0
    with db.transaction() as conn:
        for item in items:
            sighting = _record(conn, feed_id, item, now)
            out.append(sighting)
            if sighting is Sighting.NEW:
                new += 1
                if new >= new_limit:
                    break
    return out


def _record(conn: sqlite3.Connection, feed_id: int, item: RawItem, now: float) -> Sighting:
    """Record one item: seen before in this feed, a duplicate of a known article, or new."""
    seen = _sighted(conn, feed_id, item.identity)
    if seen is not None:
        other = _reused(item, seen)
        if other is None:
            return _edited(conn, seen, item)
        # The feed reuses this identity for a different item: give the item its own.
        item = other
        if _sighted(conn, feed_id, item.identity) is not None:
            return Sighting.SEEN
    if item.base_identity:
        # Made unique because a namesake appeared beside it: it may be the item seen under
        # the plain identity before.
        before = _sighted(conn, feed_id, item.base_identity)
        if before is not None and _reused(item, before) is None:
            _add_sighting(conn, feed_id, item.identity, before["article_id"], now)
            return Sighting.SEEN
    existing = _find_existing(conn, item)
    if existing is not None:
        _add_sighting(conn, feed_id, item.identity, existing, now)
        return Sighting.DUPLICATE
    # ON CONFLICT: another replica may record the same article at the same moment; the unique
    # keys decide which row is the article, and this sighting joins it.
    row = conn.execute(
        "INSERT INTO articles(identity, canonical_url, feed_id, guid, feed_title, feed_summary, "
        "title, author, published_at, first_seen_at, source_outlet, page_url, content_key, "
        "own_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
        (item.identity, item.url, feed_id, item.guid, item.title, item.summary, item.title,
         item.author, item.published.timestamp() if item.published else None, now,
         item.outlet, item.page_url, item.key or None, int(item.own_text))).fetchone()
    if row is None:
        existing = _find_existing(conn, item)
        if existing is None:
            raise StoreError(f"article {item.identity!r} conflicts with a stored one that "
                             "cannot be found")
        _add_sighting(conn, feed_id, item.identity, existing, now)
        return Sighting.DUPLICATE
    _add_sighting(conn, feed_id, item.identity, int(row[0]), now)
    index_articles(conn, [int(row[0])])     # searchable by its feed text already
    return Sighting.NEW


def _edited(conn: sqlite3.Connection, seen: sqlite3.Row, item: RawItem) -> Sighting:
    """SEEN, or EDITED when the source marks the item edited and its content changed.

    Only an item the source itself marks edited (a Telegram post) counts: feeds rewrite titles
    and summaries all the time, and those rewrites are the same article. The edited text
    replaces the stored one; an article that has not alerted is scored again on it (pending),
    one that has alerted keeps its alert, so an edit never alerts twice.
    """
    if "edited" not in item.tags or not item.key or item.key == seen["content_key"]:
        return Sighting.SEEN
    conn.execute(
        "UPDATE articles SET feed_title = ?, feed_summary = ?, content_key = ?, "
        "page_url = COALESCE(?, page_url), extraction_status = CASE WHEN COALESCE(alert, 0) = 0 "
        "THEN 'pending' ELSE extraction_status END WHERE id = ?",
        (item.title, item.summary, item.key, item.page_url, seen["article_id"]))
    index_articles(conn, [seen["article_id"]])
    return Sighting.EDITED


def _sighted(conn: sqlite3.Connection, feed_id: int, identity: str) -> sqlite3.Row | None:
    """The article this feed delivered under ``identity``, with what tells items apart."""
    return conn.execute(
        "SELECT s.article_id, a.feed_title, a.canonical_url, a.source_link, a.content_key "
        "FROM sightings s JOIN articles a ON a.id = s.article_id "
        "WHERE s.feed_id = ? AND s.identity = ?", (feed_id, identity)).fetchone()


def _reused(item: RawItem, seen: sqlite3.Row) -> RawItem | None:
    """:func:`reusing` against both links of the stored article: a resolved Google News
    article's ``canonical_url`` is the publisher's, while its feed keeps giving the Google link
    (``source_link``); a headline Google rewrote must not make that item look like another."""
    other = reusing(item, seen["feed_title"], seen["canonical_url"])
    if other is not None and seen["source_link"]:
        other = reusing(item, seen["feed_title"], seen["source_link"])
    return other


def _find_existing(conn: sqlite3.Connection, item: RawItem) -> int | None:
    row = conn.execute("SELECT id FROM articles WHERE identity = ?", (item.identity,)).fetchone()
    if row is None and item.url:
        row = conn.execute("SELECT id FROM articles WHERE canonical_url = ?", (item.url,)).fetchone()
    return int(row["id"]) if row else None


def _add_sighting(conn: sqlite3.Connection, feed_id: int, identity: str, article_id: int,
                  now: float) -> None:
    conn.execute("INSERT INTO sightings(feed_id, identity, article_id, seen_at) VALUES (?,?,?,?)",
                 (feed_id, identity, article_id, now))


def pending_articles(db: Database, feed_id: int | None = None, limit: int = 1000,
                     after_id: int = 0) -> list[Article]:
    """Articles recorded but not yet extracted (new ones, or left over by a crash or a poll's
    budget), oldest first, from the one after ``after_id`` on."""
    sql = ("SELECT a.id, a.canonical_url, a.feed_title, a.feed_summary, f.name, a.published_at, "
           "a.first_seen_at, a.source_outlet, a.page_url, a.own_text FROM articles a "
           "JOIN feeds f ON f.id = a.feed_id WHERE a.extraction_status = 'pending' AND a.id > ?")
    args: tuple[Any, ...] = (after_id,)
    if feed_id is not None:
        sql += " AND a.feed_id = ?"
        args = (after_id, feed_id)
    rows = db.conn.execute(sql + " ORDER BY a.id LIMIT ?", (*args, limit)).fetchall()
    return [Article(r["id"], r["canonical_url"], r["feed_title"], r["feed_summary"], r["name"],
                    r["published_at"], r["first_seen_at"], source_outlet=r["source_outlet"],
                    page_url=r["page_url"], own_text=bool(r["own_text"])) for r in rows]


def article_with_url(db: Database, url: str, exclude: int) -> int | None:
    """The id of the article stored under ``url``, other than ``exclude``; None when none is."""
    row = db.conn.execute("SELECT id FROM articles WHERE canonical_url = ? AND id != ?",
                          (url, exclude)).fetchone()
    return int(row["id"]) if row else None


def mark_duplicate(db: Database, article_id: int, *, of: int, url: str, source_link: str | None,
                   now: float) -> None:
    """An article whose resolved link is article ``of``'s: done, never scored or alerted."""
    db.conn.execute(
        "UPDATE articles SET extraction_status = ?, extraction_error = ?, "
        "source_link = COALESCE(?, source_link), fetched_at = ? WHERE id = ?",
        (ExtractionStatus.DUPLICATE.value, f"same article as #{of} ({url})", source_link, now,
         article_id))


def count_pending(db: Database, feed_id: int) -> int:
    """How many of a feed's articles still wait for their page."""
    return int(db.conn.execute("SELECT COUNT(*) FROM articles WHERE feed_id = ? AND "
                               "extraction_status = 'pending'", (feed_id,)).fetchone()[0])


def save_article(conn: sqlite3.Connection, article: Article, *, now: float, score: Any = None,
                 placement: Placement | None = None, entities: tuple[str, ...] = (),
                 plan: AlertPlan | None = None) -> int:
    """Write what the stages decided about one article, in the caller's transaction (so a match
    is never recorded without its alerts): its text, score, story, mentions and the alert plan.
    Returns how many alerts were newly queued."""
    e = article.extracted
    conn.execute(
        "UPDATE articles SET title = COALESCE(?, title), text = ?, author = COALESCE(?, author), "
        "language = ?, fetched_at = ?, extraction_status = ?, extraction_error = ?, "
        "published_at = COALESCE(published_at, ?) WHERE id = ?",
        # The title Article.with_page chose, the one scored and alerted: a post's own first
        # line before its linked page's headline, an edited post's new one.
        (article.title or None, article.text, e.author if e else None,
         e.language if e else None, now, article.status.value, article.error,
         article.published_at, article.id))
    index_articles(conn, [article.id])
    if article.source_link:
        # The publisher's URL becomes the article's, unless another article took it meanwhile
        # (its story placement then groups the two as copies).
        conn.execute("UPDATE articles SET canonical_url = ?, source_link = ? WHERE id = ? AND "
                     "NOT EXISTS (SELECT 1 FROM articles WHERE canonical_url = ? AND id != ?)",
                     (article.url, article.source_link, article.id, article.url, article.id))
    if score is not None:
        _store_score(conn, article.id, score, now)
    if placement is not None:
        story_store.save_placement(
            conn, article.id, story_id=placement.match.story_id, signature=placement.signature,
            shingles=placement.shingles, text_hash=placement.text_hash,
            band_keys=placement.band_keys)
        conn.execute("UPDATE articles SET outlet = ? WHERE id = ?", (article.outlet, article.id))
        conn.executemany("INSERT INTO mentions(entity, article_id, outlet, at) "
                         "VALUES (?,?,?,?) ON CONFLICT DO NOTHING", [(x, article.id, article.outlet, now)
                                              for x in dict.fromkeys(entities)])
    plan = plan or AlertPlan()
    for row_id, payload in plan.edits:
        conn.execute("UPDATE outbox SET payload_json = ? WHERE id = ?",
                     (payload.to_json(), row_id))
    for target, destination, payload in plan.updates:
        outbox.enqueue(conn, key=f"update:{target}:{article.id}", destination=destination,
                       payload=payload, now=now)
    queued = 0
    for destination, payload in plan.alerts:
        # One alert per article and destination, whatever happens later (idempotency key).
        queued += outbox.enqueue(conn, key=f"article:{article.id}:{destination}",
                                 destination=destination, payload=payload, now=now) is not None
    return queued


def story_alerts(conn: sqlite3.Connection, story_id: int, exclude: int) -> list[StoryAlert]:
    """The alerts queued for the other articles of a story (any status)."""
    rows = conn.execute(
        "SELECT o.id, o.destination, o.status, o.payload_json FROM outbox o "
        "JOIN articles a ON a.id = o.article_id "
        "WHERE a.story_id = ? AND o.kind = 'alert' AND a.id != ?", (story_id, exclude)).fetchall()
    return [StoryAlert(r["id"], r["destination"], r["status"],
                       AlertPayload.from_json(r["payload_json"]) if r["payload_json"] else None)
            for r in rows]


def timestamp_from_iso(iso: str | None) -> float | None:
    """A page's ISO date (trafilatura) as unix time, clamped to the sane window of
    :mod:`monitor.parse.dates`; None when absent or unreadable."""
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso)
        return sane_timestamp((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    except (ValueError, OverflowError, OSError):
        return None


def _store_score(conn: sqlite3.Connection, article_id: int, score: Any, now: float) -> None:
    """Score and hits in the same transaction as the text (alerts join here in a later stage)."""
    payload = score.to_json(article_id)
    conn.execute("UPDATE articles SET score = ?, alert = ?, hits_json = ?, scored_at = ? WHERE id = ?",
                 (payload["score"], int(bool(payload["alert"])),
                  json.dumps(payload, ensure_ascii=False), now, article_id))
