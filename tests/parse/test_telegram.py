"""The Telegram channel preview parser: fields, paging, edits, errors, hostile pages, and the
real worker process and HTTP client in front of it."""

from __future__ import annotations

import asyncio
import pickle
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import ParseSettings
from monitor.errors import ParseError
from monitor.fetch.client import FEED_ACCEPT, Fetcher
from monitor.models import ParsedFeed, ParseRequest
from monitor.parse.telegram import MAX_POSTS, TITLE_CHARS, parse_channel
from monitor.parse.worker import FeedParsers
from tests.conftest import make_settings
from tests.servers.telegram_preview import Channel, LinkPreview, TelegramPreview, preview_page

FIXTURE = (Path(__file__).resolve().parents[1] / "data" / "telegram"
           / "channel_preview.html").read_bytes()
T_ME = "https://t.me/s/libya_now"
CHANNEL_TITLE = "ليبيا الآن | Libya Now"


def parse(body: bytes | str, final_url: str = T_ME, channel: str | None = "libya_now",
          content_type: str | None = "text/html; charset=utf-8") -> ParsedFeed:
    raw = body.encode() if isinstance(body, str) else body
    return parse_channel(ParseRequest(raw, "libya", final_url, content_type, kind="telegram",
                                      channel=channel))


def by_id(feed: ParsedFeed) -> dict[str, object]:
    return {item.guid: item for item in feed.items}


def wrap(post: str, inner: str, cls: str = "") -> str:
    """One post in the real markup, with a date."""
    return (f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget'
            f'_message text_not_supported_wrap {cls} js-widget_message" data-post="{post}"><div '
            f'class="tgme_widget_message_bubble">{inner}<div class="tgme_widget_message_footer">'
            f'<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="'
            f'https://t.me/{post}"><time datetime="2025-01-09T09:00:00+00:00" class="time">09:00'
            '</time></a></span></div></div></div></div>')


def page(*posts: str, head: str = "", header: bool = True) -> str:
    info = ('<div class="tgme_channel_info"><div class="tgme_channel_info_header_title"><span '
            f'dir="auto">{CHANNEL_TITLE}</span></div></div>') if header else ""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8">{head}</head><body>{info}<section'
            f' class="tgme_channel_history js-message_history">{"".join(posts)}</section></body>'
            '</html>')


def text(body: str) -> str:
    return f'<div class="tgme_widget_message_text js-message_text" dir="auto">{body}</div>'


# --------------------------------------------------------------------------- the fixture


def test_fixture_items_newest_first_without_service_and_bare_photo():
    feed = parse(FIXTURE)
    # 4117 pins a post (service message), 4122 is a photo with no words and no link.
    assert [i.guid for i in feed.items] == [f"libya_now/{n}" for n in (4123, 4121, 4120, 4119, 4118)]
    assert feed.title == CHANNEL_TITLE
    assert (feed.bozo_error, feed.ttl_minutes) == (None, None)
    assert feed.older_url == "https://t.me/s/libya_now?before=4117"


def test_fixture_plain_post_fields():
    item = by_id(parse(FIXTURE))["libya_now/4118"]
    assert item.identity == "tg:libya_now/4118"
    assert item.url == "https://t.me/libya_now/4118"
    assert item.title == "🔴 عاجل | وصول طائرة شحن روسية إلى قاعدة الخادم الجوية شرق ليبيا"
    assert item.summary == (
        "🔴 عاجل | وصول طائرة شحن روسية إلى قاعدة الخادم الجوية شرق ليبيا\n\n"
        "أفادت مصادر محلية بهبوط طائرة من طراز إليوشن 76 قادمة من سوريا، وهي الرحلة الثالثة خلال"
        " أسبوع.\n\nالتفاصيل: بوابة الوسط\n#ليبيا #روسيا")
    assert item.published == datetime(2025, 1, 9, 9, 12, 31, tzinfo=UTC)
    assert item.author == "محمد الورفلي"             # the post's signature
    assert item.outlet == CHANNEL_TITLE
    # A text link: t.me's doubled "&amp;" undone, then canonicalised (tracking dropped).
    assert item.page_url == "https://alwasat.ly/news/libya/451234"
    assert item.tags == ()


