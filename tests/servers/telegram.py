"""A fake Telegram Bot API server on 127.0.0.1 for tests.

``with FakeTelegram() as tg:`` then point a Bot/TelegramSink at ``tg.base_url``. It answers
``getMe``, ``sendMessage`` and ``editMessageText`` with the real response shapes, records every
request, and can be scripted per method (and per chat) to answer with errors:

    tg.script("sendMessage", (429, {"retry_after": 2}), (500,), ("timeout", 3))
    tg.script("sendMessage", (403, "Forbidden: bot was kicked from the channel chat"), chat_id="@a")
    tg.script("sendMessage", (400, "Bad Request: chat not found"))
    tg.script("sendMessage", (400, "Bad Request: group chat was upgraded to a supergroup chat",
                              {"migrate_to_chat_id": -1001234}))
    tg.script("sendMessage", ("raw", {"ok": True}))           # a 200 reply without "result"
    tg.script("sendMessage", ("ok",))                         # the normal answer

A response is one of ``(status,)``, ``(status, description)``, ``(status, parameters)``,
``(status, description, parameters)``, ``(429, seconds)``, ``("timeout", seconds)``,
``("raw", body[, status])`` (body: a JSON-able object, or bytes sent as is) and ``("ok",)``.
``("timeout", s)`` handles the request normally (a sendMessage IS delivered and recorded at
once, as Telegram would) and only then sleeps ``s`` seconds before answering, so a client with a
shorter read timeout gives up on a message that did arrive.

Permanent switches: ``reject_html = True`` refuses every parse_mode=HTML sendMessage/edit as a
formatting error; ``validate_html`` (on by default) refuses HTML with a tag Telegram does not
support, unbalanced tags or a bare ``<``/unknown entity, as Telegram does (see :func:`check_html`);
text over 4096 UTF-16 units after entity parsing always gives "Bad Request: message is too long";
``unauthorized = True`` answers 401 to everything (a revoked token), and ``valid_tokens`` (a set)
does so for any other token. ``timed_requests`` adds a ``time.monotonic()`` stamp to each request,
``tokens_seen`` is the set of tokens used.

Outages: ``down = True`` answers ``down_status`` (502) to everything (a proxy in front of a
Telegram that is out); :meth:`flood` answers every sendMessage with 429 for a while and logs each
answer in ``floods`` (arrival time, retry_after, chat) so a test can check that no client came
back early; :meth:`refuse` closes the listening socket and every open connection, so connections
are refused, and :meth:`accept` listens again on the same port. ``delivered_at`` holds the arrival
time of each message in ``messages``; ``unanswered`` the messages that were delivered but whose
answer could not be written (the connection died): the client cannot know they arrived. ``FakeTelegram(port=N)`` listens on a chosen port (a daemon may be started
against a Bot API that is not there yet: ``FakeTelegram(port=N, listening=False)``).

Keyboards: the ``reply_markup`` of sendMessage/editMessageText is kept per message and echoed in
the answer; like Telegram, an editMessageText without reply_markup removes the keyboard, and an
edit that changes neither text nor keyboard is "message is not modified".

Updates and analysts (:mod:`tests.servers.telegram_updates`): ``getUpdates`` (offsets, long
polling, ``allowed_updates``, 409 conflicts with ``webhook = url`` or a second poller),
``answerCallbackQuery`` (``answers``), ``editMessageReplyMarkup`` (``markup_edits``),
``getChatAdministrators`` (``admins[chat_id] = [user ids]``), and the helpers :meth:`press`
(a ``callback_query`` update), :meth:`say` (a ``message`` update, with ``bot_command``
entities), :meth:`markup` and :meth:`buttons` (a message's current keyboard).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections import defaultdict
from html.parser import HTMLParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers.telegram_updates import NOT_MODIFIED, BotUpdates, _markup_of

MAX_TEXT = 4096

# Telegram's HTML subset (https://core.telegram.org/bots/api#html-style); "required" attributes
# are checked for the tags that need them.
SUPPORTED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                  "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote"}
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}

Response = tuple[Any, ...]


# --------------------------------------------------------------------------- HTML checks


class _HTMLCheck(HTMLParser):
    """Walks Telegram-style HTML; ``error`` is Telegram's description of the first problem."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.stack: list[str] = []
        self.text: list[str] = []
        self.error: str | None = None

    def _offset(self) -> int:
        line, col = self.getpos()
        lines = self.raw.split("\n")
        prefix = "\n".join(lines[:line - 1]) + ("\n" if line > 1 else "") + lines[line - 1][:col]
        return len(prefix.encode("utf-8"))

    def _fail(self, why: str) -> None:
        if self.error is None:
            self.error = f"Can't parse entities: {why} at byte offset {self._offset()}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag not in SUPPORTED_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        elif tag == "a" and not found.get("href"):
            self._fail('Tag "a" must have attribute "href"')
        elif tag == "span" and found.get("class") != "tg-spoiler":
            self._fail('Tag "span" must have class "tg-spoiler"')
        elif tag == "tg-emoji" and not found.get("emoji-id"):
            self._fail('Tag "tg-emoji" must have attribute "emoji-id"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f'Unexpected end tag "{tag}"')
        elif self.stack[-1] != tag:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:          # a "<" that did not start a tag: Telegram wants &lt;
            self._fail('Unexpected character "<"')
        if "&" in data:          # an "&" that html.parser could not read as an entity
            self._fail('Unsupported HTML entity "&"')
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"')
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, ""))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.text.append(chr(code))
        except (ValueError, OverflowError):
            self._fail(f'Unsupported HTML entity "&#{name};"')

    def handle_comment(self, data: str) -> None:
        self._fail("Unsupported comment")

    def handle_decl(self, decl: str) -> None:
        self._fail("Unsupported declaration")

    def handle_pi(self, data: str) -> None:
        self._fail("Unsupported processing instruction")

    def unknown_decl(self, data: str) -> None:
        self._fail("Unsupported declaration")


