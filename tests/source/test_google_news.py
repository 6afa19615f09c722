"""Google News links resolved against a real local fake of Google, through a real Fetcher and a
real state database."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import FetchSettings, SourceSettings
from monitor.fetch.client import FEED_ACCEPT, Fetcher
from monitor.source.google_news import (
    GoogleNewsResolver,
    Resolution,
    TokenBucket,
    article_id,
    decode_offline,
    is_google_news_link,
)
from monitor.store.db import Database, open_database
from monitor.store.links import StoredLinkCache, prune_links
from tests.servers.google_news import FakeGoogleNews, new_form_id, old_form_id

T = TypeVar("T")
PUBLISHER = "https://alwasat.ly/news/libya/412345"
# Real ids, as published by Google News and quoted in googlenewsdecoder's README.
REAL_OLD = ("CBMiLmh0dHBzOi8vd3d3LmJiYy5jb20vbmV3cy9hcnRpY2xlcy9jampqbnhkdjE4OG_SATJodHRwczovL3d3dy5i"
            "YmMuY29tL25ld3MvYXJ0aWNsZXMvY2pqam54ZHYxODhvLmFtcA")
REAL_NEW = ("CBMiVkFVX3lxTE4zaGU2bTY2ZGkzdTRkSkJ0cFpsTGlDUjkxU2FBRURaTWU0c3QzVWZ1MHZZNkZ5Vzk1ZVBnTDFH"
            "Y2R6ZmdCUkpUTUJsS1pqQTlCRzlzbHV3")


class FakeClock:
    """Wall-clock time that only moves when the resolver sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def gn() -> Any:
    with FakeGoogleNews() as fake:
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = open_database(tmp_path / "state.db")
    yield database
    database.close()


@asynccontextmanager
async def resolver(gn: FakeGoogleNews, db: Database, clock: FakeClock,
                   **source: Any) -> AsyncIterator[GoogleNewsResolver]:
    fetch = FetchSettings(allow_addresses=[f"127.0.0.1:{gn.port}"], connect_timeout=2,
                          read_timeout=2, total_timeout=5)
    settings = SourceSettings(google_news_base=gn.base, **source)
    async with Fetcher(fetch) as fetcher:
        yield GoogleNewsResolver(fetcher, StoredLinkCache(db), settings, clock, sleep=clock.sleep)


def resolve_all(gn: FakeGoogleNews, db: Database, links: list[str], clock: FakeClock | None = None,
                **source: Any) -> list[Resolution]:
    """Resolve ``links`` one after the other with one resolver."""
    async def go() -> list[Resolution]:
        async with resolver(gn, db, clock or FakeClock(), **source) as res:
            return [await res.resolve(link) for link in links]
    return asyncio.run(go())


def run_with(gn: FakeGoogleNews, db: Database, clock: FakeClock,
             body: Callable[[GoogleNewsResolver], Awaitable[T]], **source: Any) -> T:
    async def go() -> T:
        async with resolver(gn, db, clock, **source) as res:
            return await body(res)
    return asyncio.run(go())


# ---------------------------------------------------------------- ids and links


def test_real_ids_of_both_forms_decode_as_google_made_them():
    assert decode_offline(REAL_OLD) == "https://www.bbc.com/news/articles/cjjjnxdv188o"
    assert decode_offline(REAL_NEW) is None          # AU_yqL…: only the exchange knows


def test_the_fake_builds_ids_the_way_google_does():
    assert old_form_id(PUBLISHER).startswith("CBMi")
    assert decode_offline(old_form_id(PUBLISHER)) == PUBLISHER
    assert decode_offline(old_form_id(PUBLISHER, PUBLISHER + "/amp")) == PUBLISHER
    new = new_form_id()
    assert new.startswith("CBMi") and decode_offline(new) is None
    raw = base64.urlsafe_b64decode(new + "=" * (-len(new) % 4))
    assert raw[:3] == b"\x08\x13\x22" and raw[5:11] == b"AU_yqL"   # a two-byte length


