"""Logging set-up (called only from the CLI): human or JSON lines, secrets redacted.

Fields passed with ``extra=`` are shown too: ``key=value`` after the message in human lines,
keys of their own in JSON lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

# Telegram bot tokens travel in Bot API URL paths; httpx logs full URLs at INFO.
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
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
    """Replaces anything shaped like a bot token (and known secret values) in every record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return _TOKEN.sub("[REDACTED]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.redact(message), None
        for key, value in extra_fields(record).items():   # shown by the formatters too
            if not isinstance(value, (int, float, bool, type(None))):
                setattr(record, key, self.redact(str(value)))
        return True


class TextFormatter(logging.Formatter):
    """The human format, with the ``extra=`` fields as ``key=value`` after the message."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return super().formatMessage(record) + _extras_text(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z", "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
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
