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
import resource
import signal
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from monitor.config import ParseSettings
from monitor.errors import ParseError
from monitor.models import ParsedFeed

log = logging.getLogger(__name__)

Request = tuple[bytes, str, str, str | None]


def parse_request(request: Request) -> ParsedFeed:
    """Parse one request (body, feed name, final URL, content type) where this runs."""
    from monitor.parse.feed import parse_feed

    body, name, final_url, content_type = request
    return parse_feed(body, feed_name=name, final_url=final_url, content_type=content_type)


def _serve(conn: Connection, memory_bytes: int, cpu_seconds: float) -> None:
    """A worker's life: answer requests until the pipe closes (the parent is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the daemon's to handle
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(used.ru_utime + used.ru_stime + cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        try:
            answer: tuple[str, Any] = ("ok", parse_request(request))
        except ParseError as exc:
            answer = ("not_a_feed", str(exc))
        except MemoryError:
            answer = ("memory", None)
        except RecursionError:
            answer = ("too_deep", None)
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    """One process and the parent's end of its pipe."""

    def __init__(self, settings: ParseSettings) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc: BaseProcess = ctx.Process(
            target=_serve, name="monitor-parse", daemon=True,
            args=(child, settings.max_memory_mb * 1024 * 1024, 2 * settings.timeout_seconds))
        self.proc.start()
        child.close()     # the worker must hold the only child end: EOF when we die

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
                    content_type: str | None) -> ParsedFeed:
        request: Request = (body, name, final_url, content_type)
        if self.settings.workers == 0:
            return await asyncio.to_thread(parse_request, request)
        idle = self._queue()
        worker = await idle.get()
        if worker is None or not worker.proc.is_alive():
            worker = _Worker(self.settings)
        try:
            answer = await self._ask(worker, request)
        except BaseException:
            worker.kill()          # overran, died or was cancelled: never reused
            idle.put_nowait(None)
            raise
        idle.put_nowait(worker)
        return _result(answer, self.settings)

    def _queue(self) -> asyncio.Queue[_Worker | None]:
        if self._idle is None:
            # Workers start on first use (None: a slot whose process is not started yet).
            self._idle = asyncio.Queue()
            for _ in range(self.settings.workers):
                self._idle.put_nowait(None)
        return self._idle

    async def _ask(self, worker: _Worker, request: Request) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        worker.conn.send(request)
        answered: asyncio.Future[None] = loop.create_future()
        loop.add_reader(worker.conn.fileno(),
                        lambda: answered.done() or answered.set_result(None))
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                await answered
        except TimeoutError:
            log.warning("feed parse over %g s: parser process replaced", self.settings.timeout_seconds)
            raise ParseError(f"parsing took over {self.settings.timeout_seconds:g} s") from None
        finally:
            loop.remove_reader(worker.conn.fileno())
        try:
            return worker.conn.recv()
        except (EOFError, OSError):
            raise ParseError("the parser process died (memory or CPU limit)") from None

    def close(self) -> None:
        """Stop every worker (they also stop by themselves when this process dies)."""
        while self._idle is not None and not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker is not None:
                worker.kill()


def _result(answer: tuple[str, Any], settings: ParseSettings) -> ParsedFeed:
    kind, value = answer
    if kind == "ok":
        return value
    if kind == "not_a_feed":
        raise ParseError(value)
    if kind == "memory":
        raise ParseError(f"parsing needed more than {settings.max_memory_mb} MB")
    raise ParseError("the feed nests elements too deeply to parse")
