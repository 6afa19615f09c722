"""The daemon's two Telegram tasks (the sender and the bot) in process against the fake Bot API,
with articles and alerts written straight into a real store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from monitor.alert.payload import AlertPayload
from monitor.app import App, open_app
from monitor.bot.poller import start_poller
from monitor.config import Settings, load_settings
from monitor.store import outbox
from monitor.store.db import open_database
from tests.servers.telegram import FakeTelegram

CHAT = "-1001234567890"          # the destination: a channel
ANALYST, SECOND, STRANGER = 111, 112, 999


def bot_settings(tmp_path: Path, tg: FakeTelegram, **analysts: Any) -> Settings:
    """Telegram sink on the fake, one destination, analysts ANALYST and SECOND by default."""
    return load_settings(None, env={}, overrides={
        "database": str(tmp_path / "monitor.db"), "rules_path": str(tmp_path / "none"),
        "alerts": {"sink": "telegram", "api_base_url": tg.base_url, "send_timeout": 3,
                   "retry_base_seconds": 0.2, "probe_seconds": 0.5,
                   "destinations": {"default": {"chat_id": CHAT}}},
        "analysts": {"users": [ANALYST, SECOND], "poll_timeout_seconds": 1, **analysts},
        "ops": {"notices": False}, "feeds": []})


def seed(settings: Settings, stories: list[int | None], *,
         entities: dict[int, list[str]] | None = None) -> list[int]:
    """One article per entry of ``stories`` (its story id) and its queued alert; ``entities``:
    article number (from 1) → the entities it mentions. Returns the alerts' outbox ids."""
    db = open_database(settings.database)
    try:
        with db.transaction() as conn:
            conn.execute("INSERT INTO feeds(id, name, url, created_at) "
                         "VALUES (1, 'f', 'u', 0) ON CONFLICT DO NOTHING")
            ids = []
            for n, story in enumerate(stories, 1):
                conn.execute("INSERT INTO articles(id, identity, feed_id, title, text, outlet, "
                             "first_seen_at, story_id) VALUES (?, ?, 1, ?, 'x', ?, 0, ?)",
                             (n, f"i{n}", f"خبر {n}", f"outlet{n}", story))
                for entity in (entities or {}).get(n, []):
                    conn.execute("INSERT INTO mentions(entity, article_id, outlet, at) "
                                 "VALUES (?, ?, NULL, 0)", (entity, n))
                ids.append(outbox.enqueue(conn, key=f"article:{n}", destination="default",
                                          now=time.time(), payload=alert(n)))
        return [int(i) for i in ids if i is not None]
    finally:
        db.close()


def alert(n: int) -> AlertPayload:
    return AlertPayload(kind="alert", title=f"خبر {n}", url=f"https://e.example/{n}",
                        outlet=f"outlet{n}", severity="medium", rule_id="r1", rule_title="Rule",
                        article_id=n)


@asynccontextmanager
async def live(settings: Settings) -> AsyncIterator[App]:
    """``monitor run``'s sender and bot tasks (as the service starts them) until the block ends."""
    async with open_app(settings) as app:
        stop = asyncio.Event()
        sender = asyncio.create_task(app.drainer.run(stop))
        bot = start_poller(app, stop)
        assert bot is not None, "the bot task did not start"
        try:
            yield app
        finally:
            stop.set()
            app.drainer.wake.set()
            await asyncio.wait_for(asyncio.gather(sender, bot), 15)


async def until(predicate: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    """Wait (a guard, not a timing assertion) until ``predicate()`` is true; its value."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


def sent_ids(tg: FakeTelegram) -> list[int]:
    """Message ids of the alerts the fake received, in order."""
    return [m["message_id"] for m in tg.messages]
