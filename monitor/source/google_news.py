"""Google News RSS item links turned into the publisher's URL.

Item links look like ``https://news.google.com/rss/articles/<id>?oc=5``. Since mid-2024 they
answer with a JavaScript page rather than a redirect, so the article cannot be fetched from them.
:class:`GoogleNewsResolver` tries, in order: the cache; the id itself (older ids carry the URL);
Google's own two-step exchange (article page, then one batchexecute POST) through our
:class:`~monitor.fetch.client.Fetcher`, so its address checks, caps, deadline and per-host limit
apply. The protocol is read from SSujitX's googlenewsdecoder; see
:mod:`monitor.source.google_news_wire` for the details and the credit.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from monitor.config import SourceSettings
from monitor.errors import FetchError, ParseError
from monitor.fetch.client import PAGE_ACCEPT, Fetcher
from monitor.source.google_news_wire import (
    BATCHEXECUTE_PATH,
    ID_PATTERN,
    MAX_ID_LENGTH,
    Refusal,
    decode_offline,
    read_answer,
    read_signature,
    request_form,
)

__all__ = ["GoogleNewsResolver", "LinkCache", "Outcome", "Resolution", "TokenBucket",
           "article_id", "decode_offline", "is_google_news_link"]

log = logging.getLogger(__name__)

Outcome = Literal["offline", "exchanged", "cached", "failed", "format_changed"]
_PATH = re.compile(r"/(?:rss/articles|articles|read)/([^/]+)/?")
# google.com, news.google.com, google.de, google.co.uk, google.com.eg ...
_GOOGLE_HOST = re.compile(r"(?:^|\.)google(?:\.com?)?\.[a-z]{2,3}$")
# The code of an error row looks like a google.rpc.Code (undocumented here): these say "later"
# (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE), the others "never".
_TRANSIENT_CODES = {4, 8, 10, 13, 14}
_ANSWER_CAP = 256_000
_MAX_URL = 8192
_DEFAULT_PAUSE = 60.0


@dataclass(frozen=True)
class Resolution:
    """What became of one link. ``url`` is the publisher's URL when resolved. ``outcome``:
    ``offline`` (read from the id), ``exchanged`` (asked Google), ``cached``; ``failed`` is
    transient (network, 429, 5xx: try again later, nothing was cached); ``format_changed`` means
    the link or Google's answer is not in a shape we can read: retrying will not help until this
    code is updated. ``error`` says what went wrong, in words."""

    url: str | None
    outcome: Outcome
    error: str | None = None


class LinkCache(Protocol):
    """Where resolutions are kept (:class:`monitor.store.links.StoredLinkCache`)."""

    def get(self, link: str) -> str | None: ...

    def put(self, link: str, resolved: str, now: float) -> None: ...


def article_id(url: str) -> str | None:
    """The article id of a ``/rss/articles/<id>``, ``/articles/<id>`` or ``/read/<id>`` URL
    (any host: see :func:`is_google_news_link`), or None. Never raises."""
    if not isinstance(url, str):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:          # e.g. an unclosed IPv6 bracket
        return None
    match = _PATH.fullmatch(path)
    if match is None:
        return None
    found = match.group(1)
    if len(found) > MAX_ID_LENGTH or not ID_PATTERN.fullmatch(found):
        return None
    return found


def is_google_news_link(url: str, base: str) -> bool:
    """Whether ``url`` is a Google News article link, on news.google.com or on ``base`` (the
    configured Google News address)."""
    origin = _origin(url)
    if origin is None or article_id(url) is None:
        return False
    return origin[1] == "news.google.com" or origin == _origin(base)


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, or None."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:          # an unclosed IPv6 bracket, a port that is not a number
        return None
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


class TokenBucket:
    """At most ``per_minute`` takes a minute, ``burst`` at once; :meth:`take` waits for a token
    (asynchronously, in arrival order) instead of failing. ``clock`` and ``sleep`` are injectable
    so tests can count waits without waiting."""

    def __init__(self, per_minute: float, *, burst: float = 1.0,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self._tokens = burst
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._lock = asyncio.Lock()

    async def take(self) -> float:
        """Wait for one token; returns the seconds waited (by the clock)."""
        async with self._lock:
            started = self._clock()
            while True:
                now = self._clock()
                # max(): a wall clock set back must not drain the bucket.
                gained = max(0.0, now - self._last) * self.rate
                self._tokens = min(self.burst, self._tokens + gained)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return now - started
                await self._sleep((1.0 - self._tokens) / self.rate)


class GoogleNewsResolver:
    """Resolves Google News item links: cache, then the id itself, then Google's exchange.

    One per process, shared by every Google News feed: the rate limit (a token bucket of
    ``settings.resolve_per_minute``, burst 1 because Google throttles bursts) and the pause after
    an HTTP 429 are Google's, not a feed's. Concurrent resolutions of one link share one exchange.
    """

    def __init__(self, fetcher: Fetcher, cache: LinkCache, settings: SourceSettings,
                 clock: Callable[[], float] = time.time, *,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.fetcher, self.cache, self.settings, self.clock = fetcher, cache, settings, clock
        self.base = settings.google_news_base.rstrip("/")
        self.bucket = TokenBucket(settings.resolve_per_minute, clock=clock, sleep=sleep)
        self._paused_until = 0.0
        self._last_warning: str | None = None
        self._inflight: dict[str, asyncio.Future[Resolution]] = {}

    def cache_cutoff(self) -> float:
        """Resolutions made before this time are older than ``resolve_cache_days``: what
        housekeeping passes to :func:`monitor.store.links.prune_links`."""
        return self.settings.resolutions_kept_since(self.clock())

    async def resolve(self, url: str) -> Resolution:
        """The publisher URL behind a Google News item link. Never raises for bad input."""
        link_id = article_id(url) if is_google_news_link(url, self.base) else None
        if link_id is None:
            return Resolution(None, "format_changed",
                              f"not a Google News article link: {str(url)[:200]!r}")
        # One key per article, whatever the host or query string (?oc=5, hl=…) of the link.
        key = f"https://news.google.com/rss/articles/{link_id}"
        cached = self.cache.get(key)
        if cached is not None:
            return Resolution(cached, "cached")
        offline = decode_offline(link_id)
        if offline is not None:
            # Not cached: decoding is a pure function, cheaper than the row it would cost.
            return self._accept(offline, "offline", url)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._exchange(key, link_id, url))
            self._inflight[key] = task
            task.add_done_callback(lambda _done: self._inflight.pop(key, None))
        # shield: one waiter cancelled (its poll timed out) must not cancel the others' exchange.
        return await asyncio.shield(task)

    async def _exchange(self, key: str, link_id: str, url: str) -> Resolution:
        if (paused := self._pause_left()) is not None:
            return paused
        await self.bucket.take()
        if (paused := self._pause_left()) is not None:
            return paused
        try:
            page = await self.fetcher.get(self._page_url(link_id, url), accept=PAGE_ACCEPT)
            signature, stamp = read_signature(page.body)
            answer = await self.fetcher.post(self.base + BATCHEXECUTE_PATH,
                                             data=request_form(link_id, stamp, signature),
                                             accept="*/*", max_bytes=_ANSWER_CAP)
            found = read_answer(answer.body)
        except FetchError as exc:
            if exc.status == 429:
                wait = exc.retry_after if exc.retry_after is not None else _DEFAULT_PAUSE
                self._paused_until = max(self._paused_until, self.clock() + wait)
            log.info("google news link not resolved (will retry) url=%s: %s", url, exc)
            return Resolution(None, "failed", str(exc))
        except ParseError as exc:
            return self._format_changed(url, str(exc))
        if isinstance(found, Refusal):
            code = "without a code" if found.code is None else f"error code {found.code}"
            why = f"Google refused the exchange (batchexecute {code})"
            if found.code in _TRANSIENT_CODES:
                return Resolution(None, "failed", why)
            return self._format_changed(url, why)
        resolution = self._accept(found, "exchanged", url)
        if resolution.url is not None:
            self.cache.put(key, resolution.url, self.clock())
        return resolution

    def _pause_left(self) -> Resolution | None:
        left = self._paused_until - self.clock()
        if left <= 0:
            return None
        return Resolution(None, "failed", f"Google answered HTTP 429: no exchange for {left:.0f} s")

    def _page_url(self, link_id: str, url: str) -> str:
        # The RSS form of the page with a locale: the maintained decoder found that /articles/
        # and /read/ send non-browser clients to a "sorry" page. The link's locale when it has one.
        query = parse_qs(urlsplit(url).query)
        hl, gl, ceid = (query.get(k, [d])[0] for k, d in
                        (("hl", "en-US"), ("gl", "US"), ("ceid", "US:en")))
        return (f"{self.base}/rss/articles/{link_id}?hl={quote(hl, safe='')}"
                f"&gl={quote(gl, safe='')}&ceid={quote(ceid, safe='')}")

    def _accept(self, resolved: str, outcome: Outcome, url: str) -> Resolution:
        problem = self._problem(resolved)
        if problem:
            return self._format_changed(url, problem)
        return Resolution(resolved, outcome)

    def _problem(self, resolved: str) -> str | None:
        """Why ``resolved`` cannot be the publisher's URL, or None."""
        shown = repr(resolved[:200])
        if len(resolved) > _MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in resolved):
            return f"resolved URL is not a plain URL: {shown}"
        origin = _origin(resolved)
        if origin is None:
            return f"resolved URL is not http(s): {shown}"
        # Another article link of the base is a loop; its other pages may be the publisher's (the
        # demo serves both from one address).
        if (_GOOGLE_HOST.search(origin[1].rstrip(".").lower())
                or is_google_news_link(resolved, self.base)):
            return f"resolved URL points back to Google: {shown}"
        return None

    def _format_changed(self, url: str, error: str) -> Resolution:
        # A WARNING, but not one per link: after a change of Google's every link of every poll
        # fails the same way until this code follows it.
        level = logging.DEBUG if error == self._last_warning else logging.WARNING
        self._last_warning = error
        log.log(level, "google news link not resolved, format changed url=%s: %s", url, error)
        return Resolution(None, "format_changed", error)
