"""The long-running service: APScheduler jobs, live reloads, health, graceful shutdown.

Jobs (AsyncIOScheduler, in-memory store rebuilt from the config at start):
  poll          every second: the feeds whose ``next_poll_at`` has come (the database decides;
                monitor.schedule.policy sets it after each poll), at most ``poll.concurrency``
                at once, never one feed twice at once
  watch         rules folder and config file changes (also on SIGHUP)
  notices       operator notices (failing or silent feeds, silent rules)
  housekeeping  prune old article text, checkpoint and vacuum the database
  surges        entity surges: one alert per surge (monitor.trends.surges)
  summary       a summary of what the polls did since the last one
The outbox sender is a task of its own rather than a job: it waits out each destination's
``retry_after`` exactly, which a periodic job cannot do. So is the bot (``monitor.bot.poller``:
triage buttons and commands, by getUpdates long polling), with the Telegram sink and
``analysts.enabled`` only.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import App
from monitor.bot.poller import start_poller
from monitor.config import FeedSource, Settings
from monitor.errors import ConfigError
from monitor.models import CycleStats, FeedReport
from monitor.ops.metrics import METRICS
from monitor.ops.notices import Notifier
from monitor.ops.server import OpsServer
from monitor.report import cycle_summary, totals_line
from monitor.schedule.housekeeping import housekeeping
from monitor.schedule.reload import ChangeWatcher
from monitor.schedule.reloads import Reloads
from monitor.schedule.replica import Replica, only_leader
from monitor.search.backfill import backfill_in_thread
from monitor.store import feeds as feed_store
from monitor.store import maintenance, outbox
from monitor.store.db import STORE_ERRORS, display

log = logging.getLogger(__name__)
#: How often the polling job looks for due feeds (seconds): the most a poll can be late by.
POLL_TICK = 1.0


class Service(Reloads):
    """Runs the daemon until SIGTERM/SIGINT (or ``cycles`` polls of every feed)."""

    def __init__(self, app: App, settings: Settings, config_path: Path | None, *,
                 demo: bool = False, cycles: int = 0, summary_seconds: float = 300.0) -> None:
        self.app, self.settings, self.config_path = app, settings, config_path
        self.demo, self.cycles, self.summary_seconds = demo, cycles, summary_seconds
        self.sources = {f.name: f for f in settings.feeds if f.enabled}
        self.stop = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
            "max_instances": 1, "coalesce": True, "misfire_grace_time": None})
        self.notifier = Notifier(app.db, settings, app.drainer.wake.set)
        self.replica = Replica(app.db, name=settings.ops.replica_name,
                               lease_seconds=settings.poll.lease_seconds,
                               check_seconds=settings.ops.leader_check_seconds)
        self.replica.on_lead(
            lambda stop: asyncio.create_task(app.drainer.run(stop), name="sender"),
            lambda stop: start_poller(app, stop))
        self._inflight: dict[str, asyncio.Task[Any]] = {}
        self._polls: dict[str, int] = {}
        self._stats = CycleStats()
        self._rules_watch = ChangeWatcher(settings.rules_path)
        self._config_watch = ChangeWatcher(config_path)
        self._rules_error: str | None = None
        app.drainer.on_pause = self.notifier.destination_paused
        app.drainer.on_set_aside = self.notifier.message_set_aside

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        """Start everything, wait for a stop signal, shut down within the deadline."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._hangup)
        ops = self.settings.ops
        server = OpsServer(ops.host, ops.port, self.health) if ops.enabled else None
        if server:
            METRICS.watch_outbox(self.settings.database)   # outbox depth and age in /metrics
            try:
                await server.start()
            except ConfigError:
                if not self.demo:
                    raise
                server.port = 0   # the demo must start anywhere: take any free port
                await server.start()
        self._register_rules()
        self._schedule_jobs()
        self.scheduler.start()
        await self.replica.start()      # the sender and the bot, if this replica leads
        roles = asyncio.create_task(self.replica.run(self.stop), name="replica")
        # Articles stored before the search index existed: indexed in the background.
        backfill_stop = threading.Event()
        backfill_in_thread(self.settings.database, backfill_stop)
        log.info("daemon started: %d feeds, database %s", len(self.sources),
                 display(self.settings.database))
        try:
            await self.stop.wait()
        finally:
            backfill_stop.set()
            await self._shutdown(roles)
            if server:
                await server.close()
        log.info("daemon stopped")

    async def _shutdown(self, roles: asyncio.Task[Any]) -> None:
        deadline = time.monotonic() + self.settings.ops.shutdown_deadline_seconds
        log.info("stopping: finishing %d in-flight polls (deadline %.0f s)", len(self._inflight),
                 self.settings.ops.shutdown_deadline_seconds)
        self.scheduler.pause()
        if self._inflight:
            await asyncio.wait(set(self._inflight.values()),
                               timeout=max(0.1, deadline - time.monotonic()))
        for task in self._inflight.values():
            task.cancel()                     # what is still running stays pending
        self.scheduler.shutdown(wait=False)
        self.stop.set()
        self.app.drainer.wake.set()           # the sender sleeps on this; let it see the stop
        # The bot ends its long poll at the stop; updates wait with Telegram.
        await self.replica.stop_roles(max(deadline, time.monotonic() + 1.0))
        await asyncio.gather(roles, return_exceptions=True)
        await self.replica.leave()
        self._summary()

    # ------------------------------------------------------------------ jobs
    def _schedule_jobs(self) -> None:
        feed_store.sync_feeds(self.app.db, list(self.sources.values()), time.time())
        feed_store.set_active(self.app.db, list(self.sources))
        now = datetime.now(UTC)
        self.scheduler.add_job(self._poll_due, "interval", seconds=POLL_TICK, id="poll",
                               next_run_time=now)
        ops = self.settings.ops
        self.scheduler.add_job(self._watch, "interval", seconds=ops.watch_interval_seconds,
                               id="watch")
        self.scheduler.add_job(only_leader(self.replica, self._notices), "interval",
                               seconds=ops.notice_check_seconds,
                               id="notices", next_run_time=now + timedelta(seconds=30))
        self.scheduler.add_job(only_leader(self.replica, self._housekeeping), "interval",
                               seconds=ops.housekeeping_interval_seconds, id="housekeeping",
                               next_run_time=now + timedelta(seconds=60))
        self.scheduler.add_job(self._summary, "interval", seconds=self.summary_seconds,
                               id="summary")
        if self.settings.surges.enabled:
            self.scheduler.add_job(only_leader(self.replica, self._surges), "interval",
                                   seconds=self.settings.surges.check_seconds, id="surges",
                                   next_run_time=now + timedelta(seconds=min(45.0, self.settings.surges.check_seconds)))

    async def _poll_due(self) -> None:
        """The polling job: start the due feeds' polls (finished polls start more at once)."""
        self._start_due()

    def _start_due(self) -> None:
        """Start polls of the feeds that are due, up to ``poll.concurrency`` at once. No await
        between the check and the start, so one feed is never started twice."""
        free = self.settings.poll.concurrency - len(self._inflight)
        if free <= 0 or self.stop.is_set():
            return
        try:
            due = self.replica.claim(time.time(), free)
        except STORE_ERRORS as exc:     # busy or unreachable store: the next tick tries again
            log.warning("could not read the due feeds: %s", exc)
            return
        for name in due:
            source = self.sources.get(name)
            if source is None or name in self._inflight:
                continue
            if len(self._inflight) >= self.settings.poll.concurrency:
                self.replica.polled(name)     # claimed but no slot: free for the others
                continue
            self.replica.polling.add(name)
            self._inflight[name] = asyncio.get_running_loop().create_task(
                self._poll(source), name=f"poll:{name}")

    async def _poll(self, source: FeedSource) -> None:
        try:
            report = await self.app.pipeline.poll_feed(source)
        finally:
            self._inflight.pop(source.name, None)
            self.replica.polled(source.name)
            self._start_due()           # a free slot goes to the next due feed now, not next tick
        self._after_poll(source, report)

    def _after_poll(self, source: FeedSource, report: FeedReport) -> None:
        self._stats.add(report)
        self._polls[source.name] = self._polls.get(source.name, 0) + 1
        if self.cycles and all(self._polls.get(n, 0) >= self.cycles for n in self.sources):
            asyncio.get_running_loop().create_task(self._finish_cycles())

    async def _finish_cycles(self) -> None:
        await self.app.drainer.drain(wait=False)
        self.stop.set()

    def _summary(self) -> None:
        stats, self._stats = self._stats, CycleStats()
        if not stats.per_feed:
            return
        log.info("summary: %s", totals_line(stats))
        if stats.new_items or stats.feeds_failed:
            print(cycle_summary(stats), flush=True)

    async def _notices(self) -> None:
        ruleset = getattr(self.app.pipeline.scorer, "ruleset", None)
        self.notifier.check([r.id for r in ruleset.rules] if ruleset else [])

    async def _surges(self) -> None:
        from monitor.match.score import entity_names
        from monitor.trends.surges import check_surges

        started = check_surges(self.app.db, self.settings.surges, time.time(),
                               entity_names(self.app.pipeline.scorer))
        if started:
            self.app.drainer.wake.set()

    async def _housekeeping(self) -> None:
        await housekeeping(self.app.db, self.settings)

    # ------------------------------------------------------------------ health
    def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, details) for /healthz."""
        reasons = []
        if not self.scheduler.running or self.stop.is_set():
            reasons.append("scheduler is not running")
        if not maintenance.is_writable(self.app.db):
            reasons.append("database is not writable")
        last = feed_store.last_success_at(self.app.db)
        window = self.settings.ops.feed_success_window_seconds
        if last is None or time.time() - last > window:
            reasons.append(f"no feed polled successfully in the last {window:.0f} s")
        # Alerts, as `monitor status` counts them (those folded into unsent digests included).
        depth = sum(r["pending"] or 0 for r in outbox.status_rows(self.app.db))
        details = {"reasons": reasons, "last_feed_success": last, "feeds": len(self.sources),
                   "outbox_pending": depth, "rules_error": self._rules_error}
        details["replica"] = {"name": self.replica.name, "leader": self.replica.leader,
                              "feeds_polling": len(self.replica.polling)}
        if self.app.drainer.chat_ids:
            details["telegram"] = self.app.drainer.link.snapshot()
        return not reasons, details
