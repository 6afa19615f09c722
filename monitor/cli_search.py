"""``monitor search QUERY``: ranked search of the stored articles (docs/search.md).

Every shell argument is part of the query; one that holds spaces (``"القوات الروسية"`` typed
with shell quotes) is a phrase, as is text in double quotes inside an argument.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from monitor.cli_reports import span_arg
from monitor.errors import SearchError

__all__ = ["add_search_parser", "cmd_search", "query_text"]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 1000, got {text!r}")
    return value


def add_search_parser(sub: Any) -> None:
    """Register ``monitor search``."""
    p = sub.add_parser("search", help="search the stored articles (same spelling rules as "
                                      "matching; ranked, with highlighted snippets)")
    p.add_argument("query", nargs="+", metavar="QUERY",
                   help='words (all must appear); "words in quotes" form a phrase')
    p.add_argument("--since", type=span_arg, metavar="SPAN",
                   help="only articles first seen in this period: 30m, 24h, 30d (default: all)")
    p.add_argument("--entity", metavar="ID", help="only articles that mention this entity id")
    p.add_argument("--limit", type=_positive, default=20, help="results to show (default 20)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--demo", action="store_true", help="search the demo database")
    p.set_defaults(func=cmd_search)


def query_text(parts: list[str]) -> str:
    """The query from the shell arguments: an argument with spaces (and no quotes of its own)
    was quoted in the shell, so it is a phrase."""
    out = []
    for part in parts:
        part = part.strip()
        if part and any(c.isspace() for c in part) and '"' not in part:
            part = f'"{part}"'
        out.append(part)
    return " ".join(out)


def cmd_search(args: argparse.Namespace) -> int:
    """Bring the index up to date if needed, run the query, print the results."""
    from monitor.cli_reports import state_database
    from monitor.search.backfill import run_backfill
    from monitor.search.engine import run_search
    from monitor.search.query import parse_query
    from monitor.store.db import open_database
    from monitor.store.search import entity_mentioned

    query = parse_query(query_text(args.query))       # a bad query fails before any work
    path = state_database(args, "nothing stored to search")
    if path is None:
        return 1
    db = open_database(path)
    try:
        run_backfill(db, progress=sys.stderr)
        if args.entity and not entity_mentioned(db.conn, args.entity):
            raise SearchError(f"no stored article mentions entity {args.entity!r} (entity ids "
                              "are the rules' ids: see 'monitor rules check')")
        now = time.time()
        found = run_search(db, query, limit=args.limit, entity=args.entity, now=now,
                           since=now - args.since[1] if args.since else None)
    finally:
        db.close()
    if args.json:
        print(json.dumps({"query": args.query, "phrases": [str(p) for p in query.phrases],
                          "results": [r.to_json() for r in found.results],
                          "matched": found.candidates, "window_full": found.window_full,
                          "seconds": round(found.seconds, 4)}, ensure_ascii=False))
        return 0
    print(render(found, bold=sys.stdout.isatty()))
    return 0


def render(found: Any, *, bold: bool) -> str:
    """The human listing: one block per result, a summary line last."""
    on, off = ("\033[1m", "\033[0m") if bold else ("**", "**")
    lines = []
    for n, r in enumerate(found.results, 1):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.published_at or r.first_seen_at))
        lines.append(f"{n:>2}. {r.title.render(on, off) or '(no title)'}")
        lines.append(f"    #{r.id} · {when} · {r.outlet or '?'} · {r.url or '(no link)'}")
        lines += [f"    {s.render(on, off)}" for s in r.snippets]
        lines.append("")
    more = (f"; the {found.candidates:,} newest matches were ranked" if found.window_full
            else "")
    lines.append(f"{len(found.results)} result(s) for {' · '.join(map(str, found.query.phrases))}"
                 f" in {found.seconds * 1000:.0f} ms{more}" if found.results else
                 f"nothing found for {' · '.join(map(str, found.query.phrases))}")
    return "\n".join(lines)
