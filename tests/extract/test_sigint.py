"""A terminal's Ctrl-C reaches a worker that is still starting: it must not die of it (with a
traceback on the daemon's terminal) before it can ignore it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from monitor.config import ParseSettings
from monitor.extract.process import Worker
from monitor.parse.worker import _Worker


def test_an_extraction_worker_survives_sigint_while_it_starts() -> None:
    worker = Worker(0, lambda _peak: None)
    try:
        os.kill(worker.pid, signal.SIGINT)     # the interpreter is still starting
        worker.wait_ready()                    # raises ExtractionCrashed had it died
    finally:
        worker.close()


def test_a_parser_worker_survives_sigint_while_it_starts() -> None:
    worker = _Worker(ParseSettings(workers=1))
    try:
        assert worker.proc.pid is not None
        os.kill(worker.proc.pid, signal.SIGINT)
        worker.conn.send(None)                 # not a request: the worker answers "bug"
        assert worker.conn.poll(60), "the parser worker died of SIGINT while starting"
    finally:
        worker.kill()


_FIRST_WORKER = """
from monitor.config import ParseSettings
from monitor.parse.worker import _Worker

worker = _Worker(ParseSettings(workers=1))    # the first spawn of this process
for line in open(f"/proc/{worker.proc.pid}/status"):
    if line.startswith(("SigBlk", "SigIgn")):
        print(line.split()[0], int(line.split()[1], 16) & 2)
worker.kill()
"""


def test_the_first_parser_worker_of_a_process_starts_with_sigint_blocked() -> None:
    """multiprocessing starts its resource tracker on the first spawn and unblocks SIGINT as it
    does: the first worker of a daemon must still start with it blocked (or ignored)."""
    out = subprocess.run([sys.executable, "-c", _FIRST_WORKER], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    flags = dict(line.split() for line in out.splitlines())
    assert flags["SigBlk:"] != "0" or flags["SigIgn:"] != "0", out
