"""The automaton's memory of word readings: what a remembered word reads as is what a fresh
pass over the text reads, the memory stays bounded, and words that cannot hold a hit are not
kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import Matcher, RuleSet

# Words of the shipped pack with clitics and suffixes, words that contain a stem without being
# it (حقوق holds قو, السودان holds ودان), Latin and digits, whole-token keys (في).
_WORDS = ["قواتها", "القوات", "روسية", "الروس", "وبالفاغنر", "فاغنر", "حفتر", "لحفتر", "الجفرة",
          "السودان", "ودان", "حقوق", "في", "من", "طائرات", "شحن", "سفن", "حربية", "Wagner", "the",
          "of", "Africa", "Corps", "2", "124", "انتونوف", "مرتزقة", "روسيا", "البيضاء", "موسكو",
          "كسرت", "سرت", "بسرت", "x" * 40]


def _direct(matcher: Matcher, words: list[str]) -> list[tuple[str, str, int, int, bool]]:
    """Candidates from one pass over the whole line, nothing remembered."""
    compiled = matcher.compiled
    readings = compiled._read_line(words)
    found = {k: r for k, r in enumerate(readings) if r}
    return sorted((c.pattern.entity, c.pattern.alias, c.first, c.last, c.inflected)
                  for c in compiled.phrases.assemble(found))


def _remembered(matcher: Matcher, words: list[str]) -> list[tuple[str, str, int, int, bool]]:
    compiled = matcher.compiled
    return sorted((c.pattern.entity, c.pattern.alias, c.first, c.last, c.inflected)
                  for c in compiled.scan(words) if not c.pattern.variant)


@pytest.fixture(scope="module")
def small_memory(pack: RuleSet) -> Matcher:
    """A matcher of its own, whose memory the test makes small (it turns over every few
    documents)."""
    return Matcher(pack)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=16), min_size=1,
                max_size=4))
def test_remembered_readings_equal_a_fresh_pass(matcher: Matcher,
                                                documents: list[list[str]]) -> None:
    for words in documents:
        words = ["ليبيا", *words]         # an Arabic word: the memory is for Arabic text
        assert _remembered(matcher, words) == _direct(matcher, words)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=16), min_size=1,
                max_size=6))
def test_readings_stay_right_across_turnovers(small_memory: Matcher,
                                              documents: list[list[str]]) -> None:
    from monitor.match import automaton
    old, automaton._READINGS_MAX = automaton._READINGS_MAX, 12
    try:
        for words in documents:
            words = ["ليبيا", *words]
            assert _remembered(small_memory, words) == _direct(small_memory, words)
    finally:
        automaton._READINGS_MAX = old


def test_memory_stays_bounded(pack: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.match import automaton
    monkeypatch.setattr(automaton, "_READINGS_MAX", 50)
    compiled = Matcher(pack).compiled
    for n in range(200):
        words = ["قوات", "روسية", f"كلمة{'ب' * (n % 30)}{'ت' * (n // 30)}", "حفتر"]
        assert compiled.scan(words)
        assert len(compiled._readings) <= 50 + len(words)
        assert len(compiled._readings_old) <= 50 + len(words)
    # the common words survived every turnover: still known, in one generation or the other
    assert "قوات" in compiled._readings or "قوات" in compiled._readings_old


def test_a_page_of_new_words_is_not_remembered(pack: RuleSet,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.match import automaton
    monkeypatch.setattr(automaton, "_READINGS_MAX", 50)
    compiled = Matcher(pack).compiled
    words = ["روسية"] + [f"ب{'ت' * n}" for n in range(1, 80)]
    assert compiled.scan(words) == compiled.scan(words)
    assert len(compiled._readings) == 0


def test_words_too_long_to_hold_a_hit_are_not_remembered(matcher: Matcher) -> None:
    long_word = "روسي" * 1000
    words = ["قوات", long_word]
    assert _remembered(matcher, words) == _direct(matcher, words)
    assert long_word not in matcher.compiled._readings
    assert "قوات" in matcher.compiled._readings


def test_text_in_another_script_is_read_directly(pack: RuleSet) -> None:
    compiled = Matcher(pack).compiled
    hits = compiled.scan(["the", "wagner", "group", "in", "libya"])
    assert any(c.pattern.entity == "wagner" for c in hits)
    assert compiled._readings == {}
