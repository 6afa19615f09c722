"""Builders for test feeds and article pages (Arabic text written for the tests)."""

from __future__ import annotations

from xml.sax.saxutils import escape

BOILER_NAV = "".join(f'<li><a href="/section/{i}">قسم {i}</a></li>' for i in range(12))
BOILER_SIDE = "".join(f'<li><a href="/related/{i}">خبر ذو صلة رقم {i} عن الطقس والرياضة</a></li>'
                      for i in range(8))


def rss(items: list[dict[str, str]], *, encoding: str = "utf-8", title: str = "قناة اختبار",
        declare: str | None = None, prolog: str = "") -> bytes:
    """An RSS 2.0 feed. Item keys: title, link, guid, description, pubDate (raw XML-escaped)."""
    decl = declare if declare is not None else encoding
    parts = [f'<?xml version="1.0" encoding="{decl}"?>', prolog,
             f"<rss version=\"2.0\"><channel><title>{escape(title)}</title>"
             "<link>https://example.org/</link><description>اختبار</description>"]
    for it in items:
        parts.append("<item>")
        for key in ("title", "link", "description", "pubDate"):
            if key in it:
                parts.append(f"<{key}>{escape(it[key])}</{key}>")
        if "guid" in it:
            parts.append(f'<guid isPermaLink="false">{escape(it["guid"])}</guid>')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode(encoding)


def atom(entries: list[dict[str, str]]) -> bytes:
    """An Atom 1.0 feed. Entry keys: id, title, link, summary, updated."""
    out = ['<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
           "<title>أطلس</title><id>tag:test,2026:feed</id><updated>2026-11-20T10:00:00Z</updated>"]
    for e in entries:
        out.append(f"<entry><id>{escape(e['id'])}</id><title>{escape(e['title'])}</title>"
                   f'<link href="{escape(e["link"])}"/><summary>{escape(e.get("summary", ""))}'
                   f"</summary><updated>{e.get('updated', '2026-11-20T10:00:00Z')}</updated></entry>")
    out.append("</feed>")
    return "".join(out).encode()


def page(title: str, paragraphs: list[str], charset: str = "utf-8", site: str | None = None) -> str:
    """An article page with the boilerplate real news sites wrap around the text."""
    site_meta = f'<meta property="og:site_name" content="{escape(site)}">' if site else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="{charset}">'
            f"<title>{escape(title)}</title>"
            '<meta property="article:published_time" content="2026-11-20T10:15:00+02:00">'
            '<meta name="author" content="مراسل الاختبار">' + site_meta + "</head><body>"
            f"<header><nav><ul>{BOILER_NAV}</ul></nav></header>"
            f"<main><article><h1>{escape(title)}</h1>{body}</article></main>"
            f"<aside><h3>أخبار ذات صلة</h3><ul>{BOILER_SIDE}</ul></aside>"
            "<footer><p>جميع الحقوق محفوظة لموقع الاختبار ٢٠٢٦</p></footer></body></html>")


PARAS = [
    "وصل نائب وزير الدفاع الروسي يونس بك يفكوروف إلى بنغازي في زيارة جديدة التقى خلالها قائد "
    "القوات في شرق ليبيا لبحث التعاون العسكري بين الجانبين وتوسيع التدريب.",
    "وقالت مصادر عسكرية إن المباحثات تناولت تعزيز الوجود الروسي في قاعدة الجفرة الجوية وتزويد "
    "القوات الليبية بمنظومات دفاع جوي حديثة خلال الأشهر المقبلة.",
    "وأضافت المصادر أن وفدا من الفيلق الأفريقي رافق المسؤول الروسي في جولته التي شملت مطار "
    "بنينا ومواقع عسكرية أخرى في المنطقة الشرقية من البلاد.",
]


# A rule file adding one entity and one rule, for tests of rule edits (live reload, backtest).
ZARQA_RULES = """
entities:
  - id: zarqa_test_base
    name: Zarqa test base
    type: place
    weight: 5
    aliases: [قاعدة الزرقاء التجريبية]
rules:
  - id: zarqa_watch
    title: Zarqa test base watch
    all: [zarqa_test_base]
    threshold: 1
    severity: medium
"""
