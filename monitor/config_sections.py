"""The sections of the settings (``fetch:``, ``extract:``, ``parse:``, ``poll:``, ``ops:``,
``alerts:``, ``stories:``, ``surges:``): one pydantic model each, with its defaults and limits.

Import them from :mod:`monitor.config`, which assembles them into :class:`~monitor.config.Settings`
and loads it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor import __version__


class StrictModel(BaseModel):
    """Base of every settings model: unknown keys are errors, values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchSettings(StrictModel):
    """HTTP fetching of feeds and article pages."""

    user_agent: str = f"ArabicPressMonitor/{__version__} (+https://github.com/arabic-press-monitor)"
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(20.0, gt=0)
    total_timeout: float = Field(45.0, gt=0, description="deadline for a whole request, body included")
    max_body_bytes: int = Field(5_000_000, ge=1024, description="cap on raw and on decompressed size")
    max_redirects: int = Field(5, ge=0, le=30)
    per_host_concurrency: int = Field(2, ge=1)
    max_connections: int = Field(50, ge=1)
    allow_addresses: list[str] = Field(
        default_factory=list,
        description="non-public addresses allowed anyway: IP or CIDR, optionally :port")
    backoff_base_seconds: float = Field(60.0, gt=0)
    backoff_max_seconds: float = Field(6 * 3600.0, gt=0)
    breaker_failures: int = Field(5, ge=0, description="article pages of one host failing in a "
                                  "row (time-out, network, 5xx, 429) that make it skipped; 0: never")
    breaker_cooldown_seconds: float = Field(600.0, gt=0, description="how long such a host is "
                                            "skipped before one more try")

    @field_validator("allow_addresses")
    @classmethod
    def _check_allow(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_allow_entry(entry)
        return value


class ExtractSettings(StrictModel):
    """Article text extraction (trafilatura in a process pool)."""

    workers: int = Field(2, ge=0, description="processes; 0 extracts in a thread (tests, tiny boxes)")
    timeout_seconds: float = Field(20.0, gt=0, description="per page; the worker is killed after")
    max_pages_per_cycle: int = Field(500, ge=1, description="article pages fetched per feed per "
                                     "poll; the rest stay pending for the next poll")
    poll_budget_seconds: float = Field(300.0, gt=0, description="a poll starts no page fetch "
                                       "later than this after its start; the rest stay pending")
    page_concurrency: int = Field(8, ge=2, description="article pages in work at once, all feeds "
                                  "together; one host takes at most fetch.per_host_concurrency "
                                  "of them, and never all")
    max_defer_seconds: float = Field(6 * 3600.0, gt=0, description="an article of a skipped host "
                                     "waits at most this long, then is scored on its feed text")
    max_html_chars: int = Field(2_000_000, ge=10_000, description="a longer page is cut at a tag "
                                "boundary before extraction (and the cut recorded)")
    max_html_tags: int = Field(100_000, ge=1_000, description="a page with more '<' is cut before "
                               "the first one over: the parse tree drives a worker's memory")
    max_text_chars: int = Field(200_000, ge=1_000, description="an extracted text is cut at a "
                                "word boundary to this length (matching costs memory per "
                                "character)")
    memory_limit_mb: int = Field(360, ge=0, description="address space of each extraction process "
                                 "(RLIMIT_AS, MiB); a page needing more is recorded as failed and "
                                 "the worker replaced; 0: no limit")

    @field_validator("memory_limit_mb")
    @classmethod
    def _check_memory(cls, value: int) -> int:
        if 0 < value < 128:
            raise ValueError("at least 128 (a worker needs ~60 MiB before its first page), "
                             "or 0 for no limit")
        return value


class ParseSettings(StrictModel):
    """Feed parsing (feedparser), in worker processes bounded in time and memory."""

    workers: int = Field(1, ge=0, le=8, description="processes; 0 parses in a thread, without "
                         "the time and memory limits (tests, tiny boxes)")
    timeout_seconds: float = Field(20.0, gt=0, description="per feed; the worker is replaced after")
    max_memory_mb: int = Field(256, ge=64, le=65536, description="address space of a worker "
                               "(a legitimate 4 MB feed of 2,000 items needs about 55 MB)")


class PollSettings(StrictModel):
    """How often feeds are polled. Without a per-feed ``interval_seconds`` a feed's interval
    adapts between ``min_interval_seconds`` and ``max_interval_seconds`` to how often it publishes."""

    interval_seconds: float = Field(600.0, gt=0, description="starting interval")
    min_interval_seconds: float = Field(120.0, gt=0)
    max_interval_seconds: float = Field(3600.0, gt=0)
    jitter_seconds: float = Field(30.0, ge=0, description="random delay added to each poll")
    concurrency: int = Field(8, ge=1, description="feeds polled at the same time")
    lease_seconds: float = Field(120.0, gt=0, description=(
        "replicas on PostgreSQL: how long a feed stays claimed by a replica that stopped "
        "renewing it (renewed while polling), i.e. how soon a dead replica's feeds are taken"))

    @model_validator(mode="after")
    def _check_range(self) -> PollSettings:
        if self.min_interval_seconds > self.max_interval_seconds:
            raise ValueError("min_interval_seconds is larger than max_interval_seconds")
        return self


class OpsSettings(StrictModel):
    """Health and metrics endpoints, operator notices, housekeeping, shutdown."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    enabled: bool = True
    feed_success_window_seconds: float = Field(
        21600.0, gt=0, description="/healthz needs a successful feed poll within this window")
    shutdown_deadline_seconds: float = Field(20.0, gt=0)
    watch_interval_seconds: float = Field(2.0, gt=0, description="rules/config change checks")
    admin_destination: str = Field("admin", description="where operator notices go (an unknown "
                                   "name falls back to the default destination)")
    notices: bool = True
    notice_repeat_seconds: float = Field(21600.0, gt=0, description="same notice at most this often")
    notice_check_seconds: float = Field(300.0, gt=0)
    feed_failing_seconds: float = Field(21600.0, gt=0)
    feed_silence_factor: float = Field(8.0, gt=1, description="silent for this many usual gaps")
    feed_silence_min_seconds: float = Field(2 * 86400.0, gt=0)
    rule_silence_days: float = Field(14.0, gt=0)
    retention_days: float = Field(90.0, gt=0, description="article text kept this long")
    housekeeping_interval_seconds: float = Field(6 * 3600.0, gt=0)
    replica_name: str = Field("", description="this replica's name in monitor status and "
                              "/metrics (default host-pid)")
    leader_check_seconds: float = Field(5.0, gt=0, description=(
        "replicas on PostgreSQL: how often each one heartbeats and tries to take a free leader "
        "role (the most a dead leader's sender and bot stay stopped)"))


class Destination(StrictModel):
    """A Telegram chat: ``@channelname`` or a numeric chat id, optionally a forum topic."""

    chat_id: str = Field(min_length=1)
    topic_id: int | None = None

    @field_validator("chat_id", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


_MAX_DIGEST_ITEMS = 50   # monitor.alert.digest.MAX_DIGEST_ITEMS (tests check they agree)


class AlertSettings(StrictModel):
    """Where alerts go and how fast. The bot token is TELEGRAM_BOT_TOKEN(_FILE), never here."""

    sink: Literal["auto", "telegram", "console", "jsonl"] = Field(
        "auto", description="auto: telegram when a token is set, else console")
    jsonl_path: Path = Path("state/alerts.jsonl")
    default_destination: str = "default"
    destinations: dict[str, Destination] = Field(default_factory=dict)
    api_base_url: str = Field("https://api.telegram.org/bot",
                              description="Bot API base; self-hosted servers and tests change it")
    timezone: str = "Africa/Tripoli"
    link_preview: bool = True
    per_chat_per_minute: int = Field(20, ge=1, description="messages per chat per window")
    per_chat_window_seconds: float = Field(60.0, gt=0, description="Telegram's window is a minute")
    global_per_second: int = Field(30, ge=1)
    digest_threshold: int = Field(10, ge=2, description="pending alerts of one destination above "
                                  "which the backlog is folded into digests")
    digest_individual: int = Field(3, ge=0, description="newest high-severity alerts still sent "
                                   "one by one when folding")
    digest_max_items: int = Field(25, ge=1, description="alerts in one digest message, at most "
                                  "MAX_DIGEST_ITEMS (monitor/alert/digest.py)")
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(600.0, gt=0)
    pause_retry_seconds: float = Field(900.0, gt=0, description="probe a paused destination again")
    probe_seconds: float = Field(5.0, gt=0, description="while sends fail, check Telegram (getMe) "
                                 "this often; the queue goes on within seconds of it answering")
    send_timeout: float = Field(20.0, gt=0)

    @field_validator("digest_max_items")
    @classmethod
    def _check_digest_items(cls, value: int) -> int:
        if value > _MAX_DIGEST_ITEMS:
            raise ValueError(f"{value} alerts cannot be shown in one Telegram message with their "
                             f"links (each link is one of the 100 entities a message may have); "
                             f"at most {_MAX_DIGEST_ITEMS}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class StorySettings(StrictModel):
    """Story clustering: one alert per story, later reports edit it."""

    enabled: bool = True
    window_hours: float = Field(48.0, gt=0, description="how far back a report may join a story")
    reply_every: int = Field(3, ge=1, description="when a message cannot be edited: one threaded "
                             "reply per this many new outlets")

    @property
    def window_seconds(self) -> float:
        return self.window_hours * 3600


class SurgeSettings(StrictModel):
    """Entity surge alerts (see :mod:`monitor.trends.surges`)."""

    enabled: bool = True
    window_hours: float = Field(3.0, gt=0, description="sliding window the mentions are counted in")
    factor: float = Field(4.0, gt=0, description="window count must reach factor × expected")
    min_count: int = Field(5, ge=1, description="distinct stories in the window")
    min_outlets: int = Field(3, ge=1, description="distinct outlets in the window")
    baseline_days: float = Field(14.0, gt=0, description="trailing period of the usual rate")
    min_history_hours: float = Field(
        24.0, ge=0, description="no surge is announced until the stored mentions reach back this "
        "far: without history every busy name would 'surge' on a first start with a backlog")
    baseline_floor_per_day: float = Field(
        0.5, ge=0, description="lowest usual rate assumed (new installs, rarely named entities)")
    check_seconds: float = Field(300.0, gt=0)
    destination: str = "default"
    top_articles: int = Field(5, ge=0, le=50, description="article links in a surge message "
                              "(a digest message holds at most 50: monitor/alert/digest.py)")
    ignore_entities: list[str] = Field(
        default_factory=lambda: ["libya", "russia"],
        description="entity ids (or names) too generic to surge usefully")


def parse_allow_entry(entry: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]:
    """Parse ``127.0.0.1``, ``127.0.0.0/8``, ``127.0.0.1:8080`` or ``[::1]:80`` into (network, port)."""
    text, port = entry.strip(), None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        text, port = host, int(rest[1:]) if rest.startswith(":") else None
    elif text.count(":") == 1:
        text, port_text = text.split(":")
        port = int(port_text)
    try:
        return ipaddress.ip_network(text, strict=False), port
    except ValueError as exc:
        raise ValueError(f"not an IP address or network: {entry!r}") from exc


class AnalystSettings(StrictModel):
    """Analysts in the loop: triage buttons on alerts, bot commands (``monitor/bot/``).

    Updates come by long polling (``getUpdates``), never by webhook: the daemon needs no public
    address, and the stored offset makes a restart neither lose nor repeat a press.
    """

    enabled: bool = Field(True, description="buttons on alerts and bot commands (Telegram sink "
                          "only)")
    users: list[int] = Field(default_factory=list, description="Telegram user ids allowed to "
                             "judge alerts and use commands")
    admins: bool = Field(False, description="administrators of the destination chats are allowed "
                         "too (read from the Bot API)")
    admins_cache_seconds: float = Field(600.0, gt=0, description="how long the administrator "
                                        "list of a chat is trusted")
    poll_timeout_seconds: int = Field(25, ge=0, le=50, description="getUpdates long-poll wait")
    command_timeout_seconds: float = Field(20.0, gt=0, description="a command answers within "
                                           "this or says it timed out")
    noisy_share: float = Field(0.5, gt=0, le=1, description="a rule whose share of ❌ among its "
                               "judged alerts reaches this raises an operator notice")
    noisy_min_judged: int = Field(5, ge=1, description="judged alerts a rule needs before its "
                                  "share counts")
    noisy_days: float = Field(30.0, gt=0, description="judgements of this many days count")
