"""Logging set-up (called only from the CLI): human or JSON lines, secrets redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

# Telegram bot tokens travel in Bot API URL paths; httpx logs full URLs at INFO.
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


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
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                           + f".{int(record.msecs):03d}Z", "level": record.levelname,
                           "logger": record.name, "message": record.getMessage()},
                          ensure_ascii=False)


def setup_logging(level: str = "INFO", json_lines: bool = False,
                  secrets: list[str] | None = None) -> RedactSecrets:
    """Configure the root logger on stderr; returns the redaction filter (to add secrets later)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
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
