"""``monitor backtest`` selects the same candidates from PostgreSQL's index as from SQLite's:
the labelled texts stored in both, every kind of edit of tests/match/test_backtest_candidates.py
(there, SQLite's selection is checked against a full re-score)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.match.candidates import select_articles
from monitor.match.rules import load_rules
from monitor.search.backfill import run_backfill
from monitor.store import postgres
from monitor.store.db import open_database
from tests.conftest import REPO
from tests.match.test_backtest_candidates import EDITS, RULES, _edit
from tests.search.store import store_article


def _fill(target: Any) -> None:
    db = open_database(target)
    for name in ("labelled.jsonl", "labelled_test.jsonl"):
        for line in (REPO / "tests" / "data" / name).open(encoding="utf-8"):
            row = json.loads(line)
            store_article(db, row.get("title") or "", row.get("text") or "", seen=1000.0)
    run_backfill(db, progress=None)
    db.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, postgres_server: Any):
    """(SQLite path, PostgreSQL URL) holding the same articles under the same ids."""
    path = tmp_path_factory.mktemp("cand") / "m.db"
    url = postgres_server.database()
    _fill(path)
    _fill(url)
    yield path, url
    postgres.close_pools()


def _selected(target: Any, edited: Path) -> tuple[int, int, bool, str, list[tuple]]:
    sel = select_articles(target, 0, load_rules(RULES), load_rules(edited), chunk=40)
    # (id, title, text): the links differ (tests.search.store numbers them across stores).
    return sel.total, sel.rescored, sel.candidates_only, sel.note, [
        r[:3] for chunk in sel.chunks for r in chunk]


@pytest.mark.parametrize("edit", list(EDITS))
def test_both_engines_select_the_same_articles(stores, tmp_path: Path, edit: str):
    edited = _edit(tmp_path, edit.replace(" ", "_"), *EDITS[edit])
    lite, pg = (_selected(target, edited) for target in stores)
    assert lite[:4] == pg[:4]
    assert lite[4] == pg[4] and len(pg[4]) == pg[1]
    assert lite[0] == 443 and (lite[2] or edit == "global change"), lite[3]


def test_unchanged_rules_select_nothing_on_both(stores):
    for target in stores:
        sel = select_articles(target, 0, load_rules(RULES), load_rules(RULES))
        assert sel.candidates_only and sel.rescored == 0 and list(sel.chunks) == []
