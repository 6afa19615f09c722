"""Logging set-up (called only from the CLI): human or JSON lines, secrets redacted.

Fields passed with ``extra=`` are shown too: ``key=value`` after the message in human lines,
keys of their own in JSON lines.

The one redaction of the program lives here too: :func:`scrub` for text this program builds
(error messages, reprs) and :class:`RedactSecrets` for log records, both replacing the same known
secrets (:func:`add_secret`) and the same token shape.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

# Anything shaped like a Telegram bot token (digits, a colon, 35 characters today; 20 or more
# here), also with the colon percent-encoded as in a quoted URL. Bot tokens travel in Bot API URL
# paths (httpx logs full URLs at INFO) and PTB quotes them in InvalidToken; this catches a token
# on a path nobody thought of (a token other than ours, a URL inside an httpx error).
TOKEN_SHAPE = re.compile(r"\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}")

# Secret values known to the process (the bot token of each TelegramSink, secrets given to
# setup_logging): every RedactSecrets filter and scrub() replace them, longest first.
_KNOWN: set[str] = set()


def add_secret(value: str) -> None:
    """Have every redaction (:func:`scrub`, each :class:`RedactSecrets`) replace ``value``."""
    if value:
        _KNOWN.add(value)


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret (and ``extra``), and anything shaped like a bot token,
    replaced."""
    for secret in sorted({*_KNOWN, *extra}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return TOKEN_SHAPE.sub(REDACTED, text)


#: Attributes of every LogRecord (and those formatting adds): the others came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
_PLAIN = re.compile(r"[^\s=\"']+")


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a logging call passed with ``extra=``, in the order given."""
    return {key: value for key, value in vars(record).items()
            if key not in _RECORD_FIELDS and not key.startswith("_")}


def _extras_text(record: logging.LogRecord) -> str:
    """`` key=value`` for each extra field; values with spaces, quotes or ``=`` are quoted."""
    parts = []
    for key, value in extra_fields(record).items():
        text = str(value)
        parts.append(f"{key}={text if _PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=False)}")
    return "".join(f" {part}" for part in parts)


class RedactSecrets(logging.Filter):
    """Rewrites every record it sees so that no secret reaches any output: the message (after
    %-formatting, so secrets in ``args`` are caught), the traceback of ``exc_info`` (pre-formatted
    into ``exc_text``, which formatters reuse), ``stack_info`` and the ``extra=`` fields.

    The one redaction filter of the program. :func:`setup_logging` puts it on the root handler;
    TelegramSink also attaches it to the loggers that see the Bot API URL, because a filter on a
    logger only sees records logged through that very logger, and because nobody may have
    called setup_logging (tests, library use).
    """

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]
        for secret in self.secrets:
            add_secret(secret)

    def redact(self, text: str) -> str:
        return scrub(text, self.secrets)     # also secrets appended to the list later

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):        # bad %-args: keep the raw format string
            message = str(record.msg)
        # Always rewritten, args dropped: a record whose args do not format would otherwise have
        # logging's error handler print the args (the secret with them) on stderr.
        record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters reuse exc_text when set (another handler's formatter may have set it,
            # unredacted): format the traceback here, redacted.
            record.exc_text = self.redact(
                record.exc_text or logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in extra_fields(record).items():   # shown by the formatters too
            if not isinstance(value, (int, float, bool, type(None))):
                setattr(record, key, self.redact(str(value)))
        return True


class TextFormatter(logging.Formatter):
    """The human format, with the ``extra=`` fields as ``key=value`` after the message."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return super().formatMessage(record) + _extras_text(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (with the traceback, if any), then
    the ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:                   # the traceback goes with the message
            message += "\n" + record.exc_text
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z", "level": record.levelname,
                "logger": record.name, "message": message}
        for key, value in extra_fields(record).items():
            line[f"extra_{key}" if key in line else key] = value
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", json_lines: bool = False,
                  secrets: list[str] | None = None) -> RedactSecrets:
    """Configure the root logger on stderr; returns the redaction filter (to add secrets later)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    redact = RedactSecrets(secrets)
    handler.addFilter(redact)   # on the handler: logger filters miss records from child loggers
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "courlan", "charset_normalizer",
                  "apscheduler", "telegram"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redact