@pytest.mark.parametrize("url, expected", [
    ("https://news.google.com/rss/articles/CBMiAbc?oc=5", "CBMiAbc"),
    ("https://news.google.com/articles/CBMiAbc", "CBMiAbc"),
    ("https://news.google.com/read/CBMiAbc?hl=ar&gl=EG&ceid=EG%3Aar", "CBMiAbc"),
    ("https://news.google.com/rss/articles/CBMiAbc==", "CBMiAbc=="),
    ("https://news.google.com/rss/search?q=x", None),
    ("https://news.google.com/rss/articles/", None),
    ("https://news.google.com/rss/articles/CBMi%00x", None),
    ("https://news.google.com/rss/articles/a/b", None),
    ("https://news.google.com/rss/articles/" + "A" * 5000, None),
    ("http://[::1/rss/articles/CBMi", None),
    ("", None),
], ids=lambda v: str(v)[:40])
def test_article_id(url, expected):
    assert article_id(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("https://news.google.com/rss/articles/CBMiAbc?oc=5", True),
    ("https://NEWS.google.com/articles/CBMiAbc", True),
    ("http://127.0.0.1:8999/rss/articles/CBMiAbc?oc=5", True),       # the configured base
    ("http://127.0.0.1:9000/rss/articles/CBMiAbc?oc=5", False),      # another port
    ("https://alwasat.ly/rss/articles/CBMiAbc", False),
    ("https://news.google.com/topics/CAAqBwgKMJ", False),
    ("ftp://news.google.com/rss/articles/CBMiAbc", False),
    ("not a url", False),
])
def test_is_google_news_link(url, expected):
    assert is_google_news_link(url, "http://127.0.0.1:8999") is expected


@given(st.text(max_size=300))
def test_decoding_any_text_never_raises(text):
    assert decode_offline(text) is None or isinstance(decode_offline(text), str)


@given(st.binary(max_size=400))
def test_decoding_the_base64_of_any_bytes_never_raises(data):
    link_id = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert decode_offline(link_id) is None or isinstance(decode_offline(link_id), str)


@pytest.mark.parametrize("link_id", [
    "CBMi", "CBMi=", "CBMi===", "C", "CBMiA", "CBMi" + "A" * 4093, "CBMi" * 2000,
    "CBMi__--__--", base64.urlsafe_b64encode(b"\x08\x13\x22\xff\xff\xff\xff\xff\xff\xff\xff\xff"
                                            b"\xff\x01").decode(),
    base64.urlsafe_b64encode(b"\x08\x13\x22\x7f" + b"x" * 5).decode(),   # length past the end
    base64.urlsafe_b64encode(b"\x0f\x13").decode(),                      # wire type 7
    old_form_id("no scheme here"), old_form_id("https://x y/z"),
], ids=lambda v: v[:24])
def test_hostile_ids_decode_to_nothing(link_id):
    assert decode_offline(link_id) is None


# ---------------------------------------------------------------- resolving


def test_an_old_form_link_is_resolved_offline_without_any_request(gn, db):
    [res] = resolve_all(gn, db, [gn.old_link(PUBLISHER)])
    assert res == Resolution(PUBLISHER, "offline", None)
    assert gn.requests == []


def test_a_new_form_link_is_exchanged_with_the_page_signature(gn, db):
    link = gn.new_link(PUBLISHER)
    [res] = resolve_all(gn, db, [link])
    assert res == Resolution(PUBLISHER, "exchanged", None)
    page, post = gn.requests
    link_id = article_id(link)
    assert (page.kind, page.path) == ("page", f"/rss/articles/{link_id}")
    assert post.kind == "batchexecute" and post.method == "POST"
    rpc = json.loads(post.form["f.req"])[0][0]
    call = json.loads(rpc[1])
    # The fake refuses a signature or timestamp its page did not give: this is the page's pair.
    assert rpc[0] == "Fbv4je" and call[0] == "garturlreq" and call[2] == link_id
    assert (call[4], call[3]) == gn.signatures[link_id]


