"""Records passed between stages. Frozen: a stage never mutates what an earlier one produced.

FeedSource (config) → FetchResult (fetch) → RawItem (parse) → article row → :class:`Article`
(the pending article, then the same record with its page's text: title, text and outlet chosen
once) → score (match) → story placement (dedupe) → alert plan (alert) → one transaction (store).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class PollOutcome(StrEnum):
    """What happened to one feed in one poll; stored as ``feeds.last_status``."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


class ExtractionStatus(StrEnum):
    """How an article's text was obtained; stored as ``articles.extraction_status``."""

    PENDING = "pending"                  # recorded, page not processed yet (resumed after a crash)
    EXTRACTED = "extracted"              # trafilatura gave the main text
    FALLBACK_FETCH = "fallback_fetch"    # page could not be fetched: feed title + summary used
    FALLBACK_EMPTY = "fallback_empty"    # page fetched but no text found: title + summary used
    FALLBACK_TIMEOUT = "fallback_timeout"  # extraction exceeded its time limit
    FALLBACK_BLOCKED = "fallback_blocked"  # link refused (scheme or non-public address)
    FALLBACK_FAILED = "fallback_failed"    # extraction failed: worker out of memory or dead
    SOURCE_TEXT = "source_text"          # the item's own text is the article (a channel post)
    DUPLICATE = "duplicate"              # its resolved link is an article stored already

    @property
    def is_fallback(self) -> bool:
        return self.value.startswith("fallback")


@dataclass(frozen=True)
class FetchResult:
    """An HTTP answer whose body was read within the caps."""

    url: str
    final_url: str
    status: int
    body: bytes
    headers: dict[str, str]
    elapsed: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class RawItem:
    """One feed entry, cleaned: plain-text title and summary, canonical link, stable identity."""

    identity: str
    url: str | None
    guid: str | None
    title: str
    summary: str
    published: datetime | None
    author: str | None
    tags: tuple[str, ...] = ()
    key: str = ""                     # content key: tells apart items sharing a guid or a link
    base_identity: str | None = None  # the identity before it was made unique (parse.identity)
    outlet: str | None = None         # who published it, as the source says (<source>, channel)
    page_url: str | None = None       # the page to fetch when it is not ``url`` (a post's link)
    own_text: bool = False            # the item's text is the article (a channel post)


@dataclass(frozen=True)
class ParsedFeed:
    """The items of one feed body, plus a note when the feed was malformed but partly usable."""

    items: list[RawItem]
    title: str | None
    bozo_error: str | None
    ttl_minutes: int | None = None
    older_url: str | None = None          # the page of older items (a channel's ?before=)
    children: tuple[str, ...] = ()        # documents this one points to (a sitemap index)
    format: str | None = None             # what the body turned out to be ("rss20", "atom10" …)


@dataclass(frozen=True)
class ParseRequest:
    """One body to parse, and how: the source's type decides the parser."""

    body: bytes
    feed_name: str
    final_url: str
    content_type: str | None
    kind: str = "rss"                 # FeedSource.type
    channel: str | None = None        # telegram
    now: float = 0.0                  # sitemap: what "recent" is measured from
    max_age_hours: float = 48.0       # sitemap: older entries are left out


@dataclass(frozen=True)
class Extracted:
    """What trafilatura found on an article page (text may be empty)."""

    title: str | None
    text: str
    published: str | None
    author: str | None
    language: str | None
    sitename: str | None = None
    fingerprint: Any = None      # monitor.dedupe.fingerprint.Fingerprint of the body (worker-made)
    note: str | None = None      # set when only part of the page went to extraction (its caps)


