"""Google News sources end to end: a search feed on the fake Google News, its links resolved to the
publisher through the fake's real exchange, the publisher's pages on a local server, scored with
the shipped rules, stored in a real database. The same guarantees as an RSS feed: the article is
the publisher's page, one story gives one alert, nothing is lost while Google throttles or
changes, and a restart neither repeats an alert nor asks Google again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.app import open_app
from tests.builders import PARAS, page, rss
from tests.dedupe.test_story_alerts import VERSIONS
from tests.servers.google_news import FakeGoogleNews
from tests.servers.http import TestServer
from tests.source.e2e import (
    alerts,
    articles,
    cycle,
    feed,
    feed_line,
    matcher,
    rows,
    settings_for,
)

QUERY = "يفكوروف ليبيا"
HEADLINE = "نائب وزير الدفاع الروسي يفكوروف يصل إلى بنغازي"
WASAT, MARSAD = "بوابة الوسط", "المرصد"


@pytest.fixture
def gn() -> Iterator[FakeGoogleNews]:
    with FakeGoogleNews() as fake:
        yield fake


@pytest.fixture
def site() -> Iterator[TestServer]:
    """The publishers' web sites."""
    with TestServer() as srv:
        yield srv


def publish(site: TestServer, path: str, paragraphs: list[str], title: str = "يفكوروف في بنغازي",
            sitename: str = "موقع الناشر") -> str:
    """A publisher's article page; returns its URL."""
    return site.static(path, page(title, paragraphs, site=sitename).encode(),
                       "text/html; charset=utf-8")


def gn_source(gn: FakeGoogleNews, name: str = "gn", query: str = QUERY) -> dict[str, Any]:
    """A google_news source searching the fake (which lists every item for every query)."""
    return {"name": name, "type": "google_news", "query": query, "url": gn.search_url(query)}


def settings(tmp_path: Any, gn: FakeGoogleNews, site: TestServer,
             feeds: list[dict[str, Any]] | None = None, **sections: Any) -> Any:
    """Settings for ``feeds`` (the one search by default) against the fake and the sites."""
    return settings_for(tmp_path, feeds or [gn_source(gn)], ports=[gn.port, site.port],
                        google=gn, **sections)


# ---------------------------------------------------------------- the article is the publisher's


@pytest.mark.parametrize("form", ["old", "new"])
def test_item_is_read_from_the_publishers_page_and_alerts_with_its_link(gn, site, tmp_path,
                                                                        form):
    url = publish(site, "/news/412345.html", PARAS)
    link = gn.add_item(HEADLINE, WASAT, url, form=form)
    s = settings(tmp_path, gn, site)

    stats = cycle(s)

    assert (stats.new_items, stats.extracted, stats.fallback, stats.alerts) == (1, 1, 0, 1)
    [art] = articles(s)
    assert art["extraction_status"] == "extracted"
    assert art["canonical_url"] == url and art["source_link"] == link
    assert "قاعدة الجفرة الجوية" in art["text"]          # the page's text, not Google's summary
    assert art["feed_title"] == HEADLINE                  # " - بوابة الوسط" taken off
    assert art["outlet"] == WASAT                         # <source>, not the page's site name
    [alert] = alerts(s)
    assert alert.url == url and alert.outlet == WASAT and alert.title == "يفكوروف في بنغازي"
    assert site.hits("/news/412345.html") == 1
    # An older id carries the URL: Google is not asked. A newer one takes one exchange.
    assert gn.count("batchexecute") == (0 if form == "old" else 1)


def test_polling_again_and_restarting_add_nothing(gn, site, tmp_path):
    url = publish(site, "/news/1.html", PARAS)
    gn.add_item(HEADLINE, WASAT, url)
    s = settings(tmp_path, gn, site)

    async def twice() -> list[int]:
        async with open_app(s, matcher()) as app:
            return [(await app.pipeline.run_cycle(s.feeds)).new_items for _ in range(2)]

    assert asyncio.run(twice()) == [1, 0]
    assert cycle(s).new_items == 0                        # a restart: a new app, same database
    assert len(articles(s)) == 1 and len(alerts(s)) == 1
    assert gn.count("batchexecute") == 1 and site.hits("/news/1.html") == 1


def test_google_retitling_an_item_keeps_it_one_article(gn, site, tmp_path):
    """Google rewrites an item's headline while its id stays: the same article (its stored link
    is the publisher's by then, which must not make it look like another item)."""
    url = publish(site, "/news/2.html", PARAS)
    gn.add_item(HEADLINE, WASAT, url)
    s = settings(tmp_path, gn, site)
    cycle(s)
    gn.items[0].title = HEADLINE + " ويلتقي حفتر"

    stats = cycle(s)

    assert stats.new_items == 0 and stats.duplicates == 0
    assert [a["extraction_status"] for a in articles(s)] == ["extracted"]
    assert len(alerts(s)) == 1 and site.hits("/news/2.html") == 1


