"""Extraction off the event loop, in worker processes that can be killed.

trafilatura is CPU-bound (10–220 ms a page, minutes on pathological markup), has no per-call
timeout, and its memory follows the page's tree. So each page is first cut to the extraction
caps (``budget.py``), then goes to one of ``workers`` processes (``process.py``/``worker.py``),
each with an address-space limit. A page that overruns its time limit gets its worker killed;
one that runs its worker out of memory, or kills it, is recorded as failed; either way only that
page falls back to its feed summary, and a fresh worker takes the next one.

``workers: 0`` extracts in a thread of this process instead, for tests and tiny machines: a
thread cannot be killed (after a timeout it runs on to the end of the page, and the process
cannot exit before it does) and has no memory limit. ``monitor score`` never uses it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from monitor.errors import (
    ExtractionCrashed,
    ExtractionError,
    ExtractionTimeout,
    WorkerOutOfMemory,
)
from monitor.extract.budget import cap_html
from monitor.extract.page import extract_page
from monitor.extract.process import Worker
from monitor.models import Extracted
from monitor.ops.metrics import METRICS

if TYPE_CHECKING:
    from monitor.config import ExtractSettings

__all__ = ["ExtractionCrashed", "ExtractionError", "ExtractionTimeout", "ExtractorPool"]

log = logging.getLogger(__name__)

MAX_PAGES_PER_WORKER = 5000   # a replaced worker re-imports trafilatura and lxml (~1 s of CPU)
START_TIMEOUT = 60.0          # a worker's start-up (imports) on a loaded machine
_RECYCLE_SHARE = 0.5          # a worker whose peak passed this share of its limit is replaced


class ExtractorPool:
    """Runs :func:`extract_page` in ``workers`` processes (0: one thread, for tests)."""

    def __init__(self, workers: int, timeout: float, *, memory_limit_mb: int = 360,
                 max_html_chars: int = 2_000_000, max_html_tags: int = 100_000,
                 max_text_chars: int = 200_000) -> None:
        self.workers = workers
        self.timeout = timeout
        self.memory_limit_mb = memory_limit_mb
        self.max_html_chars, self.max_html_tags = max_html_chars, max_html_tags
        self.max_text_chars = max_text_chars
        self._slots = asyncio.Semaphore(max(1, workers))
        self._idle: list[Worker] = []
        self._live: set[Worker] = set()
        self._threads: ThreadPoolExecutor | None = None
        self._peak_lock = threading.Lock()
        self.peak_rss = 0     # bytes: the largest peak of any worker so far
        self._inflight = 0
        self._busy = 0.0
        self._since = time.monotonic()

    @classmethod
    def from_settings(cls, settings: ExtractSettings, *, workers: int | None = None
                      ) -> ExtractorPool:
        """A pool configured by the ``extract`` section (``workers`` overrides its count)."""
        return cls(settings.workers if workers is None else workers, settings.timeout_seconds,
                   memory_limit_mb=settings.memory_limit_mb,
                   max_html_chars=settings.max_html_chars, max_html_tags=settings.max_html_tags,
                   max_text_chars=settings.max_text_chars)

    @property
    def busy_seconds(self) -> float:
        """Worker-seconds with a page in hand so far: ``workers × wall`` when the pool never
        waits for work (the pipeline keeps it fed), less when extraction is not the bottleneck."""
        self._account()
        return self._busy

    @property
    def pids(self) -> list[int]:
        """The worker processes now running."""
        return sorted(w.pid for w in self._live)

    def _account(self) -> None:
        """Add the worker-seconds since the last change of the number of pages in flight."""
        now = time.monotonic()
        done = min(self._inflight, max(1, self.workers)) * (now - self._since)
        self._busy += done
        self._since = now
        METRICS.extraction_busy.inc(done)

    async def extract(self, html: str, url: str) -> Extracted:
        """Extract one page, cut to the caps first (``Extracted.note`` then says so). Raises
        :class:`ExtractionTimeout`, :class:`ExtractionCrashed` or :class:`ExtractionError`."""
        html, note = cap_html(html, self.max_html_chars, self.max_html_tags)
        if note:
            log.warning("page over the extraction caps url=%s: %s", url, note)
            METRICS.extraction_truncated.inc()
        async with self._slots:
            self._account()
            self._inflight += 1
            try:
                if self.workers == 0:
                    extracted = await self._in_thread(html, url)
                else:
                    extracted = await self._in_process(html, url)
            finally:
                self._account()
                self._inflight -= 1
        if note:
            extracted = dataclasses.replace(
                extracted, note="; ".join(filter(None, [note, extracted.note])))
        return extracted

    async def _in_process(self, html: str, url: str) -> Extracted:
        loop = asyncio.get_running_loop()
        worker = await self._take(loop)
        future = loop.run_in_executor(self._executor(), worker.extract, html, url,
                                      self.max_text_chars)
        try:
            extracted = await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            worker.kill()     # its thread sees it die and reaps it
            self._retire(worker, "timeout", url)
            raise ExtractionTimeout(f"extraction took over {self.timeout:g} s; the worker was "
                                    "killed", url=url) from None
        except ExtractionCrashed as exc:
            self._retire(worker, "memory" if isinstance(exc, WorkerOutOfMemory) else "died", url)
            raise
        except ExtractionError as exc:
            log.warning("extraction failed url=%s: %s", url, exc)
            self._idle.append(worker)   # trafilatura raised: the worker itself is fine
            raise
        except asyncio.CancelledError:
            worker.kill()     # abandoned mid-page (shutdown): the page stays pending
            self._retire(worker, "cancelled", url)
            raise
        if (worker.leaving or worker.pages >= MAX_PAGES_PER_WORKER or self.memory_limit_mb
                and worker.peak_rss > _RECYCLE_SHARE * self.memory_limit_mb * 1024 * 1024):
            self._retire(worker, "memory" if worker.leaving else "recycled", url)
            worker.kill()
            self._executor().submit(worker.close)     # reaped off the loop
        else:
            self._idle.append(worker)
        return extracted

    async def _take(self, loop: asyncio.AbstractEventLoop) -> Worker:
        """An idle live worker, or a new one once it is ready (the slot is held by the caller)."""
        while self._idle:
            worker = self._idle.pop()
            if worker.idle_and_alive():
                return worker
            self._retire(worker, "died", None)
            await loop.run_in_executor(self._executor(), worker.close)
        try:
            # Started from the loop's thread: the worker's parent-death signal is tied to the
            # thread that started it, and this one lives as long as the pool is used.
            worker = Worker(self.memory_limit_mb, self._note_peak)
        except OSError as exc:
            raise ExtractionCrashed(f"cannot start an extraction worker: {exc}") from exc
        self._live.add(worker)
        try:
            await asyncio.wait_for(loop.run_in_executor(self._executor(), worker.wait_ready),
                                   START_TIMEOUT)
        except (ExtractionCrashed, TimeoutError, asyncio.CancelledError) as exc:
            worker.kill()     # no half-started worker is left behind
            self._live.discard(worker)
            self._executor().submit(worker.close)
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.error("extraction worker could not start (extract.memory_limit_mb=%d): %s",
                      self.memory_limit_mb, exc)
            raise ExtractionCrashed(f"extraction worker could not start: {exc}") from exc
        return worker

    def _retire(self, worker: Worker, reason: str, url: str | None) -> None:
        self._live.discard(worker)
        METRICS.extraction_workers_replaced.labels(reason).inc()
        if reason != "recycled":
            log.warning("extraction worker replaced reason=%s pid=%d url=%s", reason,
                        worker.pid, url)

    def _note_peak(self, peak: int) -> None:
        with self._peak_lock:
            if peak > self.peak_rss:
                self.peak_rss = peak
                METRICS.extraction_worker_peak.set(peak)

    def _executor(self) -> ThreadPoolExecutor:
        # One thread per worker waits on its pipe; as many again for starts and reaping.
        if self._threads is None:
            self._threads = ThreadPoolExecutor(2 * self.workers or 1, thread_name_prefix="extract")
        return self._threads

    async def _in_thread(self, html: str, url: str) -> Extracted:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor(), _extract_here, html, url,
                                      self.max_text_chars)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            # The thread cannot be stopped: it finishes the page on its own; a new thread
            # takes the next one.
            executor, self._threads = self._threads, None
            if executor is not None:
                executor.shutdown(wait=False)
            log.warning("extraction over %.0f s in a thread (extract.workers: 0 cannot stop it) "
                        "url=%s", self.timeout, url)
            raise ExtractionTimeout(f"extraction took over {self.timeout:g} s", url=url) from None

    def close(self) -> None:
        """Stop the workers (pages in hand are abandoned; they stay 'pending' in the store)."""
        for worker in list(self._live):
            worker.kill()
        self._live.clear()
        if self._threads is not None:
            self._threads.shutdown(wait=True)   # quick: the waits end as the workers die
            self._threads = None
        for worker in self._idle:
            worker.close()
        self._idle.clear()


def _extract_here(html: str, url: str, max_text_chars: int) -> Extracted:
    """extract_page in this process, its failures as ExtractionError (``workers: 0``)."""
    try:
        return extract_page(html, url, max_text_chars)
    except Exception as exc:  # job boundary: trafilatura on a hostile page
        log.warning("extraction failed url=%s: %r", url, exc)
        raise ExtractionError(f"extraction failed: {type(exc).__name__}: {exc}"[:500],
                              url=url) from exc
