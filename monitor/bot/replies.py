"""The bot commands' answers (``COMMANDS``), each from the daemon's own state."""

from __future__ import annotations

from monitor.bot.context import Command, CommandContext


async def _help(ctx: CommandContext, args: list[str]) -> str:
    lines = ["<b>Commands</b>"]
    lines += [f"/{c.name} {c.usage}".rstrip() + f" — {c.help}" for c in COMMANDS.values()]
    return "\n".join(lines)


COMMANDS: dict[str, Command] = {
    "help": Command("help", _help, "this list"),
}
