"""The triage buttons under an alert, and what their presses carry (pure).

Three buttons: ✅ relevant · ❌ not relevant · 🔕 mute this story. Once an alert is judged the
buttons show the tally instead of the words ("✅ 2", "❌ 1"), and "🔕 muted" once its story is
muted, so the message stays short and the counts stay discreet.

A button's callback data is ``t:<outbox id>:<r|n|m>`` (Telegram allows 64 bytes). It comes back
in every press, from anyone who can see the message, so :func:`parse_data` accepts exactly this
shape and nothing else: a foreign bot's data, an old format or a forged string is refused (None),
never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Action = Literal["relevant", "not_relevant", "mute"]

MAX_DATA_BYTES = 64        # Telegram's limit on callback_data
_CODES: dict[Action, str] = {"relevant": "r", "not_relevant": "n", "mute": "m"}
_ACTIONS: dict[str, Action] = {code: action for action, code in _CODES.items()}
# An outbox id is a positive SQLite rowid (at most 19 digits); no sign, no leading zero, no space.
_DATA = re.compile(r"t:([1-9][0-9]{0,18}):([rnm])")


@dataclass(frozen=True)
class Button:
    """One inline button: the text shown and the callback data sent back when pressed."""

    text: str
    data: str


#: Rows of buttons (the sinks turn it into their own markup; Telegram's InlineKeyboardMarkup).
Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Press:
    """What a button press asks for: an action on the alert in outbox row ``outbox_id``."""

    outbox_id: int
    action: Action


def encode_data(outbox_id: int, action: Action) -> str:
    """The callback data of ``action`` on the alert of outbox row ``outbox_id``."""
    if outbox_id <= 0:
        raise ValueError(f"not an outbox id: {outbox_id}")
    data = f"t:{outbox_id}:{_CODES[action]}"
    if len(data.encode("utf-8")) > MAX_DATA_BYTES:      # cannot happen for a rowid; checked anyway
        raise ValueError("callback data over 64 bytes")
    return data


def parse_data(data: object) -> Press | None:
    """The press encoded in ``data``, or None when it is not exactly one of ours."""
    if not isinstance(data, str) or len(data.encode("utf-8", "replace")) > MAX_DATA_BYTES:
        return None
    match = _DATA.fullmatch(data)
    if match is None:
        return None
    outbox_id = int(match.group(1))
    if outbox_id >= 2**63:        # beyond a SQLite integer: nobody's row
        return None
    return Press(outbox_id, _ACTIONS[match.group(2)])


def triage_keyboard(outbox_id: int, relevant: int = 0, not_relevant: int = 0,
                    muted: bool = False) -> Keyboard:
    """The buttons of one alert, showing its tally and whether its story is muted."""
    return ((Button(f"✅ {relevant}" if relevant else "✅ relevant",
                    encode_data(outbox_id, "relevant")),
             Button(f"❌ {not_relevant}" if not_relevant else "❌ not relevant",
                    encode_data(outbox_id, "not_relevant")),
             Button("🔕 muted" if muted else "🔕 mute story", encode_data(outbox_id, "mute"))),)
