"""The stored articles a backtest re-scores: only those an edit can change
(:mod:`monitor.match.affected`) when the search index can tell them, else all of them, with the
reason in the report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.match.affected import edit_scope
from monitor.match.model import RuleSet
from monitor.search.fields import INDEX_FORMAT
from monitor.store import corpus
from monitor.store import search as index
from monitor.store.corpus import ArticleText
from monitor.store.db import STORE_ERRORS

__all__ = ["Selection", "select_articles"]


@dataclass
class Selection:
    """The articles to re-score: ``rescored`` of the ``total`` stored ones (all of them when
    ``candidates_only`` is false), streamed in chunks."""

    chunks: Iterator[list[ArticleText]]
    total: int
    rescored: int
    candidates_only: bool
    note: str


def _index_problem(db_path: Path) -> str | None:
    """Why the index cannot select candidates, or None when it can."""
    try:
        state = index.index_state(db_path)
    except STORE_ERRORS:
        return ("this database has no search index yet (the daemon or 'monitor search' "
                "creates it)")
    if not state.format:
        return ("the search index has not been built yet (the daemon builds it at start, or "
                "'monitor search')")
    if state.format != INDEX_FORMAT:
        return "the search index was built by another normalisation and is being rebuilt"
    if not state.finished:
        return (f"the search index is still being built ({state.remaining:,} articles to go; "
                "'monitor search' finishes it)")
    return None


def select_articles(db_path: Path, since: float, live: RuleSet, edited: RuleSet, *,
                    everything: bool = False, chunk: int = 250) -> Selection:
    """What to re-score for the edit from ``live`` to ``edited`` (``everything``: all)."""
    total = corpus.count_texts(db_path, since)
    scope = edit_scope(live, edited)
    reason = ("--all given" if everything else
              scope.note if scope.expression is None else _index_problem(db_path))
    if reason is not None:
        return Selection(corpus.iter_texts(db_path, since, chunk), total, total, False,
                         f"every article re-scored: {reason}")
    expr = scope.expression or ""
    if not expr:
        return Selection(iter(()), total, 0, True, scope.note)
    rescored = index.count_candidates(db_path, expr, since)
    return Selection(index.iter_candidates(db_path, expr, since, chunk), total, rescored, True,
                     f"{scope.note}; re-scored only the articles containing a word of "
                     f"{', '.join(scope.entities[:8])}{' …' if len(scope.entities) > 8 else ''}")
