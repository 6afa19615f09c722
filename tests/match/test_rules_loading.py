"""Rule files: the shipped pack loads, and every kind of mistake is reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RulesError
from monitor.match import RuleSet, load_rules

GOOD = """\
entities:
  - id: wagner
    name: Wagner
    type: organisation
    weight: 3
    aliases: [فاغنر, Wagner]
  - id: libya
    type: place
    aliases: [ليبيا]
groups:
  - id: anchors
    members: [libya]
rules:
  - id: r1
    title: Wagner in Libya
    all: [anchors]
    any: [wagner]
    near: [{a: wagner, b: libya, within: 10}]
    threshold: 3
    severity: high
"""


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[RulesError]:
    with pytest.raises(RulesError) as info:
        load_rules(path)
    return info.value.problems


def test_shipped_pack_is_valid_and_large_enough(pack: RuleSet) -> None:
    s = pack.summary()
    assert s["entities"] >= 40 and s["rules"] >= 1 and s["aliases"] > 200
    types = pack.entity_types()
    for kind in ("person", "organisation", "place", "weapon"):
        assert types.get(kind, 0) >= 4
    assert all(r.destination for r in pack.rules)


def test_minimal_file_loads(tmp_path: Path) -> None:
    rs = load_rules(write(tmp_path, GOOD))
    assert [e.id for e in rs.entities] == ["wagner", "libya"]
    assert rs.rules[0].destination == "default"
    assert rs.expand("anchors") == {"libya"}
    assert rs.summary() == {"entities": 2, "aliases": 3, "groups": 1, "rules": 1}


def test_fingerprint_follows_content_not_layout(tmp_path: Path) -> None:
    a = load_rules(write(tmp_path, GOOD, "a.yaml"))
    b = load_rules(write(tmp_path, "# moved\n\n" + GOOD, "b.yaml"))
    c = load_rules(write(tmp_path, GOOD.replace("threshold: 3", "threshold: 4"), "c.yaml"))
    assert a.fingerprint == b.fingerprint != c.fingerprint


@pytest.mark.parametrize(("old", "new", "line", "reason"), [
    ("any: [wagner]", "any: [wagnr]", 17, "unknown entity or group 'wagnr'"),
    ("- id: libya", "- id: wagner", 7, "duplicate id 'wagner'"),
    ("aliases: [ليبيا]", "aliases: ['', ليبيا]", 9, "empty or non-text entry"),
    ("aliases: [ليبيا]", "aliases: ['--', ليبيا]", 9, "empty alias"),
    ("threshold: 3", "threshold: -1", 19, "bad threshold"),
    ("threshold: 3", "threshold: lots", 19, "bad threshold"),
    ("weight: 3", "weight: 0", 5, "bad weight"),
    ("severity: high", "severity: urgent", 20, "bad severity"),
    ("within: 10}", "within: 0}", 18, "bad within"),
    ("    type: place\n", "    type: place\n    colour: red\n", 9, "unknown entity key 'colour'"),
    ("members: [libya]", "members: [nowhere]", 12, "unknown entity or group 'nowhere'"),
])
def test_problems_name_file_line_and_reason(tmp_path: Path, old: str, new: str, line: int,
                                            reason: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    found = problems(path)
    assert any(p.file == str(path) and p.line == line and reason in p.reason for p in found), \
        [str(p) for p in found]


def test_every_problem_is_collected(tmp_path: Path) -> None:
    bad = GOOD.replace("any: [wagner]", "any: [nope]").replace("threshold: 3", "threshold: 0")
    reasons = " | ".join(p.reason for p in problems(write(tmp_path, bad)))
    assert "nope" in reasons and "threshold" in reasons


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "entities:\n  - id: a\n    aliases: [x\n"))
    assert found[0].line is not None and "YAML" in found[0].reason


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, "entities:\n  - id: libya\n    aliases: [ليبيا]\n", "b.yaml")
    found = problems(tmp_path)
    assert any("duplicate id 'libya'" in p.reason and p.file.endswith("b.yaml") and p.line == 2
               for p in found)


def test_group_cycle_is_rejected(tmp_path: Path) -> None:
    text = GOOD.replace("members: [libya]", "members: [libya, loop]") + \
        "groups2: []\n"
    text = text.replace("groups2: []\n", "")
    text = text.replace("rules:\n", "  - id: loop\n    members: [anchors]\nrules:\n", 1)
    assert any("contains itself" in p.reason for p in problems(write(tmp_path, text)))


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no such file"):
        load_rules(tmp_path / "absent")


def test_optional_keys_may_be_left_out(tmp_path: Path) -> None:
    """A rule with only ``all`` and a threshold (no any/none/near) is valid."""
    (tmp_path / "r.yaml").write_text(
        "entities:\n  - id: a\n    aliases: [قاعدة الزرقاء]\n"
        "rules:\n  - id: r\n    all: [a]\n    threshold: 1\n", encoding="utf-8")
    ruleset = load_rules(tmp_path)
    assert ruleset.rules[0].near == () and ruleset.rules[0].any == ()


SIDED = """entities:
  - id: libya
    type: place
    aliases: [ليبيا]
    unless:
      - {near: outlet, within: 2, side: before}
  - id: outlet
    type: context
    aliases: [قناة]
rules:
  - id: r
    title: Libya
    all: [libya]
    threshold: 1
"""


def test_a_context_may_be_tied_to_one_side(tmp_path: Path) -> None:
    from monitor.match import Matcher
    matcher = Matcher(load_rules(write(tmp_path, SIDED)))
    assert not matcher.score("", "قالت قناة ليبيا إن الاجتماع تأجل").alert     # before it
    assert matcher.score("", "ليبيا قناة للتهريب").alert                       # after it
    path = write(tmp_path, SIDED.replace("side: before", "side: behind"), "bad.yaml")
    found = problems(path)
    assert any(p.file == str(path) and p.line == 6 and "bad side 'behind'" in p.reason
               for p in found), [str(p) for p in found]
