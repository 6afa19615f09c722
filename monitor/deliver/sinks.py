"""Choosing the sink from the settings and the environment (the token never enters Settings)."""

from __future__ import annotations

from monitor.config import TOKEN_VAR, Settings, read_secret
from monitor.deliver.base import Sink
from monitor.deliver.console import ConsoleSink, JsonlSink
from monitor.errors import ConfigError


def make_sink(settings: Settings) -> tuple[Sink, bool]:
    """(sink, whether destinations resolve to Telegram chat ids)."""
    alerts = settings.alerts
    token = read_secret(TOKEN_VAR)
    kind = alerts.sink
    if kind == "auto":
        kind = "telegram" if token else "console"
    if kind == "console":
        return ConsoleSink(), False
    if kind == "jsonl":
        return JsonlSink(alerts.jsonl_path), False
    if not token:
        raise ConfigError(f"alerts.sink is 'telegram' but {TOKEN_VAR} (or {TOKEN_VAR}_FILE) "
                          "is not set", key="alerts.sink")
    if alerts.default_destination not in alerts.destinations:
        raise ConfigError(f"the default destination {alerts.default_destination!r} has no chat: "
                          "add it under alerts.destinations (chat_id: '@channel' or -100…)",
                          key="alerts.destinations")
    from monitor.deliver.telegram import TelegramSink

    return TelegramSink(token, base_url=alerts.api_base_url, link_preview=alerts.link_preview,
                        timeout=alerts.send_timeout), True
