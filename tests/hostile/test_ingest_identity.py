"""Item identity against feeds that reuse guids or links: distinct items are never collapsed,
the same item is never recorded twice (across polls and across processes)."""

from __future__ import annotations

from tests.builders import PARAS, page, rss
from tests.conftest import make_settings, run_cycle
from tests.test_cli import monitor
from tests.test_ingest import rows

TITLES = [f"خبر عاجل رقم {i} عن ليبيا" for i in range(5)]


def _items(server, *, guid: str | None = None, link: str | None = None, n: int = 5):
    return [{"title": TITLES[i], "guid": guid or f"g{i}", "description": f"ملخص {i}",
             "link": link or server.url(f"/a/{i}.html")} for i in range(n)]


def _poll(server, settings, items) -> tuple[int, int]:
    server.static("/feed.xml", rss(items))
    stats = run_cycle(settings)
    return stats.new_items, stats.duplicates


def _settings(server, tmp_path):
    return make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])


def test_one_guid_for_every_item_keeps_every_item(server, tmp_path):
    settings = _settings(server, tmp_path)
    items = _items(server, guid="https://site.example/")
    assert _poll(server, settings, items) == (5, 0)
    assert sorted(r[0] for r in rows(settings, "SELECT feed_title FROM articles")) == sorted(TITLES)
    assert _poll(server, settings, items) == (0, 0)


def test_one_guid_and_one_link_for_every_item(server, tmp_path):
    server.static("/home.html", page("الصفحة الرئيسية", PARAS).encode(), "text/html")
    settings = _settings(server, tmp_path)
    items = _items(server, guid="home", link=server.url("/home.html"))
    assert _poll(server, settings, items) == (5, 0)
    arts = rows(settings, "SELECT * FROM articles ORDER BY id")
    assert [a["feed_title"] for a in arts] == TITLES
    assert all(a["canonical_url"].startswith(server.url("/home.html#item-")) for a in arts)
    # The shared page is not any item's text: each is scored on its own summary.
    assert [a["text"] for a in arts] == [f"ملخص {i}" for i in range(5)]
    assert server.hits("/home.html") == 0
    assert _poll(server, settings, items) == (0, 0)


def test_live_blog_items_with_own_guids_and_one_link(server, tmp_path):
    settings = _settings(server, tmp_path)
    items = _items(server, link=server.url("/live.html"))
    assert _poll(server, settings, items) == (5, 0)
    assert len(rows(settings, "SELECT * FROM articles")) == 5


def test_exact_repeats_in_one_body_are_one_article(server, tmp_path):
    settings = _settings(server, tmp_path)
    items = _items(server, n=1) * 3
    assert _poll(server, settings, items)[0] == 1
    assert len(rows(settings, "SELECT * FROM articles")) == 1


def test_first_seen_alone_then_beside_a_namesake(server, tmp_path):
    settings = _settings(server, tmp_path)
    both = _items(server, guid="same", n=2)
    assert _poll(server, settings, both[:1]) == (1, 0)
    assert _poll(server, settings, both)[0] == 1          # only the second is new
    assert _poll(server, settings, both) == (0, 0)
    assert len(rows(settings, "SELECT * FROM articles")) == 2


def test_one_item_at_a_time_under_the_same_guid(server, tmp_path):
    settings = _settings(server, tmp_path)
    first, second = _items(server, guid="same", n=2)
    assert _poll(server, settings, [first])[0] == 1
    assert _poll(server, settings, [second])[0] == 1      # another title and another link
    assert _poll(server, settings, [second]) == (0, 0)
    assert _poll(server, settings, [second, first]) == (0, 0)
    assert len(rows(settings, "SELECT * FROM articles")) == 2


def test_edited_title_is_the_same_article(server, tmp_path):
    settings = _settings(server, tmp_path)
    item = _items(server, n=1)
    assert _poll(server, settings, item)[0] == 1
    item[0]["title"] += " (محدث)"
    assert _poll(server, settings, item) == (0, 0)


def test_reused_guid_across_processes_with_the_cli(server, tmp_path):
    items = _items(server, guid="https://site.example/")
    server.static("/feed.xml", rss(items))
    (tmp_path / "monitor.yaml").write_text(
        f"fetch:\n  allow_addresses: ['127.0.0.1:{server.port}']\nextract:\n  workers: 0\n"
        f"feeds:\n  - name: f\n    url: {server.url('/feed.xml')}\n")
    first = monitor("once", cwd=tmp_path)
    assert "new items: 5" in first.stdout, first.stdout + first.stderr
    second = monitor("once", cwd=tmp_path)
    assert "new items: 0 (duplicates 0)" in second.stdout, second.stdout
