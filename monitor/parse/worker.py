"""Feeds parsed in worker processes with a time limit and a memory limit.

feedparser is pure Python over expat and sgmllib, and some bodies within the size cap cost far
more than their size: one element with 100,000 attributes took 184 s of CPU for 1 MB (xml.sax
looks attributes up by a linear scan), 300,000 unclosed elements 318 MB. A thread cannot be
stopped and shares the daemon's memory, so each parse goes to a spawned process whose address
space is capped (``RLIMIT_AS``) and which is killed and replaced when it overruns
``timeout_seconds``; the feed then fails with a :class:`ParseError` and backs off like any
failing feed. A worker reads its requests from a pipe whose only writer is the parent, so it
exits when the parent dies; a CPU-time limit set before each parse stops it too if it is busy.
``workers: 0`` parses in a thread instead (tests, tiny boxes), without either bound.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.resource_tracker
import resource
import signal
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from monitor.errors import ParseError
from monitor.models import ParsedFeed, ParseRequest
from monitor.signals import ignore_sigint, sigint_blocked

if TYPE_CHECKING:   # the worker process imports this module: keep pydantic out of it
    from monitor.config import ParseSettings

log = logging.getLogger(__name__)

Request = ParseRequest


def parse_request(request: Request) -> ParsedFeed:
    """Parse one request where this runs, with the parser of its source type."""
    if request.kind == "telegram":
        from monitor.parse.telegram import parse_channel

        return parse_channel(request)
    if request.kind == "sitemap":
        from monitor.parse.sitemap import parse_sitemap

        return parse_sitemap(request)
    from monitor.parse.feed import parse_feed

    return parse_feed(request.body, feed_name=request.feed_name, final_url=request.final_url,
                      content_type=request.content_type)


def _serve(conn: Connection, memory_bytes: int, cpu_seconds: float) -> None:
    """A worker's life: answer requests until the pipe closes (the parent is gone)."""
    ignore_sigint()    # Ctrl-C is the daemon's to handle
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError, MemoryError):   # parent gone, or a body over our means
            return
        _limit_cpu(cpu_seconds)
        try:
            answer: tuple[str, Any] = ("ok", parse_request(request))
        except ParseError as exc:
            answer = ("not_a_feed", str(exc))
        except MemoryError:
            answer = ("memory", None)
        except RecursionError:
            answer = ("too_deep", None)
        except Exception as exc:  # job boundary: a parser bug fails this feed, the parent logs it
            answer = ("bug", f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(answer)
        except (OSError, MemoryError):   # parent gone, or an answer over our means: EOF says it
            return


def _limit_cpu(seconds: float) -> None:
    """Let this process use ``seconds`` more CPU, then SIGXCPU ends it (if the parent is gone,
    nobody else would stop a parse that never ends)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class _Died(ParseError):
    """The worker process ended before it answered."""


class _RetryFresh(Exception):
    """A used worker failed in a way a fresh one might not: ask a fresh one once."""


class _Worker:
    """One process and the parent's end of its pipe."""

    def __init__(self, settings: ParseSettings) -> None:
        ctx = multiprocessing.get_context("spawn")
        # Spawning starts multiprocessing's resource tracker first, and that start unblocks
        # SIGINT in this thread, which would leave the worker unprotected: start it beforehand.
        multiprocessing.resource_tracker.ensure_running()
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc: BaseProcess = ctx.Process(
            target=_serve, name="monitor-parse", daemon=True,
            args=(child, settings.max_memory_mb * 1024 * 1024, 2 * settings.timeout_seconds))
        with sigint_blocked():
            self.proc.start()
        child.close()     # the worker must hold the only child end: EOF when we die
        self.served = 0   # answers given: a used worker's heap is not a fresh one's

    def death(self) -> str:
        """Why the process is gone, as far as its exit status says."""
        self.proc.join(2)
        code = self.proc.exitcode
        if code is None or code >= 0:
            return f"exit status {code}" if code is not None else "no exit status yet"
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class FeedParsers:
    """``await parsers.parse(...)`` → :class:`ParsedFeed`, or :class:`ParseError`."""

    def __init__(self, settings: ParseSettings) -> None:
        self.settings = settings
        self._idle: asyncio.Queue[_Worker | None] | None = None

    async def parse(self, body: bytes, name: str, final_url: str,
                    content_type: str | None, **how: Any) -> ParsedFeed:
        """Parse a body (``how``: the rest of :class:`ParseRequest`: kind, channel …)."""
        request = ParseRequest(body, name, final_url, content_type, **how)
        if self.settings.workers == 0:
            return await asyncio.to_thread(parse_request, request)
        try:
            return await self._parse_once(request, fresh=False)
        except _RetryFresh:
            # The worker had parsed other feeds first, and their leftovers in its heap may be
            # what broke this one: only a fresh worker's failure is the feed's own.
            log.info("feed %s: the parser failed after serving others; retrying in a fresh "
                     "process", name)
            return await self._parse_once(request, fresh=True)

    async def _parse_once(self, request: Request, fresh: bool) -> ParsedFeed:
        idle = self._queue()
        worker = await idle.get()
        if worker is None or not worker.proc.is_alive() or (fresh and worker.served):
            if worker is not None:
                worker.kill()
            worker = _Worker(self.settings)
        try:
            answer = await self._ask(worker, request)
        except BaseException as exc:
            worker.kill()          # overran, died or was cancelled: never reused
            idle.put_nowait(None)
            if isinstance(exc, _Died) and worker.served:
                raise _RetryFresh from exc
            raise
        if answer[0] in ("ok", "not_a_feed"):
            worker.served += 1
            idle.put_nowait(worker)
            return _result(answer, self.settings)
        worker.kill()      # after a MemoryError its heap is no place for the next feed
        idle.put_nowait(None)
        if answer[0] == "memory" and worker.served:
            raise _RetryFresh
        return _result(answer, self.settings)

    def _queue(self) -> asyncio.Queue[_Worker | None]:
        if self._idle is None:
            # Workers start on first use (None: a slot whose process is not started yet).
            self._idle = asyncio.Queue()
            for _ in range(self.settings.workers):
                self._idle.put_nowait(None)
        return self._idle

    async def _ask(self, worker: _Worker, request: Request) -> tuple[str, Any]:
        # In a thread: sending a 5 MB body waits for a fresh worker to finish importing, and
        # receiving waits for the parse; neither may hold up the event loop.
        timeout = self.settings.timeout_seconds
        try:
            answer = await asyncio.to_thread(_exchange, worker.conn, request, timeout)
        except (EOFError, OSError) as exc:
            raise _Died(f"the parser process died ({worker.death()}: over the memory or "
                        "CPU limit, or killed)") from exc
        if answer is None:
            log.warning("feed parse over %g s: parser process replaced", timeout)
            raise ParseError(f"parsing took over {timeout:g} s")
        return answer

    def close(self) -> None:
        """Stop every worker (they also stop by themselves when this process dies)."""
        while self._idle is not None and not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker is not None:
                worker.kill()


def _exchange(conn: Connection, request: Request, timeout: float) -> tuple[str, Any] | None:
    """Send one request and wait for its answer; None when none came within ``timeout``
    (EOFError or OSError: the process is gone)."""
    conn.send(request)
    if not conn.poll(timeout):
        return None
    answer: tuple[str, Any] = conn.recv()
    return answer


def _result(answer: tuple[str, Any], settings: ParseSettings) -> ParsedFeed:
    kind, value = answer
    if kind == "ok":
        return value
    if kind == "not_a_feed":
        raise ParseError(value)
    if kind == "memory":
        raise ParseError(f"parsing needed more than {settings.max_memory_mb} MB")
    if kind == "bug":
        log.error("feed parser failed: %s", value)
        raise ParseError(f"the parser failed: {value}")
    raise ParseError("the feed nests elements too deeply to parse")