@dataclass
class CycleStats:
    """What one poll cycle did: the per-feed reports; totals are derived from them."""

    per_feed: list[FeedReport] = field(default_factory=list)
    sent: int = 0     # alerts delivered right after the cycle (``monitor once``)

    def add(self, report: FeedReport) -> None:
        self.per_feed.append(report)

    def _count(self, outcome: PollOutcome) -> int:
        return sum(1 for r in self.per_feed if r.outcome is outcome)

    def _sum(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.per_feed)

    feeds_ok = property(lambda self: self._count(PollOutcome.OK))
    feeds_not_modified = property(lambda self: self._count(PollOutcome.NOT_MODIFIED))
    feeds_failed = property(lambda self: self._count(PollOutcome.FAILED))
    new_items = property(lambda self: self._sum("new_items"))
    duplicates = property(lambda self: self._sum("duplicates"))
    extracted = property(lambda self: self._sum("extracted"))
    fallback = property(lambda self: self._sum("fallback"))
    failed = property(lambda self: self._sum("failed"))
    alerts = property(lambda self: self._sum("alerts"))
    deferred = property(lambda self: self._sum("deferred"))


@dataclass
class FeedReport:
    """What one poll of one feed did."""

    feed: str
    outcome: PollOutcome
    new_items: int = 0
    duplicates: int = 0
    extracted: int = 0
    fallback: int = 0
    failed: int = 0
    alerts: int = 0
    deferred: int = 0      # pending pages left for the next poll (budget, skipped host)
    edited: int = 0        # posts seen before whose text was edited
    resolved: int = 0      # aggregator links resolved to the publisher's
    unresolved: int = 0    # aggregator links not resolved (deferred or given up)
    error: str | None = None
    error_kind: str | None = None
    note: str | None = None
    link_note: str | None = None   # why links were not resolved, for the feed's health

    def count_link(self, outcome: str, note: str | None) -> None:
        """Count one aggregator link's resolution (monitor.source.links.LinkOutcome)."""
        if outcome in ("resolved", "duplicate"):
            self.resolved += 1
        else:
            self.unresolved += 1
            self.link_note = f"links unresolved: {self.unresolved} ({note})"


@dataclass(frozen=True)
class Article:
    """One article on its way from its feed item to its alerts.

    Recorded from a feed item (id, link, the feed's title and summary), then given its page by
    :meth:`with_page`: the extraction outcome and, chosen once, the title, text and outlet that
    scoring, story placement and alerts all use.
    """

    id: int
    url: str | None
    feed_title: str
    feed_summary: str
    feed_name: str
    published_at: float | None = None
    first_seen_at: float = 0.0
    status: ExtractionStatus = ExtractionStatus.PENDING
    extracted: Extracted | None = None
    error: str | None = None
    source_outlet: str | None = None   # the publisher as the source names it
    page_url: str | None = None        # the page to fetch, when it is not ``url``
    own_text: bool = False             # the feed text is the article (a channel post)
    source_link: str | None = None     # the aggregator link ``url`` was resolved from
    title: str = ""
    text: str = ""
    outlet: str = ""

    @property
    def fetch_url(self) -> str | None:
        """The page that holds the article's text: a post's linked page, else its link; none
        for a post without a link (its text is the article)."""
        return self.page_url or (None if self.own_text else self.url)

    def with_page(self, status: ExtractionStatus, extracted: Extracted | None,
                  error: str | None, published: float | None = None) -> Article:
        """The article with its extraction outcome. The page's text when extraction worked,
        else the feed's summary; a post keeps its own text before its linked page's. The
        publisher the source names, else the page's site name, else the feed's name."""
        page = extracted if extracted is not None and not status.is_fallback else None
        text = self.feed_summary
        if page is not None:
            text = f"{self.feed_summary}\n\n{page.text}" if self.own_text else page.text
        own_title = self.own_text and self.feed_title
        return replace(
            self, status=status, extracted=extracted, error=error,
            title=(self.feed_title if own_title or not (extracted and extracted.title)
                   else extracted.title),
            text=text,
            outlet=(self.source_outlet or (extracted.sitename if extracted else None)
                    or self.feed_name),
            published_at=self.published_at or published)

    @property
    def page_fingerprint(self) -> Any:
        """The fingerprint the extraction worker made, when the text is that page's text."""
        e = self.extracted
        return e.fingerprint if e is not None and self.text == e.text else None
