"""News sitemaps end to end: the pipeline and ``monitor once`` against a local site, the shipped
rules and a real database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from monitor.app import load_scorer, open_app
from monitor.cli import main
from tests.builders import page
from tests.conftest import REPO, make_settings
from tests.servers.http import TestServer

POSITIVE = ("أفادت مصادر محلية بأن قوات روسية تابعة للفيلق الأفريقي وصلت إلى قاعدة الجفرة الجوية "
            "في وسط ليبيا على متن طائرات شحن عسكرية، في إطار تعزيز الوجود العسكري الروسي هناك.")
NEGATIVE = "افتتح معرض بنغازي الدولي للكتاب أبوابه أمس بمشاركة مئات من دور النشر العربية."


def news_sitemap(entries: list[tuple[str, str, datetime]]) -> bytes:
    """A Google News sitemap of (url, title, published) entries."""
    urls = "".join(
        f"<url><loc>{url}</loc><news:news><news:publication><news:name>الأنباء الليبية"
        f"</news:name><news:language>ar</news:language></news:publication>"
        f"<news:publication_date>{when.isoformat()}</news:publication_date>"
        f"<news:title>{title}</news:title></news:news></url>" for url, title, when in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset '
            'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>').encode()


def sitemap_index(children: list[tuple[str, datetime]]) -> bytes:
    body = "".join(f"<sitemap><loc>{url}</loc><lastmod>{when.isoformat()}</lastmod></sitemap>"
                   for url, when in children)
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>').encode()


def publish(server: TestServer, slug: str, text: str) -> str:
    return server.static(f"/news/{slug}.html", page(slug, [text], site="الأنباء").encode(),
                         "text/html")


def cycle(settings) -> None:
    async def go() -> None:
        async with open_app(settings, load_scorer(settings)) as app:
            await app.pipeline.run_cycle(settings.feeds)
    asyncio.run(go())


def rows(settings, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(settings.database)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_recent_entries_are_fetched_scored_and_alerted_once(server, tmp_path):
    now = datetime.now(UTC)
    hit, miss, old = (publish(server, "hit", POSITIVE), publish(server, "miss", NEGATIVE),
                      publish(server, "old", POSITIVE))
    server.static("/sitemap-news.xml", news_sitemap([
        (hit, "قوات روسية في الجفرة", now - timedelta(hours=2)),
        (miss, "معرض الكتاب", now - timedelta(hours=3)),
        (old, "خبر قديم", now - timedelta(days=9))]), "application/xml")
    settings = make_settings(tmp_path, server, [{"name": "anba", "type": "sitemap",
                                                 "url": server.url("/sitemap-news.xml")}],
                             rules_path=str(REPO / "rules"))
    cycle(settings)
    stored = {r["canonical_url"]: r for r in rows(settings, "SELECT * FROM articles")}
    assert set(stored) == {hit, miss}, "only entries within max_age_hours are taken"
    assert stored[hit]["extraction_status"] == "extracted" and stored[hit]["alert"] == 1
    assert stored[miss]["alert"] == 0
    outbox = rows(settings, "SELECT payload_json FROM outbox")
    assert len(outbox) == 1
    payload = json.loads(outbox[0]["payload_json"])
    assert payload["url"] == hit and payload["outlet"] == "الأنباء الليبية"

    cycle(settings)          # a restart: a new app on the same database
    assert len(rows(settings, "SELECT id FROM articles")) == 2
    assert len(rows(settings, "SELECT id FROM outbox")) == 1


def test_an_index_has_its_newest_sitemaps_read(server, tmp_path):
    now = datetime.now(UTC)
    entries = []
    for n in range(4):
        url = publish(server, f"a{n}", NEGATIVE + f" {n}")
        server.static(f"/sm-{n}.xml", news_sitemap([(url, f"خبر {n}", now)]), "application/xml")
        entries.append((server.url(f"/sm-{n}.xml"), now - timedelta(hours=n)))
    server.static("/index.xml", sitemap_index(entries), "application/xml")
    settings = make_settings(tmp_path, server, [{"name": "idx", "type": "sitemap",
                                                 "url": server.url("/index.xml")}],
                             sources={"sitemap_children": 2})
    cycle(settings)
    got = sorted(r["canonical_url"].rsplit("/", 1)[1]
                 for r in rows(settings, "SELECT canonical_url FROM articles"))
    assert got == ["a0.html", "a1.html"], "the two most recently modified sitemaps"


def test_not_a_sitemap_fails_the_source_with_the_reason_and_backs_off(server, tmp_path, capsys):
    server.static("/sitemap.xml", b"<html><body>Page not found</body></html>", "text/html")
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({
        "database": str(tmp_path / "state.db"),
        "fetch": {"allow_addresses": [f"127.0.0.1:{server.port}"]}, "parse": {"workers": 0},
        "extract": {"workers": 0},
        "feeds": [{"name": "broken-sitemap", "type": "sitemap",
                   "url": server.url("/sitemap.xml")}]}))
    assert main(["--config", str(config), "once"]) == 1          # every feed failed
    assert main(["--config", str(config), "feeds"]) == 0
    out = capsys.readouterr().out
    assert "broken-sitemap" in out and "not a sitemap" in out
    conn = sqlite3.connect(tmp_path / "state.db")
    polled, next_poll, errors = conn.execute(
        "SELECT last_polled_at, next_poll_at, error_count FROM feeds").fetchone()
    conn.close()
    assert errors == 1 and next_poll - polled >= 60, "a failing sitemap backs off"


def test_monitor_once_reads_a_sitemap_source(server, tmp_path: Path, capsys):
    now = datetime.now(UTC)
    hit = publish(server, "hit", POSITIVE)
    server.static("/sitemap-news.xml", news_sitemap([(hit, "قوات روسية", now)]), "application/xml")
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({
        "database": str(tmp_path / "state.db"), "rules_path": str(REPO / "rules"),
        "fetch": {"allow_addresses": [f"127.0.0.1:{server.port}"]}, "parse": {"workers": 0},
        "extract": {"workers": 0},
        "feeds": [{"name": "anba", "type": "sitemap", "url": server.url("/sitemap-news.xml")}]}))
    assert main(["--config", str(config), "once"]) == 0
    out = capsys.readouterr().out
    assert "alert → default" in out and hit in out and "الأنباء الليبية" in out
