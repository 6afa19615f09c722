"""httpcore's locks without an event-loop round trip on every uncontended acquire.

httpcore guards each HTTP/1.1 exchange with anyio locks (the connection's request lock and its
state lock, taken three times a request). anyio's default ``Lock.acquire`` yields to the event
loop even when the lock is free, inside a shielded cancel scope, so that a task looping on
``async with lock`` cannot starve others. httpcore never takes its locks in such a loop (each
request waits on the network in between), so that yield buys nothing there, and it cost about a
third of the CPU of a conditional GET: 0.90 → 0.61 ms with ``benchmarks/bench_polling.py``'s
bare client at the daemon's concurrency of 8, 1.8 → 0.7 ms at 20.

``fast_acquire=True`` is the anyio option made for httpcore (anyio PR 761); httpcore adopted it
(PR 953), then reverted it for review reasons, not a defect (PR 1002). A contended acquire
still waits in line exactly as before. The switch is process-wide (the Telegram client's
httpx benefits too) and is applied only when both libraries have the shape it expects, which
``tests/fetch/test_locks.py`` checks so that an upgrade changing them is noticed.
"""

from __future__ import annotations

import inspect
from typing import Any

import anyio
from httpcore import _synchronization as sync

_PATCHED = "_monitor_fast_acquire"


def use_fast_locks() -> bool:
    """Make httpcore's asyncio locks fast-acquire; True when in effect. Idempotent."""
    lock_class: Any = sync.AsyncLock
    if getattr(lock_class, _PATCHED, False):
        return True
    if not _supported(lock_class):
        return False
    original = lock_class.setup

    def setup(self: Any) -> None:
        original(self)
        if self._backend == "asyncio":
            self._anyio_lock = anyio.Lock(fast_acquire=True)

    lock_class.setup = setup
    setattr(lock_class, _PATCHED, True)
    return True


def _supported(lock_class: Any) -> bool:
    # The replacement relies on setup() storing a plain anyio.Lock in _anyio_lock; a release
    # that does anything else is left alone rather than guessed at.
    try:
        anyio_ok = "fast_acquire" in inspect.signature(anyio.Lock).parameters
        source = inspect.getsource(lock_class.setup)
    except (AttributeError, OSError, TypeError, ValueError):
        return False
    return anyio_ok and "_anyio_lock = anyio.Lock()" in source
