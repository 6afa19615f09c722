"""httpx's exceptions as project errors: one table, every class of httpx named in it.

Modelled on httpx's own ``map_httpcore_exceptions`` (``httpx/_transports/default.py``): the most
derived class of the table that the exception is an instance of decides. httpx raises some
errors that are not ``httpx.HTTPError`` (``InvalidURL`` for ``Location: javascript:alert(1)``,
the ``StreamError`` family, ``CookieConflict``), and its URL parser lets the ``idna`` package's
``UnicodeError`` out for a host name such as ``xn--ls8h.example`` or ``a..b``. Each escaped the
fetcher as a crashed poll; here each becomes the :class:`~monitor.errors.FetchError` whose ``kind``
is stored on the feed or article. ``tests/hostile/test_ingest_fetch.py`` fails when an httpx
upgrade adds a class that is not in :data:`HTTPX_ERRORS`. Its sibling for python-telegram-bot is
``monitor/deliver/translate.py``; the tree both translate into is ``monitor/errors.py``.
"""

from __future__ import annotations

import httpx

from monitor.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkFailure,
    TooManyRedirects,
    UnsupportedEncoding,
)

#: httpx exception class → (project error, what the message says before the detail).
HTTPX_ERRORS: dict[type[Exception], tuple[type[FetchError], str]] = {
    httpx.HTTPError: (FetchError, "HTTP error"),
    httpx.RequestError: (NetworkFailure, "request failed"),
    httpx.TransportError: (NetworkFailure, "transport error"),
    httpx.TimeoutException: (FetchTimeout, "timed out"),
    httpx.ConnectTimeout: (FetchTimeout, "timed out connecting"),
    httpx.ReadTimeout: (FetchTimeout, "timed out reading"),
    httpx.WriteTimeout: (FetchTimeout, "timed out writing"),
    httpx.PoolTimeout: (FetchTimeout, "timed out waiting for a connection"),
    httpx.NetworkError: (NetworkFailure, "network error"),
    httpx.ConnectError: (NetworkFailure, "cannot connect"),
    httpx.ReadError: (NetworkFailure, "read failed"),
    httpx.WriteError: (NetworkFailure, "write failed"),
    httpx.CloseError: (NetworkFailure, "close failed"),
    httpx.ProtocolError: (NetworkFailure, "protocol error"),
    httpx.LocalProtocolError: (NetworkFailure, "protocol error (request)"),
    httpx.RemoteProtocolError: (NetworkFailure, "protocol error (answer)"),
    httpx.ProxyError: (NetworkFailure, "proxy error"),
    httpx.UnsupportedProtocol: (BlockedAddress, "refused: redirect to a non-http(s) URL"),
    httpx.DecodingError: (UnsupportedEncoding, "undecodable body"),
    httpx.TooManyRedirects: (TooManyRedirects, "too many redirects"),
    httpx.HTTPStatusError: (HTTPStatusError, "HTTP error status"),
    # The URL asked for is checked before (check_scheme): this one is a redirect target.
    httpx.InvalidURL: (BlockedAddress, "refused: redirect to an invalid URL"),
    httpx.CookieConflict: (NetworkFailure, "conflicting cookies"),
    httpx.StreamError: (NetworkFailure, "stream error"),
    httpx.StreamConsumed: (NetworkFailure, "stream error"),
    httpx.StreamClosed: (NetworkFailure, "stream error"),
    httpx.ResponseNotRead: (NetworkFailure, "stream error"),
    httpx.RequestNotRead: (NetworkFailure, "stream error"),
    # Not httpx's own: the idna codec rejecting a host name while httpx parses a URL.
    UnicodeError: (BlockedAddress, "refused: invalid host name in URL"),
}

#: What ``Fetcher.get`` catches around httpx: every class above.
TRANSLATED = tuple(HTTPX_ERRORS)


def translate(exc: Exception, url: str, *, max_redirects: int) -> FetchError:
    """The project error for ``exc`` (an instance of a class in :data:`HTTPX_ERRORS`)."""
    error, what = _lookup(type(exc))
    if error is TooManyRedirects:
        return TooManyRedirects(f"more than {max_redirects} redirects", url=url)
    if error is FetchTimeout:
        return FetchTimeout(f"{what} ({type(exc).__name__})", url=url)
    status = None
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
    detail = str(exc)[:300] or type(exc).__name__
    return error(f"{what} ({type(exc).__name__}: {detail})", url=url, status=status)


def _lookup(cls: type[Exception]) -> tuple[type[FetchError], str]:
    # The most derived listed class wins, as in httpx's map_httpcore_exceptions.
    for base in cls.__mro__:
        if base in HTTPX_ERRORS:
            return HTTPX_ERRORS[base]
    raise TypeError(f"{cls.__name__} is not an error httpx raises")
