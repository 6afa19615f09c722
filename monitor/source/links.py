"""An article's link as its source gave it → the link of the page that holds its text.

A Google News item links to ``news.google.com/rss/articles/<id>``, a JavaScript page with no
article in it: the link is resolved to the publisher's URL (:mod:`monitor.source.google_news`)
before the page is fetched, so the article is read, alerted and grouped into stories under the
publisher's URL, and an article already stored under that URL (the outlet's own feed had it
first) is recognised as the same article. Every other link is kept as it is.

Nothing here drops an article. A resolution that failed for a passing reason (Google throttling,
the network) leaves the article pending for its feed's next poll, until
``extract.max_defer_seconds``; one Google no longer answers in a form we can read (its format
changed) is scored at once on its headline and summary, and the feed's health says
"links unresolved".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from monitor.config import Settings
from monitor.models import Article
from monitor.parse.urls import canonical_url
from monitor.source.google_news import GoogleNewsResolver, is_google_news_link
from monitor.store import articles as article_store
from monitor.store.db import Database


class LinkOutcome(StrEnum):
    """What resolving an article's link decided."""

    KEPT = "kept"                # not an aggregator link: fetched as it is
    RESOLVED = "resolved"        # the publisher's URL replaces the aggregator's
    DEFERRED = "deferred"        # not resolved this time (throttled, offline): try next poll
    UNRESOLVED = "unresolved"    # cannot be resolved: score the headline and summary now
    DUPLICATE = "duplicate"      # the publisher's URL is an article stored already


@dataclass(frozen=True)
class ResolvedLink:
    """The article (with its new URL when resolved), and why."""

    article: Article
    outcome: LinkOutcome
    note: str | None = None
    duplicate_of: int | None = None


class SourceLinks:
    """Resolves the aggregator links of pending articles (one per pipeline)."""

    def __init__(self, settings: Settings, db: Database, resolver: GoogleNewsResolver,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings, self.db, self.resolver, self.clock = settings, db, resolver, clock

    async def resolve(self, article: Article) -> ResolvedLink:
        """The article's link, resolved when it is an aggregator's."""
        base = self.settings.sources.google_news_base
        if not article.url or not is_google_news_link(article.url, base):
            return ResolvedLink(article, LinkOutcome.KEPT)
        answer = await self.resolver.resolve(article.url)
        if answer.url is None:
            note = answer.error or answer.outcome
            waited = self.clock() - article.first_seen_at
            if answer.outcome == "failed" and waited <= self.settings.extract.max_defer_seconds:
                return ResolvedLink(article, LinkOutcome.DEFERRED, note)
            return ResolvedLink(article, LinkOutcome.UNRESOLVED, note)
        # Spelled as a feed's link is (monitor.parse.urls): the outlet's own feed stored the
        # article under that spelling, without the tracking parameters either side adds.
        url = canonical_url(answer.url) or answer.url
        existing = article_store.article_with_url(self.db, url, exclude=article.id)
        resolved = replace(article, url=url, source_link=article.url)
        if existing is not None:
            return ResolvedLink(resolved, LinkOutcome.DUPLICATE, duplicate_of=existing)
        return ResolvedLink(resolved, LinkOutcome.RESOLVED)