# ---------------------------------------------------------------- one story, one alert


def test_two_outlets_copies_of_one_story_are_one_story_and_one_alert(gn, site, tmp_path):
    first = publish(site, "/wasat/a1.html", [VERSIONS[0]], "يفكوروف في بنغازي", WASAT)
    second = publish(site, "/marsad/a2.html", [VERSIONS[1]], "زيارة جديدة ليفكوروف", MARSAD)
    gn.add_item(HEADLINE, WASAT, first)
    gn.add_item("زيارة جديدة ليفكوروف إلى بنغازي", MARSAD, second)
    s = settings(tmp_path, gn, site)

    stats = cycle(s)

    assert stats.extracted == 2 and stats.alerts == 1
    stored = articles(s)
    assert {a["canonical_url"] for a in stored} == {first, second}
    assert len({a["story_id"] for a in stored}) == 1
    [alert] = alerts(s)
    other = MARSAD if alert.outlet == WASAT else WASAT
    assert alert.outlet in (WASAT, MARSAD) and alert.also == (other,)


@pytest.mark.parametrize("order", ["rss_first", "google_first", "same_cycle"])
def test_one_article_through_google_news_and_the_outlets_own_feed(gn, site, tmp_path, order):
    url = publish(site, "/news/77.html", PARAS)
    site.static("/wasat.xml", rss([{"title": "يفكوروف في بنغازي", "link": url, "guid": url}]))
    gn.add_item(HEADLINE, WASAT, url)
    own = {"name": "wasat", "url": site.url("/wasat.xml")}
    both = settings(tmp_path, gn, site, [gn_source(gn), own])
    if order == "same_cycle":
        cycle(both)
    else:
        firsts = [own] if order == "rss_first" else [gn_source(gn)]
        cycle(settings(tmp_path, gn, site, firsts))
        cycle(both)
    later = cycle(both)                           # and a later poll of both changes nothing

    assert (later.new_items, later.duplicates, later.alerts) == (0, 0, 0)
    assert len(alerts(both)) == 1
    stored = articles(both)
    live = [a for a in stored if a["extraction_status"] != "duplicate"]
    assert len({a["story_id"] for a in live}) == 1
    if order != "same_cycle":
        # Whichever came first is the article; the other is recognised as it, never scored.
        assert [a["canonical_url"] for a in live] == [url]
        assert site.hits("/news/77.html") == 1
        for dup in (a for a in stored if a["extraction_status"] == "duplicate"):
            assert f"#{live[0]['id']}" in dup["extraction_error"] and dup["alert"] is None


def test_publisher_url_from_google_is_canonical_like_a_feed_link(gn, site, tmp_path):
    """The outlet's feed adds its tracking parameters, Google its own: the article is one."""
    publish(site, "/news/88.html", PARAS)
    site.static("/wasat.xml", rss([{"title": "يفكوروف في بنغازي", "guid": "wasat-88",
                                    "link": site.url("/news/88.html?utm_source=rss&id=88")}]))
    gn.add_item(HEADLINE, WASAT, site.url("/news/88.html?id=88&utm_medium=google_news"))
    own = {"name": "wasat", "url": site.url("/wasat.xml")}
    cycle(settings(tmp_path, gn, site, [own]))

    cycle(s := settings(tmp_path, gn, site, [own, gn_source(gn)]))

    assert len(alerts(s)) == 1
    assert site.hits("/news/88.html") == 1
    statuses = sorted(a["extraction_status"] for a in articles(s))
    assert statuses == ["duplicate", "extracted"]


# ---------------------------------------------------------------- Google changes or throttles


def test_google_format_change_scores_the_headline_at_once_and_shows_in_feeds(gn, site, tmp_path):
    url = publish(site, "/news/5.html", PARAS)
    link = gn.add_item(HEADLINE, WASAT, url)
    gn.script("page", "no_signature")
    s = settings(tmp_path, gn, site)

    stats = cycle(s)

    assert stats.fallback == 1 and stats.deferred == 0 and stats.alerts == 1
    [art] = articles(s)
    assert art["extraction_status"] == "fallback_fetch"
    assert "not resolved" in art["extraction_error"]
    assert art["text"].startswith(HEADLINE)               # Google's summary: headline, outlet
    assert site.hits("/news/5.html") == 0
    [alert] = alerts(s)
    assert alert.url == link and alert.outlet == WASAT
    line = feed_line(s, "gn")
    assert "ok, links unresolved" in line and "links unresolved: 1" in line
    assert "links unresolved" in feed(s, "gn")["link_note"]

    cycle(s)                                  # nothing new to resolve: the state is kept
    assert "links unresolved" in feed_line(s, "gn")

    later = publish(site, "/news/6.html", PARAS[1:] + PARAS[:1], "وفد روسي في بنغازي")
    gn.add_item("وفد روسي في بنغازي لبحث التعاون العسكري", WASAT, later)
    stats = cycle(s)                          # Google answers as before: the note goes
    assert stats.extracted == 1
    assert "links unresolved" not in feed_line(s, "gn") and feed(s, "gn")["link_note"] is None


