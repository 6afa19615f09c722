"""The byte-level token and skeleton lines equal the ones built token by token."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match.tokens import skeleton, token_lines, tokenize
from monitor.normalize import normalize

ALPHABET = st.sampled_from(list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةىـ ًٌٍَُِّْ٠١٢٣ABCxyz0123"
                                ".,-،؛؟«»\n\u200c\u200f") + ["  ", " و", "وو", "فف"])


def _slow(text: str) -> tuple[str, str] | None:
    words = [t.text for t in tokenize(normalize(text).text)]
    if not words:
        return None
    return " " + " ".join(words) + " ", " " + " ".join(skeleton(w) for w in words) + " "


@settings(max_examples=500, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_byte_lines_equal_token_lines(text: str) -> None:
    norm = normalize(text)
    assert norm.encoded is not None
    assert token_lines(norm, True) == _slow(text)
    assert token_lines(replace(norm, encoded=None), True) == _slow(text)
