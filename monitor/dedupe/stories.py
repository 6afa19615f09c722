"""Story clustering: each new article joins the story of its nearest earlier near-duplicate
(within a time window), found through the LSH band index (``bands``), or starts a story of its
own.

:func:`place_in_story` decides (it reads candidates, :func:`nearest` chooses); the pipeline then
saves the placement with the article, its score and its alerts in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.dedupe import bands
from monitor.dedupe.fingerprint import Fingerprint, containment, jaccard
from monitor.store import stories as story_store
from monitor.store.stories import StoryCandidate, story_outlets

__all__ = ["Placement", "StoryMatch", "assign_story", "is_same_story", "nearest",
           "place_in_story", "story_outlets"]

JACCARD = 0.25          # same story when the estimated Jaccard of word pairs reaches this...
CONTAINMENT = 0.50      # ...or when half the shorter text is inside the longer one,
CONTAINMENT_MIN_J = 0.12  # provided the Jaccard is not tiny: estimated containment is unreliable
                          # when one text is many times longer (MinHash error ±0.09 at 128 hashes)
MIN_SHINGLES = 12       # below this (a bare summary), only the exact text counts
MAX_CANDIDATES = 200


@dataclass(frozen=True)
class StoryMatch:
    """Where an article went: its story, whether it is an exact copy, the best similarity."""

    story_id: int
    exact: bool
    similarity: float
    joined: bool   # joined an existing story (False: started one)


def is_same_story(a: Fingerprint, b_signature: tuple[int, ...], b_shingles: int) -> float:
    """Similarity score in [0, 1] when the two texts are the same story, else 0."""
    if min(a.shingles, b_shingles) < MIN_SHINGLES:
        return 0.0
    j = jaccard(a.signature, b_signature)
    c = containment(j, a.shingles, b_shingles)
    same = j >= JACCARD or (c >= CONTAINMENT and j >= CONTAINMENT_MIN_J)
    return max(j, c) if same else 0.0


@dataclass(frozen=True)
class Placement:
    """Where an article goes and what the store keeps of its fingerprint to place later ones."""

    match: StoryMatch
    signature: bytes
    shingles: int
    text_hash: str
    band_keys: tuple[int, ...]


def assign_story(conn: sqlite3.Connection, article_id: int, fp: Fingerprint, *, now: float,
                 window_seconds: float) -> StoryMatch:
    """Place ``article_id`` in a story and record it (caller's transaction): what the pipeline
    does in its save, for callers that place articles one by one (tests, benchmarks)."""
    placement = place_in_story(conn, article_id, fp, now=now, window_seconds=window_seconds)
    story_store.save_placement(conn, article_id, story_id=placement.match.story_id,
                               signature=placement.signature, shingles=placement.shingles,
                               text_hash=placement.text_hash, band_keys=placement.band_keys)
    return placement.match


def place_in_story(conn: sqlite3.Connection, article_id: int, fp: Fingerprint, *, now: float,
                   window_seconds: float) -> Placement:
    """The story ``article_id`` belongs to: the earlier exact copy's, else the nearest
    near-duplicate's within the window, else a story of its own. Reads only."""
    since = now - window_seconds
    bands.ensure(conn, since)
    exact = story_store.exact_copy_story(conn, fp.text_hash, exclude=article_id, since=since)
    if exact is not None and fp.shingles:
        match = StoryMatch(exact, True, 1.0, True)
    elif fp.shingles < MIN_SHINGLES:
        match = StoryMatch(article_id, False, 0.0, False)
    else:
        match = nearest(article_id, fp, bands.candidates(conn, fp, since=since,
                                                         exclude=article_id,
                                                         limit=MAX_CANDIDATES))
    return Placement(match, fp.to_blob(), fp.shingles, fp.text_hash, tuple(bands.keys(fp)))


def nearest(article_id: int, fp: Fingerprint, candidates: Iterable[StoryCandidate]
            ) -> StoryMatch:
    """The decision: the most similar candidate's story, or a new story (pure)."""
    best: StoryMatch | None = None
    for _id, story_id, blob, shingles in candidates:
        score = is_same_story(fp, Fingerprint.signature_from_blob(blob), shingles)
        if score and (best is None or score > best.similarity):
            best = StoryMatch(story_id, False, score, True)
    return best or StoryMatch(article_id, False, 0.0, False)
