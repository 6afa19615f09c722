"""Prometheus metrics. One registry per process; stages record into :data:`METRICS`.

Outbox depth and age are read from the database at scrape time (a custom collector), so they
are right even for rows queued by another process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# The *_created series double the output and nobody graphs them.
disable_created_metrics()


class Metrics:
    """Every counter the daemon exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._outbox: _OutboxCollector | None = None
        r = self.registry
        self.polls = Counter("monitor_polls_total", "Feed polls by outcome", ["outcome"], registry=r)
        self.fetch_errors = Counter("monitor_fetch_errors_total", "Fetch errors by kind",
                                    ["kind"], registry=r)
        self.http_bytes = Counter("monitor_http_bytes_total", "HTTP body bytes received",
                                  registry=r)
        self.articles = Counter("monitor_articles_total", "Articles processed by extraction status",
                                ["status"], registry=r)
        self.extraction_seconds = Histogram(
            "monitor_extraction_seconds", "Time to fetch and extract one article page",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=r)
        # rate() of this ÷ extract.workers is the pool's utilisation: near 1, extraction is
        # the bottleneck and more cores would help; well below, the workers wait for pages.
        self.extraction_busy = Counter(
            "monitor_extraction_busy_seconds", "Worker-seconds spent with a page to extract",
            registry=r)
        self.extraction_truncated = Counter(
            "monitor_extraction_truncated", "Pages cut to the extraction caps (extract.max_html_*)",
            registry=r)
        self.extraction_workers_replaced = Counter(
            "monitor_extraction_workers_replaced", "Extraction workers replaced, by reason "
            "(timeout, memory, died, cancelled, recycled)", ["reason"], registry=r)
        self.extraction_worker_peak = Gauge(
            "monitor_extraction_worker_peak_rss_bytes", "Largest peak RSS of any extraction worker",
            registry=r)
        self.matches = Counter("monitor_matches_total", "Articles matched, by rule", ["rule"],
                               registry=r)
        self.alerts_queued = Counter("monitor_alerts_queued_total", "Alerts queued",
                                     ["destination"], registry=r)
        self.alerts_sent = Counter("monitor_alerts_sent_total", "Alerts confirmed by the sink",
                                   ["destination"], registry=r)
        self.alerts_failed = Counter("monitor_alerts_failed_total", "Failed send attempts",
                                     ["destination", "kind"], registry=r)
        # reason: payload (unreadable), render (cannot be rendered), refused (by Telegram, for
        # its content), internal (failed unexpectedly again and again).
        self.alerts_set_aside = Counter("monitor_alerts_set_aside_total", "Poison messages set "
                                        "aside so the queue goes on", ["destination", "reason"],
                                        registry=r)
        self.rule_reloads = Counter("monitor_rule_reloads_total", "Rule reloads by outcome",
                                    ["outcome"], registry=r)
        # Which replica holds what (several replicas on one PostgreSQL state).
        self.replica_leader = Gauge("monitor_replica_leader", "1 while this replica is the "
                                    "leader (sender, bot, surges, housekeeping, notices)",
                                    ["replica"], registry=r)
        self.replica_feeds = Gauge("monitor_replica_feeds_polling", "Feeds this replica is "
                                   "polling now (leases held)", ["replica"], registry=r)

    def watch_outbox(self, db_path: str | Path) -> None:
        """Export outbox depth and oldest age per destination of the database at ``db_path``,
        read at scrape time. Called again (a second daemon in one process: tests), the export
        follows the new database instead of exporting two."""
        if self._outbox is None:
            self._outbox = _OutboxCollector(db_path)
            self.registry.register(self._outbox)
        else:
            self._outbox.db_path = db_path


class _OutboxCollector(Collector):
    def __init__(self, db_path: str | Path) -> None:
        self.db_path = db_path

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from monitor.errors import StoreError
        from monitor.store.outbox import queue_depths

        depth = GaugeMetricFamily("monitor_outbox_depth", "Pending alerts", labels=["destination"])
        age = GaugeMetricFamily("monitor_outbox_oldest_age_seconds", "Age of the oldest pending "
                                "alert", labels=["destination"])
        try:
            queues = queue_depths(self.db_path)
        except StoreError:
            queues = []   # a scrape must never fail because the database is busy
        now = time.time()
        for q in queues:
            depth.add_metric([q.destination], q.count)
            age.add_metric([q.destination], now - q.oldest_created_at)
        yield depth
        yield age

METRICS = Metrics()
