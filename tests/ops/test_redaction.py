"""The one redaction filter (monitor.logs.RedactSecrets): a bot token in a message, in the
arguments, in an exception's text or in a stack never reaches a log record's output, whichever
formatter prints it and wherever the filter sits (handler, as setup_logging puts it, or the
logger, as TelegramSink does)."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from monitor.logs import REDACTED, JsonFormatter, RedactSecrets, add_secret, scrub

# Shaped like a real token (digits, colon, 35 characters); never registered as a secret.
TOKEN = "123456789:AAFakeTokenForRedaction_abcdefghij"
# Registered as a known secret by the tests that need it: too short for the token shape.
SHORT = "42:short-secret"
SECRET = TOKEN.split(":")[1]


class TokenError(Exception):
    pass


@pytest.fixture(params=["handler", "logger"])
def capture(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, list[logging.Handler]]]:
    """A logger with two handlers (plain text and JSON lines) and the filter on the handlers or
    on the logger."""
    logger = logging.getLogger(f"tests.redaction.{request.param}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handlers: list[logging.Handler] = []
    for formatter in (logging.Formatter("%(levelname)s %(name)s: %(message)s"), JsonFormatter()):
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(formatter)
        handlers.append(handler)
        logger.addHandler(handler)
    redact = RedactSecrets()
    for target in (handlers if request.param == "handler" else [logger]):
        target.addFilter(redact)
    yield logger, handlers
    for handler in handlers:
        logger.removeHandler(handler)
    logger.filters.clear()


def output(handlers: list[logging.Handler]) -> str:
    return "".join(h.stream.getvalue() for h in handlers)  # type: ignore[attr-defined]


def assert_clean(text: str) -> None:
    assert TOKEN not in text and SECRET not in text
    assert REDACTED in text


def raise_with_token() -> None:
    try:
        raise KeyError(f"https://api.telegram.org/bot{TOKEN}/sendMessage")
    except KeyError as exc:
        raise TokenError(f"send failed for bot{TOKEN}") from exc


def test_token_in_the_message(capture) -> None:
    logger, handlers = capture
    logger.info(f"POST https://api.telegram.org/bot{TOKEN}/getMe")
    assert_clean(output(handlers))


def test_token_in_the_args(capture) -> None:
    logger, handlers = capture
    logger.warning("HTTP Request: %s %s", "POST", f"https://api.telegram.org/bot{TOKEN}/getMe")
    logger.warning("%(url)s", {"url": f"bot{TOKEN}"})
    assert_clean(output(handlers))
    assert "HTTP Request: POST https://api.telegram.org/bot[REDACTED]/getMe" in output(handlers)


def test_token_in_an_exception_and_its_chain(capture) -> None:
    logger, handlers = capture
    try:
        raise_with_token()
    except TokenError:
        logger.exception("delivery crashed")
    text = output(handlers)
    assert_clean(text)
    assert "Traceback" in text and "TokenError" in text and "KeyError" in text
    # The JSON line carries the (redacted) traceback in its message, as before.
    last = json.loads(handlers[1].stream.getvalue().splitlines()[-1])  # type: ignore[attr-defined]
    assert "TokenError: send failed for bot[REDACTED]" in last["message"]


def test_token_in_an_exception_logged_as_the_message_or_an_arg(capture) -> None:
    logger, handlers = capture
    try:
        raise_with_token()
    except TokenError as exc:
        logger.error(exc)
        logger.error("failed: %s (%r)", exc, exc)
    assert_clean(output(handlers))


def test_token_in_stack_info(capture) -> None:
    logger, handlers = capture
    logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 1, "x", None, None,
                                    sinfo=f"Stack (most recent call last):\n  bot{TOKEN}"))
    assert TOKEN not in output(handlers)


def test_exc_text_set_by_an_earlier_formatter_is_redacted_too() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, None)
    try:
        raise_with_token()
    except TokenError:
        record.exc_info = sys.exc_info()
    logging.Formatter().format(record)                     # caches exc_text, token included
    assert TOKEN in (record.exc_text or "")
    RedactSecrets().filter(record)
    assert TOKEN not in logging.Formatter().format(record)


def test_bad_args_never_crash_the_caller_nor_print_the_args(capture) -> None:
    logger, handlers = capture
    logger.info("%d items", f"bot{TOKEN}")      # a logging bug: the arg does not fit %d
    text = output(handlers)
    assert TOKEN not in text and "%d items" in text


def test_known_secrets_shorter_than_a_token(capture) -> None:
    logger, handlers = capture
    add_secret(SHORT)
    logger.info("value %s", SHORT)
    assert SHORT not in output(handlers)
    assert scrub(f"x {SHORT} y") == f"x {REDACTED} y"


def test_secrets_given_to_the_filter_and_appended_later() -> None:
    redact = RedactSecrets(["first-secret-value"])
    redact.secrets.append("later-secret-value")
    assert redact.redact("first-secret-value later-secret-value") == f"{REDACTED} {REDACTED}"
    assert scrub("first-secret-value") == REDACTED        # registered for everyone


@pytest.mark.parametrize("text", [
    f"https://api.telegram.org/bot{TOKEN}/getMe",
    "https://api.telegram.org/bot" + TOKEN.replace(":", "%3A") + "/getMe",     # percent-encoded
    "bot12345:" + "a" * 20,                                                    # shortest shape
])
def test_token_shapes(text: str) -> None:
    assert ":" + "a" * 20 not in scrub(text) and SECRET not in scrub(text)
    assert REDACTED in scrub(text)


def test_ordinary_text_is_left_alone() -> None:
    for text in ("-1001234567890: chat not found", "127.0.0.1:8080/healthz", "12:30:45",
                 "retry after 2 s"):
        assert scrub(text) == text
