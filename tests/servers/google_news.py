"""A fake Google News on 127.0.0.1: RSS search, article pages and the batchexecute exchange.

Point ``sources.google_news_base`` (and the feed URLs) at ``gn.base``; allow ``gn.port`` in
``fetch.allow_addresses``::

    with FakeGoogleNews() as gn:
        old = gn.old_link("https://alwasat.ly/news/1")     # the id carries the URL (CBMi…)
        new = gn.new_link("https://alwasat.ly/news/2")     # opaque AU_yqL… id, registered here
        gn.add_item("عنوان", "بوابة الوسط", "https://alwasat.ly/news/3")  # form="new"
        feed = gn.search_url("فاغنر ليبيا")     # /rss/search?q=…&hl=ar&gl=EG&ceid=EG:ar
        gn.script("page", ("429", 120), "500")             # the next article pages answered
        gn.script("batchexecute", ("error", 8), "garbage")
        gn.count("page"), gn.count("batchexecute"), gn.count("search")

What it serves, in Google's shapes:

* ``GET /rss/search?q=…``: an RSS 2.0 feed of the items added (all of them, or those added with
  that ``query``): title "Headline - Outlet", ``<link>`` to this server's
  ``/rss/articles/<id>?oc=5``, ``<guid isPermaLink="false"><id></guid>``, ``<pubDate>``,
  Google's HTML ``<description>`` (or the one given), ``<source url="…">Outlet</source>``.
* ``GET /rss/articles/<id>``, ``/articles/<id>``, ``/read/<id>``: for a known id (either form)
  the JavaScript page with ``<c-wiz><div jscontroller … data-n-a-sg="…" data-n-a-ts="…">``;
  404 for an unknown id.
* ``POST /_/DotsSplashUi/data/batchexecute``: reads ``f.req`` as Google does (400 when it is not
  a ``garturlreq`` call) and answers ``)]}'``, a blank line and ``[["wrb.fr","Fbv4je",
  "[\\"garturlres\\",\\"<url>\\",1]",null,null,null,"generic"],["di",…],["af.httprm",…]]``; an
  unknown id, or a signature or timestamp that this server's page did not give for that id, gets
  the error row ``["wrb.fr","Fbv4je",null,null,null,[3],"generic"]``.

Scripted answers (``script(endpoint, *answers)``, used once each, in order, before the normal
answer resumes) for endpoints ``"search"``, ``"page"`` and ``"batchexecute"``:
``"ok"``; ``"429"`` or ``("429", seconds)`` (HTTP 429 with Retry-After, default 60); ``"500"``;
``"sorry"`` (302 to ``/sorry/index``, which answers 429, as Google does for "unusual traffic");
``"garbage"`` (HTTP 200, a body in no known shape); page only: ``"no_signature"`` (the real page
without the two attributes: a format change); batchexecute only: ``"error"`` or
``("error", code)`` (the error row, default code 3) and ``("url", text)`` (answer ``text`` as
the URL, whatever the id).

Every request is recorded in ``requests`` (:class:`Seen`: kind, method, path, query, form).
``delay`` (seconds) holds every answer back, to make concurrent callers overlap.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers.http import send

BATCHEXECUTE = "/_/DotsSplashUi/data/batchexecute"
Answer = str | tuple[Any, ...]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _message(payload: str, extra: str = "") -> str:
    """An article id: base64url (unpadded) of {1: 0x13, 4: payload, 26: extra}, as Google's."""
    first, second = payload.encode(), extra.encode()
    raw = (b"\x08\x13\x22" + _varint(len(first)) + first
           + b"\xd2\x01" + _varint(len(second)) + second)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def old_form_id(url: str, amp_url: str = "") -> str:
    """A real older id (``CBMi…``) carrying ``url`` (and an AMP URL, empty by default)."""
    return _message(url, amp_url)


def new_form_id() -> str:
    """A new-form id: its payload is an opaque ``AU_yqL…`` token, no URL in it."""
    token = "AU_yqL" + base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
    return _message(token)


@dataclass(frozen=True)
class Seen:
    """One request: ``kind`` is "search", "page", "batchexecute", "sorry" or "other"."""

    kind: str
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Item:
    title: str
    outlet: str
    url: str
    link_id: str
    outlet_url: str
    published: float
    description: str | None
    query: str | None


