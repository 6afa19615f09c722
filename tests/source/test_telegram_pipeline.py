"""Telegram channels end to end: a channel's web preview on the fake t.me, parsed, recorded and
scored with the shipped rules in a real database; linked pages on a local server. The same
guarantees as an RSS feed: a post alerts once on its own text (and never again, whatever the
polls, restarts and edits), no post of a busy channel is skipped, and a channel that cannot be
read fails visibly without stopping the others."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.app import open_app
from monitor.models import CycleStats
from monitor.parse.telegram import MAX_POSTS
from monitor.schedule.policy import FeedSchedule
from tests.builders import PARAS, page
from tests.servers.http import TestServer, send
from tests.servers.telegram_preview import PAGE_SIZE, Channel, LinkPreview, TelegramPreview
from tests.source.e2e import alerts, articles, cycle, feed, feed_line, matcher, settings_for

NAME, TITLE = "libya_now", "ليبيا الآن"
MATCHING = ("عاجل | وصول نائب وزير الدفاع الروسي يفكوروف إلى بنغازي\n"
            "والتقى قائد القوات في شرق ليبيا لبحث التعاون العسكري")
QUIET = "افتتاح معرض الكتاب في طرابلس بمشاركة مئة دار نشر"


@pytest.fixture
def tme() -> Iterator[TelegramPreview]:
    with TelegramPreview() as fake:
        yield fake


@pytest.fixture
def site() -> Iterator[TestServer]:
    """The web sites posts link to."""
    with TestServer() as srv:
        yield srv


def channel_source(tme: TelegramPreview, name: str = NAME) -> dict[str, Any]:
    """A telegram source reading the fake's preview of ``name``."""
    return {"name": name, "type": "telegram", "channel": name, "url": tme.preview_url(name)}


def settings(tmp_path: Any, tme: TelegramPreview, site: TestServer | None = None,
             names: tuple[str, ...] = (NAME,), **sections: Any) -> Any:
    """Settings polling the channels ``names`` on the fake t.me."""
    ports = [tme.port] + ([site.port] if site else [])
    return settings_for(tmp_path, [channel_source(tme, n) for n in names], ports=ports,
                        telegram=tme, **sections)


def polls(settings: Any, count: int) -> list[CycleStats]:
    """``count`` cycles in one app (one daemon between polls, no restart)."""
    async def go() -> list[CycleStats]:
        async with open_app(settings, matcher()) as app:
            return [await app.pipeline.run_cycle(settings.feeds) for _ in range(count)]
    return asyncio.run(go())


def post_url(tme: TelegramPreview, post_id: int, name: str = NAME) -> str:
    """A post's link as the parser gives it for a page the fake served."""
    return f"{tme.base}/{name}/{post_id}"


def by_identity(settings: Any) -> dict[str, Any]:
    """The stored articles by identity (``tg:<channel>/<id>`` for posts)."""
    return {a["identity"]: a for a in articles(settings)}


# ---------------------------------------------------------------- a post is the article


def test_a_matching_post_alerts_on_its_own_text_and_a_quiet_one_does_not(tme, tmp_path):
    news = tme.channel(NAME, TITLE)
    hit = news.post(MATCHING, author="محمد")
    quiet = news.post(QUIET)
    s = settings(tmp_path, tme)

    stats = cycle(s)

    assert (stats.new_items, stats.extracted, stats.fallback, stats.alerts) == (2, 2, 0, 1)
    stored = by_identity(s)
    assert {stored[f"tg:{NAME}/{i}"]["extraction_status"] for i in (hit, quiet)} == {"source_text"}
    assert stored[f"tg:{NAME}/{hit}"]["text"] == MATCHING
    assert stored[f"tg:{NAME}/{quiet}"]["alert"] == 0
    [alert] = alerts(s)
    assert alert.url == post_url(tme, hit) and alert.outlet == TITLE
    assert alert.title == MATCHING.split("\n")[0]


def test_a_post_with_a_link_preview_gets_its_page_and_keeps_its_own_text(tme, site, tmp_path):
    url = site.static("/news/1.html", page("يفكوروف في بنغازي", PARAS, site="بوابة الوسط")
                      .encode(), "text/html; charset=utf-8")
    news = tme.channel(NAME, TITLE)
    post = news.post("زيارة جديدة إلى بنغازي", link_preview=LinkPreview(url, "يفكوروف في بنغازي",
                                                                      "بوابة الوسط"))
    s = settings(tmp_path, tme, site)

    stats = cycle(s)

    assert stats.extracted == 1 and site.hits("/news/1.html") == 1
    [art] = articles(s)
    assert art["extraction_status"] == "extracted" and art["page_url"] == url
    assert art["title"] == "زيارة جديدة إلى بنغازي"          # the post's line, not the page's
    assert art["text"].startswith("زيارة جديدة إلى بنغازي\n\n")     # the post first
    assert "قاعدة الجفرة الجوية" in art["text"]                     # then its page
    [alert] = alerts(s)
    assert alert.url == post_url(tme, post)                           # the post, not the page
    assert alert.outlet == TITLE and alert.title == "زيارة جديدة إلى بنغازي"


