"""Real ``monitor run`` processes for the benchmarks: start them, read their /metrics, their CPU
and peak RSS from /proc, and the CPU of a PostgreSQL server's whole process tree.

The daemons run exactly as deployed (a monitor.yaml in a folder, ``MONITOR_*`` variables), so
what is measured includes the scheduler, the ops server and the store as a replica has them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import CLK, REPO, proc_status

_SAMPLE = re.compile(r'^(\w+)(?:\{([^}]*)\})?\s+([-+0-9.eEinfNa]+)$')


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, the children it has reaped and its live descendants.

    A PostgreSQL backend or worker that exits during a window moves from "live" into the
    postmaster's cutime/cstime, so differences of this figure count it once either way."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    return own + sum(tree_cpu(int(k)) for k in kids)


def postmaster_pid(data_dir: Path) -> int:
    """The PostgreSQL server's main process, from its data folder (not ``pgrep -u postgres``:
    another PostgreSQL on this machine, a test's for instance, would be counted too)."""
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(folder: Path, config: dict[str, Any]) -> None:
    """monitor.yaml in ``folder`` (JSON is YAML, and much faster to write for 10,000 feeds)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "monitor.yaml").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")


class Daemon:
    """One ``python -m monitor run`` in ``folder`` (its monitor.yaml), log to a file there."""

    def __init__(self, folder: Path, name: str, database: str) -> None:
        self.folder, self.name = folder, name
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env.update({"MONITOR_OPS__PORT": str(self.port), "MONITOR_OPS__REPLICA_NAME": name,
                    "MONITOR_DATABASE": database, "PYTHONPATH": str(REPO)})
        self.log = folder / f"{name}.log"
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=folder,
                                         env=env, stdout=fh, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def samples(self) -> dict[tuple[str, str], float]:
        """/metrics as {(name, labels): value}; empty while the ops server is not up yet."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon {self.name} exited: "
                                   f"{self.log.read_text()[-2000:]}") from None
            return {}
        out = {}
        for line in text.splitlines():
            m = _SAMPLE.match(line)
            if m:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
        return out

    def polls(self, outcome: str) -> float:
        return self.samples().get(("monitor_polls_total", f'outcome="{outcome}"'), 0.0)

    def articles(self) -> float:
        """Articles done (extracted, fallback or failed): every monitor_articles_total label."""
        return sum(v for (name, _), v in self.samples().items()
                   if name == "monitor_articles_total")

    def cpu(self) -> float:
        """This daemon's CPU, its worker processes included."""
        return tree_cpu(self.pid)

    def peak_rss_mb(self) -> float:
        """VmHWM of the daemon's own process (worker processes are reported apart)."""
        return proc_status(self.pid)["VmHWM"] / 1024

    def workers_peak_rss_mb(self) -> float:
        from benchmarks.common import children

        return max((proc_status(k)["VmHWM"] / 1024 for k in children(self.pid)), default=0.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(pred: Any, timeout: float, what: str, step: float = 0.25) -> float:
    """Poll ``pred`` until it is true; returns the time.time() it became so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.time()
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
