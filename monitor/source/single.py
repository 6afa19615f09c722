"""One URL read the way its source would be, for ``monitor score URL``: an article page, a
Google News link (resolved to the publisher's page first) or a Telegram post link
(``https://t.me/NAME/ID``: the post's text, and its linked page when it has one).

Nothing is stored: links are resolved with a cache that lives as long as the command.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from monitor.config import Settings
from monitor.config_feeds import CHANNEL_PATTERN
from monitor.errors import SourceError
from monitor.extract.article import extract_article, fetch_article
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import PAGE_ACCEPT, Fetcher
from monitor.models import Article
from monitor.parse.telegram import is_telegram_host
from monitor.parse.worker import FeedParsers
from monitor.source.check import MemoryLinks
from monitor.source.google_news import GoogleNewsResolver, is_google_news_link

_POST_PATH = re.compile(rf"^/(?:s/)?({CHANNEL_PATTERN.strip('^$')})/(\d{{1,12}})/?$")


def telegram_post(url: str, base: str = "https://t.me") -> tuple[str, int] | None:
    """(channel, post id) of a Telegram post link, None for any other URL."""
    try:
        parts, home = urlsplit(url), urlsplit(base)
    except ValueError:
        return None
    if not is_telegram_host(parts.hostname) and parts.netloc.lower() != home.netloc.lower():
        return None
    match = _POST_PATH.match(parts.path)
    return (match.group(1), int(match.group(2))) if match else None


async def load_url(url: str, settings: Settings, *, fetcher: Fetcher | None = None,
                   extractor: ExtractorPool | None = None) -> tuple[str, str]:
    """(title, text) of what ``url`` points to, read as the pipeline reads its source. A running
    daemon passes its own ``fetcher`` and ``extractor`` (kept open); without them, ones that
    live as long as the call are made."""
    parsers = FeedParsers(settings.parse)
    own_extractor = extractor is None
    pool = ExtractorPool.from_settings(settings.extract, workers=1) if extractor is None \
        else extractor
    try:
        if fetcher is not None:
            return await _load(url, settings, fetcher, parsers, pool)
        async with Fetcher(settings.fetch) as own_fetcher:
            return await _load(url, settings, own_fetcher, parsers, pool)
    finally:
        if own_extractor:
            pool.close()
        parsers.close()


async def _load(url: str, settings: Settings, fetcher: Fetcher, parsers: FeedParsers,
                extractor: ExtractorPool) -> tuple[str, str]:
    post = telegram_post(url, settings.sources.telegram_base)
    if post is not None:
        return await _post(fetcher, parsers, extractor, settings, *post)
    if is_google_news_link(url, settings.sources.google_news_base):
        resolver = GoogleNewsResolver(fetcher, MemoryLinks(), settings.sources)
        answer = await resolver.resolve(url)
        if answer.url is None:
            raise SourceError(f"Google News link not resolved ({answer.outcome}): "
                              f"{answer.error}")
        url = answer.url
    extracted = await fetch_article(fetcher, extractor, url)
    return extracted.title or "", extracted.text


async def _post(fetcher: Fetcher, parsers: FeedParsers, extractor: ExtractorPool,
                settings: Settings, channel: str, post_id: int) -> tuple[str, str]:
    """A post from its channel's preview (the page of posts up to it), with its linked page."""
    preview = f"{settings.sources.telegram_base.rstrip('/')}/s/{channel}?before={post_id + 1}"
    page = await fetcher.get(preview, accept=PAGE_ACCEPT)
    parsed = await parsers.parse(page.body, channel, page.final_url,
                                 page.headers.get("content-type"), kind="telegram",
                                 channel=channel)
    item = next((i for i in parsed.items if (i.guid or "").endswith(f"/{post_id}")), None)
    if item is None:
        raise SourceError(f"post {post_id} is not in the public preview of channel {channel} "
                          "(deleted, or the channel is not public)")
    article = Article(0, item.url, item.title, item.summary, channel, page_url=item.page_url,
                      own_text=item.own_text)
    status, extracted, error = await extract_article(fetcher, extractor, article)
    article = article.with_page(status, extracted, error)
    return article.title, article.text
