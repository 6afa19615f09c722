"""Live reloads: notice edits to rule files and the config file, and apply them safely.

Files are polled (mtime, size) every few seconds; a change is acted on once the snapshot has
been stable for one more check, so an editor's half-written file is usually not even read. If it
is read and invalid, the running rules stay, and the error (file, line) is reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

Snapshot = tuple[tuple[str, float, int], ...]


def snapshot(*paths: Path | None) -> Snapshot:
    """(path, mtime, size) of each file, or of each *.yaml file in a folder."""
    out: list[tuple[str, float, int]] = []
    for path in paths:
        if path is None:
            continue
        files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            out.append((str(f), st.st_mtime, st.st_size))
    return tuple(out)


class ChangeWatcher:
    """Says when a set of files changed and then stayed unchanged for one check."""

    def __init__(self, *paths: Path | None) -> None:
        self.paths = paths
        self._applied = snapshot(*paths)
        self._seen = self._applied

    def poll(self) -> bool:
        """True once per settled change."""
        now = snapshot(*self.paths)
        settled = now == self._seen and now != self._applied
        self._seen = now
        if settled:
            self._applied = now
        return settled

    def force(self) -> None:
        """Forget the applied state (SIGHUP): the next poll reports a change."""
        self._applied = ()
        self._seen = snapshot(*self.paths)


def rules_diff(old: Any, new: Any) -> str:
    """One line: what a rule edit added, removed and changed."""
    parts = []
    for label, a, b in (("rules", old.rules, new.rules), ("entities", old.entities, new.entities),
                        ("groups", old.groups, new.groups)):
        before = {x.id: _content(x) for x in a}
        after = {x.id: _content(x) for x in b}
        added = sorted(after.keys() - before.keys())
        removed = sorted(before.keys() - after.keys())
        changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
        bits = [f"+{len(added)} ({', '.join(added[:5])})" if added else "",
                f"-{len(removed)} ({', '.join(removed[:5])})" if removed else "",
                f"~{len(changed)} ({', '.join(changed[:5])})" if changed else ""]
        bits = [b for b in bits if b]
        if bits:
            parts.append(f"{label} " + " ".join(bits))
    return "; ".join(parts) or "no effective change"


def _content(x: Any) -> Any:
    """A rule/entity without its source location (moving a line is not a change)."""
    fields = getattr(x, "__dataclass_fields__", {})
    return tuple((f, getattr(x, f)) for f in fields if f != "source")
