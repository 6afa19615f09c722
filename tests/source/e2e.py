"""Helpers for the end-to-end tests of the new source types: settings pointing at the local fakes
(Google News, t.me, publisher pages), one real poll cycle scored with the shipped rules, and
read-only views of the state database (articles, outbox payloads, feed health).

Everything runs through :func:`monitor.app.open_app`, as ``monitor once`` does: the real
Fetcher, parser, extractor, resolver and store; only the servers are local.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from monitor.alert.payload import AlertPayload
from monitor.app import open_app
from monitor.config import Settings
from monitor.match.rules import load_rules
from monitor.match.score import Matcher
from monitor.models import CycleStats
from monitor.report import feeds_table
from monitor.store.db import open_database
from monitor.store.feeds import feed_health
from tests.conftest import REPO, make_settings

_MATCHER: Matcher | None = None


def matcher() -> Matcher:
    """The matcher over the shipped rule pack (``rules/``), built once per test process."""
    global _MATCHER
    if _MATCHER is None:
        _MATCHER = Matcher(load_rules(REPO / "rules"))
    return _MATCHER


def settings_for(tmp_path: Path, feeds: list[dict[str, Any]], *, ports: list[int],
                 google: Any = None, telegram: Any = None, **sections: Any) -> Settings:
    """Settings whose fetcher may reach the given local ports, with the shipped rules and the
    sources section aimed at the fakes. Google News resolutions are not rate-limited unless a
    test says so (the default 30 a minute makes every second link wait two seconds)."""
    sources = {"resolve_per_minute": 60_000, **sections.pop("sources", {})}
    if google is not None:
        sources["google_news_base"] = google.base
    if telegram is not None:
        sources["telegram_base"] = telegram.base
    fetch = {"allow_addresses": [f"127.0.0.1:{p}" for p in ports], **sections.pop("fetch", {})}
    return make_settings(tmp_path, None, feeds, rules_path=str(REPO / "rules"), sources=sources,
                         fetch=fetch, **sections)


def cycle(settings: Settings, *, scorer: Any = ...) -> CycleStats:
    """One poll of every configured source with a fresh app (a restart of ``monitor once``)."""
    chosen = matcher() if scorer is ... else scorer

    async def go() -> CycleStats:
        async with open_app(settings, chosen) as app:
            return await app.pipeline.run_cycle(settings.feeds)
    return asyncio.run(go())


def rows(settings: Settings, sql: str, *args: Any) -> list[sqlite3.Row]:
    """Rows of ``sql`` in the state database (a connection of its own, read only)."""
    conn = sqlite3.connect(f"file:{settings.database}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def articles(settings: Settings) -> list[sqlite3.Row]:
    """Every article row, oldest first."""
    return rows(settings, "SELECT * FROM articles ORDER BY id")


def alerts(settings: Settings) -> list[AlertPayload]:
    """The alert payloads queued in the outbox, oldest first."""
    return [AlertPayload.from_json(r["payload_json"])
            for r in rows(settings, "SELECT payload_json FROM outbox WHERE kind = 'alert' "
                                    "ORDER BY id")]


def feed(settings: Settings, name: str) -> sqlite3.Row:
    """The feed row of ``name``."""
    return rows(settings, "SELECT * FROM feeds WHERE name = ?", name)[0]


def feeds_output(settings: Settings) -> str:
    """What ``monitor feeds`` prints for this database (its table, from the store's rows)."""
    db = open_database(settings.database)
    try:
        return feeds_table(feed_health(db))
    finally:
        db.close()


def feed_line(settings: Settings, name: str) -> str:
    """The line of ``monitor feeds`` about feed ``name``."""
    return next(line for line in feeds_output(settings).splitlines()
                if line.startswith(name + " "))
