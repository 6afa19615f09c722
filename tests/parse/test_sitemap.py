"""Sitemaps as a source: news sitemap items, the window, index children, and hostile bodies."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import ParseSettings
from monitor.errors import ParseError
from monitor.models import ParsedFeed, ParseRequest
from monitor.parse.clean import MAX_ITEMS
from monitor.parse.sitemap import MAX_ENTRIES, MAX_INFLATED, parse_sitemap, parse_w3c_date
from monitor.parse.worker import FeedParsers

DATA = Path(__file__).resolve().parents[1] / "data" / "sitemap"
NEWS = (DATA / "news-sitemap.xml").read_bytes()
INDEX = (DATA / "sitemap-index.xml").read_bytes()
#: The fixtures' "now": a few minutes after their generators ran.
NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
NEWS_URL = "https://alwasat.ly/sitemap-news.xml"
NS = ('xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
      'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"')


def parse(body: bytes, *, url: str = NEWS_URL, hours: float = 48.0, now: datetime = NOW,
          content_type: str | None = "application/xml") -> ParsedFeed:
    return parse_sitemap(ParseRequest(body, "wasat", url, content_type, kind="sitemap",
                                      now=now.timestamp(), max_age_hours=hours))


def urlset(*entries: str, ns: str = NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>\n{"".join(entries)}</urlset>'.encode()


def news_url(loc: str, title: str = "خبر", date: str | None = "2025-03-11T10:00:00Z",
             extra: str = "") -> str:
    when = f"<news:publication_date>{date}</news:publication_date>" if date else ""
    return (f"<url><loc>{loc}</loc>{extra}<news:news><news:publication><news:name>الوسط"
            f"</news:name><news:language>ar</news:language></news:publication>{when}"
            f"<news:title>{title}</news:title></news:news></url>\n")


def plain_url(loc: str, lastmod: str | None = None) -> str:
    return f"<url><loc>{loc}</loc>{f'<lastmod>{lastmod}</lastmod>' if lastmod else ''}</url>\n"


def test_news_sitemap_fields():
    feed = parse(NEWS)
    assert feed.bozo_error is None and feed.children == ()
    assert feed.title == "بوابة الوسط"
    first = feed.items[0]
    assert first.url == "https://alwasat.ly/news/libya/437512"        # tracking query dropped
    assert first.identity == "url:https://alwasat.ly/news/libya/437512"
    assert first.title == "وصول طائرات شحن روسية إلى قاعدة الجفرة"
    assert first.summary == "" and first.guid is None and first.author is None
    assert first.outlet == "بوابة الوسط"
    assert first.tags == ("ليبيا", "روسيا", "الجفرة")
    assert first.published == datetime(2025, 3, 11, 10, 10, tzinfo=UTC)   # +02:00 → UTC
    assert first.key and first.key != feed.items[1].key
    titles = [item.title for item in feed.items]
    assert titles[1] == "يفكوروف في بنغازي: «تعاون عسكري» جديد"            # CDATA
    assert titles[2] == 'المؤسسة الوطنية للنفط: الإنتاج يبلغ "مستوى قياسيا"'  # escaped twice
    assert titles[3] == ""                                                # may be empty
    # image:loc sits inside <url> too: it is not the entry's link.
    assert not any("jufra-cargo.jpg" in (item.url or "") for item in feed.items)


def test_only_entries_within_the_window_newest_first():
    feed = parse(NEWS)
    dates = [item.published for item in feed.items]
    assert dates == sorted(dates, reverse=True)
    assert all(NOW - d <= timedelta(hours=48) for d in dates)
    assert "https://alwasat.ly/news/libya/436990" not in [i.url for i in feed.items]  # 3 days
    assert len(parse(NEWS, hours=100).items) == 5
    assert [i.url for i in parse(NEWS, hours=6).items] == [
        "https://alwasat.ly/news/libya/437512", "https://alwasat.ly/news/libya/437498"]


def test_lastmod_dates_an_entry_without_publication_date_and_future_dates_are_now():
    body = urlset(news_url("https://x.ly/a", date=None, extra="<lastmod>2025-03-11T08:00:00Z</lastmod>"),
                  news_url("https://x.ly/b", date="2025-03-12T08:00:00+00:00"))
    by_url = {i.url: i.published for i in parse(body).items}
    assert by_url["https://x.ly/a"] == datetime(2025, 3, 11, 8, tzinfo=UTC)
    assert by_url["https://x.ly/b"] == NOW        # tomorrow's date: a zone mistake, not news


def test_undated_news_entries_are_taken_undated_plain_ones_never():
    body = urlset(news_url("https://x.ly/news", date=None),
                  plain_url("https://x.ly/about"),
                  plain_url("https://x.ly/fresh", "2025-03-11T11:00:00Z"),
                  plain_url("https://x.ly/old", "2020-01-01"))
    feed = parse(body)
    assert [i.url for i in feed.items] == ["https://x.ly/fresh", "https://x.ly/news"]
    assert feed.items[1].published is None


def test_a_plain_sitemap_without_any_date_is_refused_with_the_reason():
    body = urlset(*(plain_url(f"https://x.ly/page/{n}") for n in range(30)))
    with pytest.raises(ParseError, match="none of its 30 entries has a date"):
        parse(body)
    assert parse(urlset()).items == []     # an empty news sitemap is a quiet day, not an error


def test_relative_duplicate_and_bad_locs():
    body = urlset(news_url("/news/1", date="2025-03-11T09:00:00Z"),
                  news_url("https://alwasat.ly/news/1#comments", title="محدث",
                           date="2025-03-11T11:00:00Z"),
                  news_url("javascript:alert(1)"), news_url(""),
                  news_url("https://x.ly/" + "a" * 9000))
    feed = parse(body)
    assert [(i.url, i.title) for i in feed.items] == [("https://alwasat.ly/news/1", "محدث")]


@pytest.mark.parametrize("ns", [
    pytest.param('xmlns="https://www.sitemaps.org/schemas/sitemap/0.9" '
                 'xmlns:news="https://www.google.com/schemas/sitemap-news/0.9"', id="https"),
    pytest.param('xmlns="http://www.google.com/schemas/sitemap/0.84" '
                 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"', id="old-schema"),
    pytest.param('xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"', id="no-default"),
])
def test_namespace_variants_are_read(ns):
    assert [i.title for i in parse(urlset(news_url("https://x.ly/a", "ليبيا"), ns=ns)).items] == ["ليبيا"]


def test_an_undeclared_news_prefix_keeps_the_entries_with_a_note():
    feed = parse(urlset(news_url("https://x.ly/a"), news_url("https://x.ly/b"),
                        ns='xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'))
    assert len(feed.items) == 2
    assert "Namespace prefix news" in (feed.bozo_error or "")


def test_arabic_in_windows_1256_as_declared():
    text = ('<?xml version="1.0" encoding="windows-1256"?>\n<urlset ' + NS + '>'
            + news_url("https://x.ly/a", "روسيا وليبيا") + "</urlset>")
    assert parse(text.encode("cp1256")).items[0].title == "روسيا وليبيا"


def test_sitemap_index_children_most_recent_first_old_ones_left_out():
    feed = parse(INDEX, url="https://www.218tv.net/sitemap_index.xml")
    assert feed.items == [] and feed.bozo_error is None
    assert feed.children == (
        "https://www.218tv.net/post-sitemap3.xml",        # 11:58 today
        "https://www.218tv.net/post-sitemap2.xml",        # yesterday
        "https://www.218tv.net/news-sitemap.xml",         # undated, in document order
        "https://www.218tv.net/category-sitemap.xml",
    )   # 2019 and 2024 sitemaps left out; the index's own URL is not its child
    wide = parse(INDEX, url="https://www.218tv.net/sitemap_index.xml", hours=24 * 365 * 10)
    assert wide.children[-3:] == ("https://www.218tv.net/post-sitemap.xml",
                                  "https://www.218tv.net/news-sitemap.xml",
                                  "https://www.218tv.net/category-sitemap.xml")


@pytest.mark.parametrize("url,content_type", [
    pytest.param("https://alwasat.ly/sitemap-news.xml.gz", "application/x-gzip", id="labelled"),
    pytest.param("https://alwasat.ly/sitemap-news.xml", "application/xml", id="magic-bytes"),
])
def test_gzip_body_is_inflated(url, content_type):
    assert parse(gzip.compress(NEWS), url=url, content_type=content_type) == parse(NEWS, url=url)


def test_gzip_label_on_a_plain_body_is_read_as_it_is():
    assert parse(NEWS, url="https://alwasat.ly/s.xml.gz", content_type="application/x-gzip").items


def test_gzip_bomb_is_refused_within_the_cap():
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1 << 20)
    bomb = comp.compress(b"<urlset>") + b"".join(comp.compress(chunk) for _ in range(200))
    bomb += comp.flush()
    assert len(bomb) < 1_000_000 and 200 << 20 > 3 * MAX_INFLATED   # 200 MB once inflated
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="inflates to more than"):
            parse(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000     # the 52 MB cap is never allocated, let alone 200 MB


def test_corrupt_gzip_is_a_parse_error():
    with pytest.raises(ParseError, match="corrupt gzip"):
        parse(b"\x1f\x8b\x08\x00garbage-that-is-not-deflate")


def test_xxe_is_refused_and_the_file_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY")
    body = (f'<?xml version="1.0"?>\n<!DOCTYPE urlset [<!ENTITY x SYSTEM "file://{secret}">]>\n'
            f'<urlset {NS}>{news_url("https://x.ly/a", "&x;")}</urlset>').encode()
    with pytest.raises(ParseError, match="declares a DTD") as err:
        parse(body)
    assert "CANARY" not in str(err.value)


def test_billion_laughs_is_refused_at_once():
    lols = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY l0 "lol">{lols}]>'
            f'<urlset {NS}>{news_url("https://x.ly/a", "&l9;")}</urlset>').encode()
    started = time.process_time()
    with pytest.raises(ParseError, match="DTD"):
        parse(body)
    assert time.process_time() - started < 1


def test_an_entity_without_a_dtd_is_not_well_formed():
    with pytest.raises(ParseError, match=r"line 3: Entity 'nbsp' not defined"):
        parse(urlset(news_url("https://x.ly/a", "&nbsp;")))


def test_100000_urls_are_read_up_to_the_protocol_limit_and_items_bounded():
    start = NOW - timedelta(hours=40)
    entries = [plain_url(f"https://x.ly/p/{n}", (start + timedelta(seconds=n)).isoformat())
               for n in range(100_000)]
    started = time.monotonic()
    feed = parse(urlset(*entries))
    assert time.monotonic() - started < 20       # the parse workers' default time limit
    assert len(feed.items) == MAX_ITEMS
    assert f"more than {MAX_ENTRIES:,} entries" in (feed.bozo_error or "")
    # The newest of the entries read are kept: the last read was number 49,999.
    assert feed.items[0].url == f"https://x.ly/p/{MAX_ENTRIES - 1}"


@pytest.mark.parametrize("body,message", [
    pytest.param(b"<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>404</title>",
                 "not a sitemap: the document is an HTML page", id="html"),
    pytest.param(b"<HTML><BODY>Service Unavailable</BODY></HTML>",
                 "not a sitemap: the document is an HTML page", id="html-upper"),
    pytest.param(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
                 "not a sitemap: the root element is <rss> (use type: rss)", id="rss"),
    pytest.param(b'<feed xmlns="http://www.w3.org/2005/Atom"/>',
                 "not a sitemap: the root element is <feed> (use type: rss)", id="atom"),
    pytest.param(b"<error><code>403</code></error>",
                 "not a sitemap: the root element is <error>, not <urlset> or <sitemapindex>",
                 id="other-xml"),
    pytest.param(b'{"error": "rate limited"}',
                 "not a sitemap: not XML (no element found", id="json"),
    pytest.param(b"  \n ", "not a sitemap: the body is empty", id="empty"),
    pytest.param(b'<?xml version="1.0"?>\n<urlset>\n<url><loc>https://x.ly/a</loc>\n<lastmod>',
                 "not a sitemap: not well-formed XML at line 4", id="truncated"),
    pytest.param(b"<urlset><url><loc>a</url></loc></urlset>",
                 "not a sitemap: not well-formed XML at line 1: Opening and ending tag mismatch",
                 id="mismatch"),
])
def test_not_a_sitemap_gives_a_clear_reason(body, message):
    with pytest.raises(ParseError) as err:
        parse(body)
    assert str(err.value).startswith(message), str(err.value)


def test_broken_after_some_entries_keeps_them_with_a_note():
    body = urlset(news_url("https://x.ly/a"), news_url("https://x.ly/b"))[:-len("</urlset>")]
    body += b"<url><loc>https://x.ly/c</loc><news:news><news:title>"
    feed = parse(body)
    assert [i.url for i in feed.items] == ["https://x.ly/a", "https://x.ly/b"]
    assert feed.bozo_error.startswith("not well-formed XML at line ")
    assert "the 2 entries read before it kept" in feed.bozo_error


@pytest.mark.parametrize("text,expected", [
    ("2025-03-11", datetime(2025, 3, 11, tzinfo=UTC)),
    ("2025-03-11T10:00Z", datetime(2025, 3, 11, 10, tzinfo=UTC)),
    ("2025-03-11T12:00:00.5+02:00", datetime(2025, 3, 11, 10, 0, 0, 500000, tzinfo=UTC)),
    ("2025-03-11 10:00:00", datetime(2025, 3, 11, 10, tzinfo=UTC)),
    ("Tue, 11 Mar 2025 10:00:00 +0000", datetime(2025, 3, 11, 10, tzinfo=UTC)),
    ("2025-03", None), ("2025", None), ("yesterday", None), ("", None), (None, None),
    ("0001-01-01T00:00:00+01:00", None),
])
def test_parse_w3c_date(text, expected):
    assert parse_w3c_date(text) == expected


def test_through_the_parse_worker_process():
    async def run() -> tuple[ParsedFeed, ParsedFeed, str]:
        parsers = FeedParsers(ParseSettings(workers=1))
        try:
            how = {"kind": "sitemap", "now": NOW.timestamp(), "max_age_hours": 48.0}
            news = await parsers.parse(gzip.compress(NEWS), "wasat", NEWS_URL,
                                       "application/x-gzip", **how)
            index = await parsers.parse(INDEX, "218", "https://www.218tv.net/sitemap_index.xml",
                                        "text/xml", **how)
            with pytest.raises(ParseError) as err:
                await parsers.parse(b"<rss/>", "wasat", NEWS_URL, None, **how)
            return news, index, str(err.value)
        finally:
            parsers.close()

    news, index, error = asyncio.run(run())
    assert news == parse(NEWS)
    assert news.items[0].title == "وصول طائرات شحن روسية إلى قاعدة الجفرة"
    assert index.children[0] == "https://www.218tv.net/post-sitemap3.xml"
    assert error == "not a sitemap: the root element is <rss> (use type: rss)"
