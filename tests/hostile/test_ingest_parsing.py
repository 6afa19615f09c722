"""Feeds that are expensive to parse, or odd in their fields: parsing stays bounded in time and
memory (worker processes), items keep what can be kept, and the feeds after them are served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.parse.clean import MAX_ITEMS
from tests.builders import rss
from tests.conftest import make_settings, run_cycle
from tests.schedule.daemon import wait_for
from tests.test_ingest import feed_row, rows


def many_attributes(n: int = 100_000) -> bytes:
    # xml.sax looks attributes up by a linear scan: quadratic in their number (184 s for 1 MB).
    attrs = " ".join(f'a{i}="v"' for i in range(n))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<item {attrs}><title>x</title></item></channel></rss>").encode()


def deep(n: int = 1_000_000) -> bytes:
    # A million unclosed elements (3 MB): 654 MB and 65 s of CPU in feedparser.
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            + "<x>" * n).encode()


def _two_feeds(server, tmp_path, hostile: bytes, **parse):
    server.static("/hostile.xml", hostile)
    server.static("/ok.xml", rss([{"title": "سليم", "link": server.url("/x"), "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "hostile", "url": server.url("/hostile.xml")},
                                                {"name": "ok", "url": server.url("/ok.xml")}],
                             parse={"workers": 1, **parse}, poll={"concurrency": 1},
                             fetch={"max_body_bytes": 5_000_000})
    return settings, run_cycle(settings)


def test_a_feed_over_the_parse_time_limit_fails_and_the_next_one_parses(server, tmp_path):
    settings, stats = _two_feeds(server, tmp_path, many_attributes(), timeout_seconds=2)
    row = feed_row(settings, "hostile")
    assert row["error_kind"] == "not_a_feed" and "parsing took over 2 s" in row["last_error"]
    assert feed_row(settings, "ok")["last_status"] == "ok" and stats.new_items == 1


def test_a_feed_over_the_parse_memory_limit_fails_and_the_next_one_parses(server, tmp_path):
    settings, stats = _two_feeds(server, tmp_path, deep(), max_memory_mb=100,
                                 timeout_seconds=120)
    row = feed_row(settings, "hostile")
    assert row["error_kind"] == "not_a_feed", row["last_error"]
    assert "more than 100 MB" in row["last_error"] or "died" in row["last_error"]
    assert feed_row(settings, "ok")["last_status"] == "ok" and stats.new_items == 1


def test_huge_number_of_items_is_cut_with_a_note(server, tmp_path):
    items = [{"title": f"خبر {i}", "link": server.url(f"/a/{i}"), "guid": f"g{i}"}
             for i in range(MAX_ITEMS + 3000)]
    server.static("/feed.xml", rss(items))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}],
                             extract={"max_pages_per_cycle": 10}, parse={"workers": 1},
                             fetch={"max_body_bytes": 5_000_000})
    stats = run_cycle(settings)
    assert stats.feeds_ok == 1 and stats.new_items == MAX_ITEMS
    assert stats.fallback == 10 and stats.deferred == MAX_ITEMS - 10   # the per-poll page budget
    assert f"more than {MAX_ITEMS} items" in feed_row(settings, "f")["bozo_note"]


def test_enormous_fields_are_bounded(server, tmp_path):
    server.static("/feed.xml", rss([
        {"title": "عنوان " * 200_000, "link": server.url("/x?" + "q" * 100_000), "guid": "g" * 100_000,
         "description": "ملخص " * 500_000},
        {"title": "سليم", "link": server.url("/ok"), "guid": "ok"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}],
                             fetch={"max_body_bytes": 10_000_000})
    assert run_cycle(settings).new_items == 2
    big, ok = rows(settings, "SELECT * FROM articles ORDER BY id")
    assert len(big["feed_title"]) == 1000 and len(big["feed_summary"]) == 20_000
    assert big["canonical_url"] is None and len(big["identity"]) < 600 and len(big["guid"]) == 1000
    assert ok["feed_title"] == "سليم"


@pytest.mark.parametrize("link,expected", [
    pytest.param("data:text/html,<script>alert(1)</script>", None, id="data"),
    pytest.param("file:///etc/passwd", None, id="file"),
    pytest.param("mailto:editor@example.org", None, id="mailto"),
    pytest.param("javascript:alert(1)", None, id="javascript"),
    pytest.param("/news/1?utm_source=rss", "{base}/news/1", id="relative"),
    pytest.param("news/2", "{base}/feeds/news/2", id="relative-path"),
    pytest.param("//127.0.0.1:{port}/n3", "{base}/n3", id="protocol-relative"),
    pytest.param("http://a b.example/x", None, id="space-in-host"),
    pytest.param("http://example.org:99999/x", None, id="bad-port"),
])
def test_weird_links(server, tmp_path, link, expected):
    link = link.replace("{port}", str(server.port))
    server.static("/feeds/f.xml", rss([{"title": "خبر", "link": link, "guid": "1",
                                        "description": "ملخص"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feeds/f.xml")}])
    stats = run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert stats.failed == 0 and art["text"] == "ملخص"
    want = expected.replace("{base}", server.base) if expected else None
    assert art["canonical_url"] == want


@pytest.mark.parametrize("date,expected", [
    pytest.param("Fri, 31 Dec 9999 23:59:59 GMT", "now", id="year-9999"),
    pytest.param("Mon, 01 Jan 0001 00:00:00 GMT", None, id="year-1"),
    pytest.param("Thu, 01 Jan 1970 00:00:00 GMT", None, id="epoch"),
    pytest.param("2026-11-20T10:15:00+02:00", 1795162500.0, id="iso-offset"),
    pytest.param("Fri, 20 Nov 2026 10:15:00 -1200", 1795162500.0 + 14 * 3600, id="far-west-zone"),
    pytest.param("الجمعة، 20 نوفمبر 2026", None, id="arabic-names"),
    pytest.param("yesterday", None, id="words"),
    pytest.param("Fri, 32 Nov 2026 25:61:61 GMT", None, id="impossible"),
    pytest.param("9" * 5000, "now", id="long-number"),
])
def test_odd_dates(server, tmp_path, date, expected):
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/x"), "guid": "1",
                                     "pubDate": date}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    before = datetime.now(UTC).timestamp()
    assert run_cycle(settings).new_items == 1
    got = rows(settings, "SELECT published_at FROM articles")[0][0]
    if expected == "now":
        assert before - 5 <= got <= datetime.now(UTC).timestamp()
    else:
        assert got == expected


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state


def test_parse_worker_exits_when_the_daemon_is_killed(server, tmp_path):
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/x"), "guid": "1"}]))
    (tmp_path / "monitor.yaml").write_text(
        f"fetch:\n  allow_addresses: ['127.0.0.1:{server.port}']\n"
        "extract:\n  workers: 0\nops:\n  enabled: false\n"
        f"feeds:\n  - name: f\n    url: {server.url('/feed.xml')}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: server.hits("/feed.xml") and _children(proc.pid), 60, "parse worker")
        children = _children(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wait_for(lambda: not any(_alive(pid) for pid in children), 30, "workers gone")
