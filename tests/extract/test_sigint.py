"""A terminal's Ctrl-C reaches a worker that is still starting: it must not die of it (with a
traceback on the daemon's terminal) before it can ignore it."""

from __future__ import annotations

import os
import signal

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