def test_fixture_forwarded_edited_reply_and_previews():
    items = by_id(parse(FIXTURE))
    forwarded = items["libya_now/4119"]
    assert forwarded.author == "القيادة العامة - المكتب الإعلامي"
    assert forwarded.tags == ("forwarded:القيادة العامة - المكتب الإعلامي",)
    assert forwarded.page_url is None                   # links to t.me are not pages
    edited = items["libya_now/4120"]
    assert edited.tags == ("edited",)
    # A reply: the quoted post's text is not this post's text.
    assert edited.summary.startswith("تحديث: مصادر عسكرية")
    assert "وصول طائرة شحن" not in edited.summary
    linked = items["libya_now/4121"]
    assert linked.page_url == "https://www.libyaobserver.ly/ar/news/wagner-redeploys-south"
    photo = items["libya_now/4123"]                     # no caption: the preview speaks for it
    assert photo.title == "سفينة إنزال روسية ترسو في ميناء طبرق"
    assert photo.summary.endswith("في ميناء طبرق صباح الخميس.")
    assert photo.page_url == "https://libyaherald.com/ar/2025/01/09/russian-navy-tobruk/"


def test_items_pickle_and_every_key_differs():
    feed = parse(FIXTURE)
    assert pickle.loads(pickle.dumps(feed)) == feed
    assert len({i.key for i in feed.items}) == len(feed.items)


# --------------------------------------------------------------------------- URLs and identity


@pytest.mark.parametrize("final_url,post_url", [
    pytest.param(T_ME, "https://t.me/libya_now/4118", id="t.me"),
    pytest.param("https://telegram.me/s/libya_now", "https://t.me/libya_now/4118", id="telegram.me"),
    pytest.param("http://127.0.0.1:8080/s/libya_now", "http://127.0.0.1:8080/libya_now/4118",
                 id="test-server"),
])
def test_post_link_follows_the_serving_host_and_identity_does_not(final_url, post_url):
    item = by_id(parse(FIXTURE, final_url))["libya_now/4118"]
    assert item.url == post_url
    assert item.identity == "tg:libya_now/4118"


def test_links_on_the_serving_host_are_not_pages():
    body = page(wrap("libya_now/5", text('خبر <a href="http://127.0.0.1:8080/x">هنا</a> '
                                         '<a href="https://alwasat.ly/a">الوسط</a>')))
    item = parse(body, "http://127.0.0.1:8080/s/libya_now").items[0]
    assert item.page_url == "https://alwasat.ly/a"


def test_a_site_on_the_serving_hosts_address_but_another_port_is_a_page():
    """A local t.me and the sites its posts link to share 127.0.0.1 (tests, the demo)."""
    body = page(wrap("libya_now/5", text('خبر <a href="http://127.0.0.1:8080/s/libya_now?q=x">'
                                         'بحث</a> <a href="http://127.0.0.1:9090/news/1">هنا</a>')))
    item = parse(body, "http://127.0.0.1:8080/s/libya_now").items[0]
    assert item.page_url == "http://127.0.0.1:9090/news/1"


def test_channel_name_case_and_other_channels():
    body = page(wrap("Libya_Now/7", text("خبر")), wrap("someone_else/8", text("دخيل")))
    feed = parse(body, channel="libya_now")
    assert [(i.identity, i.guid, i.url) for i in feed.items] == [
        ("tg:libya_now/7", "Libya_Now/7", "https://t.me/Libya_Now/7")]


def test_channel_from_the_url_when_the_request_has_none():
    assert parse(FIXTURE, channel=None).items[0].identity == "tg:libya_now/4123"


