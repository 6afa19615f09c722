"""The C token lines (monitor/match/_lines.c) equal the Python path, offsets and all."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.match import Matcher, fastlines, load_rules
from monitor.match.tokens import skeleton, token_lines, token_spans
from monitor.normalize import normalize

REPO = Path(__file__).resolve().parents[2]
ALL = bytes([0xFF]) * 1024          # a Bloom filter that lets everything through

# Letters, marks, tatweel, digits of three scripts, premapped Persian letters, punctuation (some
# outside the code page: ٪ © → ½), and characters the C path must refuse (ﷲ expands, ж and í are
# letters outside the code page).
ALPHABET = st.sampled_from(
    list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةىـ ًٌٍَُِّْ٠١٢٣۴۵ABCxyzé0123یکگ"
         ".,-،؛؟«»\n\t\u200c\u200f\u0670")
    + ["  ", " و", "وو", "فف", "ا\u0653", "٪", "©", "→", "½", "ﷲ", "ж", "í"])

needs_c = pytest.mark.skipif(not fastlines.AVAILABLE, reason="C accelerator not built "
                             "(MONITOR_PURE_PYTHON is set; test_accelerator_is_built covers it)")


def test_accelerator_is_built() -> None:
    """`pip install` compiles it wherever a C compiler exists; only an explicit opt-out skips it."""
    if os.environ.get("MONITOR_PURE_PYTHON"):
        assert not fastlines.AVAILABLE
        assert fastlines.lines("حفتر", None, None) is fastlines.REFUSED
    else:
        assert fastlines.AVAILABLE, "monitor/match/_lines.c was not compiled (no C compiler?)"


def _python(text: str) -> tuple[list[str], list[str], list[tuple[int, int]]] | None:
    """Tokens, skeletons and original token spans by the Python path."""
    norm = normalize(text)
    lines = token_lines(norm, True)
    if lines is None:
        return None
    spans = [norm.to_original(s, e) for s, e in token_spans(norm.text)]
    assert lines[1] is not None
    return lines[0][1:-1].split(" "), lines[1][1:-1].split(" "), spans


def _spelled(items: list[str], keep: Callable[[str], bool]) -> tuple[str | None, list[int]]:
    """A line as the C path writes it: kept items, one placeholder per run of the others."""
    out: list[str] = []
    index = []
    for i, item in enumerate(items):
        if keep(item):
            out.append(item)
            index.append(i)
        elif not out or out[-1] != fastlines.PLACEHOLDER:
            out.append(fastlines.PLACEHOLDER)
    return (" " + " ".join(out) + " " if index else None), index


def _c(text: str, tokens: bytes | None, skeletons: bytes | None) -> object:
    got = fastlines.lines(text, tokens, skeletons)
    if not isinstance(got, tuple):
        return got
    line, lidx, sk, sidx, offs = got
    return (line, list(fastlines.ints(lidx)), sk, list(fastlines.ints(sidx)) if sidx else [],
            list(fastlines.ints(offs)))


@needs_c
@settings(max_examples=800, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_c_lines_equal_python_lines(text: str) -> None:
    got = _c(text, None, ALL)
    if got is fastlines.REFUSED:
        assert normalize(text).encoded is None    # the C path takes all the fast path takes
        return
    want = _python(text)
    if want is None:
        assert got is None
        return
    tokens, skeletons, spans = want
    # No token filter: every token spelled out; ALL lets every non-empty skeleton through.
    assert got == (" " + " ".join(tokens) + " ", list(range(len(tokens))),
                   *_spelled(skeletons, bool), [x for span in spans for x in span])


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_what_is_outside_the_filters_is_left_out(text: str) -> None:
    words = {"ب", "بت", "ا", "و", "ي", "الجفره", "12"}
    wanted = {skeleton(w) for w in ("فاغنر", "يفكيروف", "بت", "تب")}
    tokens_in, skeletons_in = fastlines.token_filter(words), fastlines.skeleton_filter(wanted)
    assert tokens_in is not None and skeletons_in is not None
    got = _c(text, tokens_in, skeletons_in)
    want = _python(text)
    if got is fastlines.REFUSED or got is None or want is None:
        return
    tokens, skeletons, _ = want
    # What the filters let through: the items themselves, and (rarely) a false positive.
    kept = {t for t in tokens if _passes(tokens_in, fastlines._token_bytes([t]))}
    kept_sk = {s for s in skeletons if s and _passes(skeletons_in, fastlines._skeleton_bytes([s]))}
    assert words & set(tokens) <= kept and wanted & set(skeletons) <= kept_sk
    line, lidx = _spelled(tokens, kept.__contains__)
    assert got[:2] == (line or f" {fastlines.PLACEHOLDER} ", lidx)
    assert got[2:4] == _spelled(skeletons, kept_sk.__contains__)


def _passes(bloom: bytes, encoded: list[bytes]) -> bool:
    """The C path's test: one FNV-1a bit (fnv1a itself is checked against known values)."""
    if not encoded:
        return False
    h = fastlines._lines.fnv1a(encoded[0]) & (len(bloom) * 8 - 1)
    return bool(bloom[h >> 3] >> (h & 7) & 1)


@needs_c
def test_fnv1a_is_the_standard_hash() -> None:
    assert fastlines._lines.fnv1a(b"") == 0x811C9DC5
    assert fastlines._lines.fnv1a(b"a") == 0xE40C292C


@needs_c
def test_variant_spellings_still_match_through_the_filters() -> None:
    matcher = Matcher(load_rules(REPO / "rules"))
    compiled = matcher.compiled
    for spelling in ("يفكيروف", "يفكوروف", "يوفكيورف", "إيفكوروف"):
        text = f"وصل نائب وزير الدفاع الروسي يونس بك {spelling} إلى بنغازي."
        got = fastlines.lines(text, compiled.token_filter, compiled.skeleton_filter)
        assert isinstance(got, tuple) and got[2] is not None
        hits = [h for h in matcher.find(text) if h.entity == "yevkurov"]
        assert hits and text[hits[0].start:hits[0].end].endswith(spelling), spelling
    text = "قال المتحدث إن الاجتماع انتهى دون اتفاق، ثم غادر خليفة حفتر القاعة."
    got = fastlines.lines(text, compiled.token_filter, compiled.skeleton_filter)
    assert isinstance(got, tuple) and got[2] is None       # nothing to scan a second time
    assert got[0].startswith(f" {fastlines.PLACEHOLDER} ")  # eight words no key has: one item
    assert [(h.entity, h.token) for h in matcher.find(text)] == [("khalifa_haftar", 9)]


def _documents() -> list[str]:
    texts = []
    with (REPO / "tests" / "data" / "labelled.jsonl").open(encoding="utf-8") as fh:
        for row in map(json.loads, fh):
            texts += [row.get("title", ""), row.get("text", "")]
    seeds = REPO.parent / "shared" / "seeds"
    if seeds.is_dir():
        texts += [p.read_text(encoding="utf-8") for p in sorted(seeds.iterdir()) if p.is_file()]
    return texts


@needs_c
def test_matcher_finds_the_same_hits_with_and_without_the_accelerator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    matcher = Matcher(load_rules(REPO / "rules"))
    texts = _documents()
    fast = [matcher.find(t) for t in texts]
    monkeypatch.setattr(fastlines, "lines", lambda *args: fastlines.REFUSED)
    slow = [matcher.find(t) for t in texts]
    assert sum(map(len, slow)) > 50           # the comparison is about real hits
    assert fast == slow
