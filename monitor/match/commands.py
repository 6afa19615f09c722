"""``monitor rules check [PATH]`` and ``monitor score ...`` subcommands.

The lead's ``monitor/cli.py`` calls :func:`add_rules_parser` and :func:`add_score_parser` with the
object returned by ``parser.add_subparsers(dest="command")``; each sets ``func`` to a handler
``(args) -> int``. URL inputs are fetched through ``args.url_loader(url) -> (title, text)`` when
the caller provides it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from monitor.errors import MonitorError, RulesError
from monitor.match.explain import explain
from monitor.match.rules import load_rules
from monitor.match.score import Matcher

__all__ = ["add_rules_parser", "add_score_parser", "cmd_rules_check", "cmd_score"]

DEFAULT_RULES = "rules"


def _rules_path(args: argparse.Namespace) -> str:
    """PATH argument, else --rules, else the configured rules_path, else ./rules."""
    settings = getattr(args, "settings", None)
    configured = str(settings.rules_path) if settings is not None else None
    return (getattr(args, "path", None) or getattr(args, "rules", None) or configured
            or DEFAULT_RULES)


def add_rules_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``rules`` with its ``check [PATH]`` subcommand."""
    parser = subparsers.add_parser("rules", help="work with rule files")
    # SUPPRESS: do not overwrite a --rules given to the main parser.
    parser.add_argument("--rules", default=argparse.SUPPRESS,
                        help=f"rule directory or file (default: {DEFAULT_RULES})")
    sub = parser.add_subparsers(dest="rules_command")
    check = sub.add_parser("check", help="validate rule files and print a summary")
    check.add_argument("path", nargs="?", default=None, help="rule directory or file")
    check.set_defaults(func=cmd_rules_check)
    parser.set_defaults(func=lambda args: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def cmd_rules_check(args: argparse.Namespace) -> int:
    """Validate the rule files; print a summary (exit 0) or every problem (exit 1)."""
    path = _rules_path(args)
    try:
        ruleset = load_rules(path)
    except RulesError as exc:
        problems = exc.problems or [exc]
        for p in problems:
            print(str(p), file=sys.stderr)
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    settings = getattr(args, "settings", None)
    if settings is not None:
        # Only here is the alerts configuration known: a rule naming a destination nobody
        # configured alerts at the default one, and must not do so silently.
        from monitor.deliver.destinations import unconfigured_destinations

        for warning in unconfigured_destinations(ruleset.rules, settings.alerts):
            print(f"warning: {warning}", file=sys.stderr)
    s = ruleset.summary()
    print(f"{path}: OK — {s['entities']} entities, {s['aliases']} aliases, "
          f"{s['groups']} groups, {s['rules']} rules")
    types = ", ".join(f"{k} {v}" for k, v in sorted(ruleset.entity_types().items()))
    print(f"  entity types: {types}")
    for r in ruleset.rules:
        print(f"  rule {r.id}: threshold {r.threshold:g}, {r.severity} -> {r.destination}")
    print(f"  fingerprint {ruleset.fingerprint[:16]}")
    return 0


def add_score_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``score``: score files, URLs, JSON lines or stdin and explain the result."""
    parser = subparsers.add_parser(
        "score", help="score articles against the rules and explain the result",
        description="Inputs: text files (first line title, rest text), *.jsonl files, "
                    "http(s) URLs, or '-' for stdin.")
    parser.add_argument("inputs", nargs="*", default=["-"], help="files, URLs, or - for stdin")
    parser.add_argument("--jsonl", action="store_true",
                        help='read JSON lines {"id","title","text"}; write one JSON result per line')
    parser.add_argument("--rules", default=argparse.SUPPRESS,
                        help=f"rule directory or file (default: {DEFAULT_RULES})")
    parser.add_argument("--width", type=int, default=50, help="snippet context in characters")
    parser.set_defaults(func=cmd_score)
    return parser


def cmd_score(args: argparse.Namespace) -> int:
    """Score every input. Exit 0, or 1 when the rules or some input could not be read."""
    try:
        matcher = Matcher(load_rules(_rules_path(args)))
    except RulesError as exc:
        for p in exc.problems or [exc]:
            print(str(p), file=sys.stderr)
        return 1
    failed = False
    for source in args.inputs or ["-"]:
        try:
            for doc_id, title, text in _documents(source, args):
                _emit(matcher, doc_id, title, text, args)
        except BrokenPipeError:
            raise                # our reader is gone, not this input: main() stops quietly
        except (OSError, UnicodeDecodeError, MonitorError) as exc:
            print(f"{source}: cannot score: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _emit(matcher: Matcher, doc_id: Any, title: str, text: str, args: argparse.Namespace) -> None:
    result = matcher.score(title, text)
    if args.jsonl:
        print(json.dumps(result.to_json(doc_id), ensure_ascii=False), flush=True)
    else:
        print(f"== {doc_id}: {title[:100]}")
        print(explain(result, title, text, width=args.width))
        print()


def _documents(source: str, args: argparse.Namespace) -> Iterator[tuple[Any, str, str]]:
    """(id, title, text) for each document of one input."""
    if source.startswith(("http://", "https://")):
        loader = getattr(args, "url_loader", None)
        if loader is None:
            raise MonitorError("URL inputs need the fetch pipeline (no url_loader available)")
        title, text = loader(source)
        yield source, title, text
        return
    as_jsonl = args.jsonl or source.endswith(".jsonl")
    if source == "-":
        # JSON lines are read as bytes and decoded line by line: one undecodable line must not
        # take the lines around it down with it (a text stream fails its whole read-ahead chunk).
        yield from _read(getattr(sys.stdin, "buffer", sys.stdin) if as_jsonl else sys.stdin,
                         "<stdin>", as_jsonl)
        return
    with Path(source).open("rb") if as_jsonl else Path(source).open(encoding="utf-8") as fh:
        yield from _read(fh, source, as_jsonl)


def _read(fh: IO[Any], name: str, as_jsonl: bool) -> Iterator[tuple[Any, str, str]]:
    if not as_jsonl:
        title, _, text = fh.read().partition("\n")
        yield name, title.strip(), text
        return
    for lineno, raw in enumerate(fh, 1):
        try:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 ({exc.reason} at byte {exc.start})"
            print(json.dumps({"id": f"{name}:{lineno}", "line": lineno, "error": reason}),
                  flush=True)
            print(f"{name}:{lineno}: {reason}; skipped", file=sys.stderr)
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"{name}:{lineno}: not JSON ({exc.msg}); skipped", file=sys.stderr)
            continue
        if not isinstance(record, dict):
            print(f"{name}:{lineno}: not a JSON object; skipped", file=sys.stderr)
            continue
        title, text = record.get("title") or "", record.get("text") or ""
        if not isinstance(title, str) or not isinstance(text, str):
            print(f"{name}:{lineno}: title and text must be strings; skipped", file=sys.stderr)
            continue
        yield record.get("id", f"{name}:{lineno}"), title, text
