"""The exception tree. Each stage translates foreign errors into one of these at its boundary.

    MonitorError                 anything this program reports to a user
    ├── ConfigError              bad configuration (file, key, line, reason)
    ├── RulesError               bad rule file (file, line, reason)
    ├── FetchError               an HTTP fetch failed; ``kind`` is stored on the feed
    │   ├── FetchTimeout         connect/read timeout or the total deadline
    │   ├── BodyTooLarge         body (or decompressed body) over the cap
    │   ├── BlockedAddress       URL scheme refused or host resolves to a non-public address
    │   ├── HTTPStatusError      a non-2xx/304 answer
    │   ├── TooManyRedirects     redirect loop or chain over the limit
    │   ├── UnsupportedEncoding  a Content-Encoding we refuse to inflate (br, zstd, ...)
    │   └── NetworkFailure       DNS, refused connection, reset, protocol error
    ├── ParseError               the feed body is not a feed at all
    ├── ExtractionError          an article page could not be extracted (trafilatura raised)
    │   ├── ExtractionTimeout    over ``extract.timeout_seconds``: the worker was killed
    │   └── ExtractionCrashed    the worker ran out of memory, died or could not start
    └── StoreError               the state database is unusable
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error this program reports; ``kind`` is a short stable tag stored in state."""

    kind = "error"


class ConfigError(MonitorError):
    """The configuration is invalid. The message names the file, the key and, when known, the line."""

    kind = "config"

    def __init__(self, reason: str, *, file: str | None = None, key: str | None = None,
                 line: int | None = None) -> None:
        self.reason, self.file, self.key, self.line = reason, file, key, line
        where = file or "<configuration>"
        if line is not None:
            where += f":{line}"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {reason}")


class RulesError(MonitorError):
    """A rule file is invalid. Several problems may be collected in ``problems``."""

    kind = "rules"

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None,
                 problems: list[RulesError] | None = None) -> None:
        self.reason, self.file, self.line = reason, file, line
        self.problems = problems or []
        where = file or "<rules>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {reason}")


class FetchError(MonitorError):
    """An HTTP fetch failed. ``url`` is the URL asked for (never one carrying a secret)."""

    kind = "fetch"

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.url, self.status, self.retry_after = url, status, retry_after
        super().__init__(f"{message} ({url})" if url else message)


class FetchTimeout(FetchError):
    kind = "timeout"


class BodyTooLarge(FetchError):
    kind = "too_large"


class BlockedAddress(FetchError):
    kind = "blocked_address"


class HTTPStatusError(FetchError):
    kind = "http_status"


class TooManyRedirects(FetchError):
    kind = "redirects"


class UnsupportedEncoding(FetchError):
    kind = "encoding"


class NetworkFailure(FetchError):
    kind = "network"


class ParseError(MonitorError):
    """The fetched body is not a feed (HTML error page, empty body, JSON...)."""

    kind = "not_a_feed"


class ExtractionError(MonitorError):
    """An article page could not be extracted. ``url`` is the page's address."""

    kind = "extraction"

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(f"{message} ({url})" if url else message)


class ExtractionTimeout(ExtractionError):
    kind = "extraction_timeout"


class ExtractionCrashed(ExtractionError):
    kind = "extraction_crashed"


class StoreError(MonitorError):
    """The state database cannot be opened or migrated."""

    kind = "store"
