"""``monitor search`` on the command line: JSON and text output, the first search building the
index of an older database, and clear errors; with the state in SQLite or in PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store.db import Target, is_url, open_database, open_read_only
from tests.search.store import store_article
from tests.search.test_index import _old_database


@pytest.fixture()
def env(state_target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Target:
    monkeypatch.chdir(tmp_path)
    for key in ("MONITOR_CONFIG", "MONITOR_DATABASE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MONITOR_DATABASE", str(state_target))
    return state_target


def test_json_results_with_spans(env: Target, capsys: pytest.CaptureFixture[str]):
    db = open_database(env)
    art = store_article(db, "المشير حَفْتَر في موسكو", "وصل المشير خليفة حفتر إلى موسكو أمس")
    store_article(db, "أخبار الطقس", "أمطار غزيرة على بنغازي")
    db.close()
    assert main(["search", "حفتر", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out["results"]] == [art]
    title = out["results"][0]["title"]
    assert [title["text"][a:b] for a, b in title["spans"]] == ["حَفْتَر"]
    assert out["results"][0]["url"].startswith("https://example.com/a/")
    assert main(["search", "المشير خليفة", "--json"]) == 0       # an argument with spaces
    assert json.loads(capsys.readouterr().out)["phrases"] == ["المشير خليفه"]


def test_text_output_and_the_first_search_builds_the_index(env: Target,
                                                           capsys: pytest.CaptureFixture[str]):
    _old_database(env, 50)
    assert main(["search", "بنغازي", "--limit", "3"]) == 0
    captured = capsys.readouterr()
    assert "search index: indexing stored articles" in captured.err
    assert "100.0%" in captured.err
    assert captured.out.count("**بنغازي**") == 3 and "3 result(s) for بنغازي" in captured.out
    assert main(["search", "بنغازي", "--since", "1d"]) == 0        # the articles are from 1970
    captured = capsys.readouterr()
    assert "nothing found for بنغازي" in captured.out and captured.err == ""


def test_errors(env: Target, capsys: pytest.CaptureFixture[str]):
    if isinstance(env, Path):          # a server is there or not: opening it says which
        assert main(["search", "حفتر"]) == 1
        assert "no state database" in capsys.readouterr().err
    open_database(env).close()
    assert main(["search", '""', "!!!"]) == 2
    assert "nothing to search for" in capsys.readouterr().err
    assert main(["search", "حفتر", "--entity", "wagnr"]) == 2
    assert "no stored article mentions entity 'wagnr'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "حفتر", "--limit", "0"])
    # Read without migrating: the search itself left the schema with its index.
    conn = open_read_only(env)
    try:
        version = conn.execute("SELECT MAX(version) FROM schema_version" if is_url(env)
                               else "PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    assert version >= 11
