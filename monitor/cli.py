"""Command line: ``monitor once | run | feeds | rules check | score``. The only place that sets up
logging and loads configuration."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.app import load_scorer, open_app
from monitor.config import Settings, load_settings, resolve_config_path
from monitor.errors import MonitorError
from monitor.logs import setup_logging
from monitor.report import cycle_summary, feeds_table, totals_line
from monitor.store.db import open_database
from monitor.store.feeds import feed_health

log = logging.getLogger("monitor")
DEMO_DATABASE = Path("state/demo.db")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands register themselves here)."""
    parser = argparse.ArgumentParser(prog="monitor", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", help="YAML config file (default: $MONITOR_CONFIG or ./monitor.yaml)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-json", action="store_true", help="log JSON lines")
    sub = parser.add_subparsers(dest="command", required=True)

    once = sub.add_parser("once", help="poll every feed once, process new items, print a summary")
    _demo_flags(once)
    once.set_defaults(func=cmd_once)

    run = sub.add_parser("run", help="run the daemon (polls feeds on their intervals)")
    _demo_flags(run)
    run.add_argument("--cycles", type=int, default=0, help="stop after N cycles (0: run forever)")
    run.set_defaults(func=cmd_run)

    feeds = sub.add_parser("feeds", help="show each feed's health")
    feeds.add_argument("--demo", action="store_true", help="show the demo database")
    feeds.set_defaults(func=cmd_feeds)

    _add_match_commands(sub)
    return parser


def _demo_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help="poll the bundled demo feeds served on 127.0.0.1 (works offline)")
    p.add_argument("--demo-port", type=int, default=8765, help="port of the demo server")


def _add_match_commands(sub: Any) -> None:
    try:
        from monitor.match.commands import add_rules_parser, add_score_parser
    except ImportError:
        return
    add_rules_parser(sub)
    add_score_parser(sub)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``monitor`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
        setup_logging(args.log_level or settings.log_level, args.log_json or settings.log_json)
        args.settings = settings
        args.url_loader = _url_loader(settings)
        return int(args.func(args) or 0)
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(resolve_config_path(args.config))


@contextmanager
def _demo(args: argparse.Namespace, settings: Settings) -> Iterator[Settings]:
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
            "poll": settings.poll.model_copy(update={"interval_seconds": 30.0}),
        })
        print(f"demo: serving {len(server.feeds())} bundled feeds on {server.base}; "
              f"state in {demo.database}", file=sys.stderr)
        yield demo
    finally:
        server.stop()


def cmd_once(args: argparse.Namespace) -> int:
    """Poll every feed once and print the summary table."""
    with _demo(args, args.settings) as settings:
        stats = asyncio.run(_once(settings))
    print(cycle_summary(stats))
    all_failed = stats.per_feed and stats.feeds_failed == len(stats.per_feed)
    return 1 if all_failed else 0


async def _once(settings: Settings) -> Any:
    async with open_app(settings, load_scorer(settings)) as app:
        return await app.pipeline.run_cycle(settings.feeds)


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon: poll feeds when due until SIGTERM/SIGINT (or ``--cycles``)."""
    with _demo(args, args.settings) as settings:
        asyncio.run(_run(settings, args.cycles))
    return 0


async def _run(settings: Settings, cycles: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_app(settings, load_scorer(settings)) as app:
        log.info("daemon started: %d feeds, database %s", len(settings.feeds), settings.database)
        done = 0
        while not stop.is_set():
            stats = await app.pipeline.run_cycle(settings.feeds, only_due=True)
            if stats.per_feed:
                done += 1
                log.info("cycle %d: %s", done, totals_line(stats))
                if stats.new_items or stats.feeds_failed:
                    print(cycle_summary(stats), flush=True)
            if cycles and done >= cycles:
                break
            try:
                await asyncio.wait_for(stop.wait(), _sleep_for(app, settings))
            except TimeoutError:
                pass
    log.info("daemon stopped")


def _sleep_for(app: Any, settings: Settings) -> float:
    row = app.db.conn.execute("SELECT MIN(next_poll_at) FROM feeds").fetchone()
    nxt = row[0] if row and row[0] is not None else time.time() + settings.poll.interval_seconds
    return min(settings.poll.interval_seconds, max(1.0, nxt - time.time()))


def cmd_feeds(args: argparse.Namespace) -> int:
    """Print each feed's health from the state database."""
    settings: Settings = args.settings
    path = DEMO_DATABASE if args.demo else settings.database
    if not Path(path).exists():
        print(f"no state database at {path} yet: run 'monitor once' first", file=sys.stderr)
        return 1
    db = open_database(path)
    try:
        print(feeds_table(feed_health(db)))
    finally:
        db.close()
    return 0


def _url_loader(settings: Settings) -> Any:
    """For ``monitor score URL``: fetch and extract a page exactly as the pipeline does."""
    def load(url: str) -> tuple[str, str]:
        from monitor.extract.article import fetch_and_extract
        return asyncio.run(fetch_and_extract(url, settings))
    return load
