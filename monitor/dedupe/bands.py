"""The LSH band index of recent fingerprints: where a new article finds its candidate stories.

This module turns fingerprints into band keys and keeps the index current; the index itself
(in memory, rebuilt from ``articles.signature``) is stored by :mod:`monitor.store.stories`.
"""

from __future__ import annotations

import logging
import sqlite3

from monitor.dedupe.fingerprint import Fingerprint, bands_of_blob
from monitor.store import stories as story_store
from monitor.store.stories import StoryCandidate

log = logging.getLogger(__name__)


def _keys(bands: list[tuple[int, int]]) -> list[int]:
    # One integer per (band, bucket): a single-column key keeps the table one B-tree.
    return [band << 32 | bucket for band, bucket in bands]


def _keys_of_blob(blob: bytes) -> list[int]:
    return _keys(bands_of_blob(blob))


def ensure(conn: sqlite3.Connection, since: float) -> int | None:
    """Make the index current (in the caller's transaction): on first use build it from the
    stored articles first seen at or after ``since``; afterwards add what other connections
    (another ``monitor`` process on the same state) stored since. Returns how many articles a
    first build loaded, None when the index already existed."""
    sync = story_store.sync_band_index(conn, since, _keys_of_blob)
    if sync.built:
        return sync.added
    if sync.added:
        log.info("story index: %d articles stored by another process added", sync.added)
    return None


def keys(fp: Fingerprint) -> list[int]:
    """The band keys a fingerprint is indexed under."""
    return _keys(fp.bands())


def candidates(conn: sqlite3.Connection, fp: Fingerprint, *, since: float, exclude: int,
               limit: int) -> list[StoryCandidate]:
    """(id, story_id, signature, shingles) of stored articles sharing a band with ``fp`` and
    first seen at or after ``since``."""
    return story_store.band_candidates(conn, _keys(fp.bands()), since=since, exclude=exclude,
                                       limit=limit)


def prune(conn: sqlite3.Connection, since: float) -> int:
    """Drop the entries of articles first seen before ``since``; returns how many went."""
    return story_store.prune_band_index(conn, since)
