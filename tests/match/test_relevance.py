"""Leaving out the helper hits that cannot matter (monitor.match.relevance) changes no result."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from monitor.match import Matcher, load_rules
from monitor.match.model import ScoreResult

from .conftest import REPO

PACK = """\
entities:
  - id: russia
    name: Russia
    type: country
    weight: 1
    aliases: [روسيا]
  - id: soldiers
    name: soldiers
    type: part
    aliases: [جنود, قوات]
  - id: sudan
    name: Sudan
    type: context
    aliases: [السودان]
  - id: ww2
    name: war
    type: context
    aliases: [رومل]
  - id: russian_soldiers
    name: Russian soldiers
    type: term
    weight: 2
    compose:
      - {parts: [russia, soldiers], within: 3, ordered: false}
    unless:
      - {near: sudan, within: 5}
  - id: corps
    name: corps
    type: organisation
    weight: 3
    aliases: [الفيلق الأفريقي]
    unless:
      - {near: ww2, within: 10}
rules:
  - id: any
    title: anything
    threshold: 1
    any: [russian_soldiers, corps, russia]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    folder = tmp_path_factory.mktemp("rules")
    (folder / "pack.yaml").write_text(textwrap.dedent(PACK), encoding="utf-8")
    return Matcher(load_rules(folder))


def _everything(matcher: Matcher) -> Matcher:
    """The same matcher building the hits of every helper, as before relevance existed."""
    full = Matcher(matcher.ruleset)
    helpers = frozenset(full._helpers)
    full._relevance.needed = lambda present: helpers  # type: ignore[method-assign]
    return full


def _same(a: ScoreResult, b: ScoreResult) -> bool:
    return (a.score, a.alert, a.hits, a.suppressed, a.rules) == (b.score, b.alert, b.hits,
                                                                  b.suppressed, b.rules)


def test_parts_of_an_incomplete_composition_are_left_out(small: Matcher) -> None:
    needed = small._relevance.needed
    assert needed({"soldiers"}) == set()                      # no Russia: no composition
    assert needed({"soldiers", "russia"}) == {"soldiers"}
    assert needed({"soldiers", "russia", "sudan"}) == {"soldiers", "sudan"}
    assert needed({"soldiers", "sudan"}) == set()              # nothing for Sudan to exclude
    assert needed({"corps", "ww2", "sudan", "soldiers"}) == {"ww2"}


def test_contexts_still_exclude_what_they_must(small: Matcher) -> None:
    assert small.score("", "وصلت قوات روسيا إلى الجفرة").alert
    kept = small.score("", "وصلت قوات روسيا إلى السودان")
    assert not any(h.entity == "russian_soldiers" for h in kept.hits)
    assert [h.entity for h, _ in kept.suppressed] == ["russian_soldiers"]
    corps = small.score("الفيلق الأفريقي", "تحدث المؤرخ عن رومل")    # the lede's context
    assert [h.entity for h, _ in corps.suppressed] == ["corps"]


@pytest.mark.parametrize("text", [
    "جنود جنود قوات في السودان " * 50,
    "روسيا " + "جنود في السودان " * 40,
    "رومل والسودان والفيلق الأفريقي وقوات روسيا",
])
def test_small_pack_results_are_unchanged(small: Matcher, text: str) -> None:
    full = _everything(small)
    for title in ("", "روسيا", "السودان والفيلق الأفريقي"):
        assert _same(small.score(title, text), full.score(title, text))


def test_shipped_pack_results_are_unchanged(matcher: Matcher) -> None:
    """Every 7th labelled row of every part, hits, reasons and rule results alike."""
    full = _everything(matcher)
    rows = []
    for path in sorted(Path(REPO, "tests", "data").glob("labelled*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh][::7]
    assert len(rows) > 1000
    differ = [r.get("id") for r in rows
              if not _same(matcher.score(r.get("title", ""), r["text"]),
                           full.score(r.get("title", ""), r["text"]))]
    assert differ == []
