"""Settings: one YAML file, overridable value by value from the environment, validated on load.

Precedence, lowest first: built-in defaults → the YAML file → ``MONITOR_<SECTION>__<KEY>``
environment variables (values are parsed as YAML, so ``MONITOR_FETCH__ALLOW_ADDRESSES='[127.0.0.1]'``
works). The file is ``--config``, else ``$MONITOR_CONFIG``, else ``monitor.yaml`` if it exists.
Secrets never live in the YAML: they come from ``NAME`` or from a file named by ``NAME_FILE``
(:func:`read_secret`). Every error names the file (or variable), the key, the line and the reason.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote_plus

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor import __version__
from monitor.errors import ConfigError
from monitor.yamlfile import YamlSyntaxError, line_of, load_yaml

ENV_PREFIX = "MONITOR_"
#: MONITOR_ variables that are process switches, not configuration keys.
PROCESS_VARIABLES = frozenset({"MONITOR_CONFIG"})
DEFAULT_CONFIG = "monitor.yaml"
DEFAULT_FEEDS = Path(__file__).parent / "source" / "default_feeds.yaml"
SECRET_KEYS = {"token", "bot_token", "password", "secret", "api_key"}
TOKEN_VAR = "TELEGRAM_BOT_TOKEN"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchSettings(_Model):
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


class ExtractSettings(_Model):
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


class ParseSettings(_Model):
    """Feed parsing (feedparser), in worker processes bounded in time and memory."""

    workers: int = Field(1, ge=0, le=8, description="processes; 0 parses in a thread, without "
                         "the time and memory limits (tests, tiny boxes)")
    timeout_seconds: float = Field(20.0, gt=0, description="per feed; the worker is replaced after")
    max_memory_mb: int = Field(256, ge=64, le=65536, description="address space of a worker "
                               "(a legitimate 4 MB feed of 2,000 items needs about 55 MB)")


class PollSettings(_Model):
    """How often feeds are polled. Without a per-feed ``interval_seconds`` a feed's interval
    adapts between ``min_interval_seconds`` and ``max_interval_seconds`` to how often it publishes."""

    interval_seconds: float = Field(600.0, gt=0, description="starting interval")
    min_interval_seconds: float = Field(120.0, gt=0)
    max_interval_seconds: float = Field(3600.0, gt=0)
    jitter_seconds: float = Field(30.0, ge=0, description="random delay added to each poll")
    concurrency: int = Field(8, ge=1, description="feeds polled at the same time")

    @model_validator(mode="after")
    def _check_range(self) -> PollSettings:
        if self.min_interval_seconds > self.max_interval_seconds:
            raise ValueError("min_interval_seconds is larger than max_interval_seconds")
        return self


class OpsSettings(_Model):
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


class Destination(_Model):
    """A Telegram chat: ``@channelname`` or a numeric chat id, optionally a forum topic."""

    chat_id: str = Field(min_length=1)
    topic_id: int | None = None

    @field_validator("chat_id", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


_MAX_DIGEST_ITEMS = 50   # monitor.alert.digest.MAX_DIGEST_ITEMS (tests check they agree)


class AlertSettings(_Model):
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


class StorySettings(_Model):
    """Story clustering: one alert per story, later reports edit it."""

    enabled: bool = True
    window_hours: float = Field(48.0, gt=0, description="how far back a report may join a story")
    reply_every: int = Field(3, ge=1, description="when a message cannot be edited: one threaded "
                             "reply per this many new outlets")

    @property
    def window_seconds(self) -> float:
        return self.window_hours * 3600


class SurgeSettings(_Model):
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


class FeedSource(_Model):
    """One source: an RSS/Atom feed, or a Google News search turned into its RSS URL."""

    name: str = Field(min_length=1)
    type: Literal["rss", "google_news"] = "rss"
    url: str | None = None
    query: str | None = None
    edition: str = Field("EG", pattern=r"^[A-Z]{2}$")
    language: str = "ar"
    interval_seconds: float | None = Field(None, gt=0)
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True

    @model_validator(mode="after")
    def _check_source(self) -> FeedSource:
        if self.type == "google_news":
            if not self.query:
                raise ValueError("a google_news source needs a 'query'")
            if self.url is None:
                object.__setattr__(self, "url", google_news_url(self.query, self.edition))
        if not self.url:
            raise ValueError("an rss source needs a 'url'")
        if not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url must be http(s), got {self.url!r}")
        return self

    @property
    def feed_url(self) -> str:
        """The URL polled (always set once validated)."""
        assert self.url is not None
        return self.url


class Settings(_Model):
    """Everything the daemon needs, validated."""

    database: Path = Path("state/monitor.db")
    rules_path: Path = Path("rules")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    fetch: FetchSettings = FetchSettings()
    extract: ExtractSettings = ExtractSettings()
    parse: ParseSettings = ParseSettings()
    poll: PollSettings = PollSettings()
    alerts: AlertSettings = AlertSettings()
    ops: OpsSettings = OpsSettings()
    surges: SurgeSettings = SurgeSettings()
    stories: StorySettings = StorySettings()
    feeds: list[FeedSource] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_page_limits(self) -> Settings:
        if self.extract.max_defer_seconds <= self.fetch.breaker_cooldown_seconds:
            raise ValueError(
                f"extract.max_defer_seconds ({self.extract.max_defer_seconds:g}) must be longer "
                f"than fetch.breaker_cooldown_seconds ({self.fetch.breaker_cooldown_seconds:g}): "
                "articles of a skipped host would be given up before it is tried again")
        return self

    @field_validator("feeds")
    @classmethod
    def _unique_names(cls, feeds: list[FeedSource]) -> list[FeedSource]:
        seen: set[str] = set()
        for feed in feeds:
            if feed.name in seen:
                raise ValueError(f"duplicate feed name {feed.name!r}")
            seen.add(feed.name)
        return feeds


def google_news_url(query: str, edition: str = "EG") -> str:
    """Google News RSS search URL for an Arabic query (covers outlets that have no feed)."""
    return (f"https://news.google.com/rss/search?q={quote_plus(query)}"
            f"&hl=ar&gl={edition}&ceid={edition}:ar")


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


def read_secret(name: str) -> str | None:
    """A secret from ``$NAME`` or from the file named by ``$NAME_FILE`` (Docker secrets)."""
    value = os.environ.get(name)
    if value:
        return value.strip()
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise ConfigError(f"cannot read secret file: {exc.strerror}", file=path, key=f"{name}_FILE") from exc


def resolve_config_path(cli_path: str | None) -> Path | None:
    """The config file to read: ``--config``, ``$MONITOR_CONFIG``, ``./monitor.yaml``, or none."""
    explicit = cli_path or os.environ.get("MONITOR_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(DEFAULT_CONFIG) if Path(DEFAULT_CONFIG).exists() else None


def load_settings(path: Path | None = None, env: dict[str, str] | None = None,
                  overrides: dict[str, Any] | None = None) -> Settings:
    """Load, merge and validate settings. Raises :class:`ConfigError` naming file, key and line."""
    env = dict(os.environ) if env is None else env
    raw, file_label = _read_file(path)
    _reject_secrets(raw, file_label)
    env_keys = _apply_env(raw, env)
    for key, value in (overrides or {}).items():
        raw[key] = value
    if "feeds" not in raw:
        raw["feeds"] = _default_feeds()
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(exc, raw, file_label, env_keys) from None


def _read_file(path: Path | None) -> tuple[dict[str, Any], str]:
    if path is None:
        return {}, "<defaults>"
    try:
        data = load_yaml(path)
    except FileNotFoundError:
        raise ConfigError("config file not found", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except YamlSyntaxError as exc:
        raise ConfigError(f"invalid YAML: {exc.reason}", file=str(path), line=exc.line) from None
    if data is None:
        return {}, str(path)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys to values", file=str(path), line=1)
    return data, str(path)


def _reject_secrets(raw: Any, file_label: str, prefix: str = "") -> None:
    if isinstance(raw, dict):
        for key, value in raw.items():
            dotted = f"{prefix}{key}"
            if str(key).lower() in SECRET_KEYS:
                raise ConfigError(
                    "secrets must not be written in the config file; set the environment variable "
                    "(e.g. TELEGRAM_BOT_TOKEN) or NAME_FILE pointing at a secret file",
                    file=file_label, key=dotted, line=line_of(raw, (key,)))
            _reject_secrets(value, file_label, dotted + ".")


def _apply_env(raw: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """Overlay ``MONITOR_A__B=value`` onto raw; returns dotted key → variable name."""
    applied: dict[str, str] = {}
    for var, text in sorted(env.items()):
        if not var.startswith(ENV_PREFIX) or var in PROCESS_VARIABLES:
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX):].split("__") if p]
        if not parts:
            continue
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        if isinstance(value, (int, float)) and parts[-1] in {"url", "name", "query", "user_agent"}:
            value = text
        node = raw
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
        applied[".".join(parts)] = var
    return applied


def _default_feeds() -> list[Any]:
    data = load_yaml(DEFAULT_FEEDS)
    return list(data["feeds"])


def _config_error(exc: ValidationError, raw: dict[str, Any], file_label: str,
                  env_keys: dict[str, str]) -> ConfigError:
    problems = []
    first: ConfigError | None = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        dotted = ".".join(str(p) for p in loc)
        source = next((var for key, var in env_keys.items() if dotted.startswith(key)), None)
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown key (check the spelling; see the configuration reference in README.md)"
        if source:
            problem = ConfigError(reason, file=f"environment variable {source}", key=dotted)
        else:
            problem = ConfigError(reason, file=file_label, key=dotted, line=line_of(raw, loc))
        problems.append(str(problem))
        first = first or problem
    assert first is not None
    if len(problems) > 1:
        first = ConfigError(first.reason + "\n  also: " + "\n  also: ".join(problems[1:]),
                            file=first.file, key=first.key, line=first.line)
    return first