def test_a_post_linking_to_a_skipped_host_alerts_at_once_on_its_own_text(tme, site, tmp_path):
    """The linked site is down and its circuit open: the post does not wait for it."""
    for i in range(3):
        site.add(f"/down/{i}", lambda h: send(h, 503, b"down", "text/html"))
    news = tme.channel(NAME, TITLE)
    for i in range(2):                        # two failed pages in a row open the circuit
        news.post(f"{QUIET} {i}", link_preview=LinkPreview(site.url(f"/down/{i}"), "خبر"))
    s = settings(tmp_path, tme, site, fetch={"breaker_failures": 2})
    cycle(s)
    post = news.post(MATCHING, link_preview=LinkPreview(site.url("/down/2"), "خبر"))

    stats = cycle(s)

    assert stats.alerts == 1 and stats.deferred == 0 and site.hits("/down/2") == 0
    art = by_identity(s)[f"tg:{NAME}/{post}"]
    assert art["extraction_status"] == "fallback_fetch" and art["text"] == MATCHING
    assert "host skipped" in art["extraction_error"]
    assert alerts(s)[0].url == post_url(tme, post)


# ---------------------------------------------------------------- identity


def test_polls_and_restarts_record_each_post_once_and_alert_once(tme, tmp_path):
    news = tme.channel(NAME, TITLE)
    news.post(MATCHING)
    news.post(QUIET)
    s = settings(tmp_path, tme)

    first, second = polls(s, 2)
    restarted = cycle(s)

    assert first.new_items == 2 and second.new_items == restarted.new_items == 0
    assert second.duplicates == restarted.duplicates == 0
    assert len(articles(s)) == 2 and len(alerts(s)) == 1
    assert not [p for p in tme.requests if "before=" in p]     # nothing new: no older page


# ---------------------------------------------------------------- edits


def test_an_edit_that_makes_a_quiet_post_match_alerts_once(tme, tmp_path):
    news = tme.channel(NAME, TITLE)
    post = news.post(QUIET)
    s = settings(tmp_path, tme)
    assert cycle(s).alerts == 0

    news.edit(post, MATCHING)
    edited, again = polls(s, 2)
    restarted = cycle(s)

    assert edited.alerts == 1 and again.alerts == restarted.alerts == 0
    assert edited.per_feed[0].edited == 1 and again.per_feed[0].edited == 0
    [art] = articles(s)
    assert art["extraction_status"] == "source_text" and art["text"] == MATCHING
    assert art["title"] == MATCHING.split("\n")[0]        # the stored title is the edited one
    [alert] = alerts(s)
    assert alert.url == post_url(tme, post) and alert.title == MATCHING.split("\n")[0]


def test_an_edit_of_a_post_that_alerted_does_not_alert_again(tme, tmp_path):
    news = tme.channel(NAME, TITLE)
    post = news.post(MATCHING)
    s = settings(tmp_path, tme)
    assert cycle(s).alerts == 1

    news.edit(post, MATCHING + "\nتحديث: وصول وفد من الفيلق الأفريقي")
    stats = cycle(s)

    assert stats.per_feed[0].edited == 1 and stats.alerts == 0
    assert len(alerts(s)) == 1 and len(articles(s)) == 1


# ---------------------------------------------------------------- busy channels


def fill(channel: Channel, count: int, prefix: str = "خبر محلي رقم") -> list[int]:
    """``count`` quiet posts, each its own text."""
    return [channel.post(f"{prefix} {i} عن الطقس في طرابلس") for i in range(count)]


def test_the_first_poll_of_a_channel_reads_one_page(tme, tmp_path):
    news = tme.channel(NAME, TITLE)
    ids = fill(news, 50)
    s = settings(tmp_path, tme)

    stats = cycle(s)

    assert stats.new_items == PAGE_SIZE and tme.hits(NAME) == 1
    assert {a["identity"] for a in articles(s)} == {f"tg:{NAME}/{i}" for i in ids[-PAGE_SIZE:]}


