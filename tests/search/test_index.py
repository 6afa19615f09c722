"""The search index is kept in step with the stored articles: on insert, on update, when
retention drops the text, and by the resumable backfill for databases older than the index;
on SQLite and on PostgreSQL alike (``state_target``)."""

from __future__ import annotations

import threading
from unittest import mock

import pytest

from monitor.search import fields
from monitor.search.backfill import backfill_in_thread, run_backfill
from monitor.search.expr import TEXT, Columns, Term
from monitor.search.fields import INDEX_FORMAT, index_fields
from monitor.store import db as db_module
from monitor.store import maintenance
from monitor.store import search as index
from monitor.store.db import Target, is_postgres, open_database
from tests.search.store import indexed, store_article


def _found(db, word: str) -> set[int]:
    """The articles the index matches for one exact token of the text columns."""
    return {r[0] for r in index.matching(db.conn, Columns(TEXT, Term(word)))}


def test_new_article_is_indexed_from_its_feed_text_then_its_page(state_target: Target):
    db = open_database(state_target)
    art = store_article(db, "وصول خبراء روس", None, summary="ملخص عن حفتر")
    assert indexed(db, art) == ("وصول خبراء روس", "ملخص عن حفتر")      # pending: feed text
    db.conn.execute("UPDATE articles SET extraction_status = 'extracted' WHERE id = ?", (art,))
    other = store_article(db, "عنوانٌ مُشَكَّل", "نصّ الصفحة عن الجفرة")
    assert indexed(db, other) == ("عنوان مشكل", "نص الصفحه عن الجفره")   # normalised tokens
    assert index_fields("عنوانٌ مُشَكَّل", "نصّ الصفحة عن الجفرة").body == indexed(db, other)[1]


def test_saving_a_new_text_replaces_the_indexed_one(state_target: Target):
    from monitor.models import Extracted, ExtractionStatus
    from monitor.store import articles as article_store

    db = open_database(state_target)
    art = store_article(db, "عنوان", "النص الأول عن سرت")
    row = article_store.pending_articles(db)  # nothing pending now
    assert row == []
    from monitor.models import Article
    again = Article(art, "https://example.com/x", "عنوان", "", "f").with_page(
        ExtractionStatus.EXTRACTED, Extracted("عنوان جديد", "النص الثاني عن بنغازي", None, None,
                                              "ar"), None)
    with db.transaction() as conn:
        article_store.save_article(conn, again, now=2000.0)
    assert indexed(db, art) == ("عنوان جديد", "النص الثاني عن بنغازي")
    assert db.conn.execute("SELECT COUNT(*) FROM article_search").fetchone()[0] == 1
    assert _found(db, "سرت") == set()                     # the old words are gone
    assert _found(db, "بنغازي") == _found(db, "جديد") == {art}


def test_retention_empties_the_body_and_keeps_the_title(state_target: Target):
    db = open_database(state_target)
    old = store_article(db, "حفتر في موسكو", "نص قديم عن الجفرة", seen=100.0)
    judged = store_article(db, "عنوان محكوم", "نص محكوم عن الجفرة", seen=100.0)
    new = store_article(db, "خبر جديد", "نص جديد عن الجفرة", seen=10_000.0)
    db.conn.execute("INSERT INTO judgements(article_id, user_id, label, at) "
                    "VALUES (?, 1, 'relevant', 0)", (judged,))
    assert maintenance.drop_text_before(db, 5000.0) == 1
    assert indexed(db, old) == ("حفتر في موسكو", "")
    assert indexed(db, judged) == ("عنوان محكوم", "نص محكوم عن الجفره")
    assert indexed(db, new) == ("خبر جديد", "نص جديد عن الجفره")
    # And it is exactly what a fresh indexing of the row gives now (the title only).
    with db.transaction() as conn:
        index.index_articles(conn, [old])
    assert indexed(db, old) == ("حفتر في موسكو", "")
    assert _found(db, "الجفره") == {judged, new}           # the body's words are gone
    assert _found(db, "قديم") == set() and _found(db, "موسكو") == {old}
    if is_postgres(db):               # the server keeps the tsvectors of the columns it holds
        assert db.conn.execute(
            "SELECT COUNT(*) FROM article_search WHERE terms IS DISTINCT FROM "
            "search_vector(title, body) OR skel_terms IS DISTINCT FROM "
            "search_vector(title_skel, body_skel)").fetchone()[0] == 0
    else:
        db.conn.execute("INSERT INTO article_search(article_search) VALUES ('integrity-check')")


