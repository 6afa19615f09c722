"""The in-memory LSH band index: rebuilt from stored signatures, transactional, pruned by time,
and what a database of schema version 4 (bands on disk) becomes."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from monitor.dedupe import bands
from monitor.dedupe.fingerprint import fingerprint
from monitor.dedupe.stories import assign_story
from monitor.store.db import _statements, is_postgres, migrations, open_database

WAGNER = ("قالت مصادر محلية في منطقة الجفرة إن آخر مجموعة من عناصر شركة فاجنر العسكرية الخاصة "
          "غادرت قاعدة الجفرة الجوية بعد تسليم مواقعها إلى عناصر الفيلق الأفريقي الروسي الذي "
          "وصل إلى القاعدة خلال الأسابيع الماضية على متن طائرات شحن عسكرية هبطت في مطار القاعدة "
          "وسط إجراءات أمنية مشددة فرضتها قوات القيادة العامة في محيط المنطقة")
WAGNER_AGAIN = WAGNER.replace("قالت مصادر محلية", "أفادت مصادر ليبية") + " بحسب شهود عيان"
OTHER = ("أعلنت وزارة الصحة في طرابلس عن افتتاح مستشفى جديد للأطفال في منطقة تاجوراء يضم مئة "
         "وعشرين سريرا وقسما للعناية المركزة وآخر للجراحة بتمويل من الحكومة وبمشاركة أطباء "
         "من عدة مدن ليبية في إطار خطة لتحسين الخدمات الصحية في العاصمة والمناطق المحيطة بها")
DAY = 86400.0


def add_article(db, article_id: int, text: str, at: float) -> int:
    """Store an article and place it in a story, as the pipeline does; returns its story."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO articles(id, identity, feed_id, first_seen_at) "
                     "VALUES (?, ?, 1, ?)", (article_id, f"a{article_id}", at))
        return assign_story(conn, article_id, fingerprint(text), now=at,
                            window_seconds=2 * DAY).story_id


def entries(db) -> set[int]:
    table = "story_band_keys" if is_postgres(db) else "temp.story_bands"
    return {r[0] for r in db.conn.execute(f"SELECT DISTINCT article_id FROM {table}")}


@pytest.fixture
def db(tmp_path: Path):
    db = open_database(tmp_path / "state.db")
    db.conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'http://x', 0)")
    yield db
    db.close()


@pytest.mark.sqlite_only   # the in-memory index of one SQLite connection
def test_the_index_is_rebuilt_from_stored_signatures_after_a_restart(db, tmp_path):
    assert add_article(db, 1, WAGNER, 1000.0) == 1
    assert add_article(db, 2, OTHER, 1001.0) == 2
    db.close()
    reopened = open_database(tmp_path / "state.db")
    assert not reopened.conn.execute("SELECT * FROM sqlite_temp_master").fetchall()
    assert add_article(reopened, 3, WAGNER_AGAIN, 1002.0) == 1
    assert entries(reopened) == {1, 2, 3}
    reopened.close()


@pytest.mark.sqlite_only   # the in-memory index of one SQLite connection
def test_only_articles_inside_the_window_are_loaded(db, tmp_path):
    add_article(db, 1, WAGNER, 1000.0)
    add_article(db, 2, OTHER, 1000.0 + 3 * DAY)
    db.close()
    reopened = open_database(tmp_path / "state.db")
    with reopened.transaction() as conn:
        assert bands.ensure(conn, since=1000.0 + DAY) == 1
        assert bands.ensure(conn, since=0.0) is None          # built once per connection
    assert entries(reopened) == {2}
    # Outside the window: a copy of the old story starts a new one.
    assert add_article(reopened, 3, WAGNER_AGAIN, 1000.0 + 3 * DAY) == 3
    reopened.close()


def test_a_rolled_back_article_leaves_nothing_in_the_index(db):
    add_article(db, 1, OTHER, 1000.0)
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO articles(id, identity, feed_id, first_seen_at) "
                     "VALUES (2, 'a2', 1, 1001.0)")
        assign_story(conn, 2, fingerprint(WAGNER), now=1001.0, window_seconds=2 * DAY)
        assert entries(db) == {1, 2}
        raise RuntimeError("crash before commit")
    assert entries(db) == {1}
    # The text comes again later and starts its story then, not before.
    assert add_article(db, 3, WAGNER, 1002.0) == 3