# --------------------------------------------------------------------------- text and title


def test_title_is_the_first_sentence_of_a_long_line_else_a_word_cut():
    sentence = "قال مصدر عسكري إن طائرتين روسيتين هبطتا في قاعدة الجفرة." + " تفاصيل" * 60
    words = "كلمة " * 80
    feed = parse(page(wrap("libya_now/2", text(sentence)), wrap("libya_now/3", text(words))))
    items = by_id(feed)
    assert items["libya_now/2"].title == "قال مصدر عسكري إن طائرتين روسيتين هبطتا في قاعدة الجفرة."
    cut = items["libya_now/3"].title
    assert cut.endswith("…") and len(cut) <= TITLE_CHARS + 1 and "كلم…" not in cut


def test_markup_whitespace_folds_and_breaks_stay():
    body = page(wrap("libya_now/2", text("\n   سطر   أول\n  <br/>  سطر&nbsp;ثان <b>مهم</b>"
                                         "<br/><br/><br/><br/><i class='emoji'><b>🔥</b></i> أخير"
                                         " &amp; &lt;نهاية&gt;<blockquote>اقتباس</blockquote>"
                                         "بعده")))
    assert parse(body).items[0].summary == "سطر أول\nسطر ثان مهم\n\n🔥 أخير & <نهاية>\nاقتباس\nبعده"


def test_photo_only_posts():
    photo = '<a class="tgme_widget_message_photo_wrap" href="https://t.me/libya_now/3"></a>'
    site_only = ('<a class="tgme_widget_message_link_preview" href="https://alwasat.ly/z">'
                 '<div class="link_preview_site_name accent_color">بوابة الوسط</div></a>')
    feed = parse(page(wrap("libya_now/3", photo), wrap("libya_now/4", photo + site_only)))
    assert [(i.guid, i.title, i.page_url) for i in feed.items] == [
        ("libya_now/4", "بوابة الوسط", "https://alwasat.ly/z")]


def test_signature_and_edited_in_one_meta_line_in_any_language():
    meta = ('<span class="tgme_widget_message_meta"><span class="tgme_widget_message_from_author"'
            ' dir="auto">سالم</span>,&nbsp;{} &nbsp;<a class="tgme_widget_message_date" href="#">'
            '<time datetime="2025-01-09T10:00:00Z">10:00</time></a></span>')
    body = page(*(f'<div class="tgme_widget_message" data-post="libya_now/{n}">{text("خبر")}'
                  f'{meta.format(word)}</div>' for n, word in ((2, ""), (3, "edited"), (4, "معدّل"))))
    items = by_id(parse(body))
    assert [items[f"libya_now/{n}"].tags for n in (2, 3, 4)] == [(), ("edited",), ("edited",)]
    assert {i.author for i in items.values()} == {"سالم"}
    assert items["libya_now/2"].published == datetime(2025, 1, 9, 10, 0, tzinfo=UTC)


def test_edit_changes_the_key_not_the_identity():
    with_edit = FIXTURE.replace("القيادة العامة تنفي".encode(), "القيادة العامة تنفي رسمياً".encode())
    before, after = by_id(parse(FIXTURE))["libya_now/4119"], by_id(parse(with_edit))["libya_now/4119"]
    assert before.identity == after.identity and before.url == after.url
    assert before.key != after.key


# --------------------------------------------------------------------------- paging


