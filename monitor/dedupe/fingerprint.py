"""MinHash fingerprints of article text over word shingles, with LSH bands for lookup.

One-permutation MinHash (Li, Owen & Zhang 2012) with rotation densification (Shrivastava & Li
2014): every shingle is hashed once (64-bit blake2b) and kept as the minimum of one of 128 bins,
so a fingerprint costs one hash per shingle instead of 128 modular multiplications; empty bins
borrow the next non-empty bin's value, which keeps the collision probability equal to Jaccard.

Why MinHash rather than SimHash: agencies' reports are republished with whole sentences cut,
moved or added. Jaccard similarity of word shingles degrades gracefully under such edits and
MinHash estimates it with a known error (±1/sqrt(PERMUTATIONS)); the set sizes also give the
containment of a short version in a long one. The thresholds were chosen on the labelled pairs
of tests/dedupe/test_stories.py (precision and recall printed there).

Hashes are stable across processes (crc32, fixed permutation seeds): fingerprints are stored.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from array import array
from dataclasses import dataclass

from monitor.normalize.arabic import normalize_text

# 64 bands of 2 rows: a pair at Jaccard 0.25 (our threshold) shares a band with probability
# 1-(1-0.25²)^64 ≈ 0.98, an unrelated pair (J ≈ 0.02) with ≈ 0.03, so few candidates to verify.
PERMUTATIONS = 128
BANDS = 64
ROWS = PERMUTATIONS // BANDS
SHINGLE = 2
_EMPTY = (1 << 64) - 1
_BIN_BITS = PERMUTATIONS.bit_length() - 1     # 128 bins: the low 7 bits choose the bin
_TOKEN = re.compile(r"[^\W\d_]{2,}|\d+")
# Function words say nothing about which story this is; dropping them sharpens the shingles.
_STOP = frozenset(normalize_text(w) for w in (
    "في من على الى إلى عن مع أن إن ان كان كانت التي الذي الذين هذا هذه ذلك تلك وقد قد لقد كما "
    "بعد قبل بين حيث وفي ومن وعلى وأن وقال قال وأضاف أضاف وأكد أكد ما لا لم لن هو هي هم او أو "
    "ثم كل بعض عند منذ خلال حول ضد غير عبر وفق وفقا the of and to in a for on with").split())


@dataclass(frozen=True)
class Fingerprint:
    """A MinHash signature, the number of distinct shingles, and a hash of the exact text."""

    signature: tuple[int, ...]
    shingles: int
    text_hash: str

    def to_blob(self) -> bytes:
        return array("Q", self.signature).tobytes()

    @staticmethod
    def signature_from_blob(blob: bytes) -> tuple[int, ...]:
        values = array("Q")
        values.frombytes(blob)
        return tuple(values)

    def bands(self) -> list[tuple[int, int]]:
        """(band number, bucket hash) pairs for the LSH index (computed once per fingerprint)."""
        cached = self.__dict__.get("_bands")
        if cached is None:
            cached = bands_of_blob(self.to_blob())
            object.__setattr__(self, "_bands", cached)
        return list(cached)


def bands_of_blob(blob: bytes) -> list[tuple[int, int]]:
    """(band number, bucket hash) pairs of a stored signature: crc32 of each band's values."""
    step = 8 * ROWS     # a band: ROWS 8-byte values of the blob
    return [(b, zlib.crc32(blob[b * step:(b + 1) * step])) for b in range(BANDS)]


def words(text: str) -> list[str]:
    """Normalised content words (diacritics, alef forms, case folded; function words dropped)."""
    return [w for w in _TOKEN.findall(normalize_text(text)) if w not in _STOP]


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _shingles(ws: list[str], size: int = SHINGLE) -> set[int]:
    if len(ws) < size:
        return {_h64(" ".join(ws))} if ws else set()
    return {_h64(" ".join(ws[i:i + size])) for i in range(len(ws) - size + 1)}


def story_body(title: str, text: str) -> str:
    """The text a story fingerprint covers: without the headline extractors repeat on top."""
    body = text or title
    if title and body.startswith(title):
        body = body[len(title):].lstrip() or body
    return body


def fingerprint(text: str) -> Fingerprint:
    """The fingerprint of an article's text (title excluded: outlets rewrite titles freely)."""
    ws = words(text)
    hashes = _shingles(ws)
    exact = hashlib.sha1(" ".join(ws).encode()).hexdigest()
    if not hashes:
        return Fingerprint((_EMPTY,) * PERMUTATIONS, 0, exact)
    bins = [_EMPTY] * PERMUTATIONS
    mask = PERMUTATIONS - 1
    for x in hashes:
        b, v = x & mask, x >> _BIN_BITS
        if v < bins[b]:
            bins[b] = v
    return Fingerprint(_densify(bins), len(hashes), exact)


def _densify(bins: list[int]) -> tuple[int, ...]:
    """Fill each empty bin from the next non-empty one (circularly), tagged by the distance so
    that borrowed values only collide with values borrowed the same way."""
    n = len(bins)
    out = list(bins)
    for i in range(n):
        if bins[i] == _EMPTY:
            for step in range(1, n):
                j = (i + step) % n
                if bins[j] != _EMPTY:
                    out[i] = (bins[j] + step * 0x9E3779B97F4A7C15) & _EMPTY
                    break
    return tuple(out)


def jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return sum(x == y for x, y in zip(a, b, strict=True)) / PERMUTATIONS


def containment(j: float, size_a: int, size_b: int) -> float:
    """Estimated share of the smaller set found in the larger: |A∩B| / min(|A|, |B|)."""
    if not size_a or not size_b:
        return 0.0
    inter = j * (size_a + size_b) / (1 + j)
    return min(1.0, inter / min(size_a, size_b))
