"""Where items and sentences begin (match/layout.py): the breaks proximity is measured across."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.match.layout import (
    _DATELINE,
    ITEM_GAP,
    SENTENCE_GAP,
    _breaks,
    _marks,
    _not_asides,
    _shifts,
    is_digest,
    positions,
)
from monitor.match.tokens import token_spans
from monitor.normalize import normalize_text


@pytest.mark.parametrize(("text", "items"), [
    ("- البند الاول\n- البند الثاني", 2),           # dashes that open lines
    ("عاجل: - روسيا تعلن - ليبيا ترد", 2),          # after a colon, and spaced between items
    ("تور-ام2 و 2020-2021", 0),                     # hyphens inside words and numbers
    ("كلمة -كلمة", 0),                               # a dash glued to the next word
    ("نص - ", 0),                                    # a trailing dash opens nothing
    ("• اول • ثان | ثالث", 3),
    ("«الوسط»: خبر / «المرصد»: خبر", 1),             # a spaced slash between items
    ("بنغازي (رويترز) - هبطت طائرة - ثم اقلعت", 1),    # a dateline's dash opens the report
    ("طرابلس - قال مسؤول", 0),
    ("روسيا تعلن - ليبيا ترد", 1),                     # two words are a ticker's item
    ("قالت موسكو - بحسب دبلوماسي اوروبي - انها ترفض", 0),   # the two dashes of an aside
    ("خبر اول - خبر ثان - خبر ثالث - خبر رابع", 3),    # four items (two dashes: an aside)
    ("- هل تنسحب؟ - لا. - ومتى؟ - قريبا", 0),          # an interview's turns
    ("(1) اتفاق بين الحكومتين؛ (2) موسكو تعلن؛ (3) المغرب", 3),   # numbered items
    ("قال في (2024) إن", 0),
    ("2024/05/01 و/او", 0),                          # dates and "and/or"
    ("وفي شان اخر قال الوزير", 1),
    ("فيشان اخر", 0),                                # not the phrase: glued to another word
    ("وفي الشان الدولي نقلت الصحف", 1),
    ("وفي الشأن الأوكراني قالت الوزارة", 1),          # any subject by its adjective
    ("ونعود بعد الفاصل إلى الملف الليبي", 1),         # a bulletin turns to its next item
    ("في الشان العام", 0),
])
def test_item_breaks(text: str, items: int) -> None:
    assert len(_breaks(normalize_text(text))) == items


def test_positions_push_later_items_and_sentences_apart() -> None:
    norm = normalize_text("قال الوزير. ثم اضاف • بند اخر")
    spans = token_spans(norm)
    place = positions(norm, lambda k: spans[k][0])
    assert [place(k) for k in range(len(spans))] == [
        0, 1, 2 + SENTENCE_GAP, 3 + SENTENCE_GAP, 4 + SENTENCE_GAP + ITEM_GAP,
        5 + SENTENCE_GAP + ITEM_GAP]
    digest = positions(norm, lambda k: spans[k][0], digest=True)
    assert digest(2) == 2 + ITEM_GAP            # in a digest a sentence end is an item break


@pytest.mark.parametrize(("heading", "whole", "expected"), [
    ("موجز الأنباء", True, True), ("جولة في الصحف", True, True),
    ("عناوين نشرة المساء", True, True), ("الأسبوع في سطور: الدبيبة يفتتح", False, True),
    ("موسكو تنفي وجود قوات في ليبيا", True, False),
    ("في صحف الصباح: لوموند تكتب", False, True), ("جولة في صحافة الأحد", True, True),
])
def test_digest_headings(heading: str, whole: bool, expected: bool) -> None:
    assert is_digest(normalize_text(heading), whole) is expected


# The patterns the one-pass scan replaced, kept here as its reference.
_REF_MARKS = re.compile(r"[•●▪■◆◇►|]|-(?=\s)")
_REF_SHIFTS = re.compile(r"(?<!\w)و?(?:(?:في|علي) (?:(?:شان|صعيد|سياق|خبر|موضوع) (?:اخر|منفصل|مختلف)"
                         r"|(?:الشان|الملف) (?:الدولي|الخارجي|العربي|الاقليمي|المحلي|ال\w+يه?))"
                         r"|ن(?:عود|نتقل|تحول)(?: الان)? (?:الي|بعد الفاصل))\b")
_REF_ENDS = re.compile(r"[.!?؟;؛](?=\s)")
_PIECES = ["في", "علي", "عي", "فلي", "و", "وفي", " ", "  ", "\n", ":", "-", " - ", ".", "؟", "؛",
           "•", "|", "شان", "اخر", "الشان", "الدولي", "صعيد", "منفصل", "كلمه", "x", "_", "2",
           "في شان اخر", "علي صعيد منفصل", "عي شان اخر", "فلي الشان الدولي", "في الشان المحلي",
           "الملف", "الليبيه", "نعود", "الي", "ننتقل الان الي", "بعد الفاصل"]


def _reference(norm: str) -> tuple[list[int], list[int]]:
    breaks, between = [], []
    stops = [m.start() for m in _REF_ENDS.finditer(norm)]
    dateline = _DATELINE.match(norm)      # (its dash opens the report: tested on its own)
    for m in _REF_MARKS.finditer(norm):
        i = m.start()
        if dateline and i == dateline.end() - 1:
            continue
        if norm[i] == "-":
            j = i - 1
            while j >= 0 and norm[j] in " \t\r\f\v":
                j -= 1
            opens = j < 0 or norm[j] in ":\n"
            spaced = (0 < i and norm[i - 1].isspace() and i + 2 < len(norm)
                      and not norm[i + 2].isspace())
            if not (opens or spaced):
                continue
            if not opens:
                between.append(i)         # (asides are tested on their own)
                continue
        breaks.append(i)
    breaks += _not_asides(norm, between, stops)
    breaks += [m.start() for m in _REF_SHIFTS.finditer(norm)]
    return sorted(breaks), stops


@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_one_pass_scan_equals_the_reference_patterns(pieces: list[str]) -> None:
    norm = "".join(pieces)
    breaks, stops = _marks(norm)
    assert (sorted(breaks + _shifts(norm)), stops) == _reference(norm)
