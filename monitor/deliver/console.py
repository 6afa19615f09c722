"""Sinks without Telegram: the console (the default with no token, so the demo shows alerts) and a
JSON-lines file for piping into other tools."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from monitor.alert.keyboard import Keyboard
from monitor.deliver.base import SendResult
from monitor.errors import RetryLater


class ConsoleSink:
    """Prints each message as plain text, framed, on stdout."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._next_id = 1

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def probe(self) -> None:
        return None

    async def edit_markup(self, chat_id: str | int, message_id: int,
                          keyboard: Keyboard | None) -> None:
        """No buttons here (triage buttons need the Telegram sink)."""
        return None

    async def edit(self, chat_id: str | int, message_id: int, html: str, *,
                   plain_fallback: str | None = None, keyboard: Keyboard | None = None) -> None:
        """A terminal cannot edit what it printed: show the new version, marked as an update."""
        await self.send(chat_id, f"✎ update of alert {message_id}\n" + (plain_fallback or html),
                        plain_fallback=f"✎ update of alert {message_id}\n" + (plain_fallback or ""))

    async def send(self, chat_id: str | int, html: str, *, topic_id: int | None = None,
                   plain_fallback: str | None = None, preview_url: str | None = None,
                   reply_to: int | None = None, keyboard: Keyboard | None = None) -> SendResult:
        stream = self._stream or sys.stdout
        text = plain_fallback if plain_fallback is not None else html
        try:
            stream.write(f"\n┌─ alert → {chat_id}\n" + "\n".join(f"│ {line}" for line in
                                                              text.splitlines()) + "\n└─\n")
            stream.flush()
        except OSError as exc:   # a closed pipe or a full disk, not this message's fault
            raise RetryLater(f"cannot write to the console: {exc}") from exc
        self._next_id += 1
        return SendResult(self._next_id - 1, str(chat_id))


class JsonlSink:
    """Appends one JSON object per message to a file (fsync'd: confirmed means on disk)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next_id = 1

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Message ids continue across restarts so that ``edit_of`` stays unambiguous.
        if self.path.exists():
            with self.path.open("rb") as fh:
                self._next_id = sum(1 for _ in fh) + 1

    async def close(self) -> None:
        return None

    async def probe(self) -> None:
        return None

    async def edit_markup(self, chat_id: str | int, message_id: int,
                          keyboard: Keyboard | None) -> None:
        """No buttons here (triage buttons need the Telegram sink)."""
        return None

    async def edit(self, chat_id: str | int, message_id: int, html: str, *,
                   plain_fallback: str | None = None, keyboard: Keyboard | None = None) -> None:
        """Record the edit as a line of its own (readers apply it by ``edit_of``)."""
        self._append({"time": time.time(), "chat_id": str(chat_id), "edit_of": message_id,
                      "html": html, "text": plain_fallback})

    async def send(self, chat_id: str | int, html: str, *, topic_id: int | None = None,
                   plain_fallback: str | None = None, preview_url: str | None = None,
                   reply_to: int | None = None, keyboard: Keyboard | None = None) -> SendResult:
        self._append({"time": time.time(), "chat_id": str(chat_id), "topic_id": topic_id,
                      "html": html, "text": plain_fallback, "url": preview_url,
                      "reply_to": reply_to, "message_id": self._next_id})
        self._next_id += 1
        return SendResult(self._next_id - 1, str(chat_id))

    def _append(self, record: dict[str, object]) -> None:
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:   # a full disk or a missing folder, not this message's fault
            raise RetryLater(f"cannot append to {self.path}: {exc}") from exc
