"""Fetch one article URL and extract it, outside the pipeline (for ``monitor score URL``)."""

from __future__ import annotations

from monitor.config import Settings
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.fetch.decode import decode_html


async def fetch_and_extract(url: str, settings: Settings) -> tuple[str, str]:
    """(title, text) of the page at ``url``; raises FetchError or an extraction error."""
    extractor = ExtractorPool(0, settings.extract.timeout_seconds)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            page = await fetcher.get(url)
            html = decode_html(page.body, page.headers.get("content-type"))
            extracted = await extractor.extract(html, page.final_url)
    finally:
        extractor.close()
    return extracted.title or "", extracted.text
