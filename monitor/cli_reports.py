"""``monitor status``, ``digest`` and ``backtest``: reports from the state database
(``--demo``: the demo's). Only ``digest --send`` writes to it (one queued message).
``monitor feeds`` lives in :mod:`monitor.cli_feeds`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from monitor.cli_poll import DEMO_DATABASE
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.report import outbox_table
from monitor.store import outbox
from monitor.store.db import is_url, open_database

log = logging.getLogger("monitor")


def span_arg(text: str) -> tuple[str, float]:
    """argparse type of ``--since``: the text as typed and its length in seconds."""
    from monitor.trends.digest import parse_span

    try:
        return text.strip(), parse_span(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_status(args: argparse.Namespace) -> int:
    """Print the outbox state per destination (never the token)."""
    path = state_database(args, "nothing queued yet")
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
        from monitor.cli_labels import precision_table

        print(precision_table(db, args.settings.analysts.noisy_days))
        from monitor.deliver.probe import status_line

        telegram = status_line(db)
        if telegram:
            print(telegram)
        from monitor.report import replicas_table

        table = replicas_table(db, time.time(), args.settings.ops.leader_check_seconds)
        if table:
            print(table)
    finally:
        db.close()
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


def cmd_digest(args: argparse.Namespace) -> int:
    """Print a summary of the last ``--since``; with ``--send`` queue it as one message."""
    import json

    from monitor.trends.digest import build_digest, queue_digest, render_text

    settings: Settings = args.settings
    path = state_database(args, "nothing to summarise")
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


def state_database(args: argparse.Namespace, hint: str) -> Path | str | None:
    """The state database a read-only command looks at (``--demo``: the demo's), if it exists
    (a PostgreSQL URL is taken as it is: opening it says whether the server answers)."""
    target = DEMO_DATABASE if getattr(args, "demo", False) else args.settings.database
    if is_url(target):
        return str(target)
    path = Path(target)
    if not path.exists():
        print(f"no state database at {path} yet: {hint}", file=sys.stderr)
        return None
    return path


def cmd_backtest(args: argparse.Namespace) -> int:
    """Compare the live rules with edited ones on the stored articles."""
    import json

    from monitor.match.backtest import jsonl_lines, render, run_backtest
    from monitor.match.candidates import select_articles
    from monitor.match.rules import load_rules

    if args.labels or args.judged or args.fail_on_loss:
        from monitor.cli_labels import cmd_backtest_judged

        return cmd_backtest_judged(args)
    settings: Settings = args.settings
    path = state_database(args, "nothing to backtest")
    if path is None:
        return 1
    since = time.time() - (args.since[1] if args.since else 30 * 86400)
    live = load_rules(settings.rules_path)        # both rule sets must be valid before any work
    edited = load_rules(args.candidate)
    # Only the articles the edit can change, found with the search index (--all: every one).
    sel = select_articles(Path(path), since, live, edited, everything=args.all)
    report = run_backtest(sel.chunks, sel.total, settings.rules_path, Path(args.candidate),
                          workers=args.workers, note=sel.note,
                          rescored=sel.rescored if sel.candidates_only else None)
    if args.jsonl:
        for obj in jsonl_lines(report):
            print(json.dumps(obj, ensure_ascii=False))
    else:
        print(render(report))
    return 0