def _old_database(target: Target, n: int) -> None:
    """A state database as the version before the index left it, with ``n`` articles (either
    engine: the migrations before 0011 only)."""
    real = db_module.migrations
    with mock.patch.object(db_module, "migrations",
                           lambda *a: [m for m in real(*a) if m[0] < 11]):
        db = open_database(target)
    try:
        assert db.schema_version == 10
        with db.transaction() as conn:
            conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'http://x', 0)")
            feed = conn.execute("SELECT id FROM feeds WHERE name = 'f'").fetchone()[0]
            conn.executemany(
                "INSERT INTO articles(identity, feed_id, title, text, feed_summary, "
                "first_seen_at, extraction_status) VALUES (?, ?, ?, ?, 'ملخص', ?, 'extracted')",
                [(f"a{i}", feed, f"عنوان رقم {i}",
                  None if i % 7 == 0 else f"نصّ المقال {i} عن بنغازي", i) for i in range(n)])
    finally:
        db.close()


def _all_indexed_right(db) -> None:
    rows = db.conn.execute("SELECT id, title, COALESCE(text, feed_summary, '') FROM articles "
                           "ORDER BY id").fetchall()
    got = {r[0]: (r[1], r[2], r[3], r[4]) for r in db.conn.execute(
        "SELECT rowid, title, body, title_skel, body_skel FROM article_search")}
    assert len(got) == len(rows)
    for art_id, title, body in rows:
        f = index_fields(title, body)
        assert got[art_id] == (f.title, f.body, f.title_skel, f.body_skel), art_id


def test_backfill_indexes_a_database_older_than_the_index(state_target: Target):
    _old_database(state_target, 1234)
    db = open_database(state_target)                  # migration 0011
    assert db.conn.execute("SELECT COUNT(*) FROM article_search").fetchone()[0] == 0
    new = store_article(db, "مقال بعد الترقية", "نص عن طرابلس")    # indexed as it is stored
    state = index.backfill_state(db.conn)
    assert (state.done, state.upto, state.finished) == (0, 1234, False)
    assert run_backfill(db, batch=100, progress=None) == 1235       # from before and since
    assert index.backfill_state(db.conn).finished
    _all_indexed_right(db)
    assert indexed(db, new) == ("مقال بعد الترقيه", "نص عن طرابلس")
    assert run_backfill(db, progress=None) == 0


def test_backfill_resumes_where_it_stopped(state_target: Target, monkeypatch: pytest.MonkeyPatch):
    _old_database(state_target, 1000)
    db = open_database(state_target)
    batches = []
    run_backfill(db, batch=100, progress=None, stop=lambda: len(batches) >= 3 or
                 bool(batches.append(1)))
    assert index.backfill_state(db.conn).done == 300
    # A crash in the middle of a batch: that batch is rolled back, the ones before stay.
    real, calls = fields.index_fields, []

    def crash(title, body):
        calls.append(1)
        if len(calls) == 150:
            raise KeyboardInterrupt
        return real(title, body)

    monkeypatch.setattr(index, "index_fields", crash)
    with pytest.raises(KeyboardInterrupt):
        run_backfill(db, batch=100, progress=None)
    assert index.backfill_state(db.conn).done == 400
    assert db.conn.execute("SELECT COUNT(*) FROM article_search").fetchone()[0] == 400
    monkeypatch.setattr(index, "index_fields", real)
    db.close()
    db = open_database(state_target)
    assert run_backfill(db, batch=100, progress=None) == 600
    _all_indexed_right(db)


def test_an_index_built_by_other_code_is_rebuilt(state_target: Target):
    db = open_database(state_target)
    ids = [store_article(db, f"عنوان {i}", f"نص {i} عن درنة") for i in range(5)]
    db.conn.execute("UPDATE article_search SET body = 'كلام قديم' WHERE rowid = ?", (ids[2],))
    db.conn.execute("UPDATE search_backfill SET format = 'older-normalisation'")
    assert not index.backfill_state(db.conn).finished
    assert run_backfill(db, progress=None) == 5
    assert index.backfill_state(db.conn).format == INDEX_FORMAT
    _all_indexed_right(db)


def test_the_daemon_backfills_in_a_thread(state_target: Target):
    _old_database(state_target, 300)
    open_database(state_target).close()
    stop = threading.Event()
    backfill_in_thread(state_target, stop).join(60)
    db = open_database(state_target)
    assert index.backfill_state(db.conn).finished
    _all_indexed_right(db)
