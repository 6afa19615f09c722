"""The extraction caps: what part of a page goes to trafilatura, and the note saying so."""

from __future__ import annotations

import asyncio

import pytest

from monitor.errors import ConfigError
from monitor.extract.budget import cap_html
from monitor.extract.pool import ExtractorPool
from tests.builders import PARAS, page
from tests.conftest import REPO


def test_a_page_under_both_caps_goes_whole_without_a_note():
    html = page("يفكوروف في بنغازي", PARAS)
    assert cap_html(html, len(html), html.count("<")) == (html, None)


def test_too_many_tags_cut_just_before_the_first_one_over():
    html = "<p>a</p>" * 10          # 20 '<'
    cut, note = cap_html(html, 10_000, 5)
    assert cut == "<p>a</p><p>a</p><p>a"       # five '<': the sixth starts the cut
    assert note == "page cut to its first 20 characters: 20 tags over extract.max_html_tags (5)"


def test_too_many_characters_cut_at_a_tag_boundary():
    html = "<p>" + "ب" * 50 + "</p><p>" + "ت" * 50 + "</p>"
    cut, note = cap_html(html, 100, 1000)
    assert cut == "<p>" + "ب" * 50 + "</p>"     # the last '<' before the cap: no tag cut in two
    assert "114 characters over extract.max_html_chars (100)" in note


def test_one_text_node_over_the_character_cap_is_cut_at_the_cap():
    html = "<p>" + "ك" * 200_000
    cut, note = cap_html(html, 100_000, 1000)
    assert cut == html[:100_000] and note     # no '<' near the cap: cut where it falls


def test_both_caps_named_in_one_note():
    cut, note = cap_html("<b>" * 100_000, 150_000, 1_000)
    assert len(cut) == 3_000
    assert "300,000 characters over" in note and "49,999 tags over" in note


def test_thread_mode_applies_the_caps_too():
    html = page("يفكوروف في بنغازي", PARAS) + "<a>x</a>" * 5000
    pool = ExtractorPool(0, 60, max_html_tags=1000)
    try:
        got = asyncio.run(pool.extract(html, "https://x.example/a"))
    finally:
        pool.close()
    assert "يفكوروف" in got.text and "extract.max_html_tags (1,000)" in got.note


def test_extract_settings_defaults_and_a_too_small_memory_limit(tmp_path):
    from monitor.config import load_settings

    s = load_settings(REPO / "examples" / "monitor.yaml", env={}).extract
    assert (s.max_html_chars, s.max_html_tags, s.max_text_chars, s.memory_limit_mb) == (
        2_000_000, 100_000, 200_000, 360)
    path = tmp_path / "monitor.yaml"
    path.write_text("extract:\n  workers: 2\n  memory_limit_mb: 50\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"monitor.yaml:3: extract.memory_limit_mb: at least 128"):
        load_settings(path, env={})
    assert load_settings(None, env={"MONITOR_EXTRACT__MEMORY_LIMIT_MB": "0"}
                         ).extract.memory_limit_mb == 0
