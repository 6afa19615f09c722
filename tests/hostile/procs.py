"""Reading processes from /proc in tests: descendants, liveness, peak memory (Linux)."""

from __future__ import annotations

from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from the state on (field 3), or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time): tells a process from a later one given the same pid."""
    fields = _stat(pid)
    return (pid, fields[19]) if fields else None


def alive(ident: tuple[int, str]) -> bool:
    """The process still runs (a zombie, or a new process with its pid, does not count)."""
    fields = _stat(ident[0])
    return bool(fields) and fields[0] != "Z" and fields[19] == ident[1]


def descendants(pid: int) -> list[tuple[int, str]]:
    """Identities of every process below ``pid`` (children of any of its threads, recursively)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            ident = identity(child)
            if ident:
                found.append(ident)
                todo.append(child)
    return found


def vm_hwm(pid: int) -> int:
    """Peak resident memory of a live process in bytes (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def workers_of(parent_pid: int) -> list[tuple[int, str]]:
    """Extraction workers started by ``parent_pid``, wherever they are now (their command line
    names the parent: they outlive it as orphans, re-parented elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            args = cmdline(int(entry.name))
            if any("monitor.extract.worker" in a for a in args) and str(parent_pid) in args[-3:]:
                ident = identity(int(entry.name))
                if ident and alive(ident):
                    found.append(ident)
    return found