def _check(text: str) -> _HTMLCheck:
    check = _HTMLCheck(text)
    check.feed(text)
    check.close()
    if check.stack and check.error is None:
        check.error = (f"Can't parse entities: can't find end tag corresponding to start tag "
                       f'"{check.stack[-1]}"')
    return check


def check_html(text: str) -> str | None:
    """None when Telegram would accept ``text`` in HTML parse mode, else the error description
    (without the "Bad Request: " prefix). Stricter than Telegram on bare "&" (it is never needed)."""
    return _check(text).error


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text Telegram would show: for HTML, tags removed and entities decoded."""
    if (parse_mode or "").upper() != "HTML":
        return text
    return "".join(_check(text).text)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the way Telegram counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.owner._lock:
            self.server.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.owner._lock:
            self.server.owner._connections.discard(self.connection)
        super().finish()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            # The client died mid-body (a SIGKILLed daemon): like any HTTP server, answer
            # nothing and record nothing, because no complete request arrived.
            return
        try:
            self.server.owner.handle(self, raw)
        except OSError:
            pass   # the client gave up (its read timeout), or refuse() cut the connection

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeTelegram

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed between requests (a SIGKILLed daemon) resets its kept-alive
        # connection: nothing to report. Anything else is a bug of the fake: print it.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _params(handler: BaseHTTPRequestHandler, raw: bytes) -> dict[str, str]:
    """Form or JSON body plus query string, as strings the way the form encoding sends them."""
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query,
                                                          keep_blank_values=True).items()}
    ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype == "application/json" and raw:
        for key, value in json.loads(raw.decode("utf-8")).items():
            if value is None:
                continue
            if isinstance(value, bool):
                params[key] = "true" if value else "false"
            elif isinstance(value, (dict, list)):
                params[key] = json.dumps(value)
            else:
                params[key] = str(value)
    elif raw:
        body = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        params.update({k: v[-1] for k, v in body.items()})
    return params


def _error(status: int, description: str | None = None,
           parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    if description is None and status == 429:
        description = f"Too Many Requests: retry after {(parameters or {}).get('retry_after', 1)}"
    elif description is None:
        description = HTTPStatus(status).phrase
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


class FakeTelegram(BotUpdates):
    """The fake Bot API. ``requests``: every (method, params) in arrival order (``timed_requests``
    the same with a monotonic time); ``messages``: every delivered sendMessage's params plus
    "message_id"; ``edits``: every successful editMessageText's params; ``tokens``: the token of
    each request. All lists are appended to under a lock by the server threads."""

    __test__ = False

    def __init__(self, *, username: str = "fake_monitor_bot", bot_id: int = 4242, port: int = 0,
                 listening: bool = True) -> None:
        self.username, self.bot_id = username, bot_id
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.messages: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self.timed_requests: list[tuple[str, dict[str, str], float]] = []
        self.reject_html = False
        self.validate_html = True
        self.unauthorized = False
        self.down = False            # every call answers 502, as a proxy does when Telegram is out
        self.down_status = 502
        self.floods: list[tuple[float, float, str]] = []
        self.delivered_at: list[float] = []
        self.unanswered: list[dict[str, Any]] = []
        self._flood_until = 0.0
        self._flood_retry = 1.0
        self.latency = 0.0           # seconds between recording a message and answering
        self.valid_tokens: set[str] | None = None
        self.chat_types: dict[str, str] = {}
        self._scripts: dict[tuple[str, str | None], list[Response]] = defaultdict(list)
        self._texts: dict[tuple[str, int], str] = {}    # (numeric chat id, message id) → text
        self._shown: dict[tuple[str, int], str] = {}    # the same, as Telegram shows it
        self._next_id = 1
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._init_updates()
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._listen_on_enter = listening
        if listening:
            self._bind()
        elif not port:
            raise ValueError("a FakeTelegram that does not listen yet needs a port")
        self.base_url = f"http://127.0.0.1:{self.port}/bot"

    check_html = staticmethod(check_html)

    def _bind(self) -> None:
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeTelegram:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()          # wakes handlers sleeping in a "timeout" script
        self.refuse()

    @property
    def listening(self) -> bool:
        return self._httpd is not None

    def refuse(self) -> None:
        """Stop listening: from now on connections to the port are refused."""
        httpd, self._httpd, self._thread = self._httpd, None, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        with self._lock:
            open_now = list(self._connections)
        for conn in open_now:     # kept-alive connections die with the server, as in an outage
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def accept(self) -> None:
        """Listen again on the same port (after :meth:`refuse`, or when created not listening)."""
        if self._httpd is None:
            self._bind()
            assert self._thread is not None
            self._thread.start()

    # ------------------------------------------------------------------ test API

    @property
    def token(self) -> str | None:
        """The token of the last request."""
        with self._lock:
            return self.tokens[-1] if self.tokens else None

    @property
    def tokens_seen(self) -> set[str]:
        """Every distinct token requests used."""
        with self._lock:
            return set(self.tokens)

    def script(self, method: str, *responses: Response, chat_id: str | int | None = None) -> None:
        """Queue ``responses`` for the next calls of ``method`` (for one chat if ``chat_id``)."""
        key = (method.lower(), None if chat_id is None else str(chat_id))
        with self._lock:
            self._scripts[key].extend(responses)

    def flood(self, seconds: float, retry_after: float) -> None:
        """For ``seconds`` from now, answer every sendMessage 429 with ``retry_after``."""
        with self._lock:
            self._flood_until, self._flood_retry = time.monotonic() + seconds, retry_after

    def calls(self, method: str) -> list[dict[str, str]]:
        """The params of every request to ``method``."""
        with self._lock:
            return [p for m, p in self.requests if m.lower() == method.lower()]

    # ------------------------------------------------------------------ dispatch

    def handle(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        path = urllib.parse.urlsplit(h.path).path
        parts = path.split("/")
        if len(parts) != 3 or not parts[1].startswith("bot"):
            self._send(h, 404, _error(404, "Not Found"))
            return
        token, method = urllib.parse.unquote(parts[1][3:]), parts[2]
        try:
            params = _params(h, raw)
        except (ValueError, UnicodeDecodeError):
            self._send(h, 400, _error(400, "Bad Request: can't parse request body"))
            return
        now = time.monotonic()
        with self._lock:
            self.requests.append((method, params))
            self.timed_requests.append((method, params, now))
            self.tokens.append(token)
            scripted = self._pop_script(method, params.get("chat_id"))
            flooded = method.lower() == "sendmessage" and now < self._flood_until
            if flooded:
                self.floods.append((now, self._flood_retry, params.get("chat_id", "")))
        if self.down:
            self._send(h, self.down_status, _error(self.down_status))
            return
        if flooded:
            self._send(h, 429, _error(429, parameters={"retry_after": self._flood_retry}))
            return
        if self.unauthorized or (self.valid_tokens is not None and token not in self.valid_tokens):
            self._send(h, 401, _error(401, "Unauthorized"))
            return
        delay = 0.0
        if scripted is not None and scripted[0] == "timeout":
            delay, scripted = float(scripted[1]), None
        if scripted is not None and scripted[0] != "ok":
            self._send_scripted(h, scripted)
            return
        status, body = self._answer(method, params)
        if self.latency and method.lower() == "sendmessage":
            time.sleep(self.latency)   # delivered, not yet confirmed: the at-least-once window
        if delay and self._stopping.wait(delay):
            return
        try:
            self._send(h, status, body)
        except OSError:
            if method.lower() == "sendmessage" and status == 200:
                with self._lock:
                    self.unanswered.append(dict(params))
            raise

    def _pop_script(self, method: str, chat_id: str | None) -> Response | None:
        """The next scripted answer: this chat's queue first, then the method's."""
        keys = [(method.lower(), chat_id)] if chat_id is not None else []
        for key in [*keys, (method.lower(), None)]:
            queue = self._scripts.get(key)
            if queue:
                return queue.pop(0)
        return None

    def _send_scripted(self, h: BaseHTTPRequestHandler, response: Response) -> None:
        if response[0] == "raw":
            body, status = response[1], (response[2] if len(response) > 2 else 200)
            self._send(h, status, body)
            return
        status = int(response[0])
        description: str | None = None
        parameters: dict[str, Any] | None = None
        for extra in response[1:]:
            if isinstance(extra, str):
                description = extra
            elif isinstance(extra, dict):
                parameters = extra
            elif isinstance(extra, (int, float)) and status == 429:
                parameters = {"retry_after": extra}
        self._send(h, status, _error(status, description, parameters))

    def _answer(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        name = method.lower()
        if name == "getme":
            return 200, {"ok": True, "result": self._me()}
        if name == "sendmessage":
            return self._send_message(params)
        if name == "editmessagetext":
            return self._edit_message(params)
        if name == "getupdates":
            return self._get_updates(params)
        if name == "answercallbackquery":
            return self._answer_callback(params)
        if name == "editmessagereplymarkup":
            return self._edit_markup(params)
        if name == "getchatadministrators":
            return self._chat_admins(params)
        return 404, _error(404, "Not Found")

    # ------------------------------------------------------------------ methods

    def _me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Fake Monitor",
                "username": self.username, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _check_text(self, params: dict[str, str]) -> str | None:
        """Telegram's checks on text/parse_mode; the error description or None."""
        text, mode = params.get("text", ""), params.get("parse_mode")
        html_mode = (mode or "").upper() == "HTML"
        if html_mode and self.reject_html:
            return "Bad Request: can't parse entities: Unsupported start tag \"b\" at byte offset 0"
        if html_mode and self.validate_html:
            error = check_html(text)
            if error:
                return f"Bad Request: {error[0].lower()}{error[1:]}"
        shown = visible_text(text, mode)
        if not shown.strip():
            return "Bad Request: message text is empty"
        if utf16_len(shown) > MAX_TEXT:
            return "Bad Request: message is too long"
        return None

    def _chat(self, chat_id: str, topic: bool) -> dict[str, Any]:
        kind = self.chat_types.get(chat_id)
        if kind is None:
            if chat_id.startswith("@") or (chat_id.startswith("-100") and not topic):
                kind = "channel"
            elif chat_id.startswith("-"):
                kind = "supergroup"
            else:
                kind = "private"
        chat: dict[str, Any] = {"type": kind}
        if chat_id.startswith("@"):
            # A stable fake numeric id for a public @name, as Telegram reports the real id.
            chat.update(id=-1000000000000 - (sum(map(ord, chat_id)) % 10**9), username=chat_id[1:],
                        title=chat_id[1:])
        else:
            chat["id"] = int(chat_id)
            if kind != "private":
                chat["title"] = f"Chat {chat_id}"
            else:
                chat["first_name"] = "Analyst"
        return chat

    def _send_message(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chat_id = params.get("chat_id", "")
        if not chat_id:
            return 400, _error(400, "Bad Request: chat_id is empty")
        error = self._check_text(params)
        if error:
            return 400, _error(400, error)
        try:
            markup = _markup_of(params)
        except ValueError:
            return 400, _error(400, "Bad Request: can't parse reply keyboard markup JSON object")
        topic = params.get("message_thread_id")
        shown = visible_text(params.get("text", ""), params.get("parse_mode"))
        with self._lock:
            message_id, self._next_id = self._next_id, self._next_id + 1
            self.messages.append({**params, "message_id": message_id})
            self.delivered_at.append(time.monotonic())
            chat = self._chat(chat_id, topic is not None)
            key = (str(chat["id"]), message_id)
            self._texts[key], self._shown[key] = params.get("text", ""), shown
            self._markups[key] = markup
        result: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                                  "text": shown}
        if markup is not None:
            result["reply_markup"] = markup
        if topic is not None:
            result.update(message_thread_id=int(topic), is_topic_message=True)
        if chat["type"] == "channel":
            result["sender_chat"] = chat
        return 200, {"ok": True, "result": result}

    def _edit_message(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chat_id, raw_id = params.get("chat_id", ""), params.get("message_id", "")
        try:
            chat = self._chat(chat_id, False)
            key = (str(chat["id"]), int(raw_id))
            markup = _markup_of(params)       # none given: Telegram removes the keyboard
        except ValueError:
            return 400, _error(400, "Bad Request: message identifier is not specified")
        error = self._check_text(params)
        if error:
            return 400, _error(400, error)
        shown = visible_text(params.get("text", ""), params.get("parse_mode"))
        with self._lock:
            old = self._texts.get(key)
            if old is None:
                return 400, _error(400, "Bad Request: message to edit not found")
            if old == params.get("text", "") and self._markups.get(key) == markup:
                return 400, _error(400, NOT_MODIFIED)
            self._texts[key], self._shown[key] = params.get("text", ""), shown
            self._markups[key] = markup
            self.edits.append(dict(params))
        result: dict[str, Any] = {"message_id": key[1], "date": int(time.time()) - 1,
                                  "edit_date": int(time.time()), "chat": chat, "text": shown}
        if markup is not None:
            result["reply_markup"] = markup
        return 200, {"ok": True, "result": result}

    # ------------------------------------------------------------------ wire

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
