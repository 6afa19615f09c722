"""Search finds a word in every spelling the matcher accepts (clitics, inflection, diacritics,
tatweel, letter variants), not the words that merely contain it, and shows the matches in the
original spelling; on SQLite and on PostgreSQL alike (``state_target``)."""

from __future__ import annotations

import pytest

from monitor.errors import SearchError
from monitor.search.engine import run_search
from monitor.search.query import parse_query
from monitor.store.db import open_database
from tests.search.store import store_article

DAY = 86400.0
NOW = 1_800_000_000.0


@pytest.fixture()
def db(state_target):
    db = open_database(state_target)
    texts = {
        "jufra": ("تعزيزات جديدة", "وصلت تعزيزات عسكرية وبالجفرة قاعدة كبيرة"),
        "forces": ("تقرير", "نشرت روسيا قواتها في الشرق"),
        "haftar": ("لقاء المشير خليفة حَفْتَرُ في موسكو", "التقى المشـير حفـتر بوزير الدفاع الروسي"),
        "lhaftar": ("دعم", "الدعم الروسي لحفتر مستمر منذ سنوات"),
        "govs": ("الحكومات", "اجتمعت الحكومتان في طرابلس"),
        "broke": ("كسرت", "كسرت الأمواج الحاجز وفسرت الصحف الخبر"),
        "sirte": ("سرت", "دخلت القوات إلى سرت وإلى بسرت"),
        "karim": ("كريم", "فاز كريم بالجائزة"),
        "ball": ("رياضة", "مباراة كرة القدم انتهت"),
        "phrase": ("انتشار", "انتشرت القواتُ الروسيةُ قرب الجفرة"),
        "apart": ("انتشار", "القوات التركية والروسية في ليبيا"),
        "reversed": ("انتشار", "الروسية القوات"),
        "digits": ("طراز", "منظومة تور-إم٢ ومنظومة Tor-M2"),
    }
    ids = {}
    for i, (key, (title, text)) in enumerate(texts.items()):
        ids[key] = store_article(db, title, text, seen=NOW - i * DAY,
                                 entities=("khalifa_haftar",) if key == "lhaftar" else ())
    db.ids = ids   # type: ignore[attr-defined]
    yield db
    db.close()


def found(db, text: str, **kw) -> set[str]:
    names = {v: k for k, v in db.ids.items()}
    return {names[r.id] for r in run_search(db, parse_query(text), now=NOW, **kw).results}


def test_clitics_inflection_diacritics_and_tatweel(db):
    assert found(db, "الجفرة") == {"jufra", "phrase"}            # وبالجفرة, the article form
    assert found(db, "قوات") >= {"forces"}                        # قواتها
    assert found(db, "حفتر") == {"haftar", "lhaftar"}            # حَفْتَرُ, حفـتر, لحفتر
    assert found(db, "حكومة") == {"govs"}                         # الحكومات, الحكومتان
    assert found(db, "حَفْتَر") == {"haftar", "lhaftar"}          # a diacritised query too
    assert found(db, "تور ام 2") == {"digits"} == found(db, "tor-m2")


def test_words_that_merely_contain_the_query_are_not_found(db):
    assert found(db, "سرت") == {"sirte"}                # not كسرت, فسرت
    assert found(db, "كرة") == {"ball"}                 # not كريم (the index's prefix كر*)


def test_phrases_need_the_words_in_a_row_and_all_words_are_required(db):
    assert found(db, '"القوات الروسية"') == {"phrase"}
    assert found(db, "«القوات الروسية»") == {"phrase"}
    assert found(db, "القوات الروسية") == {"phrase", "apart", "reversed"}
    assert found(db, "حفتر موسكو") == {"haftar"}
    # Past 128 proclitic combinations a phrase is looked up word by word, its order verified.
    assert found(db, '"لقاء المشير خليفة حفتر في موسكو"') == {"haftar"}
    assert found(db, '"موسكو في حفتر خليفة المشير لقاء"') == set()


def test_older_windows_are_read_when_the_newest_hold_no_true_match(db):
    # The index is asked for the words; its newest answer has them in the wrong order.
    res = run_search(db, parse_query('"القوات الروسية"'), now=NOW, window=1)
    assert [r.id for r in res.results] == [db.ids["phrase"]]
    assert res.candidates == 2 and not res.window_full     # reversed, then phrase, then none


def test_highlights_are_in_the_original_spelling(db):
    res = run_search(db, parse_query("حفتر"), now=NOW).results
    hit = next(r for r in res if r.id == db.ids["haftar"])
    assert [hit.title.text[a:b] for a, b in hit.title.spans] == ["حَفْتَرُ"]
    snip = hit.snippets[0]
    assert [snip.text[a:b] for a, b in snip.spans] == ["حفـتر"]
    assert snip.render("[", "]") == "التقى المشـير [حفـتر] بوزير الدفاع الروسي"
    phrase = run_search(db, parse_query('"القوات الروسية"'), now=NOW).results[0]
    assert [phrase.snippets[0].text[a:b] for a, b in phrase.snippets[0].spans] == \
        ["القواتُ الروسيةُ"]
    assert phrase.to_json()["snippets"][0]["spans"] == [list(phrase.snippets[0].spans[0])]


def test_entity_and_since_filters(db):
    assert found(db, "حفتر", entity="khalifa_haftar") == {"lhaftar"}
    assert found(db, "حفتر", entity="wagner") == set()
    assert found(db, "حفتر", since=NOW - 2.5 * DAY) == {"haftar"}     # lhaftar is 3 days old
    assert found(db, "حفتر", since=NOW - 4 * DAY) == {"haftar", "lhaftar"}


def test_recency_breaks_ties(db):
    a = store_article(db, "خبر", "نص عن درنة", seen=NOW - 100 * DAY)
    b = store_article(db, "خبر", "نص عن درنة", seen=NOW - DAY)
    res = run_search(db, parse_query("درنة"), now=NOW).results
    assert [r.id for r in res] == [b, a]


def test_a_word_in_the_title_outranks_one_in_the_body(db):
    body = store_article(db, "خبر عن الطقس", "أمطار في درنة اليوم", seen=NOW - DAY)
    title = store_article(db, "أمطار في درنة", "خبر عن الطقس اليوم", seen=NOW - 2 * DAY)
    res = run_search(db, parse_query("درنة"), now=NOW).results
    assert [r.id for r in res] == [title, body]
    assert res[0].score > res[1].score > 0          # despite the body's being a day newer


@pytest.mark.parametrize("text", [
    'title:حفتر', 'NEAR(حفتر موسكو)', 'حفتر*', '(حفتر)', 'حفتر OR موسكو', 'AND', '-حفتر',
    '^حفتر', '{title}: حفتر', "حفتر'", '"حفتر', 'حفتر"', '""حفتر""', 'body : حفتر', 'حفتر + موسكو',
    'NOT حفتر', "rowid", "article_search", "حفتر\x00",
])
def test_hostile_queries_are_words(db, text):
    query = parse_query(text)
    res = run_search(db, query, now=NOW)           # never an FTS5 syntax error
    words = {w for p in query.phrases for w in p.words}
    if words <= {"حفتر", "موسكو"}:
        assert {r.id for r in res.results} <= {db.ids["haftar"], db.ids["lhaftar"]}
        assert res.results
    else:
        assert res.results == []                    # "title", "near", "or" … are words here


@pytest.mark.parametrize("text", ["", "   ", "!!! ،،، ؟", '""', "*", "()"])
def test_a_query_without_words_is_refused(text):
    with pytest.raises(SearchError, match="nothing to search for"):
        parse_query(text)
