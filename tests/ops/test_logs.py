"""Log lines as the CLI sets them up: ``extra=`` fields shown, secrets redacted in them too."""

from __future__ import annotations

import json
import logging

import pytest

from monitor.logs import setup_logging

TOKEN = "123456789:AAH" + "x" * 30


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_text_lines_show_extra_fields_after_the_message(root_logging, capsys):
    setup_logging("DEBUG")
    log = logging.getLogger("monitor.deliver.telegram")
    log.warning("Telegram rejected the HTML formatting, resending as plain text",
                extra={"chat_id": "-100123", "error": "Bad Request: can't parse entities"})
    log.debug("Telegram message sent", extra={"chat_id": "-100123", "message_id": 42})
    log.info("no extras here")
    first, second, third = lines(capsys)
    assert first.endswith("monitor.deliver.telegram: Telegram rejected the HTML formatting, "
                          "resending as plain text chat_id=-100123 "
                          'error="Bad Request: can\'t parse entities"')
    assert second.endswith(": Telegram message sent chat_id=-100123 message_id=42")
    assert third.endswith(": no extras here")


def test_json_lines_carry_extra_fields_as_keys(root_logging, capsys):
    setup_logging("DEBUG", json_lines=True)
    logging.getLogger("monitor.deliver.telegram").debug(
        "Telegram message sent", extra={"chat_id": "-100123", "message_id": 42, "level": "x"})
    [line] = lines(capsys)
    obj = json.loads(line)
    assert obj["message"] == "Telegram message sent" and obj["level"] == "DEBUG"
    assert obj["logger"] == "monitor.deliver.telegram"
    assert obj["chat_id"] == "-100123" and obj["message_id"] == 42
    assert obj["extra_level"] == "x"          # never overwrites the line's own keys


@pytest.mark.parametrize("json_lines", [False, True])
def test_secrets_in_extra_fields_are_redacted(root_logging, capsys, json_lines):
    setup_logging("INFO", json_lines=json_lines, secrets=["hunter2-secret"])
    logging.getLogger("monitor").warning("failed", extra={
        "error": f"POST https://api.telegram.org/bot{TOKEN}/sendMessage", "detail": ["hunter2-secret"]})
    [line] = lines(capsys)
    assert TOKEN not in line and "hunter2-secret" not in line
    assert line.count("[REDACTED]") == 2
