"""``monitor send-test [DESTINATION]``: one test alert sent directly (not through the queue), to
check the bot token and the chat."""

from __future__ import annotations

import argparse
import asyncio
import sys

from monitor import __version__
from monitor.config import Settings


def cmd_send_test(args: argparse.Namespace) -> int:
    """Send one test message directly (not through the queue) and report the outcome."""
    return asyncio.run(_send_test(args.settings, args.destination))


async def _send_test(settings: Settings, destination: str | None) -> int:
    from monitor.alert.compose import render_html, render_plain
    from monitor.alert.payload import AlertPayload
    from monitor.deliver.destinations import resolve_destination
    from monitor.deliver.sinks import make_sink
    from monitor.errors import DeliveryError

    name = destination or settings.alerts.default_destination
    sink, chat_ids = make_sink(settings)
    payload = AlertPayload(kind="test", title="رسالة اختبار — test alert",
                           body=f"Arabic press monitor {__version__}: destination '{name}' works.")
    try:
        await sink.start()
        chat, topic = resolve_destination(settings.alerts, name, chat_ids=chat_ids)
        result = await sink.send(chat, render_html(payload, tz=settings.alerts.timezone),
                                 topic_id=topic, plain_fallback=render_plain(
                                     payload, tz=settings.alerts.timezone))
    except DeliveryError as exc:
        print(f"send-test to {name!r} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        await sink.close()
    print(f"test alert sent to {name!r} (chat {result.chat_id}, message {result.message_id})")
    return 0
