"""``monitor feeds check`` as an operator runs it: real local sources, the CLI, no state written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml

from monitor.cli import main
from tests.servers.http import TestServer

pytestmark = pytest.mark.usefixtures("cli_env")

PAGE = ("<html><head><title>{t}</title></head><body><article><h1>{t}</h1>"
        + "<p>" + "نص الخبر الكامل عن الأحداث في المنطقة وتطوراتها اليومية. " * 12 + "</p>"
        + "</article></body></html>")
EMPTY_PAGE = "<html><body><nav>الرئيسية</nav></body></html>"


def _rss(server: TestServer, items: list[tuple[str, str, datetime]]) -> bytes:
    body = "".join(f"<item><title>{title}</title><link>{server.url(path)}</link>"
                   f"<pubDate>{format_datetime(when)}</pubDate></item>"
                   for title, path, when in items)
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()



@pytest.fixture
def sources(tmp_path: Path):
    """A config with a good feed, a stale one, one whose pages have no text, a dead one."""
    now = datetime.now(UTC)
    with TestServer() as srv:
        for n in range(3):
            srv.static(f"/good/{n}.html", PAGE.format(t=f"خبر {n}").encode(), "text/html")
            srv.static(f"/empty/{n}.html", EMPTY_PAGE.encode(), "text/html")
        srv.static("/good.xml", _rss(srv, [(f"خبر {n}", f"/good/{n}.html", now - timedelta(hours=n))
                                           for n in range(3)]))
        srv.static("/stale.xml", _rss(srv, [("قديم", "/good/0.html", now - timedelta(days=40))]))
        srv.static("/empty.xml", _rss(srv, [(f"فارغ {n}", f"/empty/{n}.html", now)
                                            for n in range(3)]))
        srv.static("/dead.xml", b"gone", "text/plain", status=404)
        srv.static("/html.xml", b"<html><body>not a feed</body></html>", "text/html")
        config = tmp_path / "monitor.yaml"
        config.write_text(yaml.safe_dump({
            "database": str(tmp_path / "state" / "monitor.db"),
            "fetch": {"allow_addresses": [f"127.0.0.1:{srv.port}"], "total_timeout": 5},
            "parse": {"workers": 0},
            "feeds": [{"name": n, "url": srv.url(f"/{n}.xml"), **extra} for n, extra in [
                ("good", {"verified": "2026-11-30"}), ("stale", {}), ("empty", {}),
                ("dead", {"enabled": False}), ("html", {})]]}, allow_unicode=True))
        yield config, tmp_path


def test_each_source_gets_its_verdict_and_nothing_is_written(sources, capsys):
    config, home = sources
    assert main(["feeds", "check", "--config", str(config), "--json"]) == 1   # one is broken
    out = capsys.readouterr()
    got = {r["name"]: r for r in map(json.loads, out.out.splitlines())}
    assert {n: r["verdict"] for n, r in got.items()} == {
        "good": "ok", "stale": "stale", "empty": "extraction poor", "dead": "broken",
        "html": "broken"}
    assert got["good"]["items"] == 3 and got["good"]["pages_with_text"] == 3
    assert got["good"]["detected"] == "rss20" and got["good"]["verified"] == "2026-11-30"
    assert got["stale"]["verified"] is None
    assert got["dead"]["reachable"] is False and "404" in got["dead"]["error"]
    assert got["html"]["reachable"] is True and "not a feed" in got["html"]["error"]
    assert got["dead"]["enabled"] is False          # disabled sources are checked too
    assert "checked 5/5" in out.err
    assert not (home / "state").exists(), "a check must not create or write the state database"


def test_named_sources_and_the_table(sources, capsys):
    config, _ = sources
    assert main(["feeds", "check", "good", "stale", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["source", "verdict", "type"]
    assert [line.split()[0] for line in lines[2:]] == ["good", "stale"]
    assert "never" in lines[3] and "2026-11-30" in lines[2]


def test_an_unknown_name_is_a_clear_error(sources, capsys):
    config, _ = sources
    assert main(["feeds", "check", "nosuch", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no such source: nosuch" in err and "good" in err


def test_the_demo_sources_check_offline(capsys):
    assert main(["feeds", "check", "--demo", "--demo-port", "0", "--json"]) == 0
    got = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert got["google-news-demo"]["pages_with_text"] == 2        # links resolved, pages read
    assert got["libya-now-telegram-demo"]["detected"] == "telegram"
    assert got["anba-sitemap-demo"]["verdict"] == "ok"
