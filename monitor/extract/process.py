"""One extraction worker process, seen from the daemon (its other side: ``worker.py``).

A plain subprocess talking pickles over its stdin/stdout, not ``multiprocessing``: the pool knows
which page each worker holds, so a worker that dies or runs out of memory costs that one page
only, and nothing else is started (spawn and forkserver both start multiprocessing's resource
tracker, a process that outlived a SIGKILLed daemon). The blocking methods run in the pool's
threads; :meth:`Worker.kill` may be called from any thread.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from monitor.config import TOKEN_VAR
from monitor.errors import ExtractionCrashed, ExtractionError, WorkerOutOfMemory
from monitor.models import Extracted
from monitor.signals import sigint_blocked

# The package's parent goes first on the worker's path: it runs the same code as the daemon.
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (f"import sys; sys.path.insert(0, {_ROOT!r}); "
         "from monitor.extract.worker import main; main(sys.argv[1:])")


def _worker_env() -> dict[str, str]:
    """The daemon's environment without the bot token: the process that parses hostile pages
    has no use for it."""
    return {k: v for k, v in os.environ.items() if k not in (TOKEN_VAR, f"{TOKEN_VAR}_FILE")}


class Worker:
    """A started worker process. ``on_peak(bytes)`` hears its peak memory (VmHWM) after each
    page and when it is killed."""

    def __init__(self, memory_limit_mb: int, on_peak: Callable[[int], None]) -> None:
        with sigint_blocked():
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(memory_limit_mb), str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
                env=_worker_env())
        self.pid = self._proc.pid
        self.pages = 0
        self.peak_rss = 0
        self.leaving = False     # it said it exits after its last answer (memory exhausted)
        self._on_peak = on_peak
        self._lock = threading.Lock()
        self._reaped = False

    def wait_ready(self) -> None:
        """Block until the worker has imported trafilatura. Raises ExtractionCrashed."""
        reply = self._receive("extraction worker could not start")
        if reply[0] != "ready":
            self.close()
            raise ExtractionCrashed(f"extraction worker sent {reply[0]!r} instead of 'ready'")

    def extract(self, html: str, url: str, max_text_chars: int) -> Extracted:
        """Extract one page in the worker. Raises ExtractionCrashed when the worker died or ran
        out of memory (it is then closed), ExtractionError when trafilatura raised."""
        assert self._proc.stdin is not None
        try:
            pickle.dump((html, url, max_text_chars), self._proc.stdin,
                        protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except OSError as exc:      # BrokenPipeError: it died before reading the page
            self.close()
            raise ExtractionCrashed(f"extraction worker died ({exc.strerror})", url=url) from None
        status, payload = self._receive("extraction worker died while extracting", url)
        self.pages += 1
        if status == "ok":
            return payload
        if status == "memory":
            self.close()
            raise WorkerOutOfMemory(str(payload), url=url)
        raise ExtractionError(f"extraction failed: {payload}", url=url)

    def idle_and_alive(self) -> bool:
        """True unless the idle worker has died (its stdout then reads as end of file)."""
        assert self._proc.stdout is not None
        readable, _, _ = select.select([self._proc.stdout], [], [], 0)
        return not readable

    def kill(self) -> None:
        """Kill the process now (a stuck page never returns); whoever waits on it sees it die.
        Its peak memory is read first. os.kill rather than Popen.kill: that one reaps."""
        with self._lock:
            if self._reaped:
                return
            self._peak(_vm_hwm(self.pid))
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Kill, reap and release the pipes. Not while another thread waits on the worker:
        kill() is for that."""
        self.kill()
        with self._lock:
            if self._reaped:
                return
            self._proc.wait()
            self._reaped = True
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass   # a flush into a dead worker's pipe

    def _receive(self, what: str, url: str | None = None) -> tuple[str, object]:
        assert self._proc.stdout is not None
        try:
            *reply, peak, self.leaving = pickle.load(self._proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError, ValueError) as exc:
            self.close()
            code = self._proc.returncode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
            raise ExtractionCrashed(f"{what} ({how})", url=url) from exc
        self._peak(peak)
        return reply[0], reply[1]

    def _peak(self, peak: int) -> None:
        self.peak_rss = max(self.peak_rss, peak)
        self._on_peak(self.peak_rss)


def _vm_hwm(pid: int) -> int:
    """Peak RSS of a live process in bytes, from /proc (0 when unknown)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status
                        if line.startswith("VmHWM:")) * 1024
    except (OSError, StopIteration, ValueError):
        return 0
