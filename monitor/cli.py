"""Command line: the parser of ``monitor`` and its entry point :func:`main`, the only place that
sets up logging and loads configuration.

The subcommands' handlers live in modules named after what they do: :mod:`monitor.cli_poll`
(``once``, ``run``), :mod:`monitor.cli_feeds` (``feeds``, ``feeds import|export``),
:mod:`monitor.cli_reports` (``status``, ``digest``, ``backtest``), :mod:`monitor.cli_labels`
(``labels export``, ``backtest --labels|--judged``), :mod:`monitor.cli_search` (``search``),
:mod:`monitor.cli_state` (``migrate``, ``export-state``, ``import-state``),
:mod:`monitor.cli_send_test` (``send-test``) and :mod:`monitor.match.commands` (``rules check``,
``score``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from monitor import __version__
from monitor.cli_feeds import add_feeds_parser
from monitor.cli_labels import add_judged_arguments, add_labels_parser
from monitor.cli_poll import cmd_once, cmd_run
from monitor.cli_reports import cmd_backtest, cmd_digest, cmd_status, span_arg
from monitor.cli_search import add_search_parser
from monitor.cli_send_test import cmd_send_test
from monitor.cli_state import register as add_state_parsers
from monitor.config import Settings, load_settings, resolve_config_path
from monitor.errors import MonitorError
from monitor.logs import setup_logging

DESCRIPTION = """\
Arabic press monitor: polls Arabic news feeds (RSS/Atom and Google News searches), extracts the
articles, scores them against the rule pack (Russian military activity in Libya, rules/) and
alerts on Telegram, one message per story, with surges and digests. State is one SQLite file."""

EPILOG = """\
getting started:
  monitor once --demo         poll the bundled demo feeds once (offline) and print a summary
  monitor run                 the daemon: polls every feed on its interval, sends alerts,
                              serves /healthz and /metrics (default 127.0.0.1:8080)
  monitor status              alert delivery: queue depth, last sent, paused destinations
  monitor rules check rules/  validate rule files (errors name file and line)
  monitor score FILE|URL      score a text or a page and explain the result
  monitor labels export       the alerts analysts judged; 'backtest --judged' tests an edit on them

Settings: --config FILE, else $MONITOR_CONFIG, else ./monitor.yaml; any key can be set as
MONITOR_<SECTION>__<KEY>; the bot token is TELEGRAM_BOT_TOKEN (or TELEGRAM_BOT_TOKEN_FILE).
See README.md. 'monitor COMMAND --help' describes a command's options."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``monitor`` and all its subcommands."""
    parser = argparse.ArgumentParser(prog="monitor", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", help="YAML config file (default: $MONITOR_CONFIG or ./monitor.yaml)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-json", action="store_true", help="log JSON lines")
    sub = parser.add_subparsers(dest="command", required=True, title="commands")

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

    add_feeds_parser(sub)

    status = sub.add_parser("status", help="alert delivery: queue depth, last sent, paused "
                                           "destinations")
    status.add_argument("--demo", action="store_true", help="show the demo database")
    status.add_argument("--resume", metavar="DESTINATION", nargs="?", const="*",
                        help="clear the pause of a destination (or all) after fixing access")
    status.set_defaults(func=cmd_status)

    digest = sub.add_parser("digest", help="summary of a period: stories, top entities, surges")
    digest.add_argument("--since", default="24h", type=span_arg,
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
    back.add_argument("--since", default=None, type=span_arg,
                      help="how far back: 30m, 12h, 30d (default 30d; with --judged: every "
                           "judgement)")
    back.add_argument("--jsonl", action="store_true", help="JSON lines for machines")
    back.add_argument("--demo", action="store_true", help="use the demo database")
    back.add_argument("--workers", type=int, default=2, help="scoring processes (default 2)")
    back.add_argument("--all", action="store_true",
                      help="re-score every stored article, not only those the edit can change")
    add_judged_arguments(back)
    back.set_defaults(func=cmd_backtest)

    add_labels_parser(sub)
    add_search_parser(sub)
    add_state_parsers(sub)

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
    except BrokenPipeError:
        # The reader went away (`monitor score … | head`): stop quietly, as other tools do,
        # and keep Python's flush at exit from raising the same error again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _settings(args: argparse.Namespace) -> Settings:
    path = resolve_config_path(args.config)
    if path is not None and not path.exists() and getattr(args, "creates_config", False):
        path = None     # `feeds import` creates it: until then the defaults stand
    return load_settings(path)


def _url_loader(settings: Settings) -> Any:
    """For ``monitor score URL``: read a page (a Google News link resolved first, a Telegram
    post with its linked page) exactly as the pipeline does."""
    def load(url: str) -> tuple[str, str]:
        from monitor.source.single import load_url
        return asyncio.run(load_url(url, settings))
    return load
