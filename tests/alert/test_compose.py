"""Rendering alerts for Telegram: escaping, layout, direction marks and the 4096/100 limits."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.alert.compose import (
    FSI,
    LRM,
    MAX_ENTITIES,
    MAX_LENGTH,
    PDI,
    RLM,
    RenderError,
    clip,
    entity_count,
    format_time,
    hashtag,
    hashtags,
    render_html,
    render_plain,
    utf16_len,
    visible_length,
    visible_text,
)
from monitor.alert.digest import MAX_DIGEST_ITEMS, fits_with_every_link
from monitor.alert.payload import AlertPayload, Snippet
from tests.servers import telegram as fake
from tests.servers.telegram import FakeTelegram

HOSTILE = 'Breaking <b>bold</b> & <a href="x">link</a> &amp; 5 < 6 > 4 <script>x</script> &lt;'
NOV_20_0815_UTC = datetime(2026, 11, 20, 8, 15, tzinfo=UTC).timestamp()


def alert(**fields: Any) -> AlertPayload:
    base: dict[str, Any] = dict(
        kind="alert", title="وصول طائرات شحن روسية إلى قاعدة الجفرة",
        url="https://alwasat.example/news/1?a=1&b=2", outlet="بوابة الوسط",
        published_at=NOV_20_0815_UTC, rule_id="ru-libya", rule_title="Russian forces in Libya",
        severity="high", score=7.5, threshold=5.0, entities=("Africa Corps", "الفيلق الأفريقي"),
        snippets=(Snippet("قالت مصادر إن الفيلق الأفريقي نقل معدات إلى الجفرة", ((14, 29),)),))
    base.update(fields)
    return AlertPayload(**base)


def assert_telegram_ok(html: str) -> None:
    """What the fake (and Telegram) would check: valid HTML subset, length, entity count."""
    assert fake.check_html(html) is None, fake.check_html(html)
    shown = fake.visible_text(html, "HTML")
    assert fake.utf16_len(shown) <= MAX_LENGTH
    assert shown == visible_text(html)                  # our measure agrees with the fake's
    assert entity_count(html) <= MAX_ENTITIES
    html.encode("utf-8")                                # no lone surrogate anywhere


class _Attrs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def parse(html: str) -> _Attrs:
    p = _Attrs()
    p.feed(html)
    p.close()
    return p


# --------------------------------------------------------------------------- escaping


def test_hostile_title_is_shown_literally_and_accepted() -> None:
    html = render_html(alert(title=HOSTILE, outlet="<i>Outlet</i> & co",
                             rule_title="<u>rule</u>"))
    assert_telegram_ok(html)
    shown = visible_text(html)
    assert HOSTILE in shown
    assert "<i>Outlet</i> & co" in shown and "<u>rule</u>" in shown
    # Only our own tags: the headline <a>, the severity <b>, the snippet mark <b>.
    assert parse(html).tags == ["a", "b", "b"]
    assert "&amp;amp;" in html                         # the literal "&amp;" stays literal


def test_url_is_escaped_in_the_attribute() -> None:
    url = 'https://e.example/?q="x"&y=<1>'
    html = render_html(alert(url=url))
    assert_telegram_ok(html)
    assert parse(html).hrefs == [url]
    assert '"x"' not in html


def test_no_link_without_url() -> None:
    html = render_html(alert(url=None))
    assert "<a " not in html
    assert "<b>وصول طائرات" in html


def test_only_http_links() -> None:
    for url in ["javascript:alert(1)", "https://e.example/a b", "ftp://e.example/x", "\ud800"]:
        assert "<a " not in render_html(alert(url=url)), url


def test_plain_text_has_no_markup_and_keeps_the_url() -> None:
    text = render_plain(alert(title=HOSTILE))
    assert HOSTILE in text
    assert "https://alwasat.example/news/1?a=1&b=2" in text
    assert "&amp;amp;" not in text and "<b>bold</b>" in text   # shown as typed, unescaped


# --------------------------------------------------------------------------- layout


def test_alert_layout() -> None:
    html = render_html(alert())
    shown = visible_text(html)
    lines = shown.split("\n")
    assert lines[0] == RLM + "🔴 وصول طائرات شحن روسية إلى قاعدة الجفرة"   # headline first
    assert lines[1] == "high · Russian forces in Libya · score 7.5 / threshold 5"
    assert "2026-11-20 10:15 (Africa/Tripoli)" in lines[2]
    assert "#Africa_Corps #الفيلق_الأفريقي" in shown
    assert "<b>الفيلق الأفريقي</b>" in html          # the mark, in its original spelling
    assert '<a href="https://alwasat.example/news/1?a=1&amp;b=2">' in html


def test_severity_icons() -> None:
    for severity, icon in [("low", "🟡"), ("medium", "🟠"), ("high", "🔴"), ("critical", "🚨")]:
        lines = visible_text(render_html(alert(severity=severity, title="T"))).split("\n")
        assert lines[0] == f"{icon} T" and lines[1].startswith(f"{severity} · ")


def test_time_zone_formatting() -> None:
    assert "2026-11-20 08:15 (UTC)" in render_plain(alert(), tz="UTC")
    assert "2026-11-20 11:15 (Europe/Moscow)" in render_plain(alert(), tz="Europe/Moscow")
    summer = datetime(2026, 7, 1, 8, 15, tzinfo=UTC).timestamp()
    assert "2026-07-01 10:15 (Europe/Berlin)" in render_plain(alert(published_at=summer),
                                                               tz="Europe/Berlin")
    assert "(Africa/Tripoli)" not in render_plain(alert(published_at=None))


def test_hashtags() -> None:
    assert hashtag("Africa Corps") == "#Africa_Corps"
    assert hashtag("الفيلق الأفريقي") == "#الفيلق_الأفريقي"
    assert hashtag("Su-24 (Jufra)") == "#Su_24"            # brackets explain, tags stay short
    assert hashtag("Africa Corps (Russian MoD corps)") == "#Africa_Corps"
    assert hashtag("الفَيلق") == "#الفيلق"                  # tashkeel cannot be in a hashtag
    assert hashtag("Wagner™ Group!") == "#Wagner_Group"
    assert hashtag("2026") is None and hashtag("!!!") is None and hashtag("") is None
    assert hashtags(["Wagner", "wagner", "Africa Corps", "2026"]) == ["#Wagner", "#Africa_Corps"]
    assert len(hashtags([f"name{i}" for i in range(50)])) == 10


def test_kinds_test_and_notice() -> None:
    for kind, icon in [("test", "🧪"), ("notice", "📣")]:
        html = render_html(AlertPayload(kind=kind, title="Hello <team>", body="line 1\nسطر ٢"))
        assert_telegram_ok(html)
        shown = visible_text(html)
        assert shown.startswith(f"{icon} Hello <team>")
        assert "line 1\n" + RLM + "سطر ٢" in shown


# --------------------------------------------------------------------------- direction


def test_arabic_headline_starting_with_digits_gets_rlm() -> None:
    html = render_html(alert(title="2026: وصول طائرات روسية إلى الجفرة"))
    headline = visible_text(html).split("\n")[0]
    assert headline == RLM + "🔴 2026: وصول طائرات روسية إلى الجفرة"


def test_english_headline_has_no_rtl_mark_and_arabic_first_gets_lrm() -> None:
    lines = visible_text(render_html(alert(title="Russian jets land in Jufra"))).split("\n")
    assert lines[0] == "🔴 Russian jets land in Jufra"
    lines = visible_text(render_html(alert(title="الجفرة base sees Russian jets land"))).split("\n")
    assert lines[0].startswith(LRM)


def test_arabic_outlet_is_isolated_in_the_label_line() -> None:
    shown = visible_text(render_html(alert()))
    assert f"{FSI}بوابة الوسط{PDI} · 2026-11-20 10:15 (Africa/Tripoli)" in shown


# --------------------------------------------------------------------------- limits


def test_long_snippet_is_clipped_to_4096() -> None:
    long = "نقلت طائرات روسية معدات عسكرية إلى قاعدة الجفرة. " * 250   # ~12,500 chars
    html = render_html(alert(snippets=(Snippet(long, ((0, 4), (12000, 12010))),)))
    assert_telegram_ok(html)
    n = visible_length(html)
    assert 4000 <= n <= MAX_LENGTH                     # uses the room, not more
    assert "وصول طائرات شحن روسية إلى قاعدة الجفرة" in visible_text(html)   # title intact
    assert visible_text(html).endswith("…")
    assert "<b>نقلت</b>" in html                       # the mark before the cut survives


def test_emoji_snippet_counts_utf16_and_never_splits_a_pair() -> None:
    html = render_html(alert(snippets=(Snippet("🚀" * 10_000, ((0, 3),)),)))
    assert_telegram_ok(html)
    assert len(visible_text(html)) < MAX_LENGTH // 2 + 400     # code points: about half
    assert visible_length(html) <= MAX_LENGTH
    plain = render_plain(alert(snippets=(Snippet("🚀" * 10_000),)))
    assert utf16_len(plain) <= MAX_LENGTH
    plain.encode("utf-8")


def test_title_is_clipped_after_snippets() -> None:
    html = render_html(alert(title="ت" * 6000, snippets=(Snippet("س" * 6000),)))
    assert_telegram_ok(html)
    shown = visible_text(html)
    assert "ت" * 100 in shown and "ت" * 5000 not in shown
    assert shown.count("س") >= 150                     # the snippet kept its floor first


def test_plain_is_also_within_the_limit() -> None:
    text = render_plain(alert(title="t" * 5000, snippets=(Snippet("s" * 9000),) * 2))
    assert utf16_len(text) <= MAX_LENGTH


def test_marks_are_capped_at_100_entities() -> None:
    text = "روسيا " * 400
    marks = tuple((i * 6, i * 6 + 5) for i in range(400))
    html = render_html(alert(snippets=(Snippet(text, marks), Snippet(text, marks))))
    assert_telegram_ok(html)
    assert entity_count(html) <= MAX_ENTITIES
    assert entity_count(html) >= 90                    # but uses the budget


def test_bad_marks_are_ignored() -> None:
    snip = Snippet("abc def", ((5, 2), (-3, 2), (1, 4), (3, 6), (6, 99)))
    html = render_html(alert(snippets=(snip,)))
    assert_telegram_ok(html)
    # (-3, 2) clamps to (0, 2); (1, 4) overlaps it and goes; (5, 2) is empty; (6, 99) clamps.
    assert html.endswith("<b>ab</b>c<b> de</b><b>f</b>")


def test_clip_never_splits() -> None:
    assert clip("😀😀😀", 4) == "😀…"
    assert clip("😀😀😀", 3) == "😀…"
    assert clip("😀😀😀", 2) == "…"
    assert clip("abc", 3) == "abc" and clip("abc", 0) == ""


# --------------------------------------------------------------------------- digest


def digest(n: int, title_len: int = 20, **item: Any) -> AlertPayload:
    items = tuple({"title": f"خبر {i} " + "ن" * title_len, "url": f"https://e.example/{i}",
                   "outlet": "الوسط", "severity": "high", "rule_title": "Wagner", **item}
                  for i in range(n))
    return AlertPayload(kind="digest", title="Daily digest", body="Top items today", items=items)


def test_digest_lists_items_as_numbered_links() -> None:
    html = render_html(digest(3))
    assert_telegram_ok(html)
    shown = visible_text(html)
    assert shown.startswith("🗞 Daily digest")
    assert "1. 🔴 خبر 0" in shown and "3. 🔴 خبر 2" in shown
    assert parse(html).hrefs == [f"https://e.example/{i}" for i in range(3)]
    assert "more" not in shown


def test_digest_shows_every_item() -> None:
    shown = visible_text(render_html(digest(35)))
    assert all(f"{i}. 🔴 خبر {i - 1}" in shown for i in range(1, 36))
    assert "more" not in shown


def test_digest_shortens_headlines_rather_than_drop_items() -> None:
    payload = digest(20, title_len=280)
    html = render_html(payload)
    assert_telegram_ok(html)
    shown = visible_text(html)
    assert all(f"\n{RLM}{i}. 🔴 خبر {i - 1} ننن" in shown for i in range(1, 21))
    assert shown.count("…") >= 20                              # every headline cut, none dropped
    assert parse(html).hrefs == [f"https://e.example/{i}" for i in range(20)]
    assert shown.startswith("🗞 Daily digest")               # the title is not touched
    plain = render_plain(payload)
    assert all(f"https://e.example/{i}\n" in plain + "\n" for i in range(20))


def test_digest_over_the_item_limit_is_refused() -> None:
    with pytest.raises(RenderError):
        render_html(digest(MAX_DIGEST_ITEMS + 1))
    assert_telegram_ok(render_html(digest(MAX_DIGEST_ITEMS, title_len=280)))


def test_plain_digest_keeps_every_link_or_says_it_cannot() -> None:
    long_links = digest(25, url="https://news.example/" + "x" * 300)
    assert not fits_with_every_link(long_links)     # 25 x 300-unit links: not in 4096 units
    plain = render_plain(long_links)                 # outside the folder: titles, no links
    assert utf16_len(plain) <= MAX_LENGTH and "25. 🔴 خبر 24" in plain
    assert fits_with_every_link(digest(8, url="https://news.example/" + "x" * 300))


def test_digest_item_that_is_not_an_object_cannot_be_rendered() -> None:
    with pytest.raises(RenderError, match="item 2 is not an object"):
        render_html(AlertPayload(kind="digest", title="d", items=({}, 42)))  # type: ignore[arg-type]


def test_time_no_calendar_can_show_is_left_out() -> None:
    assert format_time(253402300799, "Africa/Tripoli") is None      # 9999-12-31T23:59:59Z
    html = render_html(alert(published_at=253402300799.0))
    assert_telegram_ok(html)
    assert "(Africa/Tripoli)" not in visible_text(html) and "بوابة الوسط" in visible_text(html)


def test_digest_tolerates_missing_keys() -> None:
    html = render_html(AlertPayload(kind="digest", title="d", items=({},)))
    assert_telegram_ok(html)
    assert "1. ⚪ (untitled)" in visible_text(html)


# --------------------------------------------------------------------------- the fake accepts it


def test_fake_telegram_accepts_rendered_messages() -> None:
    payloads = [alert(title=HOSTILE), alert(snippets=(Snippet("🚀" * 10_000),)),
                digest(20, title_len=280)]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # no env proxy
    with FakeTelegram() as tg:
        for payload in payloads:
            data = json.dumps({"chat_id": "-1001", "text": render_html(payload),
                               "parse_mode": "HTML"}).encode()
            req = urllib.request.Request(f"{tg.base_url}123:abc/sendMessage", data=data,
                                         headers={"Content-Type": "application/json"})
            with opener.open(req, timeout=5) as resp:
                assert json.load(resp)["ok"] is True
    assert len(tg.messages) == 3


# --------------------------------------------------------------------------- property


_chars = st.one_of(st.characters(), st.sampled_from(list("<&>\"';#\n\r\t\x00\u200f\u2068")),
                   st.sampled_from(["😀", "𝕏", "🇱🇾", "\ud800", "\udfff", "&amp;", "<b>", "</a>"]))
_text = st.lists(_chars, max_size=60).map("".join)
_long = st.builds(lambda s, n: s * n, _text, st.integers(1, 300))
_snippets = st.lists(
    st.builds(lambda t, ms: Snippet(t, tuple(ms)), _long,
              st.lists(st.tuples(st.integers(-5, 400), st.integers(-5, 400)), max_size=150)),
    max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_long, outlet=_text, snippets=_snippets, entities=st.lists(_text, max_size=15),
       url=st.one_of(st.none(), _text, _text.map(lambda t: "https://e.example/" + t)), rule=_text)
def test_any_input_renders_valid_html_within_limits(title: str, outlet: str,
                                                    snippets: list[Snippet], entities: list[str],
                                                    url: str | None, rule: str) -> None:
    payload = alert(title=title, outlet=outlet, snippets=tuple(snippets), url=url,
                    entities=tuple(entities), rule_title=rule)
    html = render_html(payload)
    assert_telegram_ok(html)
    plain = render_plain(payload)
    assert utf16_len(plain) <= MAX_LENGTH
    plain.encode("utf-8")


@settings(max_examples=40, deadline=None)
@given(title=_long, body=_long, items=st.lists(
    st.fixed_dictionaries({"title": _long, "url": st.one_of(st.none(), _text),
                           "outlet": _text, "severity": _text, "rule_title": _text}),
    max_size=30))
def test_any_digest_renders_within_limits(title: str, body: str, items: list[dict[str, Any]]) -> None:
    payload = AlertPayload(kind="digest", title=title, body=body, items=tuple(items))
    assert_telegram_ok(render_html(payload))
    assert utf16_len(render_plain(payload)) <= MAX_LENGTH
