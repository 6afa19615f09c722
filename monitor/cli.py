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
from monitor.report import circuits_table, cycle_summary, feeds_table, outbox_table
from monitor.store import outbox
from monitor.store.db import open_database
from monitor.store.feeds import feed_health
from monitor.store.hosts import circuits

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
    run.add_argument("--cycles", type=int, default=0,
                     help="stop once every feed was polled N times (0: run until SIGTERM)")
    run.add_argument("--summary-seconds", type=float, default=0,
                     help="print a summary this often (default 300 s, 10 s with --demo)")
    run.set_defaults(func=cmd_run)

    feeds = sub.add_parser("feeds", help="show each feed's health")
    feeds.add_argument("--demo", action="store_true", help="show the demo database")
    feeds.set_defaults(func=cmd_feeds)

    status = sub.add_parser("status", help="alert delivery: queue depth, last sent, paused "
                                           "destinations")
    status.add_argument("--demo", action="store_true", help="show the demo database")
    status.add_argument("--resume", metavar="DESTINATION", nargs="?", const="*",
                        help="clear the pause of a destination (or all) after fixing access")
    status.set_defaults(func=cmd_status)

    digest = sub.add_parser("digest", help="summary of a period: stories, top entities, surges")
    digest.add_argument("--since", default="24h", type=_span,
                        help="period before now: 30m, 24h, 7d (default 24h)")
    digest.add_argument("--demo", action="store_true", help="read the demo database")
    digest.add_argument("--send", action="store_true",
                        help="also queue it as one message to the default destination")
    digest.add_argument("--json", "--jsonl", dest="json", action="store_true",
                        help="print one JSON object")
    digest.set_defaults(func=cmd_digest)

    test = sub.add_parser("send-test", help="send a test alert to check the token and channel")
    test.add_argument("destination", nargs="?", help="destination name (default: the default one)")
    test.set_defaults(func=cmd_send_test)

    back = sub.add_parser("backtest", help="re-score stored articles with edited rules and show "
                                            "what would change (sends nothing)")
    back.add_argument("--rules", dest="candidate", required=True,
                      help="the edited rules (folder or file) to compare with the live rules")
    back.add_argument("--since", default="30d", type=_span,
                      help="how far back: 30m, 12h, 30d (default 30d)")
    back.add_argument("--jsonl", action="store_true", help="JSON lines for machines")
    back.add_argument("--demo", action="store_true", help="use the demo database")
    back.add_argument("--workers", type=int, default=2, help="scoring processes (default 2)")
    back.set_defaults(func=cmd_backtest)

    _add_match_commands(sub)
    return parser


def _demo_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help="poll the bundled demo feeds served on 127.0.0.1 (works offline)")
    p.add_argument("--demo-port", type=int, default=8765, help="port of the demo server")


def _add_match_commands(sub: Any) -> None:
    from monitor.match.commands import add_rules_parser, add_score_parser

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
        for problem in getattr(exc, "problems", None) or [exc]:
            print(f"error: {problem}", file=sys.stderr)
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
    with _demo(args, args.settings) as settings:
        stats = asyncio.run(_once(settings))
    print(cycle_summary(stats))
    print(f"alerts sent now: {stats.sent} (see 'monitor status' for the queue)")
    all_failed = stats.per_feed and stats.feeds_failed == len(stats.per_feed)
    return 1 if all_failed else 0


async def _once(settings: Settings) -> Any:
    async with open_app(settings, load_scorer(settings)) as app:
        stats = await app.pipeline.run_cycle(settings.feeds)
        _check_surges(app, settings)
        sent = await app.drainer.drain(wait=False)
        stats.sent = sent.sent
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
    with _demo(args, args.settings) as settings:
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


