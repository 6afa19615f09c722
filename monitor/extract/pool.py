"""Extraction off the event loop, in a process pool, with a time limit per page.

trafilatura is CPU-bound (10–220 ms a page, more on pathological markup) and has no per-call
timeout, and a running thread cannot be killed. So pages go to worker processes (``spawn``: never
fork a process that owns loop threads and sockets); a page that overruns its limit gets its
pool's processes killed and a fresh pool, and the article falls back to its feed summary.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from monitor.extract.page import extract_page
from monitor.models import Extracted
from monitor.ops.metrics import METRICS

log = logging.getLogger(__name__)


MAX_TASKS_PER_CHILD = 5000


def warm_up() -> None:
    """Worker start-up: leave Ctrl-C to the daemon (it stops the pool itself; otherwise every
    worker prints a KeyboardInterrupt traceback), and import trafilatura now rather than inside
    the first page's time limit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import trafilatura  # noqa: F401


class ExtractionTimeout(Exception):
    """A page took longer than the configured limit."""


class ExtractionCrashed(Exception):
    """The worker process died (e.g. out of memory) while extracting a page."""


class ExtractorPool:
    """Runs :func:`extract_page` in ``workers`` processes (0: one thread, for tests)."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.workers = workers
        self.timeout = timeout
        self._executor: Executor | None = None
        self._generation = 0
        self._slots = asyncio.Semaphore(max(1, workers) * 2)
        self._inflight = 0
        self._busy = 0.0
        self._since = time.monotonic()

    @property
    def busy_seconds(self) -> float:
        """Worker-seconds with a page in hand so far: ``workers × wall`` when the pool never
        waits for work (the pipeline keeps it fed), less when extraction is not the bottleneck."""
        self._account()
        return self._busy

    def _account(self) -> None:
        """Add the worker-seconds since the last change of the number of pages in flight."""
        now = time.monotonic()
        done = min(self._inflight, max(1, self.workers)) * (now - self._since)
        self._busy += done
        self._since = now
        METRICS.extraction_busy.inc(done)

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.workers == 0:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="extract")
            else:
                # A replaced worker re-imports trafilatura and lxml (~1 s of CPU): with 200 tasks
                # per child that was a third of the workers' time on a cold start. Workers'
                # memory stays flat (benchmarks/bench_memory.py), so the recycling is rare.
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"),
                    max_tasks_per_child=MAX_TASKS_PER_CHILD, initializer=warm_up)
        return self._executor

    async def extract(self, html: str, url: str) -> Extracted:
        """Extract one page. Raises :class:`ExtractionTimeout` or :class:`ExtractionCrashed`."""
        async with self._slots:
            self._account()
            self._inflight += 1
            try:
                return await self._run(html, url)
            finally:
                self._account()
                self._inflight -= 1

    async def _run(self, html: str, url: str) -> Extracted:
        for _attempt in range(2):
            generation = self._generation
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._pool(), extract_page, html, url)
            try:
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError as exc:
                log.warning("extraction over %.0f s, recycling workers url=%s",
                            self.timeout, url)
                self._recycle()
                raise ExtractionTimeout(f"extraction took over {self.timeout:g} s") from exc
            except BrokenProcessPool as exc:
                if generation != self._generation:
                    continue    # killed because of another page's timeout: try once more
                self._recycle()
                raise ExtractionCrashed("extraction worker died") from exc
        raise ExtractionCrashed("extraction workers were recycled twice during this page")

    def _recycle(self) -> None:
        executor, self._executor = self._executor, None
        self._generation += 1
        if isinstance(executor, ProcessPoolExecutor):
            for proc in list(getattr(executor, "_processes", {}).values()):
                proc.kill()   # a stuck worker never returns; terminating it is the only way out
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (pending pages are abandoned; they stay 'pending' in the store)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