def test_pruning_drops_what_left_the_window_and_keeps_the_rest(db):
    add_article(db, 1, WAGNER, 1000.0)
    add_article(db, 2, OTHER, 1000.0 + DAY)
    add_article(db, 3, OTHER + " اليوم", 1000.0 + 2 * DAY)
    with db.transaction() as conn:
        assert bands.prune(conn, since=1000.0 + DAY) > 0
    assert entries(db) == {2, 3}
    assert add_article(db, 4, OTHER + " أمس", 1000.0 + 2.5 * DAY) == 2
    with db.transaction() as conn:
        bands.prune(conn, since=1000.0 + 10 * DAY)
    assert entries(db) == set()


def test_pruning_before_any_article_is_a_no_op(tmp_path):
    db = open_database(tmp_path / "empty.db")
    with db.transaction() as conn:
        assert bands.prune(conn, since=0.0) == 0
    db.close()


@pytest.mark.sqlite_only   # the in-memory index of one SQLite connection
def test_a_version_4_database_loses_its_disk_index_and_keeps_its_stories(tmp_path):
    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for version, _name, sql in migrations():
        if version > 4:
            break
        for statement in _statements(sql):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'http://x', 0)")
    fp = fingerprint(WAGNER)
    conn.execute("INSERT INTO articles(id, identity, feed_id, first_seen_at, story_id, signature, "
                 "shingles, text_hash) VALUES (7, 'a7', 1, 1000.0, 7, ?, ?, ?)",
                 (fp.to_blob(), fp.shingles, fp.text_hash))
    conn.executemany("INSERT INTO story_bands(band, hash, article_id, at) VALUES (?,?,7,1000.0)",
                     fp.bands())
    conn.close()

    db = open_database(path)
    assert db.schema_version >= 5
    names = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master")}
    assert "story_bands" not in names and "articles_seen" in names
    assert add_article(db, 8, WAGNER_AGAIN, 1001.0) == 7
    db.close()


@pytest.mark.sqlite_only   # the in-memory index of one SQLite connection
def test_the_daemon_builds_the_index_at_start_and_says_so(db, tmp_path, caplog):
    from monitor.app import load_story_index
    from monitor.config import load_settings

    add_article(db, 1, WAGNER, 1000.0)
    db.close()
    reopened = open_database(tmp_path / "state.db")
    settings = load_settings(None, {}, {"stories": {"window_hours": 10**7}})
    with caplog.at_level(logging.INFO, logger="monitor.app"):
        load_story_index(reopened, settings)
    assert entries(reopened) == {1}
    assert "story index: 1 articles of the last" in caplog.text
    reopened.close()


def test_articles_another_process_placed_are_found_too(db, tmp_path):
    """`monitor once` run by hand next to the daemon: each has its own in-memory index."""
    add_article(db, 1, OTHER, 1000.0)                  # the daemon's index exists from here on
    other = open_database(tmp_path / "state.db")
    assert add_article(other, 2, WAGNER, 1001.0) == 2  # stored by the other connection
    other.close()
    assert add_article(db, 3, WAGNER_AGAIN, 1002.0) == 2
    assert entries(db) == {1, 2, 3}
    # Nobody else wrote since: the next article triggers no catch-up, and nothing is lost.
    assert add_article(db, 4, OTHER + " اليوم", 1003.0) == 1


def test_the_daemons_housekeeping_drops_what_left_the_window(db):
    import asyncio
    import time
    from types import SimpleNamespace

    from monitor.config import load_settings
    from monitor.schedule.service import Service

    now = time.time()
    add_article(db, 1, WAGNER, now - 3 * DAY)           # the default window is 48 h
    add_article(db, 2, OTHER, now - 3600)
    settings = load_settings(None, {}, {"feeds": []})
    app = SimpleNamespace(db=db, drainer=SimpleNamespace(wake=asyncio.Event(), on_pause=None))
    asyncio.run(Service(app, settings, None)._housekeeping())
    assert entries(db) == {2}
