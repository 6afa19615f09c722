"""The exception tree: the one place every project error is defined.

Each stage translates foreign errors into one of these at its boundary, and each foreign library
has exactly one translation table: httpx in ``monitor/fetch/translate.py``, python-telegram-bot in
``monitor/deliver/translate.py``; trafilatura runs in worker processes whose failures
``monitor/extract/process.py`` and ``pool.py`` turn into extraction errors.

    MonitorError                 anything this program reports to a user
    ├── ConfigError              bad configuration (file, key, line, reason)
    ├── RulesError               bad rule file (file, line, reason)
    ├── YamlSyntaxError          (monitor/yamlfile.py) a YAML file that does not parse
    ├── FetchError               an HTTP fetch failed; ``kind`` is stored on the feed
    │   ├── FetchTimeout         connect/read timeout or the total deadline
    │   ├── BodyTooLarge         body (or decompressed body) over the cap
    │   ├── BlockedAddress       URL scheme refused or host resolves to a non-public address
    │   ├── HTTPStatusError      a non-2xx/304 answer
    │   ├── TooManyRedirects     redirect loop or chain over the limit
    │   ├── UnsupportedEncoding  a Content-Encoding we refuse to inflate (br, zstd, ...)
    │   └── NetworkFailure       DNS, refused connection, reset, protocol error
    ├── ParseError               the feed body is not a feed at all
    ├── SourceError              a source's link or post cannot be read (Google News, Telegram)
    ├── CommandError             a bot command refused (bad argument, unknown entity): the
    │                            message is the reply the analyst reads
    ├── ExtractionError          an article page could not be extracted (trafilatura raised)
    │   ├── ExtractionTimeout    over ``extract.timeout_seconds``: the worker was killed
    │   └── ExtractionCrashed    the worker died or could not start
    │       └── WorkerOutOfMemory  the page needed more than the worker's memory limit
    ├── DeliveryError            sending a message failed; grouped by what the drain loop does
    │   ├── RetryLater           try again later; ``retry_after`` seconds when Telegram said so
    │   │   │                    (429), None otherwise (5xx, network): back off with jitter
    │   │   ├── MaybeDelivered   timed out after the request went out: it may have arrived
    │   │   ├── MalformedReply   Telegram's answer could not be read (no ``result``, bad JSON)
    │   │   └── UpdatesConflict  getUpdates refused (409): a webhook is set, or another process
    │   │                        polls the same token
    │   └── PermanentFailure     retrying cannot help; ``scope`` says what is broken: "bot"
    │       │                    (token rejected), "chat" (kicked, not found, migrated) or
    │       │                    "message" (this message is refused, e.g. too long)
    │       └── EditImpossible   the message can no longer be edited: reply instead
    ├── StoreError               the state database is unusable
    └── SearchError              a search query that cannot be run (empty, too long)

Delivery errors never carry the bot token: the Telegram translator scrubs every message it
builds, and raises ``from None`` so no chained library exception carries it into a traceback.
"""
from __future__ import annotations

from typing import Literal


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


class SourceError(MonitorError):
    """A link or post of a source cannot be read: a Google News link that does not resolve, a
    Telegram post that is not in its channel's preview."""

    kind = "source"


class CommandError(MonitorError):
    """A bot command cannot do what was asked; the message (plain text) is the reply."""

    kind = "command"


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


class WorkerOutOfMemory(ExtractionCrashed):
    """The page needed more than the worker's address-space limit (the worker has exited)."""


Scope = Literal["bot", "chat", "message"]


class DeliveryError(MonitorError):
    """Sending a message to Telegram failed."""

    kind = "delivery"


class RetryLater(DeliveryError):
    """A temporary failure. ``retry_after`` is the delay Telegram asked for (429), in seconds,
    or None when the caller should pick its own backoff."""

    kind = "retry_later"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class MaybeDelivered(RetryLater):
    """The request timed out after it was sent: Telegram may have posted the message.
    Resending may duplicate it; the caller decides."""

    kind = "maybe_delivered"


class MalformedReply(RetryLater):
    """Telegram (or something in between) answered with a reply that could not be read."""

    kind = "malformed_reply"


class UpdatesConflict(RetryLater):
    """Telegram refused ``getUpdates`` with 409 Conflict: a webhook is set for the bot, or
    another process polls updates with the same token. Nothing is lost (the updates wait);
    polling is retried later."""

    kind = "updates_conflict"


class PermanentFailure(DeliveryError):
    """Retrying will not help. ``reason`` says why; ``scope`` what to stop using (the bot, the
    chat, or only this message); ``new_chat_id`` is set when a group became a supergroup."""

    kind = "permanent"

    def __init__(self, reason: str, *, scope: Scope = "message",
                 new_chat_id: int | None = None) -> None:
        self.reason, self.scope, self.new_chat_id = reason, scope, new_chat_id
        super().__init__(reason)


class EditImpossible(PermanentFailure):
    """The message can no longer be edited (deleted, too old, not ours): reply instead."""

    kind = "edit_impossible"


class StoreError(MonitorError):
    """The state database cannot be opened or migrated."""

    kind = "store"


class SearchError(MonitorError):
    """A search query that cannot be run: nothing searchable in it, or too long."""

    kind = "search"
