"""Sinks without Telegram: the console (the default with no token, so the demo shows alerts) and a
JSON-lines file for piping into other tools."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from monitor.deliver.base import SendResult


class ConsoleSink:
    """Prints each message as plain text, framed, on stdout."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._next_id = 1

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, chat_id: str | int, html: str, *, topic_id: int | None = None,
                   plain_fallback: str | None = None, preview_url: str | None = None) -> SendResult:
        stream = self._stream or sys.stdout
        text = plain_fallback if plain_fallback is not None else html
        stream.write(f"\n┌─ alert → {chat_id}\n" + "\n".join(f"│ {line}" for line in
                                                          text.splitlines()) + "\n└─\n")
        stream.flush()
        self._next_id += 1
        return SendResult(self._next_id - 1, str(chat_id))


class JsonlSink:
    """Appends one JSON object per message to a file (fsync'd: confirmed means on disk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next_id = 1

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def send(self, chat_id: str | int, html: str, *, topic_id: int | None = None,
                   plain_fallback: str | None = None, preview_url: str | None = None) -> SendResult:
        record = {"time": time.time(), "chat_id": str(chat_id), "topic_id": topic_id,
                  "html": html, "text": plain_fallback, "url": preview_url}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._next_id += 1
        return SendResult(self._next_id - 1, str(chat_id))
