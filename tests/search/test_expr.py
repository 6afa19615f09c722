"""Index expressions as trees: SQLite is asked the FTS5 it always was, PostgreSQL a tsquery that
finds the same articles (real Arabic text, the skeleton columns, positions a tsvector cannot
hold), and the FTS5 strings the backtest composes read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.match.forms import token_spec
from monitor.match.tokens import skeleton
from monitor.search import expr as x
from monitor.search.engine import run_search
from monitor.search.fields import compact_skeleton, index_fields
from monitor.search.query import (
    TEXT_COLUMNS,
    parse_query,
    phrase_expression,
    phrase_node,
    skeleton_expression,
)
from monitor.store import search as index
from monitor.store.db import open_database
from tests.search.store import store_article

TEXTS = {
    "wagner": ("مرتزقة فاغنر في ليبيا", "وصل عناصر من مجموعة فاجنر الروسية إلى قاعدة الجفرة"),
    "wagner_w": ("واغنر", "قالت مصادر إن قوات واغنر انسحبت من سرت عام 2024م"),
    "pantsir": ("منظومة بانتسير", "رصدت منظومة Pantsir-S1 ومنظومة تور-إم٢ في قاعدة الخادم"),
    "victory": ("بانتصار", "احتفل الجيش بانتصاره في المعركة"),
    "un": ("الأمم المتحدة", "دعت بعثة الأمم المتحدة للدعم في ليبيا إلى الحوار"),
    "un_apart": ("بيان", "قالت الأمم إن الدول المتحدة في الموقف"),
    "haftar": ("حفتر في موسكو", "التقى المشير خليفة حفتر وزير الدفاع الروسي في موسكو"),
    "nothing": ("الطقس", "أمطار غزيرة على بنغازي وطرابلس"),
}


def _store(target) -> tuple[object, dict[str, int]]:
    db = open_database(target)
    ids = {k: store_article(db, t, b, seen=1000.0 + i) for i, (k, (t, b)) in
           enumerate(TEXTS.items())}
    return db, ids


@pytest.fixture()
def both(tmp_path: Path, pg_url: str):
    """The same articles in SQLite and in PostgreSQL."""
    lite, ids = _store(tmp_path / "m.db")
    pg, pg_ids = _store(pg_url)
    assert ids == pg_ids
    yield lite, pg, {v: k for k, v in ids.items()}
    lite.close()
    pg.close()


def _specs(*words: str, inflect: str = "noun"):
    return [token_spec(index_fields(w, "").title, inflect) for w in words]


def _skel(word: str) -> str:
    return compact_skeleton(skeleton(index_fields(word, "").title))


TERM, PREFIX = x.Term("الجفره"), x.Term("بانت", True)
QUERIES = {
    "term": (x.Columns(x.TEXT, TERM), {"wagner"}),
    "prefix": (x.Columns(x.TEXT, PREFIX), {"pantsir", "victory"}),
    "title only": (x.Columns(("title",), PREFIX), {"pantsir", "victory"}),
    "body only": (x.Columns(("body",), x.Term("بانتصاره")), {"victory"}),
    "phrase": (x.Columns(x.TEXT, phrase_node(_specs("الأمم", "المتحدة"))), {"un"}),
    "words": (parse_query("الأمم المتحدة").expression(), {"un", "un_apart"}),
    "latin and digits": (parse_query("pantsir s1 تور ام 2").expression(), {"pantsir"}),
    "year": (parse_query("2024").expression(), {"wagner_w"}),
    "not": (x.Not(parse_query("الأمم").expression(), x.Columns(x.TEXT, x.Phrase(
        (x.Term("الامم"), x.Term("المتحده"))))), {"un_apart"}),
    "or": (x.Or((x.Columns(x.TEXT, TERM), x.Columns(x.TEXT, x.Term("موسكو")))),
           {"wagner", "haftar"}),
    "skeletons": (x.Columns(x.SKELETON, x.Term(_skel("فاغنر"))), {"wagner", "wagner_w"}),
    "skeleton, not its text": (x.Columns(x.TEXT, x.Term(_skel("فاغنر"))), set()),
    # As monitor.match.affected composes it: an FTS5 string, read back on PostgreSQL.
    "text or skeleton": (f"({TEXT_COLUMNS}: ({phrase_expression(_specs('حفتر'))})) OR "
                         f"({skeleton_expression([_skel('فاغنر')])})",
                         {"haftar", "wagner", "wagner_w"}),
    "no column": (x.Term(_skel("فاغنر")), {"wagner", "wagner_w"}),
    "empty columns": (x.Columns(("title",), x.Columns(("body",), TERM)), set()),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_both_engines_find_the_same_articles(both, name: str):
    lite, pg, names = both
    query, expected = QUERIES[name]
    got = []
    for db, target in ((lite, lite.path), (pg, pg.url)):
        ids = sorted(r[0] for r in index.matching(db.conn, query))
        got.append({names[i] for i in ids})
        # The backtest's reading of the same expression (on a read-only connection of its own).
        assert index.count_candidates(target, query, 0) == len(ids)
        rows = [r for c in index.iter_candidates(target, query, 0, 2) for r in c]
        assert [r[0] for r in rows] == ids
        assert all(type(r) is tuple and len(r) == 4 for r in rows)    # picklable, as SQLite's
    assert got[0] == got[1] == expected, name


def test_the_postgresql_parser_would_have_split_the_tokens(pg_url: str):
    """Why the index takes its tokens verbatim: PostgreSQL's 'simple' configuration drops the
    letter-class characters of skeletons (U+061C), so two different skeletons would be one."""
    db = open_database(pg_url)
    try:
        f = index_fields("فاغنر فنر", "")
        assert "\u061c" in f.title_skel
        parsed = db.conn.execute("SELECT to_tsvector('simple', ?)::text",
                                 (f.title_skel,)).fetchone()[0]
        assert "\u061c" not in parsed
        verbatim = db.conn.execute("SELECT search_vector(?, '')::text",
                                   (f.title_skel,)).fetchone()[0]
        assert verbatim.count("'") == 4 and "\u061c" in verbatim
    finally:
        db.close()


def _long_texts(db) -> dict[str, int]:
    filler = " ".join(["كلام"] * 17000)
    common = " ".join(["في"] * 300)
    return {
        "late": store_article(db, "طويل", f"{filler} الأمم المتحدة"),
        "crowded": store_article(db, "مزدحم", f"{common} الأمم المتحدة في"),
        "apart": store_article(db, "متفرق", f"{filler} الأمم ثم المتحدة"),
        "short": store_article(db, "قصير", "الأمم المتحدة"),
    }


def test_positions_a_tsvector_cannot_hold_never_lose_a_phrase(tmp_path: Path, pg_url: str):
    phrase = x.Columns(x.TEXT, x.Phrase((x.Term("الامم"), x.Term("المتحده"))))
    found = {}
    for target in (tmp_path / "m.db", pg_url):
        db = open_database(target)
        ids = _long_texts(db)
        names = {v: k for k, v in ids.items()}
        found[str(target)[:4]] = (
            {names[r[0]] for r in index.matching(db.conn, phrase)},
            {names[r[0]] for r in index.matching(db.conn, x.Not(
                x.Columns(x.TEXT, x.Term("الامم")), phrase))})
        db.close()
    assert found[str(tmp_path)[:4]] == ({"late", "crowded", "short"}, {"apart"})
    # PostgreSQL: the rows that lost positions are asked for the words (a superset, as the
    # backtest needs), and kept where their NOT cannot be told.
    assert found["post"] == ({"late", "crowded", "short", "apart"}, {"late", "apart",
                                                                      "crowded"})


def test_sqlite_is_asked_the_fts5_it_always_was():
    assert x.to_fts5(parse_query("tor-m2").expression()) == \
        '{title body}: ("tor") AND {title body}: ("m") AND {title body}: ("2")'
    assert phrase_expression(_specs("tor", "m", "2", inflect="none")) == '("tor" + "m" + "2")'
    assert skeleton_expression(["فـنر"]) == '{title_skel body_skel}: ("فـنر")'
    sirte = x.to_fts5(parse_query("سرت").expression())
    assert sirte.startswith('{title body}: ("سرت" OR "سرتا"* OR "سرتك"* OR ')
    un = phrase_expression(_specs("الأمم", "المتحدة"))
    # A word read as starting with the article may take it again (الألماني: docs/matching.md
    # §2), so each token also asks for its doubled-article form.
    assert un.startswith('("الامم"* + "المتحد"*) OR ("الامم"* + "الالمتحد"*) OR '
                         '("الالامم"* + "المتحد"*) OR ')
    assert '("بالامم"* + "المتحد"*)' in un


def test_fts5_strings_read_back():
    for node in (parse_query('"القوات الروسية" حفتر').expression(),
                 phrase_node(_specs("الأمم", "المتحدة")),
                 x.Not(x.Term("a"), x.Or((x.Term("b", True), x.Term("c"))))):
        text = x.to_fts5(node)
        assert x.to_fts5(x.parse_fts5(text)) == text
    assert x.parse_fts5('"a" OR "b" AND "c" NOT "d"') == x.Or((x.Term("a"), x.And((
        x.Term("b"), x.Not(x.Term("c"), x.Term("d"))))))
    # FTS5's tokenizer splits a string on ASCII punctuation and folds ASCII case: so does the
    # reading, and PostgreSQL is asked the same of a term written so.
    assert x.parse_fts5('"Tor-M2"*') == x.Phrase((x.Term("tor"), x.Term("m2", True)))
    assert x.to_postgres(x.Term("Tor-M2", True)) == x.to_postgres(x.parse_fts5('"Tor-M2"*'))
    for bad in ("title: حفتر", 'NEAR("a" "b")', '"a" "b"', '{rowid}: "a"', '("a"'):
        with pytest.raises(ValueError):
            x.parse_fts5(bad)
    # A token longer than PostgreSQL's lexemes is cut alike on both sides (a superset).
    assert "'" + "ب" * x.MAX_LEXEME + "':*" == x.to_postgres(x.Term("ب" * 600))[1][0]


def test_a_token_longer_than_a_lexeme_is_stored_and_found(tmp_path: Path, pg_url: str):
    word = "ب" * 3000 + "ت"            # 6 KB: over tsvector's 2047 bytes a lexeme
    for target in (tmp_path / "m.db", pg_url):
        db = open_database(target)
        art = store_article(db, "عنوان", f"نص {word} آخر")       # the save never fails
        other = store_article(db, "عنوان", "نص " + "ب" * 3000 + "ث")
        matched = {r[0] for r in index.matching(db.conn, x.Columns(x.TEXT, x.Term(word)))}
        assert art in matched <= {art, other}          # PostgreSQL: both (cut alike), a superset
        assert {r.id for r in run_search(db, parse_query(word), now=2000.0).results} == {art}
        db.close()