def test_the_link_locale_is_kept_for_the_article_page(gn, db):
    link = gn.new_link(PUBLISHER).replace("?oc=5", "?hl=ar&gl=EG&ceid=EG:ar")
    assert resolve_all(gn, db, [link])[0].outcome == "exchanged"
    assert gn.requests[0].query == {"hl": "ar", "gl": "EG", "ceid": "EG:ar"}


def test_a_resolution_is_cached_whatever_the_query_string(gn, db):
    link = gn.new_link(PUBLISHER)
    same = link.replace("?oc=5", "?hl=ar&gl=EG&ceid=EG:ar")
    first, second, third = resolve_all(gn, db, [link, link, same])
    assert first.outcome == "exchanged"
    assert second == third == Resolution(PUBLISHER, "cached", None)
    assert (gn.count("page"), gn.count("batchexecute")) == (1, 1)


def test_the_cache_survives_reopening_the_database(gn, tmp_path):
    link = gn.new_link(PUBLISHER)
    db = open_database(tmp_path / "s.db")
    assert resolve_all(gn, db, [link])[0].outcome == "exchanged"
    db.close()
    db = open_database(tmp_path / "s.db")
    assert resolve_all(gn, db, [link])[0] == Resolution(PUBLISHER, "cached", None)
    db.close()
    assert gn.count("page") == 1


def test_concurrent_resolutions_of_one_link_share_one_exchange(gn, db):
    link = gn.new_link(PUBLISHER)
    gn.delay = 0.05

    async def body(res: GoogleNewsResolver) -> list[Resolution]:
        return list(await asyncio.gather(*(res.resolve(link) for _ in range(5))))

    results = run_with(gn, db, FakeClock(), body)
    assert results == [Resolution(PUBLISHER, "exchanged", None)] * 5
    assert (gn.count("page"), gn.count("batchexecute")) == (1, 1)


def test_a_cancelled_caller_does_not_cancel_the_shared_exchange(gn, db):
    link = gn.new_link(PUBLISHER)
    gn.delay = 0.2

    async def body(res: GoogleNewsResolver) -> Resolution:
        first = asyncio.ensure_future(res.resolve(link))
        second = asyncio.ensure_future(res.resolve(link))
        await asyncio.sleep(0.05)
        first.cancel()
        return await second

    assert run_with(gn, db, FakeClock(), body) == Resolution(PUBLISHER, "exchanged", None)
    assert gn.count("page") == 1


def test_exchanges_are_spaced_by_the_rate_limit_and_wait_rather_than_fail(gn, db):
    clock = FakeClock()
    links = [gn.new_link(f"{PUBLISHER}/{i}") for i in range(4)]

    async def body(res: GoogleNewsResolver) -> list[Resolution]:
        return list(await asyncio.gather(*(res.resolve(link) for link in links)))

    results = run_with(gn, db, clock, body, resolve_per_minute=30)
    assert [r.outcome for r in results] == ["exchanged"] * 4
    assert clock.slept == pytest.approx([2.0, 2.0, 2.0])       # 30 a minute, no burst


def test_cached_and_offline_resolutions_take_no_token(gn, db):
    clock = FakeClock()
    new = gn.new_link(PUBLISHER)
    links = [new, new, gn.old_link(PUBLISHER + "/old"), new, gn.new_link(PUBLISHER + "/2")]
    outcomes = [r.outcome for r in resolve_all(gn, db, links, clock, resolve_per_minute=6)]
    assert outcomes == ["exchanged", "cached", "offline", "cached", "exchanged"]
    assert clock.slept == pytest.approx([10.0])                # only before the second exchange


