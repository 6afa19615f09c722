"""One poll's documents of one source: the feed, a sitemap index's sitemaps, a channel's older
pages, fetched with the shared client and parsed in the parser workers.

What a type needs beyond one document:

* ``sitemap``: an index points to sitemaps; the most recently modified
  ``sources.sitemap_children`` are read (an index of indexes is not followed further).
* ``telegram``: the preview shows the latest 20 or so posts. When none of them was seen before
  (a busy channel between two polls) the older pages are read too, up to
  ``sources.telegram_pages`` in all, so posts are not skipped; the first poll of a channel reads
  one page (its history is not news).

Only the first document is polled conditionally (its ETag / Last-Modified); a 304 ends the poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from monitor.config import FeedSource, Settings
from monitor.errors import FetchError, ParseError
from monitor.fetch.client import FEED_ACCEPT, PAGE_ACCEPT, Fetcher
from monitor.models import FetchResult, ParsedFeed, RawItem
from monitor.ops.metrics import METRICS
from monitor.parse.worker import FeedParsers

log = logging.getLogger(__name__)


@dataclass
class SourceRead:
    """The first document's answer (validators, server hints) and every item read."""

    result: FetchResult
    parsed: ParsedFeed | None            # None: not modified
    notes: list[str] = field(default_factory=list)


class SourceReader:
    """Reads sources for the pipeline and ``monitor feeds check``."""

    def __init__(self, settings: Settings, fetcher: Fetcher, parsers: FeedParsers,
                 clock: Callable[[], float]) -> None:
        self.settings, self.fetcher, self.parsers, self.clock = settings, fetcher, parsers, clock

    async def read(self, source: FeedSource, *, etag: str | None = None,
                   last_modified: str | None = None,
                   known: Callable[[list[RawItem]], bool] | None = None) -> SourceRead:
        """Fetch and parse ``source``. ``known(items)`` says whether any item was seen before
        (None: a first poll). Raises FetchError or ParseError for the source's own document."""
        result = await self.fetcher.get(source.feed_url, etag=etag, last_modified=last_modified,
                                        accept=_accept(source))
        METRICS.http_bytes.inc(len(result.body))
        if result.not_modified:
            return SourceRead(result, None)
        parsed = await self._parse(source, result)
        read = SourceRead(result, parsed)
        if source.type == "sitemap" and parsed.children:
            await self._children(source, read)
        elif source.type == "telegram" and known is not None:
            await self._older_pages(source, read, known)
        return read

    async def _parse(self, source: FeedSource, result: FetchResult) -> ParsedFeed:
        return await self.parsers.parse(
            result.body, source.name, result.final_url, result.headers.get("content-type"),
            kind=source.type, channel=source.channel, now=self.clock(),
            max_age_hours=source.max_age_hours)

    async def _children(self, source: FeedSource, read: SourceRead) -> None:
        """A sitemap index: its most recent sitemaps' items, as one list."""
        assert read.parsed is not None
        children = read.parsed.children[:self.settings.sources.sitemap_children]
        items: list[RawItem] = []
        errors: list[str] = []
        for url in children:
            try:
                child = await self.fetcher.get(url, accept=FEED_ACCEPT)
                METRICS.http_bytes.inc(len(child.body))
                parsed = await self._parse(source, child)
            except (FetchError, ParseError) as exc:
                errors.append(f"{url}: {exc}")
                continue
            if parsed.children:
                read.notes.append(f"{url} is an index itself: not followed")
            items.extend(parsed.items)
        if errors and len(errors) == len(children):
            raise ParseError(f"no sitemap of the index could be read: {errors[0]}")
        read.notes.extend(f"sitemap skipped: {e}" for e in errors)
        left = len(read.parsed.children) - len(children)
        if left:
            read.notes.append(f"{left} older sitemaps of the index not read")
        read.parsed = replace(read.parsed, items=_unique(items), children=())

    async def _older_pages(self, source: FeedSource, read: SourceRead,
                           known: Callable[[list[RawItem]], bool]) -> None:
        """A channel's older pages while every post on the page is new."""
        assert read.parsed is not None
        pages = [read.parsed.items]
        older = read.parsed.older_url
        # Asked once per page: each question is a query of the store.
        while older and pages[-1] and not known(pages[-1]):
            if len(pages) == self.settings.sources.telegram_pages:
                read.notes.append(f"more than {len(pages)} pages of new posts: older ones "
                                  "skipped")
                break
            try:
                page = await self._parse(source, await self.fetcher.get(older,
                                                                        accept=PAGE_ACCEPT))
            except (FetchError, ParseError) as exc:
                read.notes.append(f"older posts not read ({older}): {exc}")
                break
            pages.append(page.items)
            older = page.older_url
        items = [item for page in reversed(pages) for item in page]
        read.parsed = replace(read.parsed, items=_unique(items))


def _accept(source: FeedSource) -> str:
    return PAGE_ACCEPT if source.type == "telegram" else FEED_ACCEPT


def _unique(items: list[RawItem]) -> list[RawItem]:
    """Items of several documents, each identity once (an entry listed in two sitemaps)."""
    return list({item.identity: item for item in items}.values())
