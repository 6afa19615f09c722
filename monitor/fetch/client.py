"""The shared HTTP client: per-host politeness, a total deadline, caps, conditional GET, form POST.

One :class:`Fetcher` per event loop (httpx clients stick to the loop that first used them).
Every failure comes out as a :class:`~monitor.errors.FetchError` subclass whose ``kind`` is
stored on the feed or article.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import defaultdict

import httpx

from monitor.config import FetchSettings
from monitor.errors import BlockedAddress, FetchError, FetchTimeout, HTTPStatusError
from monitor.fetch.body import ACCEPT_ENCODING, read_capped
from monitor.fetch.guard import AllowList, guarded_transport, valid_port
from monitor.fetch.translate import TRANSLATED, translate
from monitor.models import FetchResult

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
               "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


class Fetcher:
    """Fetches URLs with the configured limits. Use as ``async with Fetcher(settings) as f``."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        limits = httpx.Limits(max_connections=settings.max_connections,
                              max_keepalive_connections=min(20, settings.max_connections))
        self._client = httpx.AsyncClient(
            transport=guarded_transport(AllowList(settings.allow_addresses), limits),
            timeout=httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                                  write=settings.read_timeout, pool=settings.total_timeout),
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING,
                     "Accept-Language": "ar, en;q=0.5"},
            trust_env=False,
        )
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_host_concurrency))

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  accept: str = PAGE_ACCEPT, max_bytes: int | None = None) -> FetchResult:
        """GET ``url``; 200 → body, 304 → empty body. Raises a :class:`FetchError` subclass."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._request("GET", url, headers, max_bytes, None)

    async def post(self, url: str, *, data: dict[str, str], accept: str = "*/*",
                   max_bytes: int | None = None) -> FetchResult:
        """POST ``data`` form-encoded to ``url``; a 2xx answer → its body. Same guards, per-host
        limit, deadline and cap as :meth:`get`; raises a :class:`FetchError` subclass."""
        return await self._request("POST", url, {"Accept": accept}, max_bytes, data)

    async def _request(self, method: str, url: str, headers: dict[str, str],
                       max_bytes: int | None, data: dict[str, str] | None) -> FetchResult:
        parsed = check_scheme(url)
        # Per origin (host and port), as the page slots are: two sites never share a limit.
        host = f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
        cap = max_bytes or self.settings.max_body_bytes
        started = time.monotonic()
        async with self._hosts[host]:
            try:
                async with asyncio.timeout(self.settings.total_timeout):
                    return await self._exchange(method, url, parsed, headers, data, cap, started)
            except TimeoutError as exc:
                raise FetchTimeout(f"no complete answer within {self.settings.total_timeout:g} s",
                                   url=url) from exc
            except FetchError:
                raise
            except TRANSLATED as exc:
                raise translate(exc, url, max_redirects=self.settings.max_redirects) from exc

    async def _exchange(self, method: str, url: str, parsed: httpx.URL, headers: dict[str, str],
                        data: dict[str, str] | None, cap: int, started: float) -> FetchResult:
        # The URL already parsed by check_scheme: httpx keeps it as is instead of parsing again.
        async with self._client.stream(method, parsed, headers=headers, data=data) as resp:
            final = str(resp.url)
            if resp.status_code == 304 and method == "GET":
                # Reading the (empty) body completes the exchange so the connection goes back
                # to the pool; closing it unread made every unchanged poll open a new one.
                await read_capped(resp, cap, url)
                return FetchResult(url, final, 304, b"", _headers(resp), time.monotonic() - started)
            if not 200 <= resp.status_code < 300:
                raise HTTPStatusError(f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip(),
                                      url=url, status=resp.status_code,
                                      retry_after=retry_after_seconds(resp.headers.get("retry-after")))
            body = await read_capped(resp, cap, url)
            return FetchResult(url, final, resp.status_code, body, _headers(resp),
                               time.monotonic() - started)


def check_scheme(url: str) -> httpx.URL:
    """Only http(s) URLs with a host and a valid port are fetched; returns the parsed URL."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host      # decodes IDNA: idna's UnicodeError for "xn--ls8h.example"
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise BlockedAddress(f"refused: invalid URL ({exc})", url=url) from exc
    if parsed.scheme not in ("http", "https") or not host:
        raise BlockedAddress("refused: only http(s) URLs are fetched", url=url)
    if parsed.port is not None and not valid_port(parsed.port):
        raise BlockedAddress(f"refused: invalid URL (port {parsed.port})", url=url)
    return parsed


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _headers(resp: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in resp.headers.items()}