def cmd_feeds(args: argparse.Namespace) -> int:
    """Print each feed's health from the state database."""
    path = _state_database(args, "run 'monitor once' first")
    if path is None:
        return 1
    db = open_database(path)
    try:
        print(feeds_table(feed_health(db)))
        skipped = circuits(db)
        if skipped:
            print("\narticle hosts skipped after repeated failures (their articles stay pending):")
            print(circuits_table(skipped))
    finally:
        db.close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the outbox state per destination (never the token)."""
    path = _state_database(args, "nothing queued yet")
    if path is None:
        return 1
    db = open_database(path)
    try:
        if args.resume:
            n = outbox.resume(db, None if args.resume == "*" else args.resume)
            print(f"resumed {n} paused destination(s)")
        rows = outbox.status_rows(db)
        print(outbox_table(rows) if rows else "outbox empty: no alert queued yet")
        print(rules_line(db))
        from monitor.deliver.probe import status_line

        telegram = status_line(db)
        if telegram:
            print(telegram)
    finally:
        db.close()
    return 0


def _span(text: str) -> tuple[str, float]:
    """argparse type of ``--since``: the text as typed and its length in seconds."""
    from monitor.trends.digest import parse_span

    try:
        return text.strip(), parse_span(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_digest(args: argparse.Namespace) -> int:
    """Print a summary of the last ``--since``; with ``--send`` queue it as one message."""
    import json

    from monitor.trends.digest import build_digest, queue_digest, render_text

    settings: Settings = args.settings
    path = _state_database(args, "nothing to summarise")
    if path is None:
        return 1
    label, seconds = args.since
    names = _entity_names(settings)
    db = open_database(path)
    try:
        now = time.time()
        digest = build_digest(db, now - seconds, now, names)
        queued = None
        if args.send:
            destination = settings.alerts.default_destination
            queued = (destination, *queue_digest(db, digest, label, destination))
    finally:
        db.close()
    if args.json:
        out = digest.to_dict()
        if queued:
            out["queued"] = {"destination": queued[0], "outbox_id": queued[1],
                             "payload": json.loads(queued[2].to_json())}
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(render_text(digest))
    if queued:
        from monitor.alert.compose import render_plain

        print(f"\nqueued for {queued[0]!r} (outbox id {queued[1]}; delivered by the daemon or the "
              f"next 'monitor once'):\n{render_plain(queued[2], tz=settings.alerts.timezone)}")
    return 0


def _entity_names(settings: Settings) -> dict[str, str]:
    """Display names from the configured rules; ids are shown if the rules cannot be loaded."""
    if not settings.rules_path.exists():
        return {}
    try:
        from monitor.match.rules import load_rules

        return load_rules(settings.rules_path).entity_names()
    except MonitorError as exc:
        log.warning("entity names unavailable (%s): showing ids", exc)
        return {}


def _state_database(args: argparse.Namespace, hint: str) -> Path | None:
    """The state database a read-only command looks at (``--demo``: the demo's), if it exists."""
    path = Path(DEMO_DATABASE if getattr(args, "demo", False) else args.settings.database)
    if not path.exists():
        print(f"no state database at {path} yet: {hint}", file=sys.stderr)
        return None
    return path


def cmd_backtest(args: argparse.Namespace) -> int:
    """Compare the live rules with edited ones on the stored articles."""
    import json

    from monitor.match.backtest import (
        count_articles,
        iter_articles,
        jsonl_lines,
        render,
        run_backtest,
    )
    from monitor.match.rules import load_rules

    settings: Settings = args.settings
    path = _state_database(args, "nothing to backtest")
    if path is None:
        return 1
    since = time.time() - args.since[1]
    load_rules(settings.rules_path)        # both rule sets must be valid before any work
    load_rules(args.candidate)
    report = run_backtest(iter_articles(Path(path), since), count_articles(Path(path), since),
                          settings.rules_path, Path(args.candidate), workers=args.workers)
    if args.jsonl:
        for obj in jsonl_lines(report):
            print(json.dumps(obj, ensure_ascii=False))
    else:
        print(render(report))
    return 0


def rules_line(db: Any) -> str:
    """The daemon's rule state, as it last recorded it."""
    from monitor.store.service import get_state

    state = get_state(db, "rules")
    if state is None:
        return "rules: no daemon has loaded rules into this database yet"
    value, when = state
    fp = (value.get("fingerprint") or "?")[:12]
    at = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
    if value.get("error"):
        return f"rules: running {fp}; LAST EDIT REJECTED ({at}): {value['error']}"
    return f"rules: running {fp} from {value.get('path')}, last checked {at}"


def cmd_send_test(args: argparse.Namespace) -> int:
    """Send one test message directly (not through the queue) and report the outcome."""
    return asyncio.run(_send_test(args.settings, args.destination))


async def _send_test(settings: Settings, destination: str | None) -> int:
    from monitor.alert.compose import render_html, render_plain
    from monitor.alert.payload import AlertPayload
    from monitor.deliver.destinations import resolve_destination
    from monitor.deliver.errors import DeliveryError
    from monitor.deliver.sinks import make_sink

    name = destination or settings.alerts.default_destination
    sink, chat_ids = make_sink(settings)
    payload = AlertPayload(kind="test", title="رسالة اختبار — test alert",
                           body=f"Arabic press monitor {__version__}: destination '{name}' works.")
    try:
        await sink.start()
        chat, topic = resolve_destination(settings.alerts, name, chat_ids=chat_ids)
        result = await sink.send(chat, render_html(payload, tz=settings.alerts.timezone),
                                 topic_id=topic, plain_fallback=render_plain(
                                     payload, tz=settings.alerts.timezone))
    except DeliveryError as exc:
        print(f"send-test to {name!r} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        await sink.close()
    print(f"test alert sent to {name!r} (chat {result.chat_id}, message {result.message_id})")
    return 0


def _url_loader(settings: Settings) -> Any:
    """For ``monitor score URL``: fetch and extract a page exactly as the pipeline does."""
    def load(url: str) -> tuple[str, str]:
        from monitor.extract.article import fetch_and_extract
        return asyncio.run(fetch_and_extract(url, settings))
    return load