def test_monitor_feeds_command_shows_unresolved_links(gn, site, tmp_path):
    """``monitor feeds`` as a user runs it (a process of its own) on this test's config."""
    from tests.schedule.daemon import write_config
    from tests.test_cli import monitor

    gn.add_item(HEADLINE, WASAT, publish(site, "/news/9.html", PARAS))
    gn.script("page", "no_signature")
    s = settings(tmp_path, gn, site)
    cycle(s)
    config = write_config(tmp_path, {"database": str(s.database), "feeds": [gn_source(gn)]})

    result = monitor("--config", str(config), "feeds", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("gn "))
    assert "ok, links unresolved" in line and "links unresolved: 1" in line


def test_google_throttling_leaves_the_article_pending_until_google_answers(gn, site, tmp_path):
    url = publish(site, "/news/3.html", PARAS)
    gn.add_item(HEADLINE, WASAT, url)
    gn.script("page", ("429", 30))
    s = settings(tmp_path, gn, site)

    async def throttled_then_paused() -> list[Any]:
        async with open_app(s, matcher()) as app:
            return [await app.pipeline.run_cycle(s.feeds) for _ in range(2)]

    first, paused = asyncio.run(throttled_then_paused())

    assert first.deferred == 1 and first.fallback == 0 and first.alerts == 0
    # Inside Google's Retry-After the next poll does not ask it again.
    assert paused.deferred == 1 and gn.count("page") == 1
    [art] = articles(s)
    assert art["extraction_status"] == "pending" and not alerts(s)
    assert feed(s, "gn")["last_status"] == "ok"

    stats = cycle(s)                          # a later poll (the pause was this process's)

    assert stats.extracted == 1 and stats.alerts == 1
    [art] = articles(s)
    assert art["canonical_url"] == url and alerts(s)[0].url == url


def test_throttled_past_max_defer_falls_back_to_the_headline(gn, site, tmp_path):
    url = publish(site, "/news/4.html", PARAS)
    link = gn.add_item(HEADLINE, WASAT, url)
    gn.script("page", "429", "429")
    s = settings(tmp_path, gn, site, extract={"max_defer_seconds": 1.0},
                 fetch={"breaker_cooldown_seconds": 0.5})
    assert cycle(s).deferred == 1
    time.sleep(1.2)

    stats = cycle(s)

    assert stats.fallback == 1 and stats.alerts == 1
    [art] = articles(s)
    assert art["extraction_status"] == "fallback_fetch" and "not resolved" in art["extraction_error"]
    assert "429" in art["extraction_error"]
    assert alerts(s)[0].url == link


# ---------------------------------------------------------------- the cache outlives the process


def test_resolutions_are_cached_across_restarts(gn, site, tmp_path):
    """A poll over its time budget resolves its links but leaves the pages pending; the
    restarted daemon reads the resolutions from the database instead of asking Google."""
    urls = [publish(site, f"/news/c{i}.html", PARAS, f"يفكوروف في بنغازي {i}") for i in range(3)]
    for i, url in enumerate(urls):
        gn.add_item(f"{HEADLINE} {i}", WASAT, url)
    cycle(settings(tmp_path, gn, site, extract={"poll_budget_seconds": 0.001}))
    assert gn.count("batchexecute") == 3
    assert {a["extraction_status"] for a in articles(settings(tmp_path, gn, site))} == {"pending"}

    stats = cycle(s := settings(tmp_path, gn, site))

    assert stats.extracted == 3
    assert gn.count("batchexecute") == 3 and gn.count("page") == 3   # no second exchange
    assert sorted(a["canonical_url"] for a in articles(s)) == sorted(urls)


def test_a_second_search_finding_the_story_after_a_restart_asks_google_nothing(gn, site,
                                                                               tmp_path):
    url = publish(site, "/news/10.html", PARAS)
    link = gn.add_item(HEADLINE, WASAT, url)
    cycle(settings(tmp_path, gn, site))
    exchanges = gn.count("batchexecute")

    # Another search (its own feed) lists the same Google item, after a restart.
    s = settings(tmp_path, gn, site, [gn_source(gn), gn_source(gn, "gn2", "حفتر روسيا")])
    stats = cycle(s)

    assert gn.count("batchexecute") == exchanges == 1
    assert stats.alerts == 0 and len(alerts(s)) == 1
    dup = [a for a in articles(s) if a["extraction_status"] == "duplicate"]
    assert len(dup) == 1 and dup[0]["source_link"] == link
    assert rows(s, "SELECT COUNT(*) FROM link_cache")[0][0] == 1