class FakeGoogleNews:
    """Start with ``with FakeGoogleNews() as gn``; see the module docstring for the API."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}                 # id → publisher URL (both forms)
        self.signatures: dict[str, tuple[str, int]] = {}
        self.items: list[Item] = []
        self.requests: list[Seen] = []
        self.delay = 0.0
        self._scripts: dict[str, list[Answer]] = {"search": [], "page": [], "batchexecute": []}
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        # A short poll interval: shutting down waits for it, once per test.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._closed = False

    def __enter__(self) -> FakeGoogleNews:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening (connections are then refused); safe to call twice."""
        if not self._closed:
            self._closed = True
            self._httpd.shutdown()
            self._httpd.server_close()

    # ------------------------------------------------------------------ set-up

    def link(self, link_id: str) -> str:
        """The item link of ``link_id`` on this server, as the RSS carries it."""
        return f"{self.base}/rss/articles/{link_id}?oc=5"

    def old_link(self, url: str) -> str:
        """An item link whose (older-form) id carries ``url``; the exchange knows it too."""
        link_id = old_form_id(url)
        self.urls[link_id] = url
        return self.link(link_id)

    def new_link(self, url: str) -> str:
        """An item link with a new-form id that only this server's exchange turns into ``url``."""
        link_id = new_form_id()
        self.urls[link_id] = url
        return self.link(link_id)

    def add_item(self, title: str, outlet: str, url: str, *, form: str = "new",
                 outlet_url: str | None = None, published: float | None = None,
                 description: str | None = None, query: str | None = None) -> str:
        """Add an item to the search feed (``query``: only for that query); returns its link."""
        link = self.new_link(url) if form == "new" else self.old_link(url)
        link_id = link.rsplit("/", 1)[1].split("?", 1)[0]
        host = urllib.parse.urlsplit(url).netloc
        self.items.append(Item(title, outlet, url, link_id, outlet_url or f"https://{host}",
                               time.time() if published is None else published, description,
                               query))
        return link

    def search_url(self, query: str, edition: str = "EG") -> str:
        return (f"{self.base}/rss/search?q={urllib.parse.quote_plus(query)}"
                f"&hl=ar&gl={edition}&ceid={edition}:ar")

    def script(self, endpoint: str, *answers: Answer) -> None:
        """Queue answers for the next requests to ``endpoint``."""
        with self._lock:
            self._scripts[endpoint].extend(answers)

    def count(self, kind: str) -> int:
        """How many requests of ``kind`` arrived."""
        return sum(1 for seen in self.requests if seen.kind == kind)

    def _next(self, endpoint: str) -> Answer:
        with self._lock:
            queue = self._scripts[endpoint]
            return queue.pop(0) if queue else "ok"

    # ------------------------------------------------------------------ answers

    def rss(self, query: str) -> bytes:
        items = []
        for item in self.items:
            if item.query is not None and item.query != query:
                continue
            link = html.escape(self.link(item.link_id))
            description = item.description if item.description is not None else (
                f'<a href="{self.link(item.link_id)}" target="_blank">{html.escape(item.title)}'
                f'</a>&nbsp;&nbsp;<font color="#6f6f6f">{html.escape(item.outlet)}</font>')
            items.append(
                f"<item><title>{html.escape(item.title)} - {html.escape(item.outlet)}</title>"
                f"<link>{link}</link><guid isPermaLink=\"false\">{item.link_id}</guid>"
                f"<pubDate>{email.utils.formatdate(item.published, usegmt=True)}</pubDate>"
                f"<description>{html.escape(description)}</description>"
                f"<source url=\"{html.escape(item.outlet_url)}\">{html.escape(item.outlet)}"
                f"</source></item>")
        q = html.escape(query)
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" '
                'xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0'
                f'</generator><title>"{q}" - أخبار Google</title><link>{html.escape(self.base)}'
                f'/search?q={q}</link><language>ar</language><webMaster>news-webmaster@google.com'
                '</webMaster><copyright>2025 Google Inc.</copyright><lastBuildDate>'
                f'{email.utils.formatdate(usegmt=True)}</lastBuildDate><description>Google News'
                f'</description>{"".join(items)}</channel></rss>').encode()

    def page(self, link_id: str, signed: bool = True) -> bytes:
        signature, stamp = self.signatures.setdefault(
            link_id, ("AZ5r3e" + hashlib.sha256(link_id.encode()).hexdigest()[:40],
                      int(time.time())))
        attrs = (f' data-n-a-id="{link_id}" data-n-a-ts="{stamp}" data-n-a-sg="{signature}"'
                 if signed else "")
        return ('<!doctype html><html lang="en-US" dir="ltr"><head><meta charset="utf-8">'
                '<title>Google News</title><script nonce="x">window.WIZ_global_data = {};'
                '</script></head><body jscontroller="ndYXm" jsaction="rcuQ6b:npT2md">'
                '<c-wiz jsrenderer="ZtU8xc" class="T4LgNb" jsdata="deferred-i1" jsmodel="hc6Ubd"'
                ' data-p="%.@.]" jscontroller="fp1kA" jsshadow><div jscontroller="aLI87" '
                f'jsaction="rcuQ6b:npT2md"{attrs} data-n-a-st="1"></div></c-wiz>'
                '<script nonce="x">AF_initDataCallback({key: \'ds:0\', data: []});</script>'
                '</body></html>').encode()

    def exchange(self, form: dict[str, str]) -> tuple[int, bytes]:
        """(status, body) for a batchexecute POST, as Google answers it."""
        try:
            envelope = json.loads(form["f.req"])
            rpc, call_json = envelope[0][0][0], envelope[0][0][1]
            call = json.loads(call_json)
            name, link_id, stamp, signature = call[0], call[2], call[3], call[4]
        except (KeyError, IndexError, TypeError, ValueError):
            return 400, b"<html><body>Error 400 (Bad Request)</body></html>"
        if rpc != "Fbv4je" or name != "garturlreq":
            return 400, b"<html><body>Error 400 (Bad Request)</body></html>"
        url = self.urls.get(link_id)
        if url is None or self.signatures.get(link_id) != (signature, stamp):
            return 200, _answer(None, 3)
        return 200, _answer(url)


