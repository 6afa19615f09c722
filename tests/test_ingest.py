"""End-to-end ingest against a real local HTTP server and a real SQLite file.

Every hostile case must end in the recorded state and a summary, never a crash.
"""

from __future__ import annotations

import gzip
import sqlite3
import time
import zlib
from pathlib import Path

import pytest

from monitor.models import PollOutcome
from monitor.report import cycle_summary
from tests.builders import PARAS, atom, page, rss
from tests.conftest import make_settings, run_cycle
from tests.servers.http import TestServer, send, trickle


def rows(settings, sql: str, *args) -> list[sqlite3.Row]:
    conn = sqlite3.connect(settings.database)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def feed_row(settings, name: str) -> sqlite3.Row:
    return rows(settings, "SELECT * FROM feeds WHERE name = ?", name)[0]


def serve_article(server: TestServer, path: str, title: str = "يفكوروف في بنغازي") -> str:
    return server.static(path, page(title, PARAS).encode(), "text/html; charset=utf-8")


def test_new_items_are_extracted_and_stored(server, tmp_path):
    link = serve_article(server, "/a/1.html")
    server.static("/feed.xml", rss([{"title": "عنوان الخبر", "link": link, "guid": "g1",
                                     "description": "ملخص", "pubDate": "Fri, 20 Nov 2026 10:15:00 +0200"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert (stats.feeds_ok, stats.new_items, stats.extracted, stats.fallback) == (1, 1, 1, 0)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["extraction_status"] == "extracted"
    assert "قاعدة الجفرة" in art["text"] and "أخبار ذات صلة" not in art["text"]
    assert "جميع الحقوق" not in art["text"] and "قسم 3" not in art["text"]
    assert art["language"] == "ar" and art["title"] == "يفكوروف في بنغازي"
    assert art["canonical_url"] == link
    assert art["published_at"] == pytest.approx(time.mktime((2026, 11, 20, 8, 15, 0, 0, 0, 0)) - time.timezone)
    assert "new items: 1" in cycle_summary(stats)


def test_second_poll_is_one_304(server, tmp_path):
    body = rss([{"title": "خبر", "link": serve_article(server, "/a/1.html"), "guid": "g1"}])

    def etag_route(h):
        if h.headers.get("If-None-Match") == '"v1"':
            send(h, 304, b"", None, {"ETag": '"v1"'})
        else:
            send(h, 200, body, "application/rss+xml", {"ETag": '"v1"',
                                                       "Last-Modified": "Fri, 20 Nov 2026 10:00:00 GMT"})
    server.add("/feed.xml", etag_route)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    stats = run_cycle(settings)
    assert stats.feeds_not_modified == 1 and stats.new_items == 0
    last = [r for r in server.requests if r[1] == "/feed.xml"][-1][2]
    assert last.get("If-None-Match") == '"v1"'
    assert last.get("If-Modified-Since") == "Fri, 20 Nov 2026 10:00:00 GMT"
    assert server.hits("/a/1.html") == 1
    assert feed_row(settings, "f")["last_status"] == "not_modified"


@pytest.mark.parametrize("ctype,declared", [
    pytest.param("application/rss+xml", "windows-1256", id="declared-in-prolog"),
    pytest.param("text/xml; charset=windows-1256", "windows-1256", id="declared-in-header"),
    pytest.param("text/xml; charset=utf-8", "utf-8", id="mislabelled-utf8"),
    pytest.param("application/rss+xml", "iso-8859-1", id="mislabelled-latin1"),
])
def test_windows_1256_feed_decodes(server, tmp_path, ctype, declared):
    body = rss([{"title": "قوات روسية في الجفرة", "link": server.url("/missing"), "guid": "x",
                 "description": "وصول تعزيزات إلى القاعدة"}], encoding="cp1256", declare=declared)
    server.static("/feed.xml", body, ctype)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["feed_title"] == "قوات روسية في الجفرة"
    assert art["text"] == "وصول تعزيزات إلى القاعدة"


def test_utf8_feed_with_wrong_charset_header(server, tmp_path):
    body = rss([{"title": "حفتر في موسكو", "link": server.url("/missing"), "guid": "x"}])
    server.static("/feed.xml", body, "text/xml; charset=windows-1256")
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    assert rows(settings, "SELECT feed_title FROM articles")[0][0] == "حفتر في موسكو"


def test_malformed_feed_keeps_parsed_entries(server, tmp_path):
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
            '<item><title>روسيا & ليبيا</title><link>' + server.url("/missing") + '</link>'
            '<guid>a</guid></item><item><title>الثاني</title><link>' + server.url("/missing2")
            + '</link><guid>b</guid></item><item><title>مقطوع').encode()
    server.static("/feed.xml", body)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert stats.feeds_ok == 1 and stats.new_items >= 2
    titles = {r[0] for r in rows(settings, "SELECT feed_title FROM articles")}
    assert {"روسيا & ليبيا", "الثاني"} <= titles
    assert feed_row(settings, "f")["bozo_note"]
    assert "malformed feed" in (stats.per_feed[0].note or "")


def test_html_page_instead_of_feed_is_a_recorded_failure(server, tmp_path):
    server.static("/feed.xml", b"<html><body><h1>Service unavailable</h1></body></html>", "text/html")
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert stats.feeds_failed == 1
    row = feed_row(settings, "f")
    assert row["error_kind"] == "not_a_feed" and row["error_count"] == 1
    assert row["next_poll_at"] > time.time()


def test_page_over_size_cap_falls_back_to_summary(server, tmp_path):
    big = page("كبير", ["نص طويل جدا " * 40] * 800).encode()
    assert len(big) > 300_000
    server.static("/big.html", big, "text/html")
    server.static("/feed.xml", rss([{"title": "خبر كبير", "link": server.url("/big.html"),
                                     "guid": "g", "description": "ملخص الخبر الكبير"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert stats.fallback == 1
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["extraction_status"] == "fallback_fetch"
    assert art["extraction_error"].startswith("too_large")
    assert art["text"] == "ملخص الخبر الكبير"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """~300 MB of zeros, gzip-compressed to a few hundred KB."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    out = [comp.compress(chunk) for _ in range(300)]
    out.append(comp.flush())
    return b"".join(out)


def test_gzip_bomb_page_and_feed_are_refused(server, tmp_path, gzip_bomb):
    server.static("/bomb.html", gzip_bomb, "text/html", headers={"Content-Encoding": "gzip"})
    server.static("/bomb.xml", gzip_bomb, "application/rss+xml", headers={"Content-Encoding": "gzip"})
    server.static("/feed.xml", rss([{"title": "قنبلة", "link": server.url("/bomb.html"), "guid": "g",
                                     "description": "ملخص"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")},
                                                {"name": "bomb", "url": server.url("/bomb.xml")}])
    stats = run_cycle(settings)
    assert feed_row(settings, "bomb")["error_kind"] == "too_large"
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["extraction_status"] == "fallback_fetch" and "too_large" in art["extraction_error"]
    assert stats.feeds_failed == 1 and stats.feeds_ok == 1


def test_gzip_feed_normal_size_is_inflated(server, tmp_path):
    body = gzip.compress(rss([{"title": "مضغوط", "link": server.url("/missing"), "guid": "g"}]))
    server.static("/feed.xml", body, headers={"Content-Encoding": "gzip"})
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    assert run_cycle(settings).new_items == 1


def test_brotli_body_is_refused_not_decoded(server, tmp_path):
    try:
        import brotli
        body = brotli.compress(b"\0" * (200 << 20), quality=1)
    except ImportError:  # the refusal is by header, before any decoding
        body = b"\x1b\xff\xff" * 100
    server.static("/feed.xml", body, headers={"Content-Encoding": "br"})
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    row = feed_row(settings, "f")
    assert row["error_kind"] == "encoding" and "br" in row["last_error"]


def test_redirect_loop(server, tmp_path):
    server.add("/loop", lambda h: send(h, 302, b"", None, {"Location": "/loop"}))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/loop")}])
    run_cycle(settings)
    row = feed_row(settings, "f")
    assert row["error_kind"] == "redirects"
    assert server.hits("/loop") == settings.fetch.max_redirects + 1


def test_slow_server_hits_total_deadline(server, tmp_path):
    body = rss([{"title": "بطيء", "link": server.url("/x"), "guid": "g"}])
    server.add("/slow.xml", trickle(body, 0.05))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/slow.xml")}],
                             fetch={"read_timeout": 1, "total_timeout": 1.5})
    started = time.monotonic()
    run_cycle(settings)
    assert time.monotonic() - started < 5
    assert feed_row(settings, "f")["error_kind"] == "timeout"


def test_404_page_falls_back_to_summary(server, tmp_path):
    server.static("/feed.xml", rss([{"title": "روسيا في سرت", "link": server.url("/gone.html"),
                                     "guid": "g", "description": "<p>ملخص <b>الخبر</b></p>"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["extraction_status"] == "fallback_fetch" and "404" in art["extraction_error"]
    assert art["title"] == "روسيا في سرت" and art["text"] == "ملخص الخبر"
    assert stats.fallback == 1


def test_duplicate_items_across_two_feeds(server, tmp_path):
    link = serve_article(server, "/shared.html")
    server.static("/a.xml", rss([{"title": "خبر", "link": link + "?utm_source=a", "guid": "a-1"}]))
    server.static("/b.atom", atom([{"id": "tag:b,2026:1", "title": "خبر", "link": link + "#top"}]),
                  "application/atom+xml")
    settings = make_settings(tmp_path, server, [{"name": "a", "url": server.url("/a.xml")},
                                                {"name": "b", "url": server.url("/b.atom")}])
    stats = run_cycle(settings)
    assert stats.new_items + stats.duplicates == 2 and stats.new_items == 1
    assert len(rows(settings, "SELECT * FROM articles")) == 1
    assert len(rows(settings, "SELECT * FROM sightings")) == 2
    assert server.hits("/shared.html") == 1


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>
<link>{base}/x1</link><guid>l1</guid></item></channel></rss>"""


def quadratic_blowup() -> bytes:
    big = "ب" * 20_000
    refs = "&e;" * 5_000
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "{big}">]>'
            f'<rss version="2.0"><channel><title>t</title><item><title>{refs}</title>'
            f"<link>{{base}}/x2</link><guid>q1</guid></item></channel></rss>").encode()


@pytest.mark.parametrize("body", [
    pytest.param(BILLION_LAUGHS.encode(), id="billion-laughs"),
    pytest.param(quadratic_blowup(), id="large-internal-entity"),
])
def test_entity_expansion_feeds_stay_small(server, tmp_path, body):
    server.static("/feed.xml", body)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    started = time.monotonic()
    run_cycle(settings)
    assert time.monotonic() - started < 10
    titles = [r[0] for r in rows(settings, "SELECT feed_title FROM articles")]
    assert all(len(t) <= 1000 for t in titles)
    assert feed_row(settings, "f")["last_status"] in ("ok", "failed")


def test_private_address_links_are_refused(server, tmp_path):
    with TestServer() as other:   # a second local service that is NOT allowed
        other.static("/secret", b"internal", "text/plain")
        server.static("/feed.xml", rss([
            {"title": "رابط داخلي", "link": "http://169.254.169.254/latest/meta-data", "guid": "1",
             "description": "ملخص أول"},
            {"title": "رابط محلي", "link": other.url("/secret"), "guid": "2", "description": "ملخص"},
            {"title": "إعادة توجيه", "link": server.url("/redir"), "guid": "3", "description": "م"},
        ]))
        server.add("/redir", lambda h: send(h, 302, b"", None, {"Location": other.url("/secret")}))
        settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
        stats = run_cycle(settings)
        assert other.requests == []
    statuses = [r[0] for r in rows(settings, "SELECT extraction_status FROM articles ORDER BY id")]
    assert statuses == ["fallback_blocked"] * 3
    assert stats.fallback == 3 and stats.feeds_ok == 1


def test_non_http_links_are_refused(server, tmp_path):
    server.static("/feed.xml", rss([{"title": "ملف", "link": "file:///etc/passwd", "guid": "1",
                                     "description": "ملخص"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["canonical_url"] is None and art["extraction_status"] == "fallback_fetch"


def test_restart_processes_only_new_items(server, tmp_path):
    items = [{"title": f"خبر {i}", "link": serve_article(server, f"/a/{i}.html"), "guid": f"g{i}"}
             for i in range(3)]
    server.static("/feed.xml", rss(items))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    assert run_cycle(settings).new_items == 3
    items.insert(0, {"title": "جديد", "link": serve_article(server, "/a/new.html"), "guid": "new"})
    server.static("/feed.xml", rss(items))
    stats = run_cycle(settings)
    assert stats.new_items == 1 and stats.extracted == 1
    assert [server.hits(f"/a/{i}.html") for i in range(3)] == [1, 1, 1]
    assert len(rows(settings, "SELECT * FROM articles")) == 4


def test_failures_back_off_exponentially(server, tmp_path):
    server.add("/down.xml", lambda h: send(h, 503, b"busy", "text/plain"))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/down.xml"),
                                                 "interval_seconds": 60}],
                             fetch={"backoff_base_seconds": 60, "backoff_max_seconds": 3600})
    delays = []
    for _ in range(3):
        before = time.time()
        run_cycle(settings)
        row = feed_row(settings, "f")
        delays.append(row["next_poll_at"] - before)
    assert row["error_count"] == 3 and row["error_kind"] == "http_status"
    assert 50 < delays[0] < 70 and 100 < delays[1] < 140 and 200 < delays[2] < 280


def test_next_poll_counts_from_the_start_of_a_slow_poll(server, tmp_path):
    # Counting from the end would make the scheduler's next run (one interval after the last
    # one started) look early, skip it, and double the interval of every slow feed.
    def slow(h):
        time.sleep(1.5)
        send(h, 200, rss([]), "application/rss+xml")
    server.add("/slow.xml", slow)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/slow.xml"),
                                                 "interval_seconds": 60}])
    before = time.time()
    run_cycle(settings)
    row = feed_row(settings, "f")
    assert row["last_polled_at"] - before >= 1.5
    assert row["next_poll_at"] - before <= 60.5


def test_one_feed_failing_does_not_stop_others(server, tmp_path):
    server.static("/ok.xml", rss([{"title": "سليم", "link": server.url("/none"), "guid": "1"}]))
    settings = make_settings(tmp_path, server, [
        {"name": "ok", "url": server.url("/ok.xml")},
        {"name": "refused", "url": "http://127.0.0.1:9/feed"},
        {"name": "blocked", "url": "http://10.255.255.1/feed"}])
    stats = run_cycle(settings)
    assert stats.feeds_ok == 1 and stats.feeds_failed == 2
    assert feed_row(settings, "blocked")["error_kind"] == "blocked_address"
    assert feed_row(settings, "refused")["error_kind"] in ("network", "blocked_address")
    assert {r.outcome for r in stats.per_feed} == {PollOutcome.OK, PollOutcome.FAILED}


def test_process_pool_extraction_and_time_limit(server, tmp_path):
    server.static("/feed.xml", rss([{"title": "خبر", "link": serve_article(server, "/a.html"),
                                     "guid": "1", "description": "ملخص"}]))
    feeds = [{"name": "f", "url": server.url("/feed.xml")}]
    slow = make_settings(tmp_path / "slow", server, feeds,
                         extract={"workers": 1, "timeout_seconds": 0.001})
    assert run_cycle(slow).fallback == 1
    assert rows(slow, "SELECT extraction_status FROM articles")[0][0] == "fallback_timeout"
    ok = make_settings(tmp_path / "ok", server, feeds, extract={"workers": 1, "timeout_seconds": 60})
    assert run_cycle(ok).extracted == 1


def test_pending_articles_are_resumed_after_a_crash(server, tmp_path):
    """An article recorded but not extracted (process killed mid-way) is finished next poll."""
    link = serve_article(server, "/a.html")
    server.static("/feed.xml", rss([{"title": "خبر", "link": link, "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    conn = sqlite3.connect(settings.database)
    conn.execute("UPDATE articles SET extraction_status = 'pending', text = NULL")
    conn.commit()
    conn.close()
    stats = run_cycle(settings)
    assert stats.new_items == 0 and stats.extracted == 1
    assert rows(settings, "SELECT extraction_status FROM articles")[0][0] == "extracted"


@pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "shared" / "data" / "rss").exists(),
                    reason="../shared/data is not present")
def test_every_shared_real_feed_parses(server, tmp_path):
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "rss"
    files = sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".json", ".rss", ".atom"))
    assert files
    feeds = []
    for i, path in enumerate(files):
        server.static(f"/real/{i}", path.read_bytes(), "application/xml")
        feeds.append({"name": f"real-{i}-{path.stem}", "url": server.url(f"/real/{i}")})
    settings = make_settings(tmp_path, server, feeds, extract={"max_pages_per_cycle": 1})
    stats = run_cycle(settings)
    assert len(stats.per_feed) == len(files)
    assert all(r.error_kind in (None, "not_a_feed") for r in stats.per_feed)
    urdu = next(r for r in stats.per_feed if "urdu" in r.feed)
    assert urdu.outcome is PollOutcome.OK and urdu.new_items >= 1


def test_google_news_style_items(server, tmp_path):
    body = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>أخبار</title>'
            '<item><title>يفكوروف في بنغازي مجددا - بوابة الوسط</title>'
            '<link>' + server.url("/rss/articles/CBMiX?oc=5") + '</link>'
            '<guid isPermaLink="false">CBMiXyz</guid><pubDate>Fri, 20 Nov 2026 08:00:00 GMT</pubDate>'
            '<description>&lt;a href="x"&gt;يفكوروف في بنغازي&lt;/a&gt;</description>'
            '<source url="https://alwasat.ly">بوابة الوسط</source></item></channel></rss>').encode()
    server.static("/gn.xml", body)
    settings = make_settings(tmp_path, server, [{"name": "gn", "url": server.url("/gn.xml")}])
    run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["feed_title"] == "يفكوروف في بنغازي مجددا"
    assert art["identity"] == "guid:gn:CBMiXyz" and art["text"] == "يفكوروف في بنغازي"


def test_page_date_and_author_fill_in_when_feed_has_none(server, tmp_path):
    server.static("/feed.xml", rss([{"title": "بلا تاريخ", "link": serve_article(server, "/a.html"),
                                     "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert art["published_at"] == 1795162500.0   # 2026-11-20T10:15:00+02:00 from the page
    assert art["author"] == "مراسل الاختبار"


def test_pipeline_stores_score_and_hits(server, tmp_path):
    from monitor.app import load_scorer
    from tests.conftest import REPO
    server.static("/feed.xml", rss([
        {"title": "يفكوروف في بنغازي", "link": serve_article(server, "/p.html"), "guid": "p"},
        {"title": "أمطار في درنة", "link": server.url("/none"), "guid": "n",
         "description": "توقعات بهطول أمطار غزيرة على مدينة درنة هذا الأسبوع"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}],
                             rules_path=str(REPO / "rules"))
    run_cycle(settings, load_scorer(settings))
    pos, neg = rows(settings, "SELECT * FROM articles ORDER BY id")
    assert pos["alert"] == 1 and pos["score"] > 5 and neg["alert"] == 0
    import json
    hits = json.loads(pos["hits_json"])["hits"]
    assert any(h["entity"] == "yevkurov" for h in hits)
    assert all(pos["text"][h["start"]:h["end"]] == h["match"] for h in hits if h["field"] == "text")
