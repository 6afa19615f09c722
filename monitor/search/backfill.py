"""Bringing the index up to date with a database that predates it (or an older normalisation):
batches of :func:`monitor.store.search.backfill_batch`, each committed, so it can stop at any
point and resume there. The daemon runs it in a thread of its own at start-up; ``monitor
search`` runs what is left before its first query."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from monitor.errors import StoreError
from monitor.store import search as store
from monitor.store.db import STORE_ERRORS, Database, open_database

__all__ = ["run_backfill", "backfill_in_thread", "BATCH"]

log = logging.getLogger(__name__)
BATCH = 500


def run_backfill(db: Database, *, batch: int = BATCH, progress: TextIO | None = sys.stderr,
                 stop: Callable[[], bool] = lambda: False, pause: float = 0.0) -> int:
    """Index what the backfill has left, batch by batch, until done or ``stop()``; progress on
    ``progress`` (a line every 10 %, a bar on a terminal). Returns the articles indexed."""
    state = store.ensure_format(db)
    if state.finished:
        return 0
    total, started, indexed, shown = state.remaining, time.monotonic(), 0, 0.0
    tty = bool(progress and progress.isatty())
    while not state.finished and not stop():
        state, n = store.backfill_batch(db, batch)
        if progress and n and not indexed:
            progress.write(f"search index: indexing stored articles (up to {total:,}; done "
                           "once, and it resumes where it stopped)\n")
        indexed += n
        share = 1 - state.remaining / total if total else 1.0
        if progress and indexed and (tty or share - shown >= 0.1 or state.finished):
            rate = indexed / max(1e-6, time.monotonic() - started)
            end = "\r" if tty and not state.finished else "\n"
            progress.write(f"search index: {share:6.1%}, {indexed:,} indexed "
                           f"({rate:,.0f} articles/s){end}")
            progress.flush()
            shown = share
        if pause:
            time.sleep(pause)
    return indexed


def backfill_in_thread(path: Path | str, stop: threading.Event) -> threading.Thread:
    """The daemon's background backfill: a thread with its own connection, small batches and a
    pause between them so polling and delivery keep the write lock most of the time."""
    def work() -> None:
        try:
            db = open_database(path)
        except StoreError as exc:
            log.warning("search index backfill not started: %s", exc)
            return
        try:
            n = run_backfill(db, batch=200, progress=None, stop=stop.is_set, pause=0.05)
            if n:
                log.info("search index: %d stored articles indexed%s", n,
                         " (stopped; resumes at next start)" if stop.is_set() else "")
        except STORE_ERRORS as exc:      # logged; the next start resumes
            log.warning("search index backfill stopped: %s", exc)
        finally:
            db.close()

    thread = threading.Thread(target=work, name="search-backfill", daemon=True)
    thread.start()
    return thread
