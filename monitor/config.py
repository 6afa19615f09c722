"""Settings: one YAML file, overridable value by value from the environment, validated on load.

Precedence, lowest first: built-in defaults → the YAML file → ``MONITOR_<SECTION>__<KEY>``
environment variables (values are parsed as YAML, so ``MONITOR_FETCH__ALLOW_ADDRESSES='[127.0.0.1]'``
works). The file is ``--config``, else ``$MONITOR_CONFIG``, else ``monitor.yaml`` if it exists.
Secrets never live in the YAML: they come from ``NAME`` or from a file named by ``NAME_FILE``
(:func:`read_secret`). Every error names the file (or variable), the key, the line and the reason.

The sections are defined in :mod:`monitor.config_sections`, the feed list in
:mod:`monitor.config_feeds`; import all of them from here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from monitor.config_feeds import FeedSource, SourceSettings, google_news_url
from monitor.config_sections import (
    AlertSettings,
    AnalystSettings,
    Destination,
    ExtractSettings,
    FetchSettings,
    OpsSettings,
    ParseSettings,
    PollSettings,
    StorySettings,
    StrictModel,
    SurgeSettings,
    parse_allow_entry,
)
from monitor.errors import ConfigError
from monitor.yamlfile import YamlSyntaxError, line_of, load_yaml

__all__ = [
    "AlertSettings", "AnalystSettings", "Destination", "ExtractSettings", "FeedSource", "FetchSettings",
    "OpsSettings", "ParseSettings", "PollSettings", "Settings", "SourceSettings",
    "StorySettings", "SurgeSettings",
    "TOKEN_VAR", "google_news_url", "load_settings", "parse_allow_entry", "read_secret",
    "resolve_config_path",
]

ENV_PREFIX = "MONITOR_"
#: MONITOR_ variables that are process switches, not configuration keys.
PROCESS_VARIABLES = frozenset({"MONITOR_CONFIG", "MONITOR_DATABASE_FILE"})
DEFAULT_CONFIG = "monitor.yaml"
DEFAULT_FEEDS = Path(__file__).parent / "source" / "default_feeds.yaml"
SECRET_KEYS = {"token", "bot_token", "password", "secret", "api_key"}
TOKEN_VAR = "TELEGRAM_BOT_TOKEN"


class Settings(StrictModel):
    """Everything the daemon needs, validated."""

    database: Path | str = Field(Path("state/monitor.db"), description=(
        "a SQLite file, or a postgresql:// URL (its password from MONITOR_DATABASE or "
        "MONITOR_DATABASE_FILE, never this file)"))
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
    sources: SourceSettings = SourceSettings()
    analysts: AnalystSettings = AnalystSettings()
    feeds: list[FeedSource] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_page_limits(self) -> Settings:
        if self.extract.max_defer_seconds <= self.fetch.breaker_cooldown_seconds:
            raise ValueError(
                f"extract.max_defer_seconds ({self.extract.max_defer_seconds:g}) must be longer "
                f"than fetch.breaker_cooldown_seconds ({self.fetch.breaker_cooldown_seconds:g}): "
                "articles of a skipped host would be given up before it is tried again")
        return self

    @field_validator("database", mode="before")
    @classmethod
    def _database_target(cls, value: Any) -> Path | str:
        text = str(value)
        if text.startswith(("postgresql://", "postgres://")):
            return text
        if "://" in text:
            raise ValueError("a state database is a SQLite file path or a postgresql:// URL")
        return Path(text)

    @field_validator("feeds")
    @classmethod
    def _unique_names(cls, feeds: list[FeedSource]) -> list[FeedSource]:
        seen: set[str] = set()
        for feed in feeds:
            if feed.name in seen:
                raise ValueError(f"duplicate feed name {feed.name!r}")
            seen.add(feed.name)
        return feeds


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
    _reject_database_password(raw, file_label)
    env_keys = _apply_env(raw, env)
    if env.get("MONITOR_DATABASE_FILE") and not env.get("MONITOR_DATABASE"):
        raw["database"] = _read_database_file(env["MONITOR_DATABASE_FILE"])
        env_keys["database"] = "MONITOR_DATABASE_FILE"
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


def _reject_database_password(raw: dict[str, Any], file_label: str) -> None:
    value = str(raw.get("database", ""))
    if re.match(r"postgres(ql)?://[^/@]*:[^/@]*@", value) or "password=" in value.lower():
        raise ConfigError(
            "secrets must not be written in the config file: put the URL with its password in "
            "MONITOR_DATABASE, or in a file named by MONITOR_DATABASE_FILE (Docker secrets)",
            file=file_label, key="database", line=line_of(raw, ("database",)))


def _read_database_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file: {exc.strerror}", file=path,
                          key="MONITOR_DATABASE_FILE") from None


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
