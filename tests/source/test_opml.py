"""OPML: a feed reader's export read into feed entries, our export read back as the same sources."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from lxml import etree

from monitor.config import FeedSource, load_settings
from monitor.errors import ConfigError
from monitor.source.opml import NAMESPACE, export_opml, read_opml

FEEDS_OPML = Path(__file__).resolve().parents[1] / "data" / "opml" / "feeds.opml"


def write(tmp_path: Path, text: str, name: str = "feeds.opml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def opml(body: str, version: str = "2.0") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="{version}">\n'
            f"<head><title>t</title></head>\n<body>\n{body}\n</body>\n</opml>\n")


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_feed_reader_export_flattened_into_feed_entries():
    warnings: list[str] = []
    entries = read_opml(FEEDS_OPML, warnings)
    by_name = {e["name"]: e for e in entries}
    assert list(by_name) == [
        "alwasat", "the-libya-observer", "almarsad", "libyaalhadath", "lana", "bbc-news",
        "rt-arabic", "aawsat", "asharq-al-awsat-english", "arabi21"]
    # Arabic titles name the feed after its site; Latin titles are slugged.
    assert by_name["alwasat"] == {"name": "alwasat", "url": "https://alwasat.ly/rss",
                                  "tags": ["ليبيا"]}
    # Nested categories become tags, outermost first.
    assert by_name["lana"]["tags"] == ["ليبيا", "east-libya"]
    # One feed in two folders (Feedly exports it twice) is one feed with both tags.
    assert by_name["rt-arabic"]["tags"] == ["pan-arab-news", "russia"]
    # The URL is kept as the reader had it; only duplicate checks canonicalise.
    assert by_name["bbc-news"]["url"].endswith("rss.xml?utm_source=feedly&utm_medium=rss")
    assert "tags" not in by_name["arabi21"]              # top level: no category
    assert all("type" not in e for e in entries)         # rss is the default type
    assert warnings == [
        f"{FEEDS_OPML}:{line_of(FEEDS_OPML, 'feed://')}: outline 'TASS podcast' skipped: "
        "xmlUrl is not an http(s) URL: 'feed://tass.example/podcast.xml'"]
    for entry in entries:
        FeedSource.model_validate(entry)                 # each is a valid feeds: item


def test_miniflux_and_inoreader_shapes(tmp_path):
    path = write(tmp_path, opml(
        '<outline text="All">\n'
        '  <outline title="Libya Review" text="Libya Review" xmlUrl="https://libyareview.com/feed/"'
        ' htmlUrl="https://libyareview.com"></outline>\n'
        '</outline>\n'
        '<outline text="No title attribute" xmlurl="https://example.ly/rss" '
        'category="/Libya/Oil,/Economy"/>\n'
        '<outline text="A link, not a feed" type="link" url="https://example.ly/about"/>'))
    assert read_opml(path) == [
        {"name": "libya-review", "url": "https://libyareview.com/feed/", "tags": ["all"]},
        {"name": "no-title-attribute", "url": "https://example.ly/rss",
         "tags": ["libya", "oil", "economy"]},
    ]


def test_names_are_unique_and_sensible(tmp_path):
    path = write(tmp_path, opml(
        '<outline text="بوابة الوسط" xmlUrl="https://www.alwasat.ly/rss"/>\n'
        '<outline text="الوسط - ليبيا" xmlUrl="https://www.alwasat.ly/libya/rss"/>\n'
        '<outline text="News" xmlUrl="https://a.example/rss"/>\n'
        '<outline text="NEWS!" xmlUrl="https://b.example/rss"/>\n'
        '<outline text="" xmlUrl="https://feeds.bbci.co.uk/arabic/rss.xml"/>\n'
        '<outline text="عربي 21" xmlUrl="https://arabi21.com/rss"/>'))
    assert [e["name"] for e in read_opml(path)] == [
        "alwasat", "alwasat-2", "news", "news-2", "bbci", "arabi21"]


def test_unusable_outlines_are_skipped_with_their_line(tmp_path):
    path = write(tmp_path, opml(
        '<outline text="ok" xmlUrl="https://ok.example/rss"/>\n'
        '<outline text="js" xmlUrl="javascript:alert(1)"/>\n'
        f'<outline xmlns:monitor="{NAMESPACE}" text="tg" type="link" monitor:type="telegram" '
        'monitor:channel="a b"/>\n'
        f'<outline xmlns:monitor="{NAMESPACE}" text="x" monitor:type="carrier-pigeon" '
        'xmlUrl="https://x.example/"/>'))
    warnings: list[str] = []
    assert [e["name"] for e in read_opml(path, warnings)] == ["ok"]
    assert [w.split(": ", 1)[0] for w in warnings] == [f"{path}:6", f"{path}:7", f"{path}:8"]
    assert "not an http(s) URL" in warnings[0]
    assert "channel" in warnings[1] and "pattern" in warnings[1]
    assert "unknown monitor:type 'carrier-pigeon'" in warnings[2]


@pytest.mark.parametrize("text,reason,line", [
    pytest.param(opml('<outline text="a" xmlUrl="https://a.example/rss">\n'),
                 "not well-formed XML: Opening and ending tag mismatch", 8, id="unclosed"),
    pytest.param('<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>',
                 "not an OPML file: the root element is <rss>, not <opml>", 2, id="rss"),
    pytest.param(opml('<outline text="Empty folder"/>'),
                 "no feeds found: no <outline> has an xmlUrl attribute", 2, id="no-feeds"),
    pytest.param("", "not well-formed XML: Document is empty", 1, id="empty"),
])
def test_bad_files_name_the_file_and_line(tmp_path, text, reason, line):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        read_opml(path)
    assert err.value.file == str(path) and reason in err.value.reason
    assert err.value.line == line
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read: No such file"):
        read_opml(tmp_path / "nope.opml")


def test_dtd_entities_are_refused_and_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY")
    lols = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    path = write(tmp_path, (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">'
        f'<!ENTITY l0 "lol">{lols}]>\n'
        '<opml version="2.0"><body><outline text="&x;&l9;" xmlUrl="https://a.example/&x;"/>'
        "</body></opml>"))
    with pytest.raises(ConfigError, match="declares a DTD") as err:
        read_opml(path)
    assert "CANARY" not in str(err.value) and "lol" not in str(err.value)


def test_export_is_opml_2_grouped_by_first_tag():
    sources = [FeedSource(name="wire", url="https://wire.example/rss", tags=["libya", "wire"]),
               FeedSource(name="loose", url="https://loose.example/rss"),
               FeedSource(name="tg", type="telegram", channel="libya_news", tags=["libya"])]
    text = export_opml(sources, now=datetime(2025, 3, 11, 12, 0, tzinfo=UTC))
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml ')
    root = etree.fromstring(text.encode())
    assert root.get("version") == "2.0" and root.findtext("head/title")
    assert parsedate_to_datetime(root.findtext("head/dateCreated")) == datetime(
        2025, 3, 11, 12, 0, tzinfo=UTC)
    groups = root.findall("body/outline")
    assert [g.get("text") for g in groups] == ["libya", "loose"]
    libya = groups[0].findall("outline")
    assert [(o.get("text"), o.get("type"), o.get("xmlUrl"), o.get("category")) for o in libya] == [
        ("wire", "rss", "https://wire.example/rss", "libya,wire"),
        ("tg", "link", None, "libya")]
    # A channel preview is no feed another reader could poll: a link, with our attributes.
    assert libya[1].get("url") == "https://t.me/s/libya_news"
    assert libya[1].get(f"{{{NAMESPACE}}}type") == "telegram"
    assert libya[1].get(f"{{{NAMESPACE}}}channel") == "libya_news"


def test_export_then_import_gives_the_same_sources(tmp_path):
    sources = [
        FeedSource(name="Wire_EN", url="https://wire.example/rss?feed=rss2", tags=["pan-arab"],
                   interval_seconds=900, enabled=False),
        FeedSource(name="gn-wagner", type="google_news", query='(فاغنر OR "فاجنر") ليبيا',
                   edition="LY", tags=["google-news", "libya"]),
        FeedSource(name="tg-libya", type="telegram", channel="libya_news",
                   verified=date(2025, 3, 1)),
        FeedSource(name="wasat-news", type="sitemap", url="https://alwasat.ly/news/sitemap.xml",
                   max_age_hours=12, tags=["libya"]),
        *load_settings(None).feeds,                    # the shipped list, Arabic queries and all
    ]
    path = write(tmp_path, export_opml(sources))
    back = [FeedSource.model_validate(e) for e in read_opml(path)]
    # Grouped by first tag, the order changes; each source comes back as it was.
    assert sorted(back, key=lambda s: s.name) == sorted(sources, key=lambda s: s.name)
