"""Destination names → Telegram chats, and the check that every rule names a configured one.

A rule's ``destination`` that is not under ``alerts.destinations`` (a typo, a destination removed
from the config) still alerts somewhere, the default destination, so that nothing is lost; but it
must not go there silently. :func:`unconfigured_destinations` is the one check behind the warnings
of ``monitor rules check``, of start-up and of live rule reloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.config import AlertSettings
from monitor.errors import PermanentFailure


def resolve_destination(settings: AlertSettings, destination: str, *,
                        chat_ids: bool) -> tuple[str, int | None]:
    """Chat id and topic of a destination name; an unknown name uses the default destination
    (a rule naming a destination nobody configured still alerts somewhere)."""
    if not chat_ids:
        return destination, None
    dests = settings.destinations
    dest = dests.get(destination) or dests.get(settings.default_destination)
    if dest is None:
        raise PermanentFailure(f"destination {destination!r} is not configured "
                               "(alerts.destinations)", scope="chat")
    return dest.chat_id, dest.topic_id


def unconfigured_destinations(rules: Iterable[Any], settings: AlertSettings) -> list[str]:
    """One warning per rule whose destination is not configured, naming the rule's file and
    line (``Rule.source``), the rule, the name it gives and the destination its alerts go to.

    Nothing is reported while no destination is configured at all (the console and JSON-lines
    sinks then show destination names as they are).
    """
    configured = settings.destinations
    if not configured:
        return []
    fallback = settings.default_destination
    out = []
    for rule in rules:
        name = rule.destination or fallback
        if name in configured:
            continue
        out.append(f"{rule.source or '<rules>'}: rule {rule.id!r}: destination {name!r} is not "
                   f"configured in alerts.destinations ({', '.join(sorted(configured))}); its "
                   f"alerts fall back to the default destination {fallback!r}")
    return out
