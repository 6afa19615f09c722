"""``monitor backtest`` re-scores only the articles an edit can change (found with the search
index), and reports exactly what a full re-score reports, on a real stored set."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from monitor.match.backtest import BacktestReport, run_backtest
from monitor.match.candidates import select_articles
from monitor.match.rules import load_rules
from monitor.search.backfill import run_backfill
from monitor.store import corpus
from monitor.store.db import open_database
from tests.conftest import REPO
from tests.search.store import store_article

RULES = REPO / "rules"


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """The labelled texts stored the way the pipeline stores them."""
    path = tmp_path_factory.mktemp("bt") / "m.db"
    db = open_database(path)
    for name in ("labelled.jsonl", "labelled_test.jsonl"):
        for line in (REPO / "tests" / "data" / name).open(encoding="utf-8"):
            row = json.loads(line)
            store_article(db, row.get("title") or "", row.get("text") or "", seen=1000.0)
    run_backfill(db, progress=None)          # what the daemon does at start
    db.close()
    return path


def _edit(tmp: Path, name: str, file: str, old: str, new: str) -> Path:
    out = tmp / name
    if not out.exists():
        shutil.copytree(RULES, out)
    text = (out / file).read_text(encoding="utf-8")
    assert re.search(old, text), (file, old)
    (out / file).write_text(re.sub(old, new, text, count=1), encoding="utf-8")
    return out


def _deltas(report: BacktestReport) -> Counter[str]:
    out: Counter[str] = Counter()
    for rule in set(report.live_per_rule) | set(report.new_per_rule):
        out[rule] = report.new_per_rule[rule] - report.live_per_rule[rule]
    return out


EDITS = {
    "alias added": ("forces.yaml", r"aliases: \[فاغنر,", "aliases: [فاغنر, المرتزقة,"),
    "alias removed": ("people.yaml", r"المشير خليفة حفتر, حفتر, ", "المشير خليفة حفتر, "),
    "threshold changed": ("russia-libya.yaml", r"threshold: 4\n", "threshold: 6\n"),
    "rule deleted": ("russia-libya.yaml", r"\n  - id: russian_forces_libya\n(    .*\n|\n)*",
                     "\n"),
    "variant entity changed": ("forces.yaml", r"weight: 3\n    variants: true",
                               "weight: 1\n    variants: true"),
    "group member removed": ("russia-libya.yaml", r"members: \[wagner, africa_corps, yevkurov, ",
                             "members: [africa_corps, yevkurov, "),
    "global change": ("russia-libya.yaml", r"threshold: 5\n", "threshold: 3\n"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_candidates_give_the_full_report(stored: Path, tmp_path: Path, edit: str):
    file, old, new = EDITS[edit]
    edited = _edit(tmp_path, edit.replace(" ", "_"), file, old, new)
    full = run_backtest(corpus.iter_texts(stored, 0, 50), corpus.count_texts(stored, 0), RULES,
                        edited, workers=1, progress=None)
    sel = select_articles(stored, 0, load_rules(RULES), load_rules(edited))
    cand = run_backtest(sel.chunks, sel.total, RULES, edited, workers=1, progress=None,
                        rescored=sel.rescored if sel.candidates_only else None, note=sel.note)
    assert cand.articles == full.articles == 443
    assert cand.newly_alerting == full.newly_alerting
    assert cand.stop_alerting == full.stop_alerting
    assert _deltas(cand) == _deltas(full)
    if edit == "global change":          # the main rule's scope is most of the pack
        assert not sel.candidates_only and "every article re-scored" in sel.note
        assert cand.live_per_rule == full.live_per_rule
    else:
        assert sel.candidates_only and sel.rescored < full.articles, sel.note
        assert cand.rescored == sel.rescored
        # Every article that alerts on an edited rule, in either version, was re-scored.
        for rule in ("russian_forces_libya",) if "threshold" in edit or "deleted" in edit else ():
            assert cand.live_per_rule[rule] == full.live_per_rule[rule]
    if edit in ("alias removed", "threshold changed", "rule deleted", "alias added"):
        assert cand.newly_alerting or cand.stop_alerting or _deltas(cand), edit   # it matters


def test_unchanged_rules_rescore_nothing(stored: Path):
    sel = select_articles(stored, 0, load_rules(RULES), load_rules(RULES))
    assert sel.candidates_only and sel.rescored == 0 and list(sel.chunks) == []


def test_an_unfinished_index_falls_back_to_a_full_rescore(stored: Path, tmp_path: Path):
    copy = tmp_path / "copy.db"
    shutil.copy(stored, copy)
    db = open_database(copy)
    db.conn.execute("UPDATE search_backfill SET done = 0, upto = 10")   # an upgrade's backfill
    db.close()
    edited = _edit(tmp_path, "e", *EDITS["alias added"])
    sel = select_articles(copy, 0, load_rules(RULES), load_rules(edited))
    assert not sel.candidates_only and sel.rescored == 443
    assert "still being built" in sel.note


def test_the_command_says_how_many_were_rescored(stored: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]):
    from monitor.cli import main

    edited = _edit(tmp_path, "cli", *EDITS["alias removed"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    monkeypatch.setenv("MONITOR_DATABASE", str(stored))
    monkeypatch.setenv("MONITOR_RULES_PATH", str(RULES))
    args = ["backtest", "--rules", str(edited), "--since", "30000d", "--workers", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "backtest: 65 of 443 stored articles re-scored" in out
    assert "a word of khalifa_haftar" in out
    assert main([*args, "--all", "--jsonl"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["rescored"] == summary["articles"] == 443 and not summary["candidates_only"]
    assert summary["note"] == "every article re-scored: --all given"