def _answer(url: str | None, code: int = 3) -> bytes:
    """A batchexecute answer in Google's shape: the URL, or an error row with ``code``."""
    row: list[object]
    if url is not None:
        row = ["wrb.fr", "Fbv4je", json.dumps(["garturlres", url, 1], separators=(",", ":")),
               None, None, None, "generic"]
    else:
        row = ["wrb.fr", "Fbv4je", None, None, None, [code], "generic"]
    rows = [row, ["di", 42], ["af.httprm", 41, "-6327914163519486711", 25]]
    return b")]}'\n\n" + json.dumps(rows, separators=(",", ":")).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeGoogleNews


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeGoogleNews:
        return self.server.owner

    def do_GET(self) -> None:  # noqa: N802
        self._serve({})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._serve({k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _serve(self, form: dict[str, str]) -> None:
        split = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(split.query).items()}
        parts = split.path.strip("/").split("/")
        link_id = None
        if split.path == "/rss/search":
            kind = "search"
        elif split.path == BATCHEXECUTE and self.command == "POST":
            kind = "batchexecute"
        elif split.path.startswith("/sorry/"):
            kind = "sorry"
        elif parts[:-1] in (["rss", "articles"], ["articles"], ["read"]) and self.command == "GET":
            kind, link_id = "page", parts[-1]
        else:
            kind = "other"
        self.fake.requests.append(Seen(kind, self.command, split.path, query, form))
        if self.fake.delay:
            time.sleep(self.fake.delay)
        try:
            self._answer(kind, link_id, query, form)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, kind: str, link_id: str | None, query: dict[str, str],
                form: dict[str, str]) -> None:
        if kind == "sorry":
            send(self, 429, b"<html><body>Our systems have detected unusual traffic</body></html>",
                 "text/html")
            return
        if kind == "other":
            send(self, 404, b"<html><body>Error 404 (Not Found)</body></html>", "text/html")
            return
        answer = self.fake._next(kind)
        name, arg = (answer, None) if isinstance(answer, str) else (answer[0], answer[1])
        if name == "429":
            send(self, 429, b"<html><body>Too Many Requests</body></html>", "text/html",
                 {"Retry-After": str(arg if arg is not None else 60)})
        elif name == "500":
            send(self, 500, b"<html><body>Error 500 (Server Error)</body></html>", "text/html")
        elif name == "sorry":
            send(self, 302, b"", None, {"Location": f"{self.fake.base}/sorry/index?continue=x"})
        elif name == "garbage":
            send(self, 200, b"\x00\xff<<not [what] you expect\n\x1f", "text/plain")
        elif kind == "search":
            send(self, 200, self.fake.rss(query.get("q", "")),
                 "application/rss+xml; charset=utf-8")
        elif kind == "page":
            assert link_id is not None
            if link_id not in self.fake.urls:
                send(self, 404, b"<html><body>Error 404 (Not Found)</body></html>", "text/html")
                return
            body = self.fake.page(link_id, signed=name != "no_signature")
            send(self, 200, body, "text/html; charset=utf-8")
        elif name == "error":
            send(self, 200, _answer(None, arg if arg is not None else 3), "application/json")
        elif name == "url":
            send(self, 200, _answer(str(arg)), "application/json; charset=utf-8")
        else:
            status, body = self.fake.exchange(form)
            send(self, status, body, "application/json; charset=utf-8")
