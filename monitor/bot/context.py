"""What a bot command handler gets, and what it returns.

A handler is ``async def handler(ctx: CommandContext, args: list[str]) -> str``: it returns the
reply as Telegram HTML (escaped, at most 4096 visible characters; :func:`monitor.alert.text.clip`
helps), and raises :class:`~monitor.errors.MonitorError` for a refusal the user should read (the
dispatcher turns its message into the reply). The dispatcher (:mod:`monitor.bot.poller`) has
already checked that the user is allowed, and runs each handler in a task of its own with
``analysts.command_timeout_seconds``, so a slow handler never blocks polling or delivery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.store.judgements import Judge

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.extract.pool import ExtractorPool
    from monitor.fetch.client import Fetcher
    from monitor.store.db import Database


@dataclass
class CommandContext:
    """The daemon's parts a command may use. ``matcher`` returns the live matcher (rules are
    reloaded while the daemon runs), or None when no rules are loaded."""

    db: Database
    settings: Settings
    judge: Judge
    now: float
    fetcher: Fetcher | None = None
    extractor: ExtractorPool | None = None
    matcher: Callable[[], Any | None] = lambda: None


Handler = Callable[[CommandContext, list[str]], Awaitable[str]]


@dataclass(frozen=True)
class Command:
    """A bot command: its handler and the one-line help shown by /help and setMyCommands."""

    name: str
    handler: Handler
    help: str
    usage: str = ""
