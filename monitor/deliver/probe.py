"""What the sender knows about the Bot API, and the cheap probe that keeps it current.

Start-up never waits for Telegram: the daemon polls and queues whatever the API does. The sender
checks the token itself, with ``getMe`` (:meth:`Sink.probe`), as soon as it starts; then, while
a destination backs off after a temporary failure, every ``alerts.probe_seconds``. When a probe
that had failed succeeds again (Telegram is back), the sender cuts its own back-off short, so the
first alert leaves within seconds instead of after up to ``retry_max_seconds``; a wait Telegram
asked for (429 ``retry_after``) is never cut short. A rejected token holds every destination and
is reported loudly (log, ``monitor status``, ``/healthz``) and probed every
``pause_retry_seconds``. The state is kept in the database for ``monitor status``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from monitor.deliver.base import Sink
from monitor.errors import PermanentFailure, RetryLater
from monitor.store import service as service_store
from monitor.store.db import Database

log = logging.getLogger(__name__)

STATE_KEY = "telegram"
OK, UNKNOWN, UNREACHABLE, TOKEN_REJECTED = "ok", "unknown", "unreachable", "token_rejected"


class LinkState:
    """ok, unreachable or token_rejected, since when and why; transitions are logged and stored."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time, *,
                 store: bool = True) -> None:
        self.db, self.clock, self.store = db, clock, store
        self.state, self.detail, self.since = UNKNOWN, "", clock()

    @property
    def token_rejected(self) -> bool:
        return self.state == TOKEN_REJECTED

    def snapshot(self) -> dict[str, Any]:
        """For /healthz details."""
        return {"state": self.state, "detail": self.detail, "since": self.since}

    def set(self, state: str, detail: str = "") -> bool:
        """Move to ``state``; returns True when that is a change."""
        if state == self.state and (state == OK or detail == self.detail):
            return False
        before, self.state, self.detail = self.state, state, detail
        if state != before:
            self.since = self.clock()
        if state == TOKEN_REJECTED:
            log.error("Telegram: BOT TOKEN REJECTED (%s). No alert can be sent; every alert stays "
                      "queued. Set a valid TELEGRAM_BOT_TOKEN and restart.", detail)
        elif state == UNREACHABLE and before != UNREACHABLE:
            log.warning("Telegram unreachable (%s): alerts stay queued, probing every few "
                        "seconds", detail)
        elif state == OK and before in (UNREACHABLE, TOKEN_REJECTED):
            log.info("Telegram answers again after %s: sending", before.replace("_", " "))
        if self.store:
            service_store.set_state(self.db, STATE_KEY, self.snapshot(), self.clock())
        return True


def status_line(db: Database) -> str | None:
    """For ``monitor status``: what the sender last knew about the Bot API (None before the
    Telegram sink was ever used with this database)."""
    state = service_store.get_state(db, STATE_KEY)
    if state is None:
        return None
    value, when = state
    since = time.strftime("%Y-%m-%d %H:%M", time.localtime(value.get("since") or when))
    if value.get("state") == TOKEN_REJECTED:
        return (f"telegram: BOT TOKEN REJECTED since {since}: {value.get('detail')}. Nothing can "
                "be sent; set a valid TELEGRAM_BOT_TOKEN and restart")
    if value.get("state") == UNREACHABLE:
        return f"telegram: UNREACHABLE since {since} ({value.get('detail')}); alerts are queued"
    return f"telegram: {value.get('state')} since {since}"


class Prober:
    """Runs ``sink.probe()`` (getMe) when the sender needs to know: at start, during back-off,
    and slowly while the token is rejected. ``on_back`` is called when Telegram answers again
    after an outage the probe saw (or for the first answer after start, when no one knows how
    long the queue has been waiting)."""

    def __init__(self, sink: Sink, link: LinkState, *, interval: float, rejected_interval: float,
                 busy: Callable[[], bool], on_back: Callable[[], None]) -> None:
        self.sink, self.link = sink, link
        self.interval, self.rejected_interval = interval, rejected_interval
        self.busy, self.on_back = busy, on_back
        self.needed = asyncio.Event()     # set by the sender when a send failed temporarily
        self._saw_failure = True          # nothing answered yet in this process

    def answered(self) -> None:
        """Telegram accepted something (a send or a probe)."""
        back = self._saw_failure or self.link.state in (UNREACHABLE, TOKEN_REJECTED)
        self._saw_failure = False
        self.link.set(OK)
        if back:
            self.on_back()

    async def run(self, stop: asyncio.Event) -> None:
        """Probe until ``stop``; never raises (a failing probe is only a state)."""
        delay: float | None = 0.0        # check the token at once
        while not stop.is_set():
            if delay is None:             # all is well: wait until a failed send asks
                if await wait_any(stop, self.needed, None):
                    return
                self.needed.clear()
                delay = self.interval
                continue
            if await wait_any(stop, None, delay):
                return
            delay = await self._probe()

    async def _probe(self) -> float | None:
        """One getMe; returns the delay before the next, None when none is needed."""
        try:
            await self.sink.probe()
        except PermanentFailure as exc:
            self._saw_failure = True
            if exc.scope == "bot":
                self.link.set(TOKEN_REJECTED, str(exc))
                return self.rejected_interval
            self.link.set(UNREACHABLE, str(exc))    # getMe refused otherwise: odd, keep probing
            return self.interval
        except RetryLater as exc:
            self._saw_failure = True
            self.link.set(UNREACHABLE, str(exc))
            # Telegram's flood control applies to the probe too: exactly what it asked.
            return exc.retry_after if exc.retry_after is not None else self.interval
        except Exception:    # the probe's job boundary: a bug here must not stop the sender
            log.exception("Telegram probe failed unexpectedly")
            return self.interval
        self.answered()
        return self.interval if self.busy() or self.needed.is_set() else None


async def wait_any(stop: asyncio.Event | None, event: asyncio.Event | None,
                   timeout: float | None) -> bool:
    """Wait for ``stop``, ``event`` or ``timeout`` (None: no limit), whichever comes first;
    returns True when ``stop`` is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in (stop, event) if e is not None]
    if not waiters:
        await asyncio.sleep(timeout or 0)
        return False
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return stop is not None and stop.is_set()
