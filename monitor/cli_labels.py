"""Judgements as data: ``monitor labels export``, ``monitor backtest --labels FILE|--judged``
and the per-rule precision table of ``monitor status``.

The export's JSON lines use the field names of the labelled sets in ``tests/data/`` (``id``,
``title``, ``text``, ``label`` true|false), so the file feeds ``monitor score --jsonl`` and
``monitor backtest --labels`` alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.report import table
from monitor.store.db import Database, display, open_database
from monitor.store.judgements import JudgedArticle, judged_articles, rule_precision

DAY = 86400.0


def since_arg(text: str) -> tuple[str, float]:
    """argparse type of ``--since``: a span before now (30m, 24h, 30d) or a date (2026-11-01,
    local time, or an ISO timestamp); the text as typed and the unix time it means."""
    from monitor.trends.digest import parse_span

    try:
        return text.strip(), time.time() - parse_span(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a span like 30d or a date like 2026-11-01, got {text!r}") from None
    return text.strip(), when.timestamp()


def add_labels_parser(sub: Any) -> None:
    """Register ``labels export``."""
    labels = sub.add_parser("labels", help="analysts' judgements of alerts, as data")
    cmds = labels.add_subparsers(dest="labels_command", required=True)
    export = cmds.add_parser("export", help="the judged articles with their text and labels")
    export.add_argument("--since", type=since_arg, default=None,
                        help="judged after: 30d, 12h or a date 2026-11-01 (default: all)")
    export.add_argument("--jsonl", action="store_true",
                        help="one JSON object per article (for 'monitor score --jsonl' and "
                             "'monitor backtest --labels')")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    export.add_argument("--demo", action="store_true", help="read the demo database")
    export.set_defaults(func=cmd_labels_export)


def add_judged_arguments(back: argparse.ArgumentParser) -> None:
    """``backtest``'s options for judged articles."""
    source = back.add_mutually_exclusive_group()
    source.add_argument("--labels", metavar="FILE", type=Path,
                        help="backtest on the judged articles of FILE ('monitor labels export "
                             "--jsonl', or any labelled set)")
    source.add_argument("--judged", action="store_true",
                        help="backtest on the judged articles of the state database (every "
                             "judgement, or those of --since)")
    back.add_argument("--fail-on-loss", action="store_true",
                      help="with --labels/--judged: exit 1 when the edit stops alerting on an "
                           "article judged relevant (for CI of rule repositories)")


# ------------------------------------------------------------------ labels export


def cmd_labels_export(args: argparse.Namespace) -> int:
    """Write the judged articles as a table or JSON lines."""
    from monitor.cli_reports import state_database

    path = state_database(args, "no alert judged yet")
    if path is None:
        return 1
    db = open_database(path)
    try:
        found = judged_articles(db, args.since[1] if args.since else 0.0)
    finally:
        db.close()
    if args.jsonl:
        text = "".join(json.dumps(export_record(a), ensure_ascii=False) + "\n" for a in found)
    else:
        text = export_table(found) + "\n"
    if args.output:
        from monitor.source.merge import write_atomically

        write_atomically(Path(args.output), text)
        print(f"{len(found)} judged articles written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def export_record(a: JudgedArticle) -> dict[str, Any]:
    """One judged article as a JSON object (``label``: the majority, a tie counting relevant)."""
    return {"id": a.article_id, "label": a.label == "relevant", "title": a.title,
            "text": a.text, "url": a.url, "outlet": a.outlet, "rule": a.rule_id,
            "judges": [{"name": name, "user_id": uid, "label": label, "at": _iso(at)}
                       for name, uid, label, at in a.judges],
            "last_judged_at": _iso(a.last_at)}


def export_table(found: list[JudgedArticle]) -> str:
    """One line per judged article, with its votes."""
    if not found:
        return "no judged articles"
    relevant = sum(a.label == "relevant" for a in found)
    rows = []
    for a in found:
        yes = sum(j[2] == "relevant" for j in a.judges)
        rows.append((a.article_id, a.label.replace("_", " "), yes, len(a.judges) - yes,
                     a.rule_id, _local(a.last_at), a.outlet, _clip(a.title, 50), a.url))
    head = (f"{len(found)} judged articles: {relevant} relevant, {len(found) - relevant} "
            "not relevant (a tie counts relevant)")
    return head + "\n" + table(["id", "label", "✅ votes", "❌ votes", "rule", "last judged",
                                "outlet", "title", "link"], rows)


def _local(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------ backtest on judgements


def cmd_backtest_judged(args: argparse.Namespace) -> int:
    """``backtest --labels FILE`` or ``--judged``: the live and the edited rules against the
    judgements. Exit 1 with ``--fail-on-loss`` when a judged-relevant alert would be lost."""
    from monitor.cli_reports import state_database
    from monitor.errors import MonitorError
    from monitor.match import judged
    from monitor.match.rules import load_rules

    if not (args.labels or args.judged):
        raise MonitorError("--fail-on-loss needs judged articles: --labels FILE or --judged")
    settings = args.settings
    load_rules(settings.rules_path)        # both rule sets must be valid before any work
    load_rules(args.candidate)
    if args.labels:
        articles, source = judged.read_labels(args.labels), str(args.labels)
    else:
        path = state_database(args, "no alert judged yet")
        if path is None:
            return 1
        since = time.time() - args.since[1] if args.since else 0.0
        db = open_database(path)
        try:
            articles = judged.from_judged(judged_articles(db, since))
        finally:
            db.close()
        source = f"the state database {display(path)}"
    report = judged.judged_backtest(articles, settings.rules_path, Path(args.candidate),
                                    source=source, workers=args.workers)
    if args.jsonl:
        for obj in judged.jsonl_lines(report):
            print(json.dumps(obj, ensure_ascii=False))
    else:
        print(judged.render(report))
    if args.fail_on_loss and judged.fails(report):
        print(f"backtest: the edit loses {len(report.lost)} alert(s) judged relevant",
              file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------ status


def precision_table(db: Database, days: float, now: float | None = None) -> str:
    """Per-rule precision from the judgements of the last ``days`` (``monitor status``)."""
    rows = rule_precision(db, (now or time.time()) - days * DAY)
    if not rows:
        return f"judgements: none in the last {days:g} days"
    return f"judgements of the last {days:g} days (✅ share per rule)\n" + table(
        ["rule", "judged", "relevant", "share"],
        [(r.rule_id, r.judged, r.relevant, f"{r.share:.0%}") for r in rows])
