"""Hostile article pages for the extraction tests, each just under the default 5 MB fetch cap.

Each starts with a short real article (``SENTENCE`` in it) and then the pathology, so a page
cut to the caps still has its text; a few put the pathology first.
"""

from __future__ import annotations

from collections.abc import Callable

SIZE = 4_900_000
SENTENCE = "وصل نائب وزير الدفاع الروسي يونس بك يفكوروف إلى بنغازي في زيارة جديدة"
ARTICLE = "".join(f"<p>{SENTENCE} والتقى قائد القوات في شرق ليبيا لبحث التعاون رقم {i}.</p>"
                  for i in range(4))


def _doc(body: str, head: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8"><title>خبر</title>{head}'
            f"</head><body><article><h1>يفكوروف في بنغازي</h1>{body}")


def _fill(prefix: str, unit: str, suffix: str = "</article></body></html>") -> bytes:
    """prefix + as many ``unit`` as fit in SIZE bytes + suffix, UTF-8."""
    room = SIZE - len(prefix.encode()) - len(suffix.encode())
    return (prefix + unit * (room // len(unit.encode())) + suffix).encode()


def _nested() -> bytes:
    return _doc("<div>" * 100_000 + ARTICLE + "</div>" * 100_000).encode()


def _invalid_utf8() -> bytes:
    junk = b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xed\xa0\x80"
    head, tail = (_doc(ARTICLE) + "<p>").encode(), b"</p></article></body></html>"
    unit = junk + " نص ".encode()
    return head + unit * ((SIZE - len(head) - len(tail)) // len(unit)) + tail


def _attributes(count: int) -> bytes:
    return _doc(ARTICLE + "<div " + " ".join(f"a{i}=v" for i in range(count)) + ">x</div>"
                ).encode()


#: name → (builder, description for docs/hostile-inputs.md)
PAGES: dict[str, tuple[Callable[[], bytes], str]] = {
    "anchors": (lambda: _fill(_doc(ARTICLE), '<a href="/section/12345">قسم</a>'),
                "4.9 MB of `<a href>` tags (the issue's page)"),
    "anchors_dense": (lambda: _fill(_doc(ARTICLE), "<a>x</a>"), "4.9 MB of `<a>x</a>`"),
    "nested_divs": (_nested, "100,000 nested `<div>`s around the article"),
    "text_node": (lambda: _fill(_doc("<p>"), "كلمة "), "one text node of 4.9 MB"),
    "tiny_elements": (lambda: _fill(_doc(ARTICLE), "<b>"), "1.6 million unclosed `<b>`"),
    "huge_attribute": (lambda: _fill(_doc('<div title="'), "x", '">' + ARTICLE + "</div>"),
                       "one 4.9 MB attribute value before the article"),
    "many_attributes": (lambda: _attributes(480_000), "one element with 480,000 attributes "
                        "(4.9 MB)"),
    "slow_attributes": (lambda: _attributes(100_000), "one element with 100,000 attributes "
                        "(0.9 MB, under the caps; trafilatura's time grows with their square)"),
    "tables": (lambda: _fill(_doc(ARTICLE), "<table><tr><td>خلية</td><td>x</td></tr></table>"),
               "98,000 small `<table>`s"),
    "script_flood": (lambda: _fill(_doc(ARTICLE) + "<script>", "var a=1;", "</script>"),
                     "one 4.9 MB `<script>`"),
    "many_scripts": (lambda: _fill(_doc(ARTICLE), "<script>x</script>"),
                     "270,000 `<script>` elements"),
    "style_flood": (lambda: _fill(_doc(ARTICLE, "<style>"), "a{b:c}", "</style>"),
                    "one 4.9 MB `<style>` in the head"),
    "invalid_utf8": (_invalid_utf8, "invalid UTF-8 sequences all through the page's text"),
    "nul_bytes": (lambda: _fill(_doc(ARTICLE), "\x00"), "4.9 MB of NUL bytes after the article"),
    "comment_bomb": (lambda: _fill(_doc(ARTICLE), "<!--"), "1.2 million unclosed `<!--`"),
    "comments": (lambda: _fill(_doc(ARTICLE), "<!-- x -->"), "490,000 comments"),
}
