"""The daemon's bot task: ``getUpdates`` long polling, button presses handled at once, commands
dispatched each in a task of its own.

Offsets: every update is done when the stored offset moves past it, in the transaction that
records its effect (a press) or on its own (anything else). A command's offset moves when it is
dispatched, before it runs: a restart never runs it twice (at worst its answer is lost). The
next ``getUpdates`` sends the stored offset, which is what confirms updates to Telegram.

Nothing here can hold up polling or delivery: a command runs in its own task with
``analysts.command_timeout_seconds`` (it is told it timed out), errors back off and retry, and a
409 Conflict (a webhook is set, or another process polls the same token) is logged as such and
retried every few minutes.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from monitor.bot.access import CANNOT_TELL, REFUSED_COMMAND, Access, judge_of
from monitor.bot.context import Command, CommandContext
from monitor.bot.triage import Triage
from monitor.deliver.probe import wait_any
from monitor.errors import (
    DeliveryError,
    MonitorError,
    PermanentFailure,
    RetryLater,
    UpdatesConflict,
)
from monitor.store import judgements
from monitor.store.db import STORE_ERRORS, Database
from monitor.store.judgements import Judge

if TYPE_CHECKING:
    from telegram import Message, Update

    from monitor.app import App
    from monitor.config import Settings
    from monitor.deliver.base import UpdatesSink

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
RETRY_FIRST, RETRY_MOST = 1.0, 60.0       # back-off after a failed getUpdates (seconds)
CONFLICT_RETRY = 300.0                    # after a 409: a webhook or another poller
# "/name", "/name@bot", then arguments. Command names are Telegram's: [a-z0-9_], 1-32 long.
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?", re.S)

ContextFactory = Callable[[Judge, float], CommandContext]


def parse_command(text: str, bot_username: str) -> tuple[str, list[str]] | None:
    """("name", args) of a command message; None when it is not a command, or is addressed to
    another bot ("/cmd@otherbot" in a group)."""
    match = _COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    name, bot, rest = match.group(1).lower(), match.group(2), match.group(3) or ""
    if bot and bot.lower() != bot_username.lower():
        return None
    return name, rest.split()


class Poller:
    """Reads the bot's updates until stopped."""

    def __init__(self, db: Database, sink: UpdatesSink, settings: Settings, *,
                 context: ContextFactory, commands: dict[str, Command] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        from monitor.bot.replies import COMMANDS

        self.db, self.sink, self.settings, self.clock = db, sink, settings, clock
        self.context = context
        self.commands = COMMANDS if commands is None else commands
        self.access = Access(sink, settings)
        self.triage = Triage(db, sink, self.access, clock)
        self.username: str | None = None
        self.tasks: set[asyncio.Task[None]] = set()      # commands running

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; every failure is logged and retried after a pause."""
        analysts = self.settings.analysts
        log.info("bot: reading updates by long polling (%d analysts listed%s)",
                 len(self.access.users), ", and the destination chats' administrators"
                 if self.access.admins else "")
        if self.access.nobody:
            log.warning("bot: nobody may judge alerts or use commands: list Telegram user ids "
                        "in analysts.users, or set analysts.admins")
        delay = RETRY_FIRST
        try:
            while not stop.is_set():
                try:
                    await self.poll_once(stop, analysts.poll_timeout_seconds)
                    delay = RETRY_FIRST
                    continue
                except UpdatesConflict as exc:
                    log.error("BOT UPDATES NOT RECEIVED: %s. Retrying in %.0f s.", exc,
                              CONFLICT_RETRY)
                    wait = CONFLICT_RETRY
                except PermanentFailure as exc:     # the token: the sender's probe says so too
                    log.error("bot updates refused, retrying in %.0f s: %s", RETRY_MOST, exc)
                    wait = RETRY_MOST
                except RetryLater as exc:
                    wait = exc.retry_after if exc.retry_after is not None else delay
                    log.warning("bot updates unavailable, retrying in %.0f s: %s", wait, exc)
                except STORE_ERRORS as exc:
                    log.error("bot updates: the store failed, retrying in %.0f s: %s", delay, exc)
                    wait = delay
                except Exception:
                    log.exception("bot updates: unexpected error, retrying in %.0f s", delay)
                    wait = delay
                delay = min(RETRY_MOST, delay * 2)
                await wait_any(stop, None, wait)
        finally:
            await self.stop_commands()

    async def poll_once(self, stop: asyncio.Event, timeout: int) -> int:
        """One getUpdates (interrupted by ``stop``) and its updates handled. Returns how many."""
        if self.username is None:
            self.username = await self.sink.get_me()
        offset = judgements.update_offset(self.db)
        call = asyncio.ensure_future(self.sink.get_updates(offset, timeout, ALLOWED_UPDATES))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({call, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not call.done():
            call.cancel()              # the updates stay with Telegram until an offset confirms
            await asyncio.gather(call, return_exceptions=True)
            return 0
        updates = call.result()
        for update in updates:
            try:
                await self.handle(update)
            except STORE_ERRORS:
                raise                  # the store, not the update: it comes again later
            except Exception:          # a bug or an odd update must not block the ones after it
                log.exception("update_id=%d could not be handled; skipped", update.update_id)
                judgements.skip_update(self.db, update.update_id, self.clock())
        return len(updates)

    async def handle(self, update: Update) -> None:
        """One update: a press is recorded at once, a command dispatched, the rest skipped."""
        if update.callback_query is not None:
            await self.triage.handle(update.update_id, update.callback_query)
            return
        message = update.message
        parsed = (parse_command(message.text, self.username or "")
                  if message is not None and message.text and message.from_user else None)
        judgements.skip_update(self.db, update.update_id, self.clock())
        if message is None or parsed is None:
            return
        name, args = parsed
        task = asyncio.create_task(self._command(message, name, args), name=f"command:{name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _command(self, message: Message, name: str, args: list[str]) -> None:
        """Check the user, run the command within its time limit, reply. Never raises."""
        assert message.from_user is not None
        user = message.from_user
        try:
            allowed = await self.access.allowed(user.id)
        except RetryLater:
            await self._reply(message, CANNOT_TELL)
            return
        if not allowed:
            log.warning("command /%s REFUSED: user_id=%d (%s) is not an allowed analyst", name,
                        user.id, judge_of(user).name)
            await self._reply(message, REFUSED_COMMAND.format(user_id=user.id))
            return
        await self._reply(message, await self._answer(name, args, judge_of(user)))

    async def _answer(self, name: str, args: list[str], judge: Judge) -> str:
        """The reply to /name: its handler's, or /help's for an unknown command."""
        command = self.commands.get(name)
        prefix = ""
        if command is None:
            command, prefix = self.commands.get("help"), f"Unknown command /{html.escape(name)}.\n"
            if command is None:
                return prefix.strip()
        limit = self.settings.analysts.command_timeout_seconds
        started = time.monotonic()
        try:
            reply = await asyncio.wait_for(command.handler(self.context(judge, self.clock()),
                                                           args), limit)
        except TimeoutError:
            log.warning("command /%s timed out after %.0f s", command.name, limit)
            return f"⏳ /{command.name} did not finish within {limit:g} s; try again later."
        except MonitorError as exc:
            return f"/{command.name}: {html.escape(str(exc))}"
        except Exception:
            log.exception("command /%s failed", command.name)
            return f"⚠️ /{command.name} failed (an internal error; the daemon's log has details)."
        log.info("command /%s answered for user_id=%d in %.1f s", command.name, judge.user_id,
                 time.monotonic() - started)
        return prefix + reply

    async def _reply(self, message: Message, text: str) -> None:
        try:
            await self.sink.reply(message.chat.id, text, message.message_id,
                                  topic_id=message.message_thread_id
                                  if message.is_topic_message else None)
        except DeliveryError as exc:
            log.warning("could not answer a command in chat=%s: %s", message.chat.id, exc)

    async def stop_commands(self) -> None:
        """Cancel the commands still running (their offsets are stored: none runs again)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def start_poller(app: App, stop: asyncio.Event) -> asyncio.Task[None] | None:
    """The bot task of ``monitor run``: only with the Telegram sink and ``analysts.enabled``."""
    from monitor.deliver.telegram import TelegramSink

    settings, sink = app.settings, app.drainer.sink
    if not settings.analysts.enabled or not isinstance(sink, TelegramSink):
        return None

    def context(judge: Judge, now: float) -> CommandContext:
        return CommandContext(db=app.db, settings=settings, judge=judge, now=now,
                              fetcher=app.fetcher, extractor=app.extractor,
                              matcher=lambda: app.pipeline.scorer)

    poller = Poller(app.db, sink, settings, context=context)
    poller.triage.on_tally = app.drainer.wake.set
    return asyncio.create_task(poller.run(stop), name="bot-updates")
