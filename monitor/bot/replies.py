"""The bot commands' answers (``COMMANDS``), each from the daemon's own state.

Each handler lives in a module of its own (:mod:`monitor.bot.health`, :mod:`~monitor.bot.digest`,
:mod:`~monitor.bot.scoring`, :mod:`~monitor.bot.mutes`, :mod:`~monitor.bot.rulepack`); this
registry is what the poller dispatches to and what ``setMyCommands`` announces.
"""

from __future__ import annotations

from monitor.bot.context import Command, CommandContext
from monitor.bot.digest import digest_command
from monitor.bot.health import feeds_command, status_command
from monitor.bot.markup import esc
from monitor.bot.mutes import mute_command, unmute_command
from monitor.bot.rulepack import rules_command
from monitor.bot.scoring import score_command


async def _help(ctx: CommandContext, args: list[str]) -> str:
    lines = ["<b>Commands</b>"]
    lines += [esc(f"/{c.name} {c.usage}".rstrip()) + f" — {esc(c.help)}"
              for c in COMMANDS.values()]
    return "\n".join(lines)


COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("status", status_command, "queues, failing feeds, last alert, rules"),
    Command("feeds", feeds_command, "feed health: failing and silent feeds"),
    Command("digest", digest_command, "what the period brought (default 24h)", "[24h]"),
    Command("score", score_command, "score a page and explain it", "<url>"),
    Command("mute", mute_command, "hold an entity's alerts for a while; alone: list mutes",
            "<entity> <duration>"),
    Command("unmute", unmute_command, "end a mute", "<entity>"),
    Command("rules", rules_command, "the loaded rules and their version"),
    Command("help", _help, "this list"),
)}
