"""Arabic normalisation: examples of each rule, and properties over arbitrary Unicode."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.normalize import normalize, normalize_text
from monitor.normalize.arabic import PLAIN, _fold, fold_table, normalize_clusters
from monitor.normalize.fold import TABLE, UNSAFE


@pytest.mark.parametrize(("raw", "expected"), [
    ("ﺑﻴﺮﻭﺕ", "بيروت"),                      # presentation forms (NFKC)
    ("الجُفْرَةِ", "الجفره"),                    # harakat, sukun; ة → ه
    ("مُحَمَّد", "محمد"),                        # shadda
    ("رحمٰن", "رحمن"),                          # superscript alef
    ("حفـــتر", "حفتر"),                        # tatweel
    ("أإآٱ", "اااا"),                           # alef forms
    ("مصطفى", "مصطفي"),                         # alef maqsura
    ("یک ڤاگنر", "يك فاكنر"),                   # Persian/Urdu look-alikes
    ("٢٠٢٥ ۱۲", "2025 12"),                     # Arabic-Indic and Eastern digits
    ("ميغ\u200f-\u200d29", "ميغ-29"),            # bidi and zero-width controls
    ("تور–إم2 — «X» “y” ‘z’", 'تور-ام2 - "x" "y" \'z\''),  # dashes and quotes
    ("Tor-M2 AFRICA Corps", "tor-m2 africa corps"),  # case folding
    ("ا\u0653", "ا"),                            # decomposed madda composes, then unifies
    ("ﻻ", "لا"),                                # lam-alef ligature
    ("روسيا…ليبيا", "روسيا.ليبيا"),              # the ellipsis is one mark, not three
])
def test_examples(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_offsets_quote_the_original_spelling() -> None:
    raw = "وصل يَفْكِيـرُوف إلى بـنغازي"
    norm = normalize(raw)
    start = norm.text.index("يفكيروف")
    s, e = norm.to_original(start, start + len("يفكيروف"))
    assert raw[s:e] == "يَفْكِيـرُوف"


def test_offsets_of_an_expanded_character_cover_it_whole() -> None:
    raw = "xﷲy"  # one code point becomes four letters
    norm = normalize(raw)
    assert norm.text == "xاللهy"
    assert norm.to_original(1, 3) == (1, 2)


def test_empty_and_out_of_range_spans() -> None:
    norm = normalize("ابc")
    assert norm.to_original(1, 1) == (1, 1)
    assert norm.to_original(5, 9) == (3, 3)
    assert normalize("").to_original(0, 0) == (0, 0)


def test_plain_fast_path_characters_are_really_inert() -> None:
    plain = [chr(c) for c in range(0x10000) if PLAIN.fullmatch(chr(c))]
    assert len(plain) > 90
    changed = [c for c in plain if _fold(c) != c or unicodedata.combining(c)]
    assert changed == []


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
               | st.sampled_from(" -ـ\u200c\u200fABCﻻﷲ٣")))
def test_idempotent_on_arabic_heavy_text(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=400, deadline=None)
@given(st.text(), st.data())
def test_offsets_map_inside_the_original(text: str, data: st.DataObject) -> None:
    norm = normalize(text)
    n = len(norm.text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    s, e = norm.to_original(start, end)
    assert 0 <= s <= e <= len(text)
    if start < end:
        # the original span normalises to something containing the normalised span
        assert norm.text[start:end] in normalize_text(text[s:e])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_never_raises_and_output_has_no_marks(text: str) -> None:
    out = normalize_text(text)
    assert not any(unicodedata.combining(c) for c in out)
    assert "\u0640" not in out


ARABIC_NEWS = (st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
               | st.sampled_from(" .،-ـ\u200c\u200f\u064e\u0651\u0653\u0654abcAé٣ﻻىء"))


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=ARABIC_NEWS) | st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
       | st.text(), st.data())
def test_translate_path_equals_the_cluster_path(text: str, data: st.DataObject) -> None:
    # The one-for-one path (str.translate) and the per-cluster path give the same text and the
    # same offsets, whichever one a text takes: Arabic news, and the menus in Thai, Devanagari,
    # accented Latin or emoji that pages carry.
    fast, exact = normalize(text), normalize_clusters(text)
    assert fast.text == exact.text
    n = len(exact.text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    assert fast.to_original(start, end) == exact.to_original(start, end)


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet="اوبلى ء.\u064e\u0651\u0653\u0654ﻻ™ßaé\u0301ـ\u200d"))
def test_a_few_cluster_path_characters_leave_the_rest_on_the_translate_path(
        text: str) -> None:
    # Expanding and composing characters, and ىء, among ordinary ones: only their clusters take
    # the cluster path, and the whole gives what the cluster path gives.
    fast, exact = normalize(text), normalize_clusters(text)
    assert fast.text == exact.text
    assert [fast.to_original(i, i + 1) for i in range(len(fast.text))] == [
        exact.to_original(i, i + 1) for i in range(len(exact.text))]


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=ARABIC_NEWS) | st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
       | st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x24F), min_size=60))
def test_replacing_each_changing_character_is_the_translate(text: str) -> None:
    # The replace-per-character fast path (and its translate fallback past many changing
    # characters, as in a Latin page of capitals and accents) gives translate's text exactly.
    out, ref = fold_table(text), text.translate(TABLE)
    if UNSAFE in ref:
        assert out is None
    else:
        assert out == ref


def test_every_output_of_the_table_is_its_own_normal_form() -> None:
    # What lets the replacements run in any order: no output is changed again by another.
    for cp in range(0x10000):
        out = TABLE[cp]
        if out and out != UNSAFE:
            assert TABLE[ord(out)] == out, hex(cp)


def test_a_hamza_seat_written_apart_is_the_seat() -> None:
    # شاطىء is the older spelling of شاطئ: both must meet the alias «براك الشاطئ».
    assert normalize_text("مهبط براك الشاطىء") == normalize_text("مهبط براك الشاطئ")
    norm = normalize("الشاطىء غربا")
    start = norm.text.index("غربا")
    assert norm.to_original(start, start + 4) == (8, 12)


def test_a_thai_menu_on_an_arabic_page_keeps_the_translate_path() -> None:
    # Thai vowel signs are combining marks that compose with nothing: dropping them one by one
    # is what folding their clusters does, so the page need not go cluster by cluster.
    text = "ข่าวภาษาไทย | وصل نائبُ وزيرِ الدفاع الروسي إلى بنغازي"
    norm = normalize(text)
    assert norm._starts is None                      # the translate path
    assert norm.text == normalize_clusters(text).text
    assert "ا" in norm.text and "\u0e48" not in norm.text


def test_ordinary_news_takes_the_translate_path() -> None:
    norm = normalize("وصل نائبُ وزيرِ الدفاع الروسي يونس بك يفكيروف، إلى بنغازي (2024)…\n")
    assert norm._starts is None and norm._shift


def test_identity_positions_across_growth(monkeypatch: pytest.MonkeyPatch) -> None:
    from array import array

    from monitor.normalize import arabic
    monkeypatch.setattr(arabic, "_IDENTITY", array("l", range(4)))
    monkeypatch.setattr(arabic, "_IDENTITY_MAX", 64)
    for a, b in [(0, 3), (2, 10), (5, 5), (30, 64), (60, 100), (0, 1)]:
        assert arabic._positions(a, b).tolist() == list(range(a, b))
    assert len(arabic._IDENTITY) <= 64