def test_a_busy_channel_has_its_older_pages_read_so_no_post_is_skipped(tme, tmp_path):
    news = tme.channel(NAME, TITLE)
    fill(news, 5)
    s = settings(tmp_path, tme)
    cycle(s)
    busy = fill(news, 2 * PAGE_SIZE + 5, "تحديث")       # 45 posts between two polls
    hit = news.post(MATCHING)
    busy.append(hit)

    stats = cycle(s)

    assert stats.new_items == len(busy) and tme.hits(NAME) == 1 + 3
    stored = by_identity(s)
    assert all(f"tg:{NAME}/{i}" in stored for i in busy)
    assert len(alerts(s)) == 1 and alerts(s)[0].url == post_url(tme, hit)


def test_a_channel_busier_than_telegram_pages_is_read_that_far(tme, tmp_path):
    news = tme.channel(NAME, TITLE)
    fill(news, 3)
    s = settings(tmp_path, tme, sources={"telegram_pages": 2})
    cycle(s)
    busy = fill(news, 3 * PAGE_SIZE, "تحديث")

    stats = cycle(s)

    assert tme.hits(NAME) == 1 + 2 and stats.new_items == 2 * PAGE_SIZE
    assert set(by_identity(s)) >= {f"tg:{NAME}/{i}" for i in busy[-2 * PAGE_SIZE:]}


# ---------------------------------------------------------------- channels that cannot be read


@pytest.mark.parametrize("kind", ["private", "user", "unused"])
def test_a_missing_or_private_channel_fails_clearly_and_backs_off(tme, tmp_path, kind):
    name = "closed_room"
    if kind == "private":
        tme.private(name, "غرفة مغلقة")
    elif kind == "user":
        tme.user(name, "Someone")
    tme.channel(NAME, TITLE).post(MATCHING)
    s = settings(tmp_path, tme, names=(name, NAME))

    first, second = polls(s, 2)

    assert first.feeds_failed == 1 and first.feeds_ok == 1 and first.alerts == 1
    row = feed(s, name)
    assert row["last_status"] == "failed" and row["error_count"] == 2
    assert name in row["last_error"] and "not public" in row["last_error"]
    # Backed off: the next try is never sooner than the channel's interval.
    interval = FeedSchedule.of(s, s.feeds[0]).interval
    assert row["next_poll_at"] - row["last_polled_at"] >= interval
    line = feed_line(s, name)
    assert "failed" in line and name in line.split("failed", 1)[1] and " in " in line
    assert second.per_feed[0].error == first.per_feed[0].error


@pytest.mark.parametrize("body, ctype", [
    pytest.param(bytes(range(256)) * 64, "application/octet-stream", id="binary"),
    pytest.param(b"<html><body><div class='tgme_widget_message' data-post='x/../1'>"
                 b"<div class='tgme_widget_message_text'>" + b"<b>" * 5000 + b"</div>",
                 "text/html", id="broken-markup"),
    pytest.param(b"<p>" + "نص ".encode() * 200_000, "text/html; charset=utf-8", id="huge"),
])
def test_a_hostile_preview_fails_the_feed_and_not_the_cycle(tme, tmp_path, body, ctype):
    tme.raw("odd_channel", body, ctype)
    tme.channel(NAME, TITLE).post(MATCHING)
    s = settings(tmp_path, tme, names=("odd_channel", NAME))

    stats = cycle(s)

    assert stats.feeds_failed == 1 and stats.feeds_ok == 1 and stats.alerts == 1
    row = feed(s, "odd_channel")
    assert row["error_count"] == 1 and row["last_error"]
    assert not [a for a in articles(s) if a["identity"].startswith("tg:odd_channel")]


def test_a_preview_listing_too_many_posts_is_cut_to_the_newest(tme, tmp_path, monkeypatch):
    import tests.servers.telegram_preview as preview

    monkeypatch.setattr(preview, "PAGE_SIZE", 1000)       # one page listing 1,000 posts
    big = tme.channel("big_channel", "قناة كبيرة")
    ids = fill(big, 999)
    tme.channel(NAME, TITLE).post(MATCHING)
    s = settings(tmp_path, tme, names=("big_channel", NAME),
                 fetch={"max_body_bytes": 5_000_000})

    stats = cycle(s)

    assert stats.feeds_ok == 2 and stats.alerts == 1
    kept = {a["identity"] for a in articles(s) if a["identity"].startswith("tg:big_channel/")}
    assert kept == {f"tg:big_channel/{i}" for i in ids[-MAX_POSTS:]}
    assert f"newest {MAX_POSTS} kept" in feed(s, "big_channel")["bozo_note"]