@pytest.mark.parametrize("head,final_url,older", [
    pytest.param("", T_ME, "https://t.me/s/libya_now?before=40", id="computed"),
    pytest.param('<link rel="prev" href="/s/libya_now?before=38">', T_ME,
                 "https://t.me/s/libya_now?before=38", id="page-link"),
    pytest.param('<link rel="prev" href="/s/libya_now?before=">', T_ME,
                 "https://t.me/s/libya_now?before=40", id="empty-cursor"),
    pytest.param('<link rel="prev" href="https://evil.example/s/libya_now?before=3">', T_ME,
                 "https://t.me/s/libya_now?before=40", id="other-host"),
    pytest.param('<link rel="prev" href="/s/libya_now?before=99">', T_ME,
                 "https://t.me/s/libya_now?before=40", id="not-older"),
    pytest.param('<link rel="prev" href="/s/other?before=3">', T_ME,
                 "https://t.me/s/libya_now?before=40", id="other-channel"),
    pytest.param("", "http://127.0.0.1:9/s/libya_now?before=60&q=x",
                 "http://127.0.0.1:9/s/libya_now?before=40", id="query-replaced"),
])
def test_older_url(head, final_url, older):
    body = page(wrap("libya_now/40", text("أقدم")), wrap("libya_now/41", text("أحدث")), head=head)
    assert parse(body, final_url).older_url == older


def test_no_older_page_before_post_one_or_on_an_empty_page():
    assert parse(page(wrap("libya_now/1", text("أول")))).older_url is None
    assert parse(page()).older_url is None


def test_load_more_anchor():
    more = ('<a href="/s/libya_now?before=40" class="tme_messages_more js-messages_more" '
            'data-before="40"></a>')
    body = page(more, wrap("libya_now/40", text("أ")))
    assert parse(body).older_url == "https://t.me/s/libya_now?before=40"


# --------------------------------------------------------------------------- errors


def test_public_channel_without_posts_is_an_empty_feed():
    assert parse(page()).items == []
    service = wrap("libya_now/1", text("Channel created"), cls="service_message")
    assert parse(page(service)).items == []


