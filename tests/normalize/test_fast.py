"""The byte-level fast path agrees with the exact per-cluster path, on text and on offsets."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.normalize import normalize
from monitor.normalize.arabic import _fast_tables, _fold, normalize_exact
from monitor.normalize.fast import _CHARS, INERT_MARKS

TABLES = _fast_tables()
SAFE = sorted({c for c in _CHARS if TABLES.unsafe is None or not TABLES.unsafe.match(
    c.encode("cp1256"))} | set(TABLES.premap))
MARKS = [c for c in SAFE if unicodedata.combining(c)]


def test_inert_marks_never_compose_with_a_safe_character() -> None:
    assert MARKS and set(MARKS) <= INERT_MARKS
    bad = [(b, m) for b in SAFE if not unicodedata.combining(b) for m in MARKS
           if _fold(b + m) != _fold(b)]
    assert bad == []


def test_the_fast_path_takes_ordinary_arabic_news() -> None:
    text = "وصل يَفْكِيـرُوف إلى بنغازي في ٢٠٢٥، وقالت «مصادر» إنّ Tor-M2 وصلت\u200f."
    assert normalize(text).encoded is not None
    assert normalize("xﷲy").encoded is None          # expands: exact path
    assert normalize("ا\u0653").encoded is None      # composes: exact path


def _same(text: str) -> None:
    fast, exact = normalize(text), normalize_exact(text)
    assert fast.text == exact.text
    n = len(exact.text)
    for i in range(n + 1):
        for j in range(i, min(n, i + 4) + 1):
            assert fast.to_original(i, j) == exact.to_original(i, j), (text, i, j)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(SAFE + ["ﷲ", "ٔ", "é", "…"]), max_size=40))
def test_fast_and_exact_agree_on_safe_alphabet(text: str) -> None:
    _same(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fast_and_exact_agree_on_anything(text: str) -> None:
    _same(text)