def test_the_token_bucket_refills_at_its_rate_and_never_beyond_the_burst():
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep)

    async def go() -> list[float]:
        waits = [await bucket.take() for _ in range(3)]
        clock.now += 100                          # idle: one token, not a hundred
        waits += [await bucket.take(), await bucket.take()]
        clock.now -= 1000                         # the wall clock set back
        waits.append(await bucket.take())
        return waits

    assert asyncio.run(go()) == pytest.approx([0.0, 1.0, 1.0, 0.0, 1.0, 1.0])


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("endpoint, answer, outcome, words", [
    ("page", ("429", 120), "failed", "HTTP 429"),
    ("page", "500", "failed", "HTTP 500"),
    ("page", "sorry", "failed", "HTTP 429"),
    ("page", "no_signature", "format_changed", "data-n-a-sg"),
    ("page", "garbage", "format_changed", "data-n-a-sg"),
    ("batchexecute", "429", "failed", "HTTP 429"),
    ("batchexecute", "500", "failed", "HTTP 500"),
    ("batchexecute", ("error", 3), "format_changed", "error code 3"),
    ("batchexecute", ("error", 8), "failed", "error code 8"),
    ("batchexecute", "garbage", "format_changed", ")]}'"),
], ids=lambda v: str(v))
def test_each_failure_answer_has_its_outcome_and_nothing_is_cached(gn, db, endpoint, answer,
                                                                   outcome, words):
    link = gn.new_link(PUBLISHER)
    gn.script(endpoint, answer)
    clock = FakeClock()
    first = resolve_all(gn, db, [link], clock)[0]
    assert (first.url, first.outcome) == (None, outcome)
    assert first.error and words in first.error, first.error
    assert StoredLinkCache(db).get(f"https://news.google.com/rss/articles/{article_id(link)}") is None
    clock.now += 3600                                        # past any pause
    assert resolve_all(gn, db, [link], clock)[0] == Resolution(PUBLISHER, "exchanged", None)


def test_after_a_429_google_is_left_alone_until_retry_after(gn, db):
    clock = FakeClock()
    gn.script("page", ("429", 120))
    one, two = gn.new_link(PUBLISHER + "/1"), gn.new_link(PUBLISHER + "/2")

    async def body(res: GoogleNewsResolver) -> list[Resolution]:
        first, during = await res.resolve(one), await res.resolve(two)
        clock.now += 121
        return [first, during, await res.resolve(two)]

    first, during, after = run_with(gn, db, clock, body)
    assert first.outcome == during.outcome == "failed"
    assert "no exchange for 120 s" in (during.error or "")
    assert after == Resolution(PUBLISHER + "/2", "exchanged", None)
    assert gn.count("page") == 2                             # none while paused


def test_an_unreachable_google_is_a_transient_failure(gn, db):
    link = gn.new_link(PUBLISHER)
    gn.close()                                               # nobody listens any more
    res = resolve_all(gn, db, [link])[0]
    assert (res.outcome, res.url) == ("failed", None)
    assert "cannot connect" in (res.error or "")


@pytest.mark.parametrize("target, words", [
    ("https://news.google.com/rss/articles/CBMiXYZ", "points back to Google"),
    ("https://www.google.com/sorry/index", "points back to Google"),
    ("https://consent.google.co.uk/ml", "points back to Google"),
    ("BASE/rss/articles/CBMiABC", "points back to Google"),
    ("javascript:alert(1)", "not http(s)"),
    ("ftp://alwasat.ly/file", "not http(s)"),
    ("https://alwasat.ly/a b", "not a plain URL"),
])
@pytest.mark.parametrize("form", ["old", "new"])
def test_a_resolved_url_that_is_not_a_publisher_page_is_a_format_change(gn, db, target, words,
                                                                        form):
    target = target.replace("BASE", gn.base)
    link = gn.old_link(target) if form == "old" else gn.new_link(target)
    res = resolve_all(gn, db, [link])[0]
    if form == "old" and " " in target:
        # Not URL-shaped text in an old id: not decoded offline, so Google is asked, and the
        # exchange answers the same text.
        assert gn.count("page") == 1
    assert (res.url, res.outcome) == (None, "format_changed")
    assert words in (res.error or ""), res.error


def test_a_format_change_is_one_warning_not_one_per_link(gn, db, caplog):
    gn.script("page", "no_signature", "no_signature", "no_signature")
    links = [gn.new_link(f"{PUBLISHER}/{i}") for i in range(3)]
    with caplog.at_level(logging.DEBUG, logger="monitor.source.google_news"):
        assert [r.outcome for r in resolve_all(gn, db, links)] == ["format_changed"] * 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "data-n-a-sg" in warnings[0].getMessage()


