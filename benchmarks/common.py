"""Shared pieces of the benchmarks: the feed server process, CPU and RSS readings, result rows."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CLK = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One line of the results table: a figure measured against a baseline of the same run."""

    benchmark: str
    figure: str
    value: float
    unit: str
    baseline: str
    baseline_value: float | None
    ratio: float | None
    target: str
    ok: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def feed_url(base: str, i: int) -> str:
    """The address of feed ``i`` on the feed server at ``base``."""
    return f"{base}/feed/{i}.xml"


class FeedServer:
    """benchmarks/feedserver.py in a process of its own (so it never takes our GIL)."""

    def __init__(self, feeds: int, items: int, page: str = "large", match_every: int = 50) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "benchmarks" / "feedserver.py"), "--feeds", str(feeds),
             "--items", str(items), "--page", page, "--match-every", str(match_every)],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"
        self.feeds = feeds

    def feed_url(self, i: int) -> str:
        return feed_url(self.base, i)

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def print_rows(rows: list[Row]) -> None:
    for r in rows:
        print(f"  {r.figure}: {r.value:,.3f} {r.unit} (baseline {r.baseline}: "
              f"{'-' if r.baseline_value is None else f'{r.baseline_value:,.3f}'}; target "
              f"{r.target}: {'met' if r.ok else 'NOT met' if r.ok is False else '-'})"
              + (f" [{r.note}]" if r.note else ""))


def dump(rows: list[Row], path: str | None) -> None:
    if path:
        Path(path).write_text(json.dumps([r.as_dict() for r in rows], indent=2,
                                         ensure_ascii=False))


def wait_until(pred: Any, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False
