"""Ctrl-C and worker processes: a terminal's SIGINT reaches every process of the group, and a
worker still starting (the interpreter, its imports) would die of it with a traceback before it
could ignore it. Workers are therefore started with SIGINT blocked, which they inherit across
exec, and unblock it only once they ignore it: the daemon stops them itself.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """Start worker processes inside this: SIGINT stays pending for this thread meanwhile."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def ignore_sigint() -> None:
    """In a worker: ignore SIGINT, then let it through (a pending one is dropped)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
