"""``monitor feeds check``: probe each configured source once and judge it, writing no state.

Per source: whether it answered (or the error), what it turned out to be, how many items it
has and how recent the newest is, and whether its item pages extract to real text (a few of the
newest, Google News links resolved first). The verdict, worst first: ``broken`` (no answer, or
not a feed of its type), ``stale`` (nothing dated within ``stale_days``), ``extraction poor``
(under half of the sampled pages gave text), ``ok``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from monitor.config import FeedSource, Settings
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.extract.article import extract_article
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.models import Article, ExtractionStatus, RawItem
from monitor.parse.worker import FeedParsers
from monitor.source.google_news import GoogleNewsResolver
from monitor.source.read import SourceReader

#: A page "extracts to real text" when it gives at least this many characters.
REAL_TEXT_CHARS = 200
STALE_DAYS = 7.0


@dataclass
class SourceCheck:
    """What probing one source found."""

    name: str
    type: str
    url: str
    enabled: bool
    verified: str | None
    reachable: bool = False
    error: str | None = None
    detected: str | None = None
    items: int = 0
    newest: str | None = None
    pages_tried: int = 0
    pages_with_text: int = 0
    links_unresolved: int = 0
    notes: list[str] = field(default_factory=list)
    verdict: str = "broken"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class MemoryLinks:
    """A link cache that lives as long as the check: the check writes no state."""

    def __init__(self) -> None:
        self._links: dict[str, str] = {}

    def get(self, link: str) -> str | None:
        return self._links.get(link)

    def put(self, link: str, resolved: str, now: float) -> None:
        self._links[link] = resolved


class SourceChecker:
    """Probes sources with one client, parser and extractor shared by all of them."""

    def __init__(self, settings: Settings, fetcher: Fetcher, parsers: FeedParsers,
                 extractor: ExtractorPool, *, sample: int = 3, stale_days: float = STALE_DAYS,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings, self.fetcher, self.extractor = settings, fetcher, extractor
        self.sample, self.stale_days, self.clock = sample, stale_days, clock
        self.reader = SourceReader(settings, fetcher, parsers, clock)
        self.resolver = GoogleNewsResolver(fetcher, MemoryLinks(), settings.sources, clock)

    async def check(self, source: FeedSource) -> SourceCheck:
        """Probe one source; every failure is part of the answer, none is raised."""
        out = SourceCheck(source.name, source.type, source.feed_url, source.enabled,
                          source.verified.isoformat() if source.verified else None)
        try:
            read = await self.reader.read(source)
        except (FetchError, ParseError) as exc:
            out.reachable = isinstance(exc, ParseError)
            out.error = f"{exc.kind}: {exc}"
            return out
        out.reachable = True
        parsed = read.parsed
        assert parsed is not None          # an unconditional GET is never "not modified"
        out.detected = parsed.format or source.type
        out.items, out.notes = len(parsed.items), read.notes
        dates = [i.published for i in parsed.items if i.published]
        out.newest = max(dates).isoformat() if dates else None
        await self._sample_pages(source, parsed.items, out)
        out.verdict = self._verdict(out, max(dates) if dates else None)
        return out

    async def _sample_pages(self, source: FeedSource, items: list[RawItem],
                            out: SourceCheck) -> None:
        newest = sorted(items, key=lambda i: i.published or datetime.min.replace(tzinfo=UTC),
                        reverse=True)[:self.sample]
        results = await asyncio.gather(*(self._page_text(source, i, out) for i in newest))
        out.pages_tried = len(results)
        out.pages_with_text = sum(results)

    async def _page_text(self, source: FeedSource, item: RawItem, out: SourceCheck) -> bool:
        url = item.url
        if url and source.type == "google_news":
            answer = await self.resolver.resolve(url)
            if answer.url is None:
                out.links_unresolved += 1
                out.notes.append(f"link unresolved ({answer.outcome}): {answer.error}")
                return False
            url = answer.url
        article = Article(0, url, item.title, item.summary, source.name,
                          page_url=item.page_url, own_text=item.own_text,
                          first_seen_at=self.clock())
        status, extracted, _error = await extract_article(self.fetcher, self.extractor, article)
        if status is ExtractionStatus.SOURCE_TEXT:
            return len(item.summary) >= REAL_TEXT_CHARS // 4   # a post is short by nature
        return (status is ExtractionStatus.EXTRACTED and extracted is not None
                and len(extracted.text) >= REAL_TEXT_CHARS)

    def _verdict(self, out: SourceCheck, newest: datetime | None) -> str:
        if not out.items:
            return "stale"
        if newest is None or self.clock() - newest.timestamp() > self.stale_days * 86400:
            return "stale"
        if out.pages_tried and out.pages_with_text * 2 < out.pages_tried:
            return "extraction poor"
        return "ok"


async def check_sources(settings: Settings, sources: list[FeedSource], *,
                        sample: int = 3, progress: Callable[[SourceCheck], None] | None = None
                        ) -> list[SourceCheck]:
    """Probe ``sources`` (a few at a time) with a client and workers of their own."""
    parsers = FeedParsers(settings.parse)
    extractor = ExtractorPool.from_settings(settings.extract, workers=1)
    slots = asyncio.Semaphore(4)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            checker = SourceChecker(settings, fetcher, parsers, extractor, sample=sample)

            async def one(source: FeedSource) -> SourceCheck:
                async with slots:
                    try:
                        result = await checker.check(source)
                    except MonitorError as exc:       # extraction pool trouble, say
                        result = SourceCheck(source.name, source.type, source.feed_url,
                                             source.enabled, None, error=str(exc))
                if progress:
                    progress(result)
                return result

            return list(await asyncio.gather(*(one(s) for s in sources)))
    finally:
        extractor.close()
        parsers.close()
