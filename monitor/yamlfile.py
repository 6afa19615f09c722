"""YAML loading that remembers the line of every mapping key and list item.

Configuration and rule files are edited by hand, so every error must point at a line. PyYAML's
safe loader is used (no arbitrary objects); mappings come back as :class:`LineDict` and sequences
as :class:`LineList`, plain ``dict``/``list`` subclasses that also carry line numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import MonitorError


class LineDict(dict):  # type: ignore[type-arg]
    """A dict that knows the 1-based line of itself (``line``) and of each key (``lines``)."""

    line: int = 0
    lines: dict[Any, int]


class LineList(list):  # type: ignore[type-arg]
    """A list that knows the 1-based line of itself (``line``) and of each item (``lines``)."""

    line: int = 0
    lines: list[int]


# Hand-edited files never need more: a billion-laughs file (aliases of aliases) expands to
# gigabytes from a few hundred bytes, and one careless edit would take a live reload down.
MAX_NODES = 2_000_000
MAX_BYTES = 64_000_000


# libyaml's parser when PyYAML was built with it (the wheels are): a 10 MB rule file parses in
# seconds instead of minutes; the constructors below are the same either way.
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[misc, valid-type]
    def construct_document(self, node: yaml.Node) -> Any:
        size = _expanded_size(node)
        if size > MAX_NODES:
            raise YamlSyntaxError(
                f"the document expands to more than {MAX_NODES:,} values (YAML aliases of "
                "aliases?); refused", node.start_mark.line + 1)
        return super().construct_document(node)


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document would have once every alias is copied out.

    Aliases make the node graph a DAG; each node's expanded size is computed once, so this is
    linear in the distinct nodes however large the expansion.
    """
    memo: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in memo:
            continue
        children = _children(node)
        if done or not children:
            memo[id(node)] = 1 + sum(memo[id(c)] for c in children)
            if memo[id(node)] > MAX_NODES:
                return memo[id(node)]
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in memo)
    return memo[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class YamlSyntaxError(MonitorError):
    """The text is not valid YAML; ``line`` is 1-based when known."""

    kind = "yaml"

    def __init__(self, reason: str, line: int | None) -> None:
        self.reason, self.line = reason, line
        super().__init__(reason if line is None else f"line {line}: {reason}")


def parse_yaml(text: str) -> Any:
    """Parse YAML text into LineDict/LineList/scalars. Raises :class:`YamlSyntaxError`."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or Python)
    except YamlSyntaxError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlSyntaxError(reason, mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), None) from exc


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file (UTF-8). Raises OSError or :class:`YamlSyntaxError` (also for
    a file that is not UTF-8 text, or too large to be a hand-edited file)."""
    path = Path(path)
    if path.stat().st_size > MAX_BYTES:
        raise YamlSyntaxError(f"file larger than {MAX_BYTES // 1_000_000} MB; refused", None)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise YamlSyntaxError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as "
                              "UTF-8 (it may be windows-1256)", line) from None
    return parse_yaml(text)


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """Best line for a path such as ``("feeds", 3, "url")``: the deepest element that has one."""
    line: int | None = getattr(data, "line", None) or None
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lines[part]
            node = node[part]
        else:
            break
    return line
