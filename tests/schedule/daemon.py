"""Running the real daemon as a subprocess in tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """Write ``config`` as the YAML file ``monitor.yaml`` in ``path``; returns the file."""
    import yaml

    out = path / "monitor.yaml"
    out.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Daemon:
    """``monitor run`` in a subprocess, its log captured to a file."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.cwd = cwd
        self.ops_port = free_port()
        self.log = cwd / f"daemon-{self.ops_port}.log"   # one per start: "started" means this one
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        self.env = {**clean, "MONITOR_OPS__PORT": str(self.ops_port), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        fh = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=self.cwd,
                                     env=self.env, stdout=fh, stderr=subprocess.STDOUT)
        return self

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def healthz(self) -> tuple[int, dict[str, Any]] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/healthz", timeout=2) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except OSError:
            return None

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/metrics", timeout=2) as r:
            return r.read().decode()

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
