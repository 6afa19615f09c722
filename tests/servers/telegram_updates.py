"""The update half of the fake Bot API (mixed into :class:`tests.servers.telegram.FakeTelegram`):
``getUpdates`` with Telegram's semantics, the methods that answer analysts, and helpers that push
real update shapes.

* ``getUpdates``: an ``offset`` confirms (drops for good) every update below it; ``timeout``
  long-polls until an update arrives, the timeout passes or the server stops; ``allowed_updates``
  is remembered across calls like Telegram does (an empty list means the default types), and an
  update of a type not allowed when it happens is never queued. A second getUpdates while one is
  waiting ends the first with 409 "terminated by other getUpdates request", and ``webhook = url``
  makes every getUpdates answer 409 "can't use getUpdates method while webhook is active".
* :meth:`press` pushes a ``callback_query`` (a button pressed under one of the bot's messages:
  id, from, message with chat, message_id, text and its current keyboard, chat_instance, data);
  :meth:`say` pushes a ``message`` (with ``bot_command`` entities for "/cmd…"). Both return the
  update id.
* ``answerCallbackQuery`` is recorded in ``answers`` (an unknown or already answered query is
  400 "query is too old…"); ``editMessageReplyMarkup`` replaces a message's keyboard (recorded in
  ``markup_edits``; the same keyboard again is "message is not modified"); ``getChatAdministrators``
  answers ``admins[chat_id]`` (user ids, the first one the owner), "chat not found" for a chat
  without an entry. :meth:`markup` is a message's current keyboard, :meth:`buttons` its texts.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.servers.telegram import FakeTelegram

#: What Telegram sends when allowed_updates is empty or was never given.
DEFAULT_TYPES = {"message", "edited_message", "channel_post", "edited_channel_post",
                 "business_connection", "business_message", "edited_business_message",
                 "deleted_business_messages", "inline_query", "chosen_inline_result",
                 "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
                 "poll", "poll_answer", "my_chat_member", "chat_join_request", "chat_boost",
                 "removed_chat_boost"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")
FIRST_UPDATE_ID = 700_000_001


class BotUpdates:
    """getUpdates, callback answers, keyboards and chat administrators of the fake."""

    def _init_updates(self: FakeTelegram) -> None:
        self.pushed: list[dict[str, Any]] = []         # every update pushed, in order
        self.answers: list[dict[str, str]] = []        # answerCallbackQuery params
        self.markup_edits: list[dict[str, str]] = []   # successful editMessageReplyMarkup params
        self.dropped: list[dict[str, Any]] = []        # updates of a type not allowed
        self.admins: dict[str | int, list[int]] = {}
        self.webhook: str | None = None
        self._queue: list[dict[str, Any]] = []         # not confirmed yet
        self._next_update = FIRST_UPDATE_ID
        self._allowed: set[str] = set(DEFAULT_TYPES)
        self._poll_generation = 0
        self._queries: dict[str, bool] = {}            # callback query id → answered
        self._markups: dict[tuple[str, int], Any] = {}
        self._arrived = threading.Condition(self._lock)

    # ------------------------------------------------------------------ test API

    def press(self: FakeTelegram, message_id: int, chat_id: str | int, data: str, user_id: int,
              first_name: str = "Analyst", *, username: str | None = None) -> int:
        """An analyst presses a button (``data``) under message ``message_id`` of ``chat_id``."""
        chat = self._chat(str(chat_id), False)
        key = (str(chat["id"]), int(message_id))
        with self._lock:
            query_id = f"{self.bot_id}{self._next_update:012d}"
            message: dict[str, Any] = {"message_id": int(message_id), "date": int(time.time()) - 5,
                                       "chat": chat, "text": self._shown.get(key, "")}
            if self._markups.get(key) is not None:
                message["reply_markup"] = self._markups[key]
            if chat["type"] == "channel":
                message["sender_chat"] = chat
        query = {"id": query_id, "from": _user(user_id, first_name, username), "message": message,
                 "chat_instance": str(-abs(hash(("instance", chat["id"]))) % 10**18), "data": data}
        return self._push("callback_query", query, query_id=query_id)

    def say(self: FakeTelegram, chat_id: str | int, user_id: int, text: str,
            first_name: str = "Analyst", *, username: str | None = None) -> int:
        """A user writes ``text`` in ``chat_id`` (a private chat when it is their own id)."""
        chat = self._chat(str(chat_id), False)
        if chat["type"] == "private":
            chat["first_name"] = first_name
        with self._lock:
            message_id, self._next_id = self._next_id, self._next_id + 1
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "from": _user(user_id, first_name, username), "chat": chat,
                                   "text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.encode("utf-16-le")) // 2}]
        return self._push("message", message)

    def markup(self: FakeTelegram, chat_id: str | int, message_id: int) -> Any:
        """The message's current reply_markup (a dict), None without a keyboard."""
        key = (str(self._chat(str(chat_id), False)["id"]), int(message_id))
        with self._lock:
            return self._markups.get(key)

    def buttons(self: FakeTelegram, chat_id: str | int, message_id: int) -> list[str]:
        """The texts of the message's inline buttons, row by row, [] without a keyboard."""
        found = self.markup(chat_id, message_id) or {}
        return [b["text"] for row in found.get("inline_keyboard", []) for b in row]

    def _push(self: FakeTelegram, kind: str, body: dict[str, Any], *,
              query_id: str | None = None) -> int:
        with self._arrived:
            update_id, self._next_update = self._next_update, self._next_update + 1
            update = {"update_id": update_id, kind: body}
            self.pushed.append(update)
            if kind not in self._allowed:
                self.dropped.append(update)
                return update_id
            if query_id is not None:
                self._queries[query_id] = False
            self._queue.append(update)
            self._arrived.notify_all()
        return update_id

    @property
    def unconfirmed(self: FakeTelegram) -> list[int]:
        """Ids of the updates Telegram still holds (not confirmed by an offset)."""
        with self._lock:
            return [u["update_id"] for u in self._queue]

    # ------------------------------------------------------------------ methods

    def _get_updates(self: FakeTelegram, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.webhook:
            return 409, _conflict("can't use getUpdates method while webhook is active; use "
                                  "deleteWebhook to delete the webhook first")
        try:
            offset = int(params.get("offset") or 0)
            limit = max(1, min(100, int(params.get("limit") or 100)))
            timeout = max(0.0, float(params.get("timeout") or 0))
            allowed = json.loads(params["allowed_updates"]) if "allowed_updates" in params else None
        except (ValueError, TypeError):
            return 400, _bad("Bad Request: wrong parameters")
        deadline = time.monotonic() + timeout
        with self._arrived:
            if allowed is not None:
                self._allowed = set(allowed) or set(DEFAULT_TYPES)
            if offset > 0:
                self._queue = [u for u in self._queue if u["update_id"] >= offset]
            elif offset < 0:
                self._queue = self._queue[offset:]
            self._poll_generation += 1
            mine = self._poll_generation
            self._arrived.notify_all()            # an older long poll ends with 409
            while True:
                if mine != self._poll_generation:
                    return 409, _conflict("terminated by other getUpdates request; make sure "
                                          "that only one bot instance is running")
                ready = self._queue[:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self._stopping.is_set():
                    break
                self._arrived.wait(min(left, 0.2))
        return 200, {"ok": True, "result": ready}

    def _answer_callback(self: FakeTelegram, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        query_id = params.get("callback_query_id", "")
        with self._lock:
            if self._queries.get(query_id, True):
                return 400, _bad("Bad Request: query is too old and response timeout expired or "
                                 "query ID is invalid")
            self._queries[query_id] = True
            self.answers.append(dict(params))
        return 200, {"ok": True, "result": True}

    def _edit_markup(self: FakeTelegram, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chat_id, raw_id = params.get("chat_id", ""), params.get("message_id", "")
        try:
            chat = self._chat(chat_id, False)
            key = (str(chat["id"]), int(raw_id))
            markup = _markup_of(params)
        except ValueError:
            return 400, _bad("Bad Request: message identifier is not specified")
        with self._lock:
            if key not in self._shown:
                return 400, _bad("Bad Request: message to edit not found")
            if self._markups.get(key) == markup:
                return 400, _bad(NOT_MODIFIED)
            self._markups[key] = markup
            self.markup_edits.append(dict(params))
            text = self._shown[key]
        result: dict[str, Any] = {"message_id": key[1], "date": int(time.time()) - 1,
                                  "edit_date": int(time.time()), "chat": chat, "text": text}
        if markup is not None:
            result["reply_markup"] = markup
        return 200, {"ok": True, "result": result}

    def _chat_admins(self: FakeTelegram, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chat_id = params.get("chat_id", "")
        with self._lock:
            ids = self.admins.get(chat_id)
            if ids is None:
                ids = next((v for k, v in self.admins.items() if str(k) == chat_id), None)
        if ids is None:
            return 400, _bad("Bad Request: chat not found")
        rights = dict.fromkeys(("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                                "can_restrict_members", "can_promote_members", "can_change_info",
                                "can_invite_users", "can_post_stories", "can_edit_stories",
                                "can_delete_stories", "can_post_messages", "can_edit_messages"),
                               True)
        members: list[dict[str, Any]] = []
        for n, user_id in enumerate(ids):
            user = _user(user_id, f"Admin {user_id}", None)
            if n == 0:
                members.append({"status": "creator", "user": user, "is_anonymous": False})
            else:
                members.append({"status": "administrator", "user": user, "can_be_edited": False,
                                "is_anonymous": False, **rights})
        return 200, {"ok": True, "result": members}


def _user(user_id: int, first_name: str, username: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": int(user_id), "is_bot": False, "first_name": first_name,
                            "language_code": "ar"}
    if username:
        user["username"] = username
    return user


def _markup_of(params: dict[str, str]) -> Any:
    """The reply_markup of a request, parsed (None when absent: the keyboard goes)."""
    raw = params.get("reply_markup")
    if not raw:
        return None
    markup = json.loads(raw)
    if not isinstance(markup, dict):
        raise ValueError("reply_markup is not an object")
    return markup


def _conflict(why: str) -> dict[str, Any]:
    return {"ok": False, "error_code": 409, "description": f"Conflict: {why}"}


def _bad(description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": 400, "description": description}
