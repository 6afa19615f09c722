"""Fetching one article page and extracting it: used by the pipeline and ``monitor score URL``."""

from __future__ import annotations

from monitor.config import Settings
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.fetch.decode import decode_html
from monitor.models import Extracted, FetchResult


async def fetch_article(fetcher: Fetcher, extractor: ExtractorPool, url: str) -> Extracted:
    """Fetch, decode and extract one page. Raises FetchError or an ExtractionError."""
    # Neither the body nor the whole decoded page is kept by this frame while the page is
    # extracted: the extractor drops what is over its caps (up to 8 pages are in flight).
    return await extractor.extract(*_decoded(await fetcher.get(url)))


def _decoded(page: FetchResult) -> tuple[str, str]:
    return decode_html(page.body, page.headers.get("content-type")), page.final_url


async def fetch_and_extract(url: str, settings: Settings) -> tuple[str, str]:
    """(title, text) of the page at ``url``, with a client and extractor of its own.

    The extractor is always a worker process, whatever ``extract.workers`` says: a page over
    the time limit is then killed, not left running in a thread the command must wait for."""
    extractor = ExtractorPool.from_settings(settings.extract, workers=1)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            extracted = await fetch_article(fetcher, extractor, url)
    finally:
        extractor.close()
    return extracted.title or "", extracted.text
