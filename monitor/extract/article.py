"""Fetching one article page and extracting it: used by the pipeline and ``monitor score URL``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from monitor.errors import BlockedAddress, ExtractionError, ExtractionTimeout, FetchError
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.fetch.decode import decode_html
from monitor.models import Article, Extracted, ExtractionStatus, FetchResult
from monitor.parse.identity import is_shared_page

log = logging.getLogger(__name__)

Outcome = tuple[ExtractionStatus, Extracted | None, str | None]


async def extract_article(fetcher: Fetcher, extractor: ExtractorPool, article: Article,
                          host_outcome: Callable[[str | None, FetchError | None], None]
                          | None = None) -> Outcome:
    """The article's page, extracted, as (status, what was extracted, the reason of a
    fallback). Every failure becomes a fallback status; ``host_outcome`` (when given) hears
    whether the article's host answered (for its circuit breaker)."""
    host_outcome = host_outcome or _ignore
    url = article.fetch_url
    if not url:
        if article.own_text:
            return ExtractionStatus.SOURCE_TEXT, None, None
        return ExtractionStatus.FALLBACK_FETCH, None, "item has no link"
    if is_shared_page(url):
        return (ExtractionStatus.FALLBACK_FETCH, None,
                "link shared by several items of the feed: its page is not this item's text")
    try:
        extracted = await fetch_article(fetcher, extractor, url)
    except BlockedAddress as exc:
        log.warning("article link refused article_id=%d url=%s: %s", article.id, url, exc)
        return ExtractionStatus.FALLBACK_BLOCKED, None, str(exc)
    except FetchError as exc:
        log.info("article fetch failed article_id=%d url=%s kind=%s", article.id, url, exc.kind)
        host_outcome(url, exc)
        return ExtractionStatus.FALLBACK_FETCH, None, f"{exc.kind}: {exc}"
    except ExtractionTimeout as exc:
        host_outcome(url, None)      # the page arrived: the host is fine
        return ExtractionStatus.FALLBACK_TIMEOUT, None, str(exc)
    except ExtractionError as exc:      # out of memory, worker died, trafilatura raised
        host_outcome(url, None)
        return ExtractionStatus.FALLBACK_FAILED, None, str(exc)
    host_outcome(url, None)
    return _judged(article, extracted)


def _ignore(_url: str | None, _error: FetchError | None) -> None:
    """No circuit breaker to tell (a one-off read: ``monitor score``, ``feeds check``)."""


def _judged(article: Article, extracted: Extracted) -> Outcome:
    """Extracted, or a fallback when the page had no text or less than the feed summary."""
    if not extracted.text:    # the note says when only part of the page was searched
        return (ExtractionStatus.FALLBACK_EMPTY, extracted,
                "; ".join(filter(None, ["no main text found on the page", extracted.note])))
    if extracted.note and len(extracted.text) < len(article.feed_summary):
        return (ExtractionStatus.FALLBACK_EMPTY, extracted,
                f"less text on the cut page than in the feed summary; {extracted.note}")
    return ExtractionStatus.EXTRACTED, extracted, extracted.note


async def fetch_article(fetcher: Fetcher, extractor: ExtractorPool, url: str) -> Extracted:
    """Fetch, decode and extract one page. Raises FetchError or an ExtractionError."""
    # Neither the body nor the whole decoded page is kept by this frame while the page is
    # extracted: the extractor drops what is over its caps (up to 8 pages are in flight).
    return await extractor.extract(*_decoded(await fetcher.get(url)))


def _decoded(page: FetchResult) -> tuple[str, str]:
    return decode_html(page.body, page.headers.get("content-type")), page.final_url
