"""Adding feeds to the ``feeds:`` list of a config file, keeping its comments and layout.

The file is not re-serialised: ruamel.yaml's round-trip mode reads it (where the list and its
items are), renders the new entries laid out like the list's items (their columns; one-line
``{name: …, url: …}`` maps like the shipped list, or block maps), and that text is inserted
after the last item, under a comment saying where it came from. Every other byte stays as it
was, comments included; comments and blank lines between the list and the next key belong to
that key ("# --- polling") and stay before it.

A feed already configured (same URL after :func:`monitor.parse.urls.canonical_url`) is skipped;
a new feed whose name is taken gets a suffix (``-2`` …). A file without a ``feeds:`` key runs on
the shipped defaults (``monitor/source/default_feeds.yaml``): the import copies them in first,
with their comments, so adding one feed never silently drops the 26 the daemon was polling
(:attr:`MergeResult.defaults_copied` says so). A missing file is created.

The result is validated with :func:`monitor.config.load_settings` before anything is written,
and written atomically (a temporary file in the same folder, renamed over the original): a
failure at any point leaves the file as it was.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from monitor.config import DEFAULT_FEEDS, load_settings
from monitor.config_feeds import FeedSource
from monitor.errors import ConfigError
from monitor.parse.urls import canonical_url
from monitor.source.opml import unique_names

_COPIED = ("# feeds: the shipped defaults, copied in by 'monitor feeds import' (this file had no\n"
           "# feeds: list, so the daemon polled them), then the imported feeds.\n")


@dataclass
class MergeResult:
    """What :func:`merge_into_config` did (or, on a dry run, would do)."""

    path: Path
    text: str                                   # the file's new text
    added: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (name, why)
    renamed: list[tuple[str, str]] = field(default_factory=list)   # (wanted, given)
    defaults_copied: int = 0
    created: bool = False
    written: bool = False


def merge_into_config(config_path: str | Path, entries: list[dict[str, Any]], *,
                      dry_run: bool = False, comment: str | None = None) -> MergeResult:
    """Add ``entries`` (``feeds:`` items, e.g. from :func:`monitor.source.opml.read_opml`) to
    the config file, skipping feeds already there; nothing is written on a dry run.

    Args:
        config_path: the YAML config file (created when missing).
        entries: the feeds to add; names taken get a suffix, URLs configured are skipped.
        dry_run: compute and validate the new text (``MergeResult.text``), write nothing.
        comment: a comment line written above the added feeds.

    Raises:
        ConfigError: the file is not valid YAML or not a valid configuration (before or after
            the merge), or cannot be written; the file is then left untouched.
    """
    path = Path(config_path)
    created = not path.exists()
    text = "" if created else _read(path)
    if not created:
        load_settings(path, env={})         # a broken file is reported as it is, with its lines
    doc = _load(text, str(path))
    result = MergeResult(path=path, text=text, created=created)
    feeds = doc.get("feeds")
    if feeds is not None and not isinstance(feeds, CommentedSeq):
        raise ConfigError("feeds must be a list", file=str(path), key="feeds",
                          line=doc.lc.key("feeds")[0] + 1)
    if "feeds" not in doc:
        defaults = DEFAULT_FEEDS.read_text(encoding="utf-8")
        feeds = _load(defaults, str(DEFAULT_FEEDS))["feeds"]
        result.defaults_copied = len(feeds)
    _select(feeds or [], entries, result)
    if not result.added and not result.defaults_copied:
        return result           # nothing to change: the file is not rewritten
    if "feeds" not in doc:
        # The defaults' own text, comments and all, then the new feeds in the same layout.
        listing = defaults[defaults.index("\nfeeds:") + 1:]
        block = _render(result.added, feeds, comment)
        result.text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + _COPIED + listing + block
    elif feeds and feeds.lc.line > doc.lc.key("feeds")[0]:
        result.text = _insert(text, doc, feeds, _render(result.added, feeds, comment))
    else:       # feeds: [] — that one line is rewritten, the rest kept
        line = doc.lc.key("feeds")[0]
        lines = text.splitlines(keepends=True)
        lines[line] = "feeds:\n" + _render(result.added, None, comment)
        result.text = "".join(lines)
    _validate_and_write(path, result.text, dry_run)
    result.written = not dry_run
    return result


def _select(feeds: Any, entries: list[dict[str, Any]], result: MergeResult) -> None:
    """Fill ``result`` with the entries to add (renamed when needed) and those skipped."""
    known: dict[str, str] = {}          # canonical URL → name
    for item in feeds:
        source = FeedSource.model_validate(_plain(item))
        known[canonical_url(source.feed_url) or source.feed_url] = source.name
    names = set(known.values())
    fresh = []
    for entry in entries:
        try:
            source = FeedSource.model_validate(entry)
        except ValidationError as exc:
            result.skipped.append((str(entry.get("name")), f"invalid: {exc.errors()[0]['msg']}"))
            continue
        url = canonical_url(source.feed_url) or source.feed_url
        if url in known:
            result.skipped.append((source.name, f"already configured as {known[url]!r}"))
            continue
        known[url] = source.name
        fresh.append(dict(entry))
    wanted = [e["name"] for e in fresh]
    for before, entry in zip(wanted, unique_names(fresh, taken=names), strict=True):
        if entry["name"] != before:
            result.renamed.append((before, entry["name"]))
    result.added = fresh


def _render(entries: list[dict[str, Any]], like: CommentedSeq | None, comment: str | None) -> str:
    """The YAML lines of ``entries`` as items of a top-level list laid out like ``like``."""
    dash, content = (like.lc.col, like.lc.item(0)[1]) if like else (2, 4)
    flow = bool(like) and like[-1].fa.flow_style()
    yaml = YAML(typ="rt")
    yaml.width = 4096                    # never wrap a line (the one-line feed maps)
    yaml.indent(mapping=content - dash, sequence=content, offset=dash)
    out = io.StringIO()
    yaml.dump({"feeds": CommentedSeq(_node(e, flow) for e in entries)}, out)
    lines = out.getvalue().splitlines(keepends=True)[1:]
    return (f"{' ' * dash}# {comment}\n" if comment else "") + "".join(lines)


def _insert(text: str, doc: Any, feeds: CommentedSeq, block: str) -> str:
    """``text`` with ``block`` after the last item of the (block) feeds list."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    keys = list(doc)
    after = keys.index("feeds") + 1
    end = doc.lc.key(keys[after])[0] if after < len(keys) else len(lines)
    # Blank lines and comments less indented than the items, between the list and the next
    # key, belong to that key ("# --- polling"): the new items go before them.
    while end - 1 > feeds.lc.line and _trailing(lines[end - 1], feeds.lc.col):
        end -= 1
    return "".join([*lines[:end], block, *lines[end:]])


