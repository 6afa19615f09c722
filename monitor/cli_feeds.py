"""``monitor feeds``: each feed's health (no subcommand, as always) and the feed list's
subcommands: ``import FILE.opml`` into the config file, ``export`` the configured sources,
``check`` them live.

A subcommand is one ``_add_NAME(actions)`` function listed in :data:`SUBCOMMANDS`, which adds
its parser and sets ``func``. A subcommand that may
create the config file sets ``creates_config=True``: ``monitor.cli`` then does not fail on a
``--config`` file that does not exist yet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.cli_poll import demo_settings
from monitor.cli_reports import state_database
from monitor.config import DEFAULT_CONFIG, Settings, resolve_config_path
from monitor.errors import ConfigError
from monitor.report import checks_table, circuits_table, feeds_table
from monitor.source.check import SourceCheck, check_sources
from monitor.source.merge import MergeResult, merge_into_config, write_atomically
from monitor.source.opml import export_opml, read_opml
from monitor.store.db import open_database
from monitor.store.feeds import feed_health
from monitor.store.hosts import circuits


def add_feeds_parser(sub: Any) -> None:
    """``monitor feeds`` and its subcommands, on the top-level subparsers ``sub``."""
    feeds = sub.add_parser("feeds", help="show each feed's health; import or export the feed "
                                         "list (OPML)",
                           description="Without a subcommand: each feed's health from the "
                                       "state database.")
    feeds.add_argument("--demo", action="store_true", help="show the demo database")
    feeds.set_defaults(func=cmd_feeds)
    actions = feeds.add_subparsers(dest="feeds_command", title="subcommands")
    for add in SUBCOMMANDS:
        add(actions)


def _config_flag(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: unless given here, the top-level --config (or its default) stands.
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="YAML config file (default: $MONITOR_CONFIG or ./monitor.yaml)")


def _add_import(actions: Any) -> None:
    imp = actions.add_parser(
        "import", help="add the feeds of an OPML file (a feed reader's export) to the config",
        description="Add the feeds of an OPML file to the feeds: list of the config file, "
                    "keeping its comments; feeds already configured (same URL) are skipped, "
                    "names already taken get a suffix. A config without a feeds: list gets "
                    "the shipped defaults copied in first (the daemon was polling them). "
                    "The result is validated before it is written.")
    imp.add_argument("file", help="the OPML file")
    _config_flag(imp)
    imp.add_argument("--dry-run", action="store_true",
                     help="show what would be added and skipped; write nothing")
    imp.set_defaults(func=cmd_import, creates_config=True)


def _add_export(actions: Any) -> None:
    exp = actions.add_parser("export", help="write the configured sources as OPML 2.0",
                             description="Write the configured sources as OPML 2.0, grouped by "
                                         "their first tag; 'monitor feeds import' reads it back.")
    exp.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")
    _config_flag(exp)
    exp.set_defaults(func=cmd_export)


def _add_check(actions: Any) -> None:
    chk = actions.add_parser(
        "check", help="probe each source once and judge it (ok / stale / broken / extraction "
                      "poor); writes no state",
        description="Fetch each configured source once (disabled ones too), parse it, and "
                    "extract a few of its newest item pages (Google News links resolved "
                    "first). Prints, per source: reachable or the error, what it turned out to "
                    "be, items, the newest item's date, pages that gave real text, when it was "
                    "last verified, and a verdict. Writes no state. Exit 1 when any is broken.")
    chk.add_argument("names", nargs="*", metavar="NAME", help="only these sources")
    chk.add_argument("--json", action="store_true", help="one JSON object per source")
    chk.add_argument("--sample", type=int, default=3, metavar="N",
                     help="item pages extracted per source (default 3; 0: none)")
    chk.add_argument("--demo", action="store_true",
                     help="check the bundled demo sources, served on 127.0.0.1 (offline)")
    chk.add_argument("--demo-port", type=int, default=8765, help="port of the demo server")
    _config_flag(chk)
    chk.set_defaults(func=cmd_check)


SUBCOMMANDS: list[Callable[[Any], None]] = [_add_import, _add_export, _add_check]


def cmd_feeds(args: argparse.Namespace) -> int:
    """Print each feed's health from the state database."""
    path = state_database(args, "run 'monitor once' first")
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


def cmd_import(args: argparse.Namespace) -> int:
    """Add an OPML file's feeds to the config file and say what was added and skipped."""
    config = resolve_config_path(args.config) or Path(DEFAULT_CONFIG)
    warnings: list[str] = []
    entries = read_opml(args.file, warnings)
    result = merge_into_config(config, entries, dry_run=args.dry_run,
                               comment=f"imported from {Path(args.file).name}")
    print(_report(result, args.file, warnings, args.dry_run))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Print (or write to ``--output``) the configured sources as OPML."""
    settings: Settings = args.settings
    text = export_opml(settings.feeds)
    if not args.output:
        sys.stdout.write(text)
        return 0
    write_atomically(Path(args.output), text)
    print(f"{len(settings.feeds)} sources written to {args.output}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Probe the configured sources (or the named ones) and print what each is worth."""
    with demo_settings(args, args.settings) as settings:
        return _check(args, settings)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    sources = settings.feeds
    if args.names:
        known = {s.name: s for s in sources}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            raise ConfigError(f"no such source: {', '.join(unknown)} "
                              f"(configured: {', '.join(sorted(known)) or 'none'})")
        sources = [known[n] for n in args.names]
    done = 0

    def progress(result: SourceCheck) -> None:
        nonlocal done
        done += 1
        print(f"checked {done}/{len(sources)}: {result.name} {result.verdict}", file=sys.stderr)

    results = asyncio.run(check_sources(settings, sources, sample=max(0, args.sample),
                                        progress=progress))
    order = {s.name: i for i, s in enumerate(sources)}
    results.sort(key=lambda r: order[r.name])
    if args.json:
        for result in results:
            print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        print(checks_table(results))
    return 1 if any(r.verdict == "broken" for r in results) else 0


def _report(result: MergeResult, opml: str, warnings: list[str], dry_run: bool) -> str:
    would = "would be " if dry_run else ""
    lines = [f"{opml} → {result.path}" + (" (new file)" if result.created else "")]
    if result.defaults_copied:
        had = "there was no config file" if result.created else "the config had no feeds: list"
        lines.append(f"  {had}, so the daemon used the {result.defaults_copied} shipped default "
                     f"feeds: they {would or 'were '}copied in first, so the import keeps them")
    lines.append(f"  added ({len(result.added)}):" if result.added else "  added: none")
    given = {new: old for old, new in result.renamed}
    for entry in result.added:
        note = f"  (renamed: {given[entry['name']]!r} was taken)" if entry["name"] in given else ""
        where = entry.get("url") or entry.get("query") or entry.get("channel")
        lines.append(f"    + {entry['name']}  {where}{note}")
    if result.skipped:
        lines.append(f"  skipped ({len(result.skipped)}):")
        lines += [f"    - {name}: {why}" for name, why in result.skipped]
    if warnings:
        lines.append(f"  outlines not imported ({len(warnings)}):")
        lines += [f"    ! {warning}" for warning in warnings]
    if dry_run:
        lines.append("dry run: nothing written")
    elif not result.written:
        lines.append("nothing new: the file is unchanged")
    return "\n".join(lines)
