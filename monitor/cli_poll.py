"""``monitor once`` and ``monitor run``: poll the feeds (once, or as the daemon), optionally
the bundled demo feeds served on 127.0.0.1 (``--demo``)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.app import load_scorer, open_app
from monitor.config import Settings, load_settings, resolve_config_path
from monitor.report import cycle_summary

DEMO_DATABASE = Path("state/demo.db")


@contextmanager
def demo_settings(args: argparse.Namespace, settings: Settings) -> Iterator[Settings]:
    """Serve the demo data and point the settings at it (own database, 127.0.0.1 allowed)."""
    if not getattr(args, "demo", False):
        yield settings
        return
    from monitor.demo.server import DemoServer

    server = DemoServer(args.demo_port).start()
    try:
        demo = settings.model_copy(update={
            "feeds": load_settings(None, env={}, overrides={"feeds": server.feeds()}).feeds,
            "fetch": settings.fetch.model_copy(update={
                "allow_addresses": [*settings.fetch.allow_addresses, f"127.0.0.1:{server.port}"]}),
            "database": DEMO_DATABASE if settings.database == Settings().database
            else settings.database,
            "sources": settings.sources.model_copy(update={
                "google_news_base": server.base, "telegram_base": server.base}),
            "poll": settings.poll.model_copy(update={
                "interval_seconds": 30.0, "min_interval_seconds": 15.0,
                "max_interval_seconds": 60.0, "jitter_seconds": 2.0}),
        })
        print(f"demo: serving {len(server.feeds())} bundled feeds on {server.base}; "
              f"state in {demo.database}", file=sys.stderr)
        yield demo
    finally:
        server.stop()


def cmd_once(args: argparse.Namespace) -> int:
    """Poll every feed once and print the summary table."""
    with demo_settings(args, args.settings) as settings:
        stats = asyncio.run(_once(settings))
    print(cycle_summary(stats))
    print(f"alerts sent now: {stats.sent} (see 'monitor status' for the queue)")
    all_failed = stats.per_feed and stats.feeds_failed == len(stats.per_feed)
    return 1 if all_failed else 0


async def _once(settings: Settings) -> Any:
    from monitor.store import outbox
    from monitor.store.db import is_postgres
    from monitor.store.leases import LeaderLock

    async with open_app(settings, load_scorer(settings)) as app:
        stats = await app.pipeline.run_cycle(settings.feeds)
        # Sending and surges are the leader's: beside running replicas on PostgreSQL, `once`
        # only queues, and the leader sends (one sender per destination, always).
        lock = LeaderLock(app.db)
        if not lock.try_acquire():
            print("replicas are running: alerts are queued for the leader to send",
                  file=sys.stderr)
            return stats
        try:
            if is_postgres(app.db):     # the leader's own start does it on SQLite (open_app)
                outbox.recover_interrupted(app.db)
            _check_surges(app, settings)
            sent = await app.drainer.drain(wait=False)
            stats.sent = sent.sent
        finally:
            lock.release()
        return stats


def _check_surges(app: Any, settings: Settings) -> None:
    """One surge check after a poll, so ``monitor once`` from cron also announces surges."""
    from monitor.match.score import entity_names
    from monitor.trends.surges import check_surges

    check_surges(app.db, settings.surges, time.time(), entity_names(app.pipeline.scorer))


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon: APScheduler jobs until SIGTERM/SIGINT (or ``--cycles``)."""
    # Until the event loop installs its own handlers, a SIGTERM (e.g. a container stopped while
    # starting) must still exit cleanly: nothing has been done yet that needs more than unwinding.
    signal.signal(signal.SIGTERM, _exit_during_startup)
    with demo_settings(args, args.settings) as settings:
        asyncio.run(_run(settings, args))
    return 0


def _exit_during_startup(signum: int, frame: Any) -> None:
    raise SystemExit(0)


async def _run(settings: Settings, args: argparse.Namespace) -> None:
    from monitor.schedule.service import Service

    async with open_app(settings, load_scorer(settings)) as app:
        app.drainer.settings = settings.alerts
        service = Service(app, settings, resolve_config_path(args.config), demo=args.demo,
                          cycles=args.cycles,
                          summary_seconds=args.summary_seconds or (10.0 if args.demo else 300.0))
        await service.run()
