"""Story clustering: each new article joins the story of its nearest earlier near-duplicate
(within a time window), found through the LSH band index (``bands``), or starts a story of its
own.

Runs inside the transaction that stores the article, so the story, the article and its alert
(or its "also reported by" update) are recorded together.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from monitor.dedupe import bands
from monitor.dedupe.fingerprint import Fingerprint, containment, jaccard
from monitor.store import stories as story_store
from monitor.store.stories import story_outlets

__all__ = ["StoryMatch", "assign_story", "is_same_story", "story_outlets"]

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


def assign_story(conn: sqlite3.Connection, article_id: int, fp: Fingerprint, *, now: float,
                 window_seconds: float) -> StoryMatch:
    """Give ``article_id`` a story id and index its fingerprint (caller's transaction)."""
    since = now - window_seconds
    bands.ensure(conn, since)
    exact = story_store.exact_copy_story(conn, fp.text_hash, exclude=article_id, since=since)
    if exact is not None and fp.shingles:
        match = StoryMatch(exact, True, 1.0, True)
    else:
        match = _nearest(conn, article_id, fp, since) or StoryMatch(article_id, False, 0.0, False)
    story_store.set_story(conn, article_id, story_id=match.story_id, signature=fp.to_blob(),
                          shingles=fp.shingles, text_hash=fp.text_hash)
    bands.add(conn, article_id, fp)
    return match


def _nearest(conn: sqlite3.Connection, article_id: int, fp: Fingerprint,
             since: float) -> StoryMatch | None:
    if fp.shingles < MIN_SHINGLES:
        return None
    rows = bands.candidates(conn, fp, since=since, exclude=article_id, limit=MAX_CANDIDATES)
    best: StoryMatch | None = None
    for _id, story_id, blob, shingles in rows:
        score = is_same_story(fp, Fingerprint.signature_from_blob(blob), shingles)
        if score and (best is None or score > best.similarity):
            best = StoryMatch(story_id, False, score, True)
    return best

