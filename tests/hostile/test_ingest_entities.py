"""Entity expansion in every spelling we could think of: no declared entity is ever expanded,
external ones are never fetched or read, and the other items of the feed survive."""

from __future__ import annotations

import codecs

import pytest

from monitor.parse.clean import clean_feed, root_start
from tests.conftest import make_settings, run_cycle
from tests.test_ingest import feed_row, rows

BIG = "A" * 20_000
E = f'<!ENTITY e "{BIG}">'

PROLOGS = {
    # The case: '<' inside an entity value and '>' inside a comment of the subset.
    "comment-gt-and-lt-in-value": f'<!DOCTYPE rss [<!-- > -->\n{E}\n<!ENTITY x "<b>">\n]>',
    "comment-closing-subset": f"<!DOCTYPE rss [\n<!-- ]> -->\n{E}\n]>",
    "pi-closing-subset": f"<!DOCTYPE rss [\n<?pi ]> ?>\n{E}\n]>",
    "quoted-closing-subset": f'<!DOCTYPE rss [\n<!ENTITY q "]>">\n{E}\n]>',
    "single-quoted-value": f"<!DOCTYPE rss [\n<!ENTITY e '{BIG}'>\n]>",
    "parameter-entity": f"<!DOCTYPE rss [\n<!ENTITY % p \"<!ENTITY e '{BIG}'>\">\n%p;\n]>",
    "external-file": '<!DOCTYPE rss [\n<!ENTITY e SYSTEM "file:///etc/passwd">\n]>',
    "external-dtd": '<!DOCTYPE rss SYSTEM "{base}/evil.dtd">',
    "external-parameter": '<!DOCTYPE rss [\n<!ENTITY % d SYSTEM "{base}/evil.dtd">\n%d;\n]>',
    "lowercase-doctype": f"<!doctype rss [\n{E}\n]>",
    "whitespace-everywhere": f'<!DOCTYPE\n\t rss\n\t[\n\t<!ENTITY\te\t"{BIG}"\t>\n\t]\n\t>',
    "brackets-in-attlist": f'<!DOCTYPE rss [\n<!ATTLIST x y CDATA "[[[">\n{E}\n]>',
    "two-doctypes": f"<!DOCTYPE rss [\n{E}\n]>\n<!DOCTYPE rss [\n{E}\n]>",
    "root-in-comment-first": f"<!-- <rss> -->\n<!DOCTYPE rss [\n{E}\n]>",
    "declarations-in-comments": f"<!--\n<!DOCTYPE rss>\n-->\n<!--\n{E}\n-->",
    "cdata-in-prolog": f"<![CDATA[ x ]]>\n<!DOCTYPE rss [\n{E}\n]>",
    "unterminated-quote": f"<!DOCTYPE rss [\n{E}\n<!ENTITY q 'x>\n]>",
    "bare-entity-no-doctype": f"\n{E}\n",
    "junk-before-declaration": f"Warning: something failed\n<!DOCTYPE rss [\n{E}\n]>",
}


def hostile_feed(prolog: str, items: int = 1, *, in_body: bool = False) -> str:
    refs = "&e;" * 5000
    entries = "".join(f"<item><title>{refs}</title><link>{{base}}/a/{i}</link><guid>h{i}</guid>"
                      f"<description>{refs}</description></item>" for i in range(items))
    body = (f'<rss version="2.0"><channel><title>t</title>{prolog if in_body else ""}{entries}'
            "<item><title>سليم</title><link>{base}/ok</link><guid>ok</guid></item>"
            "</channel></rss>")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{"" if in_body else prolog}\n{body}'


def _check(server, tmp_path, body: bytes) -> None:
    server.static("/evil.dtd", f'<!ENTITY e "{BIG}">'.encode(), "application/xml-dtd")
    server.static("/feed.xml", body)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert stats.feeds_ok == 1, feed_row(settings, "f")["last_error"]
    arts = rows(settings, "SELECT feed_title, feed_summary FROM articles")
    assert "سليم" in [a["feed_title"] for a in arts]
    for art in arts:
        for text in (art["feed_title"], art["feed_summary"]):
            assert "A" * 50 not in text and "root:" not in text
    assert server.hits("/evil.dtd") == 0


@pytest.mark.parametrize("name", list(PROLOGS))
def test_declared_entities_are_never_expanded(server, tmp_path, name):
    _check(server, tmp_path, hostile_feed(PROLOGS[name]).encode())


def test_doctype_inside_the_document(server, tmp_path):
    _check(server, tmp_path, hostile_feed(PROLOGS["whitespace-everywhere"], in_body=True).encode())


def test_entities_in_a_utf16_feed(server, tmp_path):
    text = hostile_feed(PROLOGS["comment-gt-and-lt-in-value"]).replace("utf-8", "utf-16")
    _check(server, tmp_path, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))


@pytest.mark.parametrize("name", list(PROLOGS))
def test_cleaned_text_has_no_declaration_left_before_the_root(name):
    cleaned, _ = clean_feed(hostile_feed(PROLOGS[name]))
    head = cleaned[:cleaned.index("<rss")]
    assert "ENTITY" not in head and "DOCTYPE" not in head.upper()


def test_root_start_skips_markup_that_looks_like_a_root():
    text = '<?xml version="1.0"?><!-- <rss> --><?pi <rss> ?><!DOCTYPE x [<!ENTITY a "<rss>">]><feed/>'
    assert text[root_start(text):] == "<feed/>"
