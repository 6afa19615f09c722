"""Backtesting a rule edit: re-score stored articles with candidate rules and with the rules now
live, and report what would change. Read-only: nothing is queued or sent. Only the articles the
edit can change are re-scored when the search index can tell them (:mod:`monitor.match.candidates`);
the report then counts rules among those.

Scoring is CPU-bound, so articles go to worker processes in chunks (each worker compiles both
rule sets once); progress goes to stderr.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from monitor.store import corpus
from monitor.store.corpus import ArticleText

CHUNK = 250
_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class Verdict:
    """One article under both rule sets."""

    id: int
    title: str
    url: str | None
    live_score: float
    new_score: float
    live_rules: tuple[str, ...]
    new_rules: tuple[str, ...]


@dataclass
class BacktestReport:
    """What the candidate rules would change."""

    articles: int = 0
    seconds: float = 0.0
    newly_alerting: list[Verdict] = field(default_factory=list)
    stop_alerting: list[Verdict] = field(default_factory=list)
    live_per_rule: Counter[str] = field(default_factory=Counter)
    new_per_rule: Counter[str] = field(default_factory=Counter)
    #: How many were re-scored when only those the edit can change were (None: all of them);
    #: the per-rule counts are then among those, and the others score the same under both.
    rescored: int | None = None
    note: str = ""


Article = ArticleText   # (id, title, text, url)


def count_articles(db_path: Path, since: float | None) -> int:
    """How many stored articles :func:`iter_articles` will yield (for the progress line)."""
    return corpus.count_texts(db_path, since or 0)


def iter_articles(db_path: Path, since: float | None, chunk: int = CHUNK) -> Iterator[list[Article]]:
    """Stored articles first seen after ``since`` (unix time), in chunks, streamed: a backtest of
    100,000 articles never holds their texts in memory at once."""
    yield from corpus.iter_texts(db_path, since or 0, chunk)


def chunked(articles: list[Article], size: int = CHUNK) -> Iterator[list[Article]]:
    """An in-memory list of articles in backtest chunks."""
    for i in range(0, len(articles), size):
        yield articles[i:i + size]


def _init(live: str, candidate: str) -> None:
    from monitor.match.rules import load_rules
    from monitor.match.score import Matcher

    _WORKER["live"] = Matcher(load_rules(live))
    _WORKER["new"] = Matcher(load_rules(candidate))


def _score_chunk(chunk: list[Article]) -> list[Verdict]:
    out = []
    for art_id, title, text, url in chunk:
        a = _WORKER["live"].score(title, text)
        b = _WORKER["new"].score(title, text)
        out.append(Verdict(art_id, title, url, round(a.score, 2), round(b.score, 2),
                           tuple(r.id for r in a.alerting_rules),
                           tuple(r.id for r in b.alerting_rules)))
    return out


def run_backtest(chunks: Iterable[list[Article]], total: int, live: Path, candidate: Path,
                 *, workers: int = 2, progress: TextIO | None = sys.stderr,
                 rescored: int | None = None, note: str = "") -> BacktestReport:
    """Score the articles with both rule sets and collect the differences. ``rescored``: the
    chunks hold only that many of the ``total`` stored articles (the ones that can change)."""
    report = BacktestReport(articles=total, rescored=rescored, note=note)
    started = time.monotonic()
    bar = Progress(total if rescored is None else rescored, progress)
    for verdicts in _map(chunks, str(live), str(candidate), workers):
        for v in verdicts:
            report.live_per_rule.update(v.live_rules)
            report.new_per_rule.update(v.new_rules)
            if v.new_rules and not v.live_rules:
                report.newly_alerting.append(v)
            elif v.live_rules and not v.new_rules:
                report.stop_alerting.append(v)
        bar.advance(len(verdicts))
    bar.done()
    report.seconds = time.monotonic() - started
    return report


def _map(chunks: Iterable[list[Article]], live: str, candidate: str,
         workers: int) -> Iterator[list[Verdict]]:
    if workers <= 1:
        _init(live, candidate)
        yield from map(_score_chunk, chunks)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                             initargs=(live, candidate)) as pool:
        # Executor.map would submit (and pickle) every chunk at once; keep a few in flight.
        pending: deque[Future[list[Verdict]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_score_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class Progress:
    """A progress bar on a terminal, a line every 10 % otherwise."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.stream, self.done_count = total, stream, 0
        self.tty = bool(stream and stream.isatty())
        self.started = time.monotonic()
        self._next_line = 0.1

    def advance(self, n: int) -> None:
        self.done_count += n
        if not self.stream or not self.total:
            return
        share = self.done_count / self.total
        rate = self.done_count / max(1e-6, time.monotonic() - self.started)
        if self.tty:
            bar = "#" * int(share * 30)
            self.stream.write(f"\rbacktest [{bar:<30}] {self.done_count}/{self.total} "
                              f"({rate:.0f}/s)")
            self.stream.flush()
        elif share >= self._next_line or self.done_count == self.total:
            self.stream.write(f"backtest: {self.done_count}/{self.total} articles "
                              f"({rate:.0f}/s)\n")
            self._next_line = share + 0.1

    def done(self) -> None:
        if self.stream and self.tty:
            self.stream.write("\n")


def render(report: BacktestReport, limit: int = 50) -> str:
    """The human report."""
    rules = sorted(set(report.live_per_rule) | set(report.new_per_rule))
    if report.rescored is None:
        lines = [f"backtest: {report.articles} stored articles re-scored in {report.seconds:.1f} s"]
    else:
        lines = [f"backtest: {report.rescored} of {report.articles} stored articles re-scored in "
                 f"{report.seconds:.1f} s (the others cannot change: they score the same under "
                 "both; rule counts below are among the re-scored)"]
    lines += [f"  ({report.note})"] if report.note else []
    lines += ["", f"{'rule':<32} {'live':>6} {'edited':>7}"]
    lines += [f"{r:<32} {report.live_per_rule[r]:>6} {report.new_per_rule[r]:>7}" for r in rules]
    for label, items in (("would NEWLY alert", report.newly_alerting),
                         ("would STOP alerting", report.stop_alerting)):
        lines += ["", f"{label}: {len(items)}"]
        for v in items[:limit]:
            lines.append(f"  [{v.live_score:g} -> {v.new_score:g}] {v.title}  {v.url or ''}")
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more (use --jsonl for all)")
    return "\n".join(lines)


def jsonl_lines(report: BacktestReport) -> Iterator[dict[str, Any]]:
    """One object per changed article, then a summary object."""
    for change, items in (("newly_alerting", report.newly_alerting),
                          ("stop_alerting", report.stop_alerting)):
        for v in items:
            yield {"change": change, **asdict(v)}
    yield {"summary": True, "articles": report.articles, "seconds": round(report.seconds, 2),
           "rescored": report.articles if report.rescored is None else report.rescored,
           "candidates_only": report.rescored is not None, "note": report.note,
           "newly_alerting": len(report.newly_alerting),
           "stop_alerting": len(report.stop_alerting),
           "live_per_rule": dict(report.live_per_rule), "new_per_rule": dict(report.new_per_rule)}