def _trailing(line: str, dash: int) -> bool:
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    return not stripped or (stripped.startswith("#") and (indent < dash or indent == 0))


def _node(entry: dict[str, Any], flow: bool) -> CommentedMap:
    node = CommentedMap()
    for key, value in entry.items():
        if isinstance(value, list):
            value = CommentedSeq(value)
            value.fa.set_flow_style()       # tags: [a, b], as everywhere in the config
        node[key] = value
    if flow:
        node.fa.set_flow_style()
    return node


def _validate_and_write(path: Path, text: str, dry_run: bool) -> None:
    if not dry_run:
        try:
            path.resolve().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot write: {exc.strerror}", file=str(path)) from None

    def valid(tmp: Path) -> None:
        try:
            load_settings(tmp, env={})
        except ConfigError as exc:
            raise ConfigError(f"not written: the file would be invalid after the import: "
                              f"{exc.reason}", file=str(path), key=exc.key) from None

    write_atomically(path, text, check=valid, dry_run=dry_run)


def write_atomically(path: Path, text: str, *, check: Callable[[Path], None] | None = None,
                     dry_run: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it, so a failure leaves
    the file as it was; ``check(temporary file)`` may refuse the text first; ``dry_run`` checks
    and writes nothing. Raises :class:`ConfigError` naming the file."""
    target = path.resolve()         # a symlinked file stays a symlink
    try:
        # Beside the target, so that the rename is atomic (same file system).
        fd, name = tempfile.mkstemp(dir=None if dry_run else target.parent,
                                    prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", file=str(path)) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(tmp)
        if not dry_run:
            os.chmod(tmp, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
            os.replace(tmp, target)
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", file=str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


def _load(text: str, label: str) -> Any:
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", file=label,
                          line=mark.line + 1 if mark else None) from None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise ConfigError("the top level must be a mapping of keys to values", file=label, line=1)
    return doc


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                          file=str(path)) from None


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (for validation)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node

