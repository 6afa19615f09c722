"""Running a search: the index's candidates, verified, ranked, with highlighted snippets.

Ranking (docs/search.md): the index returns the :data:`WINDOW` newest articles that match (all
of them for a rarer query), each with its relevance (title words weigh three body words): bm25
on SQLite, ts_rank negated on PostgreSQL, both lower-is-better.
Each relevance is boosted by recency::

    score = relevance × (1 + RECENCY_BOOST × 2^(−age / HALF_LIFE_DAYS))

so that of two equally relevant articles the newer comes first, while an older, clearly more
relevant one still outranks a passing mention from today. Results are then verified in that
order (exact forms, phrases in a row) until ``limit`` are found; when a window holds too few
(a phrase of common words), the next older window follows, up to :data:`MAX_WINDOWS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from monitor.search.highlight import Snippet, highlight_title, snippets, verify
from monitor.search.query import Query
from monitor.store import search as store
from monitor.store.db import Database

__all__ = ["Result", "Results", "run_search", "WINDOW", "RECENCY_BOOST", "HALF_LIFE_DAYS"]

#: How many of the newest matching articles are ranked at once.
WINDOW = 1000
#: How many windows are read, newest first, when too few of a window's articles truly match.
MAX_WINDOWS = 10
RECENCY_BOOST = 0.5
HALF_LIFE_DAYS = 30.0


@dataclass(frozen=True)
class Result:
    """One article found."""

    id: int
    score: float
    first_seen_at: float
    published_at: float | None
    outlet: str | None
    url: str | None
    title: Snippet
    snippets: list[Snippet]

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "score": round(self.score, 4),
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.published_at
                                                                      or self.first_seen_at)),
                "first_seen_at": self.first_seen_at, "published_at": self.published_at,
                "outlet": self.outlet, "url": self.url, "title": self.title.to_json(),
                "snippets": [s.to_json() for s in self.snippets]}


@dataclass
class Results:
    """What a search found: the results shown and how much the index matched."""

    query: Query
    results: list[Result] = field(default_factory=list)
    candidates: int = 0          # articles the index matched (capped at the windows read)
    window_full: bool = False    # more matched than were read: only the newest were
    seconds: float = 0.0


def combined(bm25: float, first_seen_at: float, now: float) -> float:
    """The ranking score of one match (higher is better) from its index relevance (``bm25``:
    lower is better, whichever engine gave it)."""
    age_days = max(0.0, now - first_seen_at) / 86400
    return -bm25 * (1 + RECENCY_BOOST * 2 ** (-age_days / HALF_LIFE_DAYS))


def run_search(db: Database, query: Query, *, limit: int = 20, since: float | None = None,
               entity: str | None = None, now: float | None = None,
               window: int = WINDOW) -> Results:
    """Search the index (which the caller has brought up to date) for ``query``."""
    started = time.perf_counter()
    now = time.time() if now is None else now
    out = Results(query)
    expr, before = query.expression(), None
    for _ in range(MAX_WINDOWS):
        rows = store.matching(db.conn, expr, since=since, entity=entity, window=window,
                              before=before)
        out.candidates += len(rows)
        out.window_full = len(rows) >= window
        _verified(db, query, rows, now, limit, out)
        if len(out.results) >= limit or not out.window_full:
            break
        # Fewer true matches than wanted among these (a phrase of common words): older ones.
        before = min(r[0] for r in rows)
    out.seconds = time.perf_counter() - started
    return out


def _verified(db: Database, query: Query, rows: list[tuple[int, float, float]], now: float,
              limit: int, out: Results) -> None:
    """Add the true matches among ``rows`` to ``out``, best first, until it holds ``limit``."""
    ranked = sorted(rows, key=lambda r: (-combined(r[1], r[2], now), -r[0]))
    step = max(limit * 2, 20)
    for i in range(0, len(ranked), step):
        part = ranked[i:i + step]
        found = store.found_rows(db.conn, [r[0] for r in part])
        for art_id, bm25, seen in part:
            row = found.get(art_id)
            if row is None or not verify(query, row.indexed_title, row.indexed_body):
                continue
            out.results.append(Result(
                art_id, combined(bm25, seen, now), row.first_seen_at, row.published_at,
                row.outlet, row.url, highlight_title(query, row.title),
                snippets(query, row.text)))
            if len(out.results) >= limit:
                return
