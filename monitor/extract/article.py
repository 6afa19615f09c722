"""Fetching one article page and extracting it: used by the pipeline and ``monitor score URL``."""

from __future__ import annotations

from monitor.config import Settings
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.fetch.decode import decode_html
from monitor.models import Extracted


async def fetch_article(fetcher: Fetcher, extractor: ExtractorPool, url: str) -> Extracted:
    """Fetch, decode and extract one page. Raises FetchError or an extraction error."""
    page = await fetcher.get(url)
    html = decode_html(page.body, page.headers.get("content-type"))
    return await extractor.extract(html, page.final_url)


async def fetch_and_extract(url: str, settings: Settings) -> tuple[str, str]:
    """(title, text) of the page at ``url``, with a client and extractor of its own."""
    extractor = ExtractorPool(0, settings.extract.timeout_seconds)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            extracted = await fetch_article(fetcher, extractor, url)
    finally:
        extractor.close()
    return extracted.title or "", extracted.text
