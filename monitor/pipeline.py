"""One poll of one feed, top to bottom: fetch → parse → record → fetch pages → extract → score →
place in a story → plan alerts → save.

No stage logic lives here; it only calls the stages in order and turns their errors into stored
outcomes. One article (:class:`monitor.models.Article`) travels the article half: its page gives
it the text that scoring, story placement and alerts all use, and the last three steps run in
one transaction. One item failing never stops its feed; one feed failing never stops the cycle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from monitor.alert.plan import plan_alerts
from monitor.config import FeedSource, Settings
from monitor.dedupe.fingerprint import fingerprint, story_body
from monitor.dedupe.stories import Placement, place_in_story
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.extract.article import extract_article
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.fetch.pages import Budget, PagePolicy
from monitor.match.score import entity_names
from monitor.models import Article, CycleStats, Extracted, ExtractionStatus, FeedReport, PollOutcome
from monitor.ops.metrics import METRICS
from monitor.parse.worker import FeedParsers
from monitor.schedule.policy import FeedSchedule
from monitor.source.google_news import GoogleNewsResolver
from monitor.source.links import LinkOutcome, SourceLinks
from monitor.source.read import SourceReader
from monitor.store import articles as article_store
from monitor.store import feeds as feed_store
from monitor.store import hosts as host_store
from monitor.store import service as service_store
from monitor.store.articles import Sighting
from monitor.store.db import Database
from monitor.store.links import StoredLinkCache
from monitor.store.stories import story_outlets

log = logging.getLogger(__name__)


class Scorer(Protocol):
    """What the pipeline needs from the matcher (monitor.match.score.Matcher)."""

    def score(self, title: str, text: str) -> Any: ...


class Pipeline:
    """Polls feeds and processes their new items into the store."""

    def __init__(self, settings: Settings, db: Database, fetcher: Fetcher,
                 extractor: ExtractorPool, scorer: Scorer | None = None,
                 clock: Callable[[], float] = time.time, parsers: FeedParsers | None = None) -> None:
        self.settings, self.db, self.fetcher, self.extractor = settings, db, fetcher, extractor
        self.parsers = parsers or FeedParsers(settings.parse)
        self.scorer = scorer
        self.clock = clock
        self.on_alert: Callable[[], None] | None = None   # wakes the sender
        self.pages = PagePolicy(settings, clock)
        self.reader = SourceReader(settings, fetcher, self.parsers, clock)
        self.links = SourceLinks(settings, db, GoogleNewsResolver(
            fetcher, StoredLinkCache(db), settings.sources, clock), clock)
        for row in host_store.circuits(db):
            self.pages.breaker.restore(row["host"], row["failures"], row["open_until"],
                                       row["last_error"] or "")

    async def run_cycle(self, sources: Iterable[FeedSource]) -> CycleStats:
        """Poll the given feeds concurrently (bounded) and return the cycle's counters. (The
        daemon polls only the due ones: monitor.schedule.service asks the store for those.)"""
        sources = [s for s in sources if s.enabled]
        states = feed_store.sync_feeds(self.db, sources, self.clock())
        slots = asyncio.Semaphore(self.settings.poll.concurrency)
        stats = CycleStats()

        async def one(src: FeedSource) -> None:
            async with slots:
                stats.add(await self.poll_feed(src, states[src.name]))

        await asyncio.gather(*(one(s) for s in sources))
        stats.per_feed.sort(key=lambda r: r.feed)
        return stats

    async def poll_feed(self, source: FeedSource,
                        state: feed_store.FeedState | None = None) -> FeedReport:
        """Poll one feed (``state``: its row, when the caller has just read it); every failure
        becomes a stored, reported outcome."""
        try:
            return await self._poll_feed(source, state)
        except Exception as exc:  # job boundary: a bug must not stop the other feeds
            log.exception("feed poll crashed feed=%s url=%s", source.name, source.feed_url)
            state = feed_store.get_feed(self.db, source.name)
            self._record_failure(state.id, source, f"internal error: {exc!r}", "internal")
            return FeedReport(source.name, PollOutcome.FAILED, error=repr(exc), error_kind="internal")

    async def _poll_feed(self, source: FeedSource,
                         state: feed_store.FeedState | None) -> FeedReport:
        # The next poll is due one interval after this one STARTED: the scheduler fires on
        # that rhythm, and counting from the end would make its next run look early.
        started = self.clock()
        state = state or feed_store.get_feed(self.db, source.name)
        try:
            read = await self.reader.read(
                source, etag=state.etag, last_modified=state.last_modified,
                known=(None if state.last_success_at is None else
                       lambda items: feed_store.sighted_any(self.db, state.id,
                                                            [i.identity for i in items])))
        except (FetchError, ParseError) as exc:
            return self._failed(state.id, source, exc, exc.kind, getattr(exc, "retry_after", None))
        result, parsed = read.result, read.parsed
        report = FeedReport(source.name, PollOutcome.NOT_MODIFIED if parsed is None
                            else PollOutcome.OK)
        bozo = None
        ttl = None
        if parsed is not None:
            bozo, ttl = parsed.bozo_error, parsed.ttl_minutes
            if bozo:
                report.note = f"malformed feed, {len(parsed.items)} items kept: {bozo}"
                log.warning("malformed feed feed=%s url=%s items=%d error=%s",
                            source.name, source.feed_url, len(parsed.items), bozo)
            for note in read.notes:
                log.info("source note feed=%s: %s", source.name, note)
            self._record_items(state.id, parsed.items, report)
        await self.process_pending(state.id, report)
        policy = FeedSchedule.of(self.settings, source)
        interval = policy.next_interval(state.poll_interval, report.new_items)
        feed_store.record_success(
            self.db, state.id, now=self.clock(), status=report.outcome.value,
            etag=result.headers.get("etag"), last_modified=result.headers.get("last-modified"),
            next_poll_at=policy.after_success(started=started, interval=interval,
                                              headers=result.headers, ttl_minutes=ttl),
            bozo_note=bozo, new_items=report.new_items, interval=interval,
            link_note=report.link_note, links_checked=bool(report.resolved or report.unresolved))
        METRICS.polls.labels(report.outcome.value).inc()
        # Unchanged feeds are the bulk of polls: their line is DEBUG (the summary counts them).
        log.log(logging.DEBUG if report.outcome is PollOutcome.NOT_MODIFIED else logging.INFO,
                "polled feed=%s url=%s status=%s new=%d duplicates=%d", source.name,
                source.feed_url, report.outcome.value, report.new_items, report.duplicates)
        return report

    def _record_items(self, feed_id: int, items: list[Any], report: FeedReport) -> None:
        # Every item is recorded (rows are cheap; the parser keeps at most MAX_ITEMS): an item
        # left for a later poll could roll off the feed by then. Pages are what the budget limits.
        sightings = article_store.record_items(self.db, feed_id, items, self.clock(),
                                               max(1, len(items)))
        report.new_items += sightings.count(Sighting.NEW)
        report.duplicates += sightings.count(Sighting.DUPLICATE)
        report.edited += sightings.count(Sighting.EDITED)

    async def process_pending(self, feed_id: int, report: FeedReport) -> None:
        """Fetch, extract, score and store the pending articles of a feed (leftovers of earlier
        polls and crashes too), as far as the poll's budget goes; the rest stay pending."""
        budget = self.pages.budget()
        chosen = self._admissible(feed_id, budget.pages + 1, report)
        await asyncio.gather(*(self._process_guarded(p, report, budget)
                               for p in chosen[:budget.pages]))
        if report.deferred or len(chosen) > budget.pages:
            report.deferred = article_store.count_pending(self.db, feed_id)
            log.info("pages left pending feed_id=%d pending=%d (poll budget or skipped host)",
                     feed_id, report.deferred)

    def _admissible(self, feed_id: int, limit: int, report: FeedReport) -> list[Article]:
        """Up to ``limit`` pending articles, oldest first, passing over those of skipped hosts
        (however many: they must not hide the feed's other articles)."""
        chosen: list[Article] = []
        after = 0
        while len(chosen) < limit:
            batch = article_store.pending_articles(self.db, feed_id, 200, after_id=after)
            if not batch:
                break
            after = batch[-1].id
            for article in batch:
                if self.pages.skipped(article.url) and not self.pages.given_up(
                        article.url, article.first_seen_at):
                    report.deferred += 1
                else:
                    chosen.append(article)
        return chosen[:limit]

    async def _process_guarded(self, article: Article, report: FeedReport,
                               budget: Budget) -> None:
        article = await self._resolve(article, report)
        if article is None:
            return
        async with self.pages.slot(article.fetch_url):
            # A post's own text is the article, its page only context: it does not wait for a
            # skipped host (scored now, as when its page fails).
            waits = not article.own_text
            if self.pages.given_up(article.fetch_url, article.first_seen_at) or (
                    not waits and self.pages.skipped(article.fetch_url)):
                report.alerts += self._store(
                    article, ExtractionStatus.FALLBACK_FETCH, None,
                    f"host skipped (circuit open){' for too long' if waits else ''}: scored on "
                    "the feed text")
                report.fallback += 1
                return
            if self.pages.skipped(article.fetch_url) or not budget.take():
                report.deferred += 1      # the circuit opened meanwhile, or the budget is spent
                return
            try:
                status = await self._process(article, report)
            except Exception as exc:  # one article's bug must not stop its feed
                log.exception("article failed article_id=%d url=%s", article.id, article.url)
                report.alerts += self._store(article, ExtractionStatus.FALLBACK_EMPTY, None,
                                             f"internal error: {exc!r}")
                report.failed += 1
                return
        if status in (ExtractionStatus.EXTRACTED, ExtractionStatus.SOURCE_TEXT):
            report.extracted += 1
        else:
            report.fallback += 1

    async def _resolve(self, article: Article, report: FeedReport) -> Article | None:
        """The article under its publisher's link; None when it is done or waits (the link
        resolution decided it)."""
        link = await self.links.resolve(article)
        if link.outcome is LinkOutcome.KEPT:
            return article
        report.count_link(link.outcome, link.note)
        if link.outcome is LinkOutcome.DEFERRED:
            report.deferred += 1
            return None
        if link.outcome is LinkOutcome.DUPLICATE:
            assert link.duplicate_of is not None and link.article.url is not None
            article_store.mark_duplicate(self.db, article.id, of=link.duplicate_of,
                                         url=link.article.url, source_link=article.url,
                                         now=self.clock())
            report.duplicates += 1
            return None
        if link.outcome is LinkOutcome.UNRESOLVED:
            log.warning("link not resolved article_id=%d url=%s: %s", article.id, article.url,
                        link.note)
            report.alerts += self._store(article, ExtractionStatus.FALLBACK_FETCH, None,
                                         f"Google News link not resolved: {link.note}")
            report.fallback += 1
            return None
        return link.article

    async def _process(self, article: Article, report: FeedReport) -> ExtractionStatus:
        started = time.monotonic()
        status, extracted, error = await extract_article(self.fetcher, self.extractor, article,
                                                         self._host_outcome)
        METRICS.extraction_seconds.observe(time.monotonic() - started)
        METRICS.articles.labels(status.value).inc()
        report.alerts += self._store(article, status, extracted, error)
        return status

    def _host_outcome(self, url: str | None, error: FetchError | None = None) -> None:
        event = self.pages.outcome(url or "", error)
        if event is None:
            return
        if event.circuit is None:
            log.info("host answering again, circuit closed host=%s", event.host)
            host_store.close_circuit(self.db, event.host)
            return
        log.warning("host skipped until %s after %d failed pages in a row host=%s error=%s",
                    time.strftime("%H:%M:%S", time.localtime(event.circuit.open_until)),
                    event.circuit.failures, event.host, event.circuit.last_error)
        host_store.open_circuit(self.db, event.host, failures=event.circuit.failures,
                                now=self.clock(), until=event.circuit.open_until,
                                error=event.circuit.last_error)

    def _store(self, article: Article, status: ExtractionStatus,
               extracted: Extracted | None, error: str | None) -> int:
        """Score → place → plan → save: the article half's last steps, the last three in one
        transaction. Returns how many alerts were queued."""
        article = article.with_page(status, extracted, error, article_store.timestamp_from_iso(
            extracted.published if extracted else None))
        score = self.scorer.score(article.title, article.text) if self.scorer is not None else None
        names = entity_names(self.scorer) if score is not None and score.alert else {}
        now = self.clock()
        with self.db.transaction() as conn:
            placement = self._place(conn, article, now)
            match = placement.match if placement is not None else None
            earlier = ((article_store.story_alerts(conn, match.story_id, article.id),
                        story_outlets(conn, match.story_id))
                       if match is not None and match.joined else ([], []))
            plan = plan_alerts(article, score, names, self.settings.alerts.default_destination,
                               match, *earlier)
            queued = article_store.save_article(
                conn, article, now=now, score=score, placement=placement,
                entities=tuple(h.entity for h in score.hits) if score is not None else (),
                plan=plan)
        if score is not None and score.alert:
            fired = [r.id for r in score.alerting_rules]
            service_store.record_matches(self.db, fired, self.clock())
            for rule_id in fired:
                METRICS.matches.labels(rule_id).inc()
            for destination, _payload in plan.alerts:
                METRICS.alerts_queued.labels(destination).inc()
        if queued:
            log.info("match queued alerts=%d article_id=%d url=%s score=%.2f", queued, article.id,
                     article.url, score.score)
            if self.on_alert:
                self.on_alert()
        return queued

    def _place(self, conn: Any, article: Article, now: float) -> Placement | None:
        """The article's story (dedupe decides; nothing is written yet)."""
        stories = self.settings.stories
        if not stories.enabled:
            return None
        fp = article.page_fingerprint or fingerprint(story_body(article.title, article.text))
        return place_in_story(conn, article.id, fp, now=now, window_seconds=stories.window_seconds)

    def _failed(self, feed_id: int, source: FeedSource, exc: MonitorError, kind: str,
                retry_after: float | None = None) -> FeedReport:
        log.warning("feed failed feed=%s url=%s kind=%s error=%s", source.name,
                    source.feed_url, kind, exc)
        METRICS.polls.labels("failed").inc()
        METRICS.fetch_errors.labels(kind).inc()
        self._record_failure(feed_id, source, str(exc), kind, retry_after)
        return FeedReport(source.name, PollOutcome.FAILED, error=str(exc), error_kind=kind)

    def _record_failure(self, feed_id: int, source: FeedSource, error: str, kind: str,
                        retry_after: float | None = None) -> None:
        now = self.clock()
        failures = feed_store.failures_in_a_row(self.db, feed_id) + 1
        next_poll = FeedSchedule.of(self.settings, source).after_failure(
            now=now, failures=failures, retry_after=retry_after)
        feed_store.record_failure(self.db, feed_id, now=now, error=error, kind=kind,
                                  failures=failures, next_poll_at=next_poll)