@pytest.mark.parametrize("body,final_url,words", [
    pytest.param("<html><head><title>Telegram</title></head><body><div>nothing</div></body></html>",
                 T_ME, "its preview shows no posts", id="no-header-no-posts"),
    pytest.param(page(header=False).replace("tgme_channel_history", "x"), T_ME,
                 "its preview shows no posts", id="bare"),
    pytest.param('<html><body><div class="tgme_page"><div class="tgme_page_title">غرفة</div>'
                 '<div class="tgme_page_extra">1.2K subscribers</div></div></body></html>', T_ME,
                 "contact page", id="private-contact-page"),
    pytest.param(page(), "https://t.me/libya_now", "redirected", id="redirect"),
    pytest.param(b'{"ok": true}', T_ME, "not HTML", id="json"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", T_ME, "not HTML", id="png"),
    pytest.param(b"", T_ME, "not HTML", id="empty"),
    pytest.param(b"<?xml version='1.0'?><rss><channel/></rss>", T_ME, "not HTML", id="rss"),
])
def test_not_a_public_preview(body, final_url, words):
    with pytest.raises(ParseError) as caught:
        parse(body, final_url)
    assert "libya_now" in str(caught.value) and words in str(caught.value)
    if words != "not HTML":
        assert "does not exist or is not public" in str(caught.value)


# --------------------------------------------------------------------------- hostile pages


def many_posts(count: int) -> str:
    return page("".join(f'<div class="tgme_widget_message" data-post="libya_now/{n}">'
                        f'<div class="tgme_widget_message_text">خبر {n}</div></div>'
                        for n in range(1, count + 1)))


def test_a_hundred_thousand_posts_are_cut_to_the_newest():
    body = many_posts(100_000)
    started = time.monotonic()
    feed = parse(body)
    assert time.monotonic() - started < 15
    assert len(feed.items) == MAX_POSTS
    assert feed.items[0].guid == "libya_now/100000" and "newest" in feed.bozo_error
    assert feed.older_url == f"https://t.me/s/libya_now?before={100_001 - MAX_POSTS}"


def test_deep_nesting_huge_attribute_and_huge_text_are_bounded():
    deep = "<div>" * 100_000 + "عمق" + "</div>" * 100_000
    feed = parse(page(wrap("libya_now/2", text(deep))))
    assert len(feed.items) <= 1
    huge_attr = f'<div class="tgme_widget_message" data-post="libya_now/3" title="{"x" * 3_000_000}">'
    assert [i.title for i in parse(page(huge_attr + text("خبر") + "</div>")).items] == ["خبر"]
    long_text = ("كلمة " * 400_000)
    item = parse(page(wrap("libya_now/4", text(long_text)))).items[0]
    assert len(item.summary) <= 20_000 and len(item.title) <= TITLE_CHARS + 1
    huge_post_id = f'<div class="tgme_widget_message" data-post="libya_now/{"9" * 50_000}">'
    assert parse(page(huge_post_id + text("خبر") + "</div>")).items == []


def test_windows_1256_declared_in_meta():
    body = page(wrap("libya_now/2", text("هبوط طائرة روسية في الجفرة"))).replace(
        '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; '
        'charset=windows-1256">').encode("cp1256", errors="ignore")
    item = parse(body, content_type="text/html").items[0]
    assert item.title == "هبوط طائرة روسية في الجفرة"


def test_broken_bytes_never_crash():
    good = page(wrap("libya_now/2", text("خبر عاجل"))).encode()
    for body in (good.replace("خبر".encode(), b"\xff\xfe\xc3"), good[:len(good) // 2],
                 good.replace(b"<", b"\x00<", 50), b"<div>" + bytes(range(256)) * 100):
        try:
            parse(body)
        except ParseError:
            pass


# --------------------------------------------------------------------------- worker and HTTP


@pytest.mark.parametrize("body", [
    pytest.param(FIXTURE, id="fixture"),
    # 12 MB, over twice the fetch cap: still inside the worker's default 256 MB.
    pytest.param(many_posts(100_000).encode(), id="100k-posts"),
])
def test_parsed_in_a_real_worker_process(body):
    parsers = FeedParsers(ParseSettings(workers=1))

    async def go() -> ParsedFeed:
        try:
            return await parsers.parse(body, "libya", T_ME, "text/html", kind="telegram",
                                       channel="libya_now")
        finally:
            parsers.close()

    assert asyncio.run(go()) == parse(body)


def test_worker_reports_a_missing_channel_as_a_parse_error():
    parsers = FeedParsers(ParseSettings(workers=1))

    async def go() -> None:
        try:
            await parsers.parse(b"<html><body>x</body></html>", "libya", T_ME, "text/html",
                                kind="telegram", channel="libya_now")
        finally:
            parsers.close()

    with pytest.raises(ParseError, match="does not exist or is not public"):
        asyncio.run(go())


def fetch_and_parse(tg: TelegramPreview, tmp_path: Path, urls: list[str],
                    channel: str) -> list[ParsedFeed | ParseError]:
    settings = make_settings(tmp_path, tg, [])   # it needs only .port (the address allowed)

    async def go() -> list[ParsedFeed | ParseError]:
        out: list[ParsedFeed | ParseError] = []
        async with Fetcher(settings.fetch) as fetcher:
            for url in urls:
                res = await fetcher.get(url, accept=FEED_ACCEPT)
                try:
                    out.append(parse(res.body, res.final_url, channel,
                                     res.headers.get("content-type")))
                except ParseError as exc:
                    out.append(exc)
        return out
    return asyncio.run(go())


def test_polls_over_http_see_new_edited_and_deleted_posts(tmp_path):
    with TelegramPreview() as tg:
        news = tg.channel("libya_now", CHANNEL_TITLE)
        first = news.post("عاجل | طائرة شحن روسية في الخادم\nالتفاصيل https://alwasat.ly/n/1",
                          author="محمد")
        news.post("منقول", forwarded_from="القيادة العامة")
        url = tg.preview_url("libya_now")
        [one] = fetch_and_parse(tg, tmp_path, [url], "libya_now")
        news.edit(first, "عاجل | طائرتا شحن روسيتان في الخادم")
        news.post("", photo=True, link_preview=LinkPreview("https://libyaherald.com/a", "سفينة"))
        [two] = fetch_and_parse(tg, tmp_path, [url], "libya_now")
        news.delete(first)
        [three] = fetch_and_parse(tg, tmp_path, [url], "libya_now")
    a, b = by_id(one)[f"libya_now/{first}"], by_id(two)[f"libya_now/{first}"]
    assert a.identity == b.identity == f"tg:libya_now/{first}" and a.key != b.key
    assert a.page_url == "https://alwasat.ly/n/1" and a.author == "محمد" and "edited" in b.tags
    assert a.url == f"{tg.base}/libya_now/{first}" and one.title == CHANNEL_TITLE
    assert len(two.items) == 3 and two.items[0].page_url == "https://libyaherald.com/a"
    assert f"libya_now/{first}" not in by_id(three) and len(three.items) == 2


def test_paging_over_http_reaches_every_post_once(tmp_path):
    with TelegramPreview() as tg:
        news = tg.channel("libya_now", CHANNEL_TITLE)
        for n in range(45):
            news.post(f"خبر رقم {n}")
        seen: list[str] = []
        url: str | None = tg.preview_url("libya_now")
        while url:
            [feed] = fetch_and_parse(tg, tmp_path, [url], "libya_now")
            assert isinstance(feed, ParsedFeed) and len(feed.items) <= 20
            seen += [i.identity for i in feed.items]
            url = feed.older_url
    assert seen == [f"tg:libya_now/{n}" for n in range(46, 1, -1)]   # post 1: "Channel created"
    assert tg.hits("libya_now") == 3


def test_missing_private_and_user_channels_over_http(tmp_path):
    with TelegramPreview() as tg:
        tg.private("closed_room", "غرفة مغلقة")
        tg.user("some_person", "شخص ما")
        answers = [fetch_and_parse(tg, tmp_path, [tg.preview_url(name)], name)[0]
                   for name in ("nobody_here", "closed_room", "some_person")]
    assert all(isinstance(a, ParseError) for a in answers)
    assert [("redirected" in str(a), "contact page" in str(a)) for a in answers] == [
        (True, False), (False, True), (True, False)]


def test_server_pages_match_the_fixture_shape():
    # The fake's markup parses like the hand-written capture: same fields for the same post.
    ch = Channel("libya_now", CHANNEL_TITLE, created=False)
    ch.post("القيادة العامة تنفي وجود أي قوات أجنبية في قاعدة براك الشاطئ.",
            forwarded_from="القيادة العامة - المكتب الإعلامي")
    mine = parse(preview_page(ch)).items[0]
    theirs = by_id(parse(FIXTURE))["libya_now/4119"]
    same = ("title", "author", "tags", "outlet", "page_url")
    assert [getattr(mine, f) for f in same] == [getattr(theirs, f) for f in same]


def test_raw_pages_and_post_pages_over_http(tmp_path):
    with TelegramPreview() as tg:
        tg.raw("odd_one", b'{"error": "not here"}', "application/json")
        news = tg.channel("libya_now", CHANNEL_TITLE)
        post = news.post("هبوط طائرة في الجفرة", when=datetime(2025, 1, 9, 9, 0, tzinfo=UTC))
        [odd] = fetch_and_parse(tg, tmp_path, [tg.preview_url("odd_one")], "odd_one")
        [feed] = fetch_and_parse(tg, tmp_path, [tg.preview_url("libya_now")], "libya_now")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # no env proxy
        with direct.open(feed.items[0].url) as answer:   # the post's own page
            single = answer.read().decode()
    assert isinstance(odd, ParseError) and "not HTML" in str(odd)
    assert feed.items[0].published == datetime(2025, 1, 9, 9, 0, tzinfo=UTC)
    assert f'data-post="libya_now/{post}"' in single and "هبوط طائرة في الجفرة" in single
