"""Hostile and unlucky encodings of feeds and pages, through the real pipeline and local servers:
stray bytes, mixed encodings, non-text charset labels, UTF-16/32, BOMs, NUL bytes."""

from __future__ import annotations

import codecs

import pytest

from monitor.fetch.decode import decode_feed, decode_html, text_codec
from tests.builders import PARAS, page, rss
from tests.conftest import make_settings, run_cycle
from tests.test_ingest import rows

TITLES = ["قوات روسية في الجفرة", "حفتر يلتقي يفكوروف في بنغازي", "وصول منظومة دفاع جوي إلى طبرق"]


def _items(server) -> list[dict[str, str]]:
    return [{"title": t, "link": server.url(f"/missing/{i}"), "guid": f"g{i}",
             "description": f"ملخص الخبر رقم {i} عن ليبيا"} for i, t in enumerate(TITLES)]


def _titles(settings) -> list[str]:
    return [r[0] for r in rows(settings, "SELECT feed_title FROM articles ORDER BY id")]


def _poll(server, tmp_path, body: bytes, ctype: str = "application/rss+xml") -> list[str]:
    server.static("/feed.xml", body, ctype)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert stats.feeds_ok == 1, stats.per_feed
    return _titles(settings)


def test_one_stray_byte_spoils_only_its_own_item(server, tmp_path):
    body = rss(_items(server))
    # A truncated UTF-8 sequence (the first byte of "ق") inside the second title only.
    broken = "حفتر يلتقي".encode()
    body = body.replace(broken, broken + b"\xd9", 1)
    titles = _poll(server, tmp_path, body)
    assert titles[0] == TITLES[0] and titles[2] == TITLES[2]
    assert titles[1].replace("\ufffd", "").replace("  ", " ") == TITLES[1].replace("  ", " ")


def test_item_pasted_in_cp1256_inside_a_utf8_feed(server, tmp_path):
    items = _items(server)
    body = rss(items)
    body = body.replace(TITLES[1].encode(), TITLES[1].encode("cp1256"), 1)
    assert _poll(server, tmp_path, body) == TITLES


def test_whole_cp1256_feed_still_decodes_with_one_valid_utf8_looking_pair(server, tmp_path):
    # "ا،" in cp1256 is C7 A1: a valid UTF-8 pair. The rest of the item decides.
    items = _items(server)
    items[0]["title"] = "ا، " + TITLES[0]
    titles = _poll(server, tmp_path, rss(items, encoding="cp1256"))
    assert titles == ["ا، " + TITLES[0], *TITLES[1:]]


NON_TEXT_LABELS = ["base64", "undefined", "rot13", "hex", "zlib", "bz2", "uu", "quopri",
                   "unicode_escape", "raw_unicode_escape", "utf-7", "idna", "punycode",
                   "charmap", "utf-16", "utf-32", "x-user-defined", "a" * 40]


@pytest.mark.parametrize("label", NON_TEXT_LABELS)
def test_non_text_charset_in_xml_declaration(server, tmp_path, label):
    body = rss(_items(server), encoding="cp1256", declare=label)
    assert _poll(server, tmp_path, body) == TITLES


@pytest.mark.parametrize("label", ["base64", "undefined", "rot13", "utf-16"])
def test_non_text_charset_in_http_header(server, tmp_path, label):
    body = rss(_items(server), encoding="cp1256", declare="windows-1256")
    assert _poll(server, tmp_path, body, f"text/xml; charset={label}") == TITLES


@pytest.mark.parametrize("label", ["rot13", "base64", "undefined", "utf-16"])
def test_non_text_meta_charset_on_a_page(server, tmp_path, label):
    html = page(TITLES[0], PARAS, charset=label).encode("cp1256", "replace")   # ٢٠٢٦ is not in cp1256
    server.static("/a.html", html, "text/html")
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/a.html"), "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert stats.extracted == 1 and art["title"] == TITLES[0]
    assert "قاعدة الجفرة" in art["text"]


def test_stray_byte_in_a_utf8_page_keeps_the_page_utf8(server, tmp_path):
    html = page(TITLES[0], PARAS, charset="windows-1256").encode().replace(b"</h1>", b"\xff</h1>")
    server.static("/a.html", html, "text/html; charset=windows-1256")
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/a.html"), "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    assert "قاعدة الجفرة" in rows(settings, "SELECT text FROM articles")[0][0]


@pytest.mark.parametrize("codec,bom", [
    pytest.param("utf-16-le", codecs.BOM_UTF16_LE, id="utf16le-bom"),
    pytest.param("utf-16-be", codecs.BOM_UTF16_BE, id="utf16be-bom"),
    pytest.param("utf-16-le", b"", id="utf16le-no-bom"),
    pytest.param("utf-16-be", b"", id="utf16be-no-bom"),
    pytest.param("utf-32-le", codecs.BOM_UTF32_LE, id="utf32le-bom"),
    pytest.param("utf-32-be", b"", id="utf32be-no-bom"),
    pytest.param("utf-8", codecs.BOM_UTF8, id="utf8-bom"),
])
def test_unicode_feeds_with_and_without_bom(server, tmp_path, codec, bom):
    text = rss(_items(server), declare="utf-16" if "16" in codec else "utf-8").decode()
    # A wrong header charset too: the byte pattern must win over it.
    assert _poll(server, tmp_path, bom + text.encode(codec),
                 "text/xml; charset=windows-1256") == TITLES


def test_nul_bytes_and_control_characters_are_dropped(server, tmp_path):
    items = _items(server)
    items[1]["title"] = TITLES[1][:4] + "\x00\x01\x1b" + TITLES[1][4:]
    body = rss(items).replace(b"<channel>", b"<channel>\x00\x0b")
    assert _poll(server, tmp_path, body) == TITLES


def test_nul_bytes_in_a_page(server, tmp_path):
    html = page(TITLES[0], PARAS).replace("</p>", "\x00</p>").encode()
    server.static("/a.html", html, "text/html; charset=utf-8")
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/a.html"), "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert stats.extracted == 1 and "قاعدة الجفرة" in rows(settings, "SELECT text FROM articles")[0][0]


def test_text_codec_accepts_only_character_sets():
    assert text_codec("windows-1256") == "cp1256" and text_codec("ISO-8859-6-I") == "iso8859-6"
    assert text_codec("x-mac-arabic") == "mac-arabic"
    assert [text_codec(label) for label in NON_TEXT_LABELS] == [None] * len(NON_TEXT_LABELS)


def test_decoders_never_raise_on_any_label():
    for label in [*NON_TEXT_LABELS, "", "..", "utf-8\x00", "encodings.idna"]:
        assert decode_feed("خبر".encode("cp1256"), f"text/xml; charset={label}") == "خبر"
        assert decode_html(b"<meta charset='" + label.encode() + b"'>\xd9", None)


def test_utf16_page_with_bom_and_a_lying_header(server, tmp_path):
    html = codecs.BOM_UTF16_LE + page(TITLES[0], PARAS, charset="utf-16").encode("utf-16-le")
    server.static("/a.html", html, "text/html; charset=windows-1256")
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/a.html"), "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    assert run_cycle(settings).extracted == 1
    assert "قاعدة الجفرة" in rows(settings, "SELECT text FROM articles")[0][0]
