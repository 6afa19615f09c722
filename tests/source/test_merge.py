"""Adding imported feeds to a config file: comments and layout kept, duplicates skipped,
validated before an atomic write, nothing written on a dry run."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from monitor.config import DEFAULT_FEEDS, load_settings
from monitor.errors import ConfigError
from monitor.source.merge import merge_into_config

CONFIG = """\
# monitor.yaml: production settings
database: state/monitor.db   # the state file

feeds:
  # Libyan wires
  - name: wire
    url: "https://alwasat.ly/rss"   # the main feed
    tags: [libya]
  # - {name: paused, url: "https://paused.example/rss"}
  - name: observer
    url: https://libyaobserver.ly/rss.xml

# --- polling
poll:
  interval_seconds: 600     # ten minutes
"""
NEW = [{"name": "lana", "url": "https://lana.gov.ly/rss.php?lang=ar", "tags": ["ليبيا"]},
       {"name": "observer", "url": "https://www.libyaobserver.ly/arabic/feed"},
       {"name": "wasat-again", "url": "https://ALWASAT.ly/rss?utm_source=feedly"}]


def only_insertions(before: str, after: str) -> list[str]:
    """The lines added to ``before``; fails if any line of it was changed or removed."""
    added = []
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        assert op in ("equal", "insert"), (op, before.splitlines()[a1:a2])
        added += after.splitlines()[b1:b2] if op == "insert" else []
    return added


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_merge_keeps_every_line_and_comment(config):
    result = merge_into_config(config, NEW, comment="imported from feeds.opml")
    text = config.read_text(encoding="utf-8")
    added = only_insertions(CONFIG, text)
    assert added == ["  # imported from feeds.opml",
                     "  - name: lana", "    url: https://lana.gov.ly/rss.php?lang=ar",
                     "    tags: [ليبيا]",
                     "  - name: observer-2", "    url: https://www.libyaobserver.ly/arabic/feed"]
    for comment in ("# monitor.yaml: production settings", "# the state file", "# Libyan wires",
                    "# the main feed", "# - {name: paused", "# --- polling", "# ten minutes"):
        assert comment in text
    # The new feeds end the list: the section comment of the next key stays with it.
    assert text.index("observer-2") < text.index("# --- polling")
    assert result.written and not result.created and result.defaults_copied == 0
    names = [f.name for f in load_settings(config, env={}).feeds]
    assert names == ["wire", "observer", "lana", "observer-2"]


def test_duplicates_skipped_and_taken_names_renamed(config):
    result = merge_into_config(config, NEW)
    assert [e["name"] for e in result.added] == ["lana", "observer-2"]
    assert result.renamed == [("observer", "observer-2")]
    # Same URL once canonical (host case, tracking parameters): already there.
    assert result.skipped == [("wasat-again", "already configured as 'wire'")]
    again = merge_into_config(config, NEW)
    assert again.added == [] and len(again.skipped) == 3 and not again.written


def test_dry_run_writes_nothing(config):
    before = (config.read_bytes(), config.stat().st_mtime_ns, sorted(config.parent.iterdir()))
    result = merge_into_config(config, NEW, dry_run=True)
    assert (config.read_bytes(), config.stat().st_mtime_ns, sorted(config.parent.iterdir())) == before
    assert not result.written and "observer-2" in result.text


def test_flow_style_list_gets_flow_items(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text('feeds:\n  - {name: a, url: "https://a.example/rss", tags: [x]}\n')
    merge_into_config(path, [{"name": "b", "url": "https://b.example/rss", "tags": ["y", "ز"]}])
    assert path.read_text() == ('feeds:\n  - {name: a, url: "https://a.example/rss", tags: [x]}\n'
                                "  - {name: b, url: https://b.example/rss, tags: [y, ز]}\n")


@pytest.mark.parametrize("layout", [
    pytest.param("feeds:\n- name: a\n  url: https://a.example/rss\n", id="dash-at-0"),
    pytest.param("feeds:\n    - name: a\n      url: https://a.example/rss", id="wide-no-newline"),
    pytest.param("fetch:\n    max_redirects: 3\nfeeds:\n  -   name: a\n      url: https://a.example/rss\n"
                 "extract:\n    workers: 0\n", id="odd-indent"),
])
def test_new_items_follow_the_list_layout(tmp_path, layout):
    path = tmp_path / "c.yaml"
    path.write_text(layout)
    merge_into_config(path, [{"name": "b", "url": "https://b.example/rss"}])
    text = path.read_text()
    only_insertions(layout, text)
    assert [f.name for f in load_settings(path, env={}).feeds] == ["a", "b"]


def test_no_feeds_key_copies_the_defaults_first(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text("# only fetch settings here\nfetch:\n  max_redirects: 3\n")
    defaults = load_settings(None, env={}).feeds
    result = merge_into_config(path, NEW[:1], comment="imported")
    assert result.defaults_copied == len(defaults) > 20
    feeds = load_settings(path, env={}).feeds
    assert feeds[:-1] == defaults and feeds[-1].name == "lana"
    text = path.read_text()
    assert text.startswith("# only fetch settings here\nfetch:\n  max_redirects: 3\n")
    assert "# --- Libyan outlets" in text and "copied in by 'monitor feeds import'" in text


def test_a_missing_file_is_created_with_defaults_and_the_new_feeds(tmp_path):
    path = tmp_path / "sub" / "monitor.yaml"
    result = merge_into_config(path, NEW[:1])
    assert result.created and result.written and result.defaults_copied == len(load_settings(None).feeds)
    assert [f.name for f in load_settings(path, env={}).feeds][-1] == "lana"
    assert DEFAULT_FEEDS.read_text().split("\nfeeds:\n", 1)[1] in path.read_text()


def test_an_empty_feeds_list_gets_the_new_feeds(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("feeds: []\npoll:\n  interval_seconds: 60\n")
    merge_into_config(path, NEW[:1])
    assert [f.name for f in load_settings(path, env={}).feeds] == ["lana"]
    assert path.read_text().endswith("poll:\n  interval_seconds: 60\n")


@pytest.mark.parametrize("text,reason,line", [
    pytest.param("poll:\n  intervall: 5\n", "unknown key", 2, id="invalid-config"),
    pytest.param("feeds:\n  - {name: a\n", "invalid YAML", 3, id="invalid-yaml"),
])
def test_a_bad_config_is_reported_and_left_untouched(tmp_path, text, reason, line):
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        merge_into_config(path, NEW)
    assert err.value.file == str(path) and err.value.line == line and reason in str(err.value)
    assert path.read_text() == text and sorted(tmp_path.iterdir()) == [path]


def test_invalid_entries_are_skipped_not_written(config):
    result = merge_into_config(config, [{"name": "x", "url": "ftp://x.example/feed"},
                                        {"name": "y", "url": "https://y.example/", "bogus": 1}])
    assert [name for name, _ in result.skipped] == ["x", "y"]
    assert not result.written and config.read_text() == CONFIG