def test_a_batchexecute_answer_with_a_google_url_is_a_format_change(gn, db):
    gn.script("batchexecute", ("url", "https://news.google.com/articles/CBMi"))
    res = resolve_all(gn, db, [gn.new_link(PUBLISHER)])[0]
    assert res.outcome == "format_changed" and "points back to Google" in (res.error or "")


@pytest.mark.parametrize("url", [
    "https://alwasat.ly/news/1", "", "not a url", None, 42, b"https://news.google.com/read/CBMi", "https://news.google.com/rss/articles/%FF%00",
    "https://news.google.com/rss/articles/" + "A" * 100_000, "http://[::1/rss/articles/x",
    "https://news.google.com/rss/articles/CBMi" + "\u0644" * 50,
], ids=lambda v: repr(v)[:30])
def test_links_that_are_not_google_news_articles_are_refused_without_a_request(gn, db, url):
    res = resolve_all(gn, db, [url])[0]
    assert (res.url, res.outcome) == (None, "format_changed")
    assert "not a Google News article link" in (res.error or "")
    assert gn.requests == []


def test_ids_google_does_not_know_are_a_failure_not_an_exception(gn, db):
    links = [gn.link(base64.urlsafe_b64encode(bytes(range(i, i + 40))).decode().rstrip("="))
             for i in range(0, 200, 40)] + [gn.link("CBMi" + "A" * 4000), gn.link("CBMi=")]
    results = resolve_all(gn, db, links)
    assert [r.outcome for r in results] == ["failed"] * len(links)
    assert all("HTTP 404" in (r.error or "") for r in results)


# ---------------------------------------------------------------- the search feed


def test_the_search_feed_has_google_shape_and_its_links_resolve(gn, db):
    gn.add_item("قوات روسية في الجفرة", "بوابة الوسط", PUBLISHER, form="new")
    gn.add_item("فاغنر في ليبيا", "قناة ليبيا", "https://libya.tv/a/7", form="old")
    gn.add_item("خبر آخر", "لانا", "https://lana.gov.ly/x", query="غير هذا")

    async def body(res: GoogleNewsResolver) -> tuple[Any, list[Resolution]]:
        feed = await res.fetcher.get(gn.search_url("روسيا ليبيا"), accept=FEED_ACCEPT)
        parsed = feedparser.parse(feed.body)
        return parsed, [await res.resolve(e.link) for e in parsed.entries]

    parsed, results = run_with(gn, db, FakeClock(), body)
    first, second = parsed.entries
    assert first.title == "قوات روسية في الجفرة - بوابة الوسط"
    assert first.source == {"href": "https://alwasat.ly", "title": "بوابة الوسط"}
    assert first.id == article_id(first.link) and not first.guidislink
    assert first.link.startswith(gn.base + "/rss/articles/CBMi") and first.link.endswith("?oc=5")
    assert "بوابة الوسط" in first.summary and first.published_parsed
    assert [(r.url, r.outcome) for r in results] == [(PUBLISHER, "exchanged"),
                                                    ("https://libya.tv/a/7", "offline")]
    assert gn.requests[0].query["q"] == "روسيا ليبيا"


# ---------------------------------------------------------------- the store


def test_prune_forgets_only_resolutions_older_than_the_cutoff(db):
    cache = StoredLinkCache(db)
    for i, at in enumerate([100.0, 200.0, 300.0]):
        cache.put(f"link{i}", f"https://x/{i}", at)
    cache.put("link0", "https://x/0-again", 400.0)             # refreshed: kept
    assert prune_links(db, 300.0) == 1
    assert [cache.get(f"link{i}") for i in range(3)] == ["https://x/0-again", None, "https://x/2"]
    assert prune_links(db, 300.0) == 0


def test_the_cache_cutoff_follows_resolve_cache_days(gn, db):
    clock = FakeClock()

    async def body(res: GoogleNewsResolver) -> float:
        return res.cache_cutoff()

    assert run_with(gn, db, clock, body, resolve_cache_days=2) == clock.now - 2 * 86400
