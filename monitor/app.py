"""Wiring and lifecycle: settings → store, HTTP client, extractor pool, matcher, pipeline."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from monitor.config import Settings
from monitor.dedupe import bands
from monitor.deliver.destinations import unconfigured_destinations
from monitor.deliver.drain import Drainer
from monitor.deliver.sinks import make_sink
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.parse.worker import FeedParsers
from monitor.pipeline import Pipeline
from monitor.store import outbox
from monitor.store.db import Database, is_postgres, open_database

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything a command needs, opened together and closed together."""

    settings: Settings
    db: Database
    fetcher: Fetcher
    extractor: ExtractorPool
    pipeline: Pipeline
    drainer: Drainer


def load_scorer(settings: Settings) -> Any | None:
    """The rule matcher for the configured rules path (RulesError on a bad rule file)."""
    from monitor.match.rules import load_rules
    from monitor.match.score import Matcher

    if not settings.rules_path.exists():
        log.warning("no rules at %s: articles are stored unscored", settings.rules_path)
        return None
    matcher = Matcher(load_rules(settings.rules_path))
    log.info("matcher: %d keys from %s", matcher.compiled.keys, settings.rules_path)
    return matcher


def load_story_index(db: Database, settings: Settings) -> None:
    """Build the in-memory story index now (it would be built by the first article otherwise),
    so that its cost shows at start-up with the other loading."""
    if not settings.stories.enabled:
        return
    started = time.monotonic()
    with db.transaction() as conn:
        loaded = bands.ensure(conn, time.time() - settings.stories.window_seconds)
    if loaded is not None:
        log.info("story index: %d articles of the last %g h loaded in %.2f s", loaded,
                 settings.stories.window_hours, time.monotonic() - started)


@asynccontextmanager
async def open_app(settings: Settings, scorer: Any | None = None) -> AsyncIterator[App]:
    """Open the store, the shared HTTP client and the extractor pool; close them on exit."""
    sink, chat_ids = make_sink(settings)
    ruleset = getattr(scorer, "ruleset", None)
    for warning in unconfigured_destinations(ruleset.rules if ruleset else (), settings.alerts):
        log.warning("%s", warning)     # start-up of `once` and `run` (rules check, reloads too)
    db = open_database(settings.database)
    extractor = ExtractorPool.from_settings(settings.extract)
    parsers = FeedParsers(settings.parse)
    try:
        await sink.start()
        async with Fetcher(settings.fetch) as fetcher:
            pipeline = Pipeline(settings, db, fetcher, extractor, scorer, parsers=parsers)
            drainer = Drainer(db, sink, settings.alerts, chat_ids=chat_ids)
            drainer.reply_every = settings.stories.reply_every
            drainer.buttons = settings.analysts.enabled and chat_ids
            pipeline.on_alert = drainer.wake.set
            if not is_postgres(db):
                # One daemon per SQLite state: what it left 'sending' is its own. Replicas on
                # PostgreSQL do this when one becomes the sender (monitor.schedule.replica).
                outbox.recover_interrupted(db)
            load_story_index(db, settings)
            yield App(settings, db, fetcher, extractor, pipeline, drainer)
    finally:
        await sink.close()
        parsers.close()
        extractor.close()
        db.close()
