"""One replica's roles: its feed leases and, when it is the leader, the singletons.

Several ``monitor run`` replicas may share one PostgreSQL state (docs/postgresql.md). Each polls
the feeds it claims (:mod:`monitor.store.leases`); exactly one, the leader, also runs what must
not run twice: the outbox sender (so each destination's order and flood control hold), the bot
(Telegram allows one getUpdates consumer per token), surges, housekeeping and notices. The
leader is whoever holds an advisory lock; the others try to take it every
``ops.leader_check_seconds``, so a leader that dies is replaced within that time, and the new
leader first puts back to 'pending' what the old one left 'sending' (the documented
send/confirm duplicate window, the only one). On SQLite the daemon is alone and always leader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from monitor.ops.metrics import METRICS
from monitor.store import leases, outbox
from monitor.store.db import STORE_ERRORS, Database, is_postgres

log = logging.getLogger(__name__)

Starter = Callable[[asyncio.Event], "asyncio.Task[Any] | None"]


class Replica:
    """This process's place among the replicas: its name, its leases, the leader role."""

    def __init__(self, db: Database, *, name: str, lease_seconds: float,
                 check_seconds: float) -> None:
        self.db, self.name = db, name or leases.default_name()
        self.lease_seconds, self.check_seconds = lease_seconds, check_seconds
        self.lock = leases.LeaderLock(db)
        self.started_at = time.time()
        self.polling: set[str] = set()
        self._starters: list[Starter] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._roles_stop = asyncio.Event()
        self._leading = False

    @property
    def leader(self) -> bool:
        """Whether this replica holds the leader role now."""
        return self._leading

    def on_lead(self, *starters: Starter) -> None:
        """Tasks the leader runs (the sender, the bot): started on taking the role, stopped on
        losing it; each gets the event that asks it to stop."""
        self._starters.extend(starters)

    # ------------------------------------------------------------------ feeds
    def claim(self, now: float, free: int) -> list[str]:
        """Due active feeds this replica may poll now, for ``free`` poll slots (claimed for the
        lease time on PostgreSQL; on SQLite its polls in flight come back too, and the caller
        skips them)."""
        limit = free if is_postgres(self.db) else free + len(self.polling)
        return leases.claim_due_feeds(self.db, self.name, now, limit, self.lease_seconds)

    def polled(self, name: str) -> None:
        """A poll ended: its lease goes, so any replica may take the feed when it is next due."""
        self.polling.discard(name)
        try:
            leases.release(self.db, self.name, [name])
        except STORE_ERRORS as exc:    # the lease runs out by itself
            log.warning("could not release the lease of feed %s: %s", name, exc)

    # ------------------------------------------------------------------ the role loop
    async def start(self) -> None:
        """Take the leader role now if it is free (a single daemon starts its sender at once)."""
        await self._check()

    async def run(self, stop: asyncio.Event) -> None:
        """Every ``check_seconds``: heartbeat, renew leases, take or verify the leader role."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.check_seconds)
            except TimeoutError:
                pass
            if not stop.is_set():
                await self._check()

    async def _check(self) -> None:
        try:
            now = time.time()
            leases.renew(self.db, self.name, self.polling, now + self.lease_seconds)
            if self._leading:
                if not self.lock.check():
                    await self._step_down("its database session was lost")
            elif self.lock.try_acquire():
                self._lead()
            leases.heartbeat(self.db, leases.ReplicaRow(
                self.name, socket.gethostname(), os.getpid(), self.started_at, now,
                self.leader, len(self.polling)))
        except STORE_ERRORS as exc:
            log.warning("replica %s: state database unavailable (%s); trying again", self.name,
                        exc)
        METRICS.replica_leader.labels(self.name).set(1 if self.leader else 0)
        METRICS.replica_feeds.labels(self.name).set(len(self.polling))

    def _lead(self) -> None:
        requeued = outbox.recover_interrupted(self.db)
        log.info("replica %s is the leader (sender, bot, surges, housekeeping, notices)%s",
                 self.name, f"; {requeued} interrupted sends queued again" if requeued else "")
        self._roles_stop = asyncio.Event()
        self._leading = True
        for start in self._starters:
            task = start(self._roles_stop)
            if task is not None:
                self._tasks.append(task)

    async def _step_down(self, why: str) -> None:
        log.warning("replica %s is no longer the leader: %s", self.name, why)
        await self.stop_roles(time.monotonic() + 5.0)

    async def stop_roles(self, deadline: float) -> None:
        """Stop the leader's tasks by ``deadline`` (monotonic), then give the role up."""
        self._roles_stop.set()
        self._leading = False
        tasks, self._tasks = self._tasks, []
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic()))
            for task in late:
                log.warning("%s did not stop in time; what it had not sent stays queued",
                            task.get_name())
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.lock.release()

    async def leave(self) -> None:
        """Clean shutdown: leases and the replica's row go, so others take over at once."""
        try:
            leases.leave(self.db, self.name)
        except STORE_ERRORS as exc:
            log.warning("replica %s: could not record its leaving (%s)", self.name, exc)


def only_leader(replica: Replica, job: Callable[[], Awaitable[None]]
                ) -> Callable[[], Awaitable[None]]:
    """A scheduler job that runs on the leader only (surges, housekeeping, notices)."""
    async def guarded() -> None:
        if replica.leader:
            await job()
    guarded.__name__ = getattr(job, "__name__", "job")
    return guarded
