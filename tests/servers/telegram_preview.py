"""A fake t.me on 127.0.0.1: public channel previews (``/s/NAME``) whose posts a test writes.

    with TelegramPreview() as tg:
        news = tg.channel("libya_now", "ليبيا الآن")       # post 1 is "Channel created"
        first = news.post("عاجل | هبوط طائرة شحن\\nالتفاصيل https://alwasat.ly/news/1",
                          author="محمد")                    # signature
        news.post("نص منقول", forwarded_from="القيادة العامة")
        news.post("", photo=True, link_preview=LinkPreview("https://libyaherald.com/a", "عنوان"))
        news.edit(first, "نص معدل")                          # marked "edited", as t.me does
        news.delete(first)
        tg.preview_url("libya_now")   # http://127.0.0.1:PORT/s/libya_now, what a source polls
        tg.private("closed_room", "غرفة")   # /s/NAME: t.me's page of a channel with no preview
        tg.user("some_person", "Someone")  # /s/NAME → 302 /NAME: a user's contact page
        tg.raw("odd", b"...")              # /s/odd answers these bytes (hostile pages)

Any other name behaves as an unused one does on t.me: ``/s/NAME`` redirects (302) to ``/NAME``,
t.me's "contact @NAME" page. Pages follow the real markup (as RSSHub's route and the captures in
tchan's and snscrape's tests show it): 20 posts a page, oldest first; ``?before=ID`` (older) and
``?after=ID`` (newer) with ``link rel=prev/next`` and the "load more" anchor; signature and
"edited" in the meta line; link previews; forwards. ``/NAME/ID`` serves one post's page.
``requests`` lists every path asked for, query included; ``base`` and ``port`` say where it is.
A daemon test polls it with the source ``{"name": "n", "type": "telegram", "channel": "libya_now",
"url": tg.preview_url("libya_now")}`` and ``make_settings(tmp_path, tg, feeds)`` (which reads
only ``port``); ``Post.when`` fixes a post's date (default: when it was posted).
"""

from __future__ import annotations

import html
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers.http import send

PAGE_SIZE = 20
_URL = re.compile(r"https?://[^\s<>\"]+")
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]\ufe0f?")


@dataclass
class LinkPreview:
    """The card t.me draws under a post for its first link."""

    url: str
    title: str | None = None
    site_name: str | None = None
    description: str | None = None


@dataclass
class Post:
    """One post as the test wrote it; ``html`` replaces the rendered text when given."""

    id: int
    text: str = ""
    html: str | None = None
    when: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    author: str | None = None
    forwarded_from: str | None = None
    link_preview: LinkPreview | None = None
    photo: bool = False
    edited: bool = False
    service: bool = False


class Channel:
    """A public channel: add, edit and delete posts between polls (``preview_page(channel)``
    renders it without a server)."""

    def __init__(self, name: str, title: str, *, created: bool = True,
                 lock: threading.Lock | None = None) -> None:
        self.name, self.title, self._lock = name, title, lock or threading.Lock()
        self.posts: dict[int, Post] = {}
        self._next = 1
        if created:
            self.service("Channel created")

    def post(self, text: str = "", **fields: object) -> int:
        """Publish a post (fields: those of :class:`Post`); returns its id."""
        with self._lock:
            post_id, self._next = self._next, self._next + 1
            self.posts[post_id] = Post(post_id, text, **fields)  # type: ignore[arg-type]
            return post_id

    def service(self, text: str) -> int:
        """A service message ("Channel created", "pinned «…»")."""
        return self.post(text, service=True)

    def edit(self, post_id: int, text: str | None = None, **fields: object) -> None:
        """Change a post; t.me then shows "edited" in its meta line."""
        with self._lock:
            post = self.posts[post_id]
            if text is not None:
                post.text, post.html = text, None
            for key, value in fields.items():
                setattr(post, key, value)
            post.edited = True

    def delete(self, post_id: int) -> None:
        """Remove a post (its id is never reused, as on Telegram)."""
        with self._lock:
            del self.posts[post_id]

    def page(self, before: int | None, after: int | None) -> list[Post]:
        with self._lock:
            posts = sorted(self.posts.values(), key=lambda p: p.id)
        if after is not None:
            return [p for p in posts if p.id > after][:PAGE_SIZE]
        return [p for p in posts if before is None or p.id < before][-PAGE_SIZE:]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        owner = self.server.owner
        owner.requests.append(self.path)
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        try:
            if len(parts) == 2 and parts[0] == "s":
                owner.answer_preview(self, parts[1], query)
            elif len(parts) == 1:
                send(self, 200, owner.contact_page(parts[0]).encode(), "text/html; charset=utf-8")
            elif len(parts) == 2 and parts[1].isdigit():
                owner.answer_post(self, parts[0], int(parts[1]))
            else:
                send(self, 404, b"", "text/html")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: TelegramPreview


class TelegramPreview:
    """Start with ``with TelegramPreview() as tg``; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.channels: dict[str, Channel] = {}
        self.pages: dict[str, tuple[str, str, str]] = {}   # name → (kind, title, extra)
        self.raws: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> TelegramPreview:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def channel(self, name: str, title: str | None = None, *, created: bool = True) -> Channel:
        """A public channel with a preview (``created``: post 1 is "Channel created")."""
        ch = Channel(name, title or name, created=created, lock=self._lock)
        self.channels[name.lower()] = ch
        return ch

    def private(self, name: str, title: str, subscribers: str = "1.2K") -> None:
        """A channel t.me shows no preview of: ``/s/NAME`` answers its join page (200)."""
        self.pages[name.lower()] = ("private", title, f"{subscribers} subscribers")

    def user(self, name: str, title: str) -> None:
        """A user or bot: ``/s/NAME`` redirects to ``/NAME``, a contact page."""
        self.pages[name.lower()] = ("user", title, f"@{name}")

    def raw(self, name: str, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        """``/s/NAME`` answers exactly ``body``."""
        self.raws[name.lower()] = (body, ctype)

    def preview_url(self, name: str, before: int | None = None) -> str:
        return f"{self.base}/s/{name}" + (f"?before={before}" if before else "")

    def hits(self, name: str) -> int:
        """Requests for the preview of ``name`` (any page)."""
        return sum(1 for p in self.requests if p.split("?")[0].lower() == f"/s/{name.lower()}")

    def answer_preview(self, h: BaseHTTPRequestHandler, name: str,
                       query: dict[str, list[str]]) -> None:
        key = name.lower()
        if key in self.raws:
            send(h, 200, *self.raws[key])
        elif key in self.channels:
            number = {k: int(v[0]) for k, v in query.items() if v and v[0].isdigit()}
            body = preview_page(self.channels[key], number.get("before"), number.get("after"))
            send(h, 200, body.encode(), "text/html; charset=utf-8")
        elif self.pages.get(key, ("",))[0] == "private":
            send(h, 200, self.contact_page(name).encode(), "text/html; charset=utf-8")
        else:      # users, bots, groups and unused names: t.me sends the browser to /NAME
            send(h, 302, b"", "text/html", {"Location": f"/{name}"})

    def contact_page(self, name: str) -> str:
        ch = self.channels.get(name.lower())
        kind, title, extra = self.pages.get(name.lower(), ("", "", ""))
        if ch is not None:
            kind, title, extra = "public", ch.title, "1.2K subscribers"
        return contact_page(name, kind, title, extra)

    def answer_post(self, h: BaseHTTPRequestHandler, name: str, post_id: int) -> None:
        ch = self.channels.get(name.lower())
        post = ch.posts.get(post_id) if ch else None
        if ch is None or post is None:
            send(h, 404, b"", "text/html")
            return
        body = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_e(ch.title)} – '
                f'Telegram</title><meta property="og:title" content="{_e(ch.title)}">'
                f'<meta property="og:description" content="{_e(post.text)}"></head><body>'
                f'<div class="tgme_page_widget">{_post(ch, post)}</div></body></html>')
        send(h, 200, body.encode(), "text/html; charset=utf-8")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render_text(text: str) -> str:
    """Post text as t.me writes it: links, hashtag searches, emoji images, ``<br/>``."""
    out = _e(text)
    out = _URL.sub(lambda m: f'<a href="{m[0]}" target="_blank" rel="noopener">{m[0]}</a>', out)
    out = _HASHTAG.sub(lambda m: f'<a href="?q=%23{urllib.parse.quote(m[1])}">#{m[1]}</a>', out)
    out = _EMOJI.sub(lambda m: '<i class="emoji" style="background-image:url(\'//telegram.org/'
                     f'img/emoji/40/{m[0].encode().hex().upper()}.png\')"><b>{m[0]}</b></i>', out)
    return out.replace("\n", "<br/>")


def _post(ch: Channel, p: Post) -> str:
    cls = "service_message " if p.service else ""
    link = f"https://t.me/{ch.name}/{p.id}"
    parts = [f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message'
             f'_owner_name" href="https://t.me/{ch.name}"><span dir="auto">{_e(ch.title)}</span>'
             '</a></div>']
    if p.forwarded_from:
        parts.append('<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from'
                     '&nbsp;<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/'
                     f'c_origin/1"><span dir="auto">{_e(p.forwarded_from)}</span></a></div>')
    if p.photo:
        parts.append(f'<a class="tgme_widget_message_photo_wrap 5231001 98765_4562" href="{link}" '
                     'style="width:800px;background-image:url(\'https://cdn4.telesco.pe/file/p'
                     f'{p.id}.jpg\')"><div class="tgme_widget_message_photo" style="padding-top:'
                     '56.25%"></div></a>')
    if p.text or p.html:
        parts.append('<div class="tgme_widget_message_text js-message_text" dir="auto">'
                     f'{p.html if p.html is not None else render_text(p.text)}</div>')
    lp = p.link_preview
    if lp:
        parts.append(f'<a class="tgme_widget_message_link_preview" href="{_e(lp.url)}">'
                     + "".join(f'<div class="link_preview_{k} accent_color" dir="auto">{_e(v)}'
                               '</div>' if k == "site_name" else
                               f'<div class="link_preview_{k}" dir="auto">{_e(v)}</div>'
                               for k, v in (("site_name", lp.site_name), ("title", lp.title),
                                            ("description", lp.description)) if v)
                     + "</a>")
    meta = ((f'<span class="tgme_widget_message_from_author" dir="auto">{_e(p.author)}</span>,'
             '&nbsp;' if p.author else "") + ("edited &nbsp;" if p.edited else "")
            + f'<a class="tgme_widget_message_date" href="{link}"><time datetime="'
            f'{p.when.isoformat()}" class="time">{p.when:%H:%M}</time></a>')
    views = "" if p.service else (f'<span class="tgme_widget_message_views">{p.id * 37 % 900 + 100}'
                                  '</span><span class="copyonly"> views</span>')
    parts.append('<div class="tgme_widget_message_footer compact js-message_footer"><div class='
                 f'"tgme_widget_message_info short js-message_info">{views}<span class="tgme_'
                 f'widget_message_meta">{meta}</span></div></div>')
    return (f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget'
            f'_message text_not_supported_wrap {cls}js-widget_message" data-post="{ch.name}/'
            f'{p.id}" data-view="eyJwIjo{p.id}fQ"><div class="tgme_widget_message_bubble">'
            f'{"".join(parts)}</div></div></div>')


def preview_page(ch: Channel, before: int | None = None, after: int | None = None) -> str:
    """The ``/s/NAME`` page (``?before=`` / ``?after=``) of a channel."""
    posts = ch.page(before, after)
    ids = sorted(ch.posts)
    older = bool(posts) and ids[0] < posts[0].id
    newer = bool(posts) and ids[-1] > posts[-1].id
    path = f"/s/{ch.name}"
    links = f'<link rel="prev" href="{path}?before={posts[0].id if posts else ""}">' if (
        older or not posts) else ""
    links += f'<link rel="next" href="{path}?after={posts[-1].id}">' if newer else ""
    canonical = f"{path}?before={before}" if before else path
    more = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="{path}?'
            f'before={posts[0].id}" class="tme_messages_more js-messages_more" data-before="'
            f'{posts[0].id}"></a></div>') if older else ""
    title = _e(ch.title)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title} – Telegram</title>'
            f'<meta property="og:title" content="{title}"><meta property="og:site_name" '
            f'content="Telegram">{links}<link rel="canonical" href="{canonical}"></head>'
            '<body class="widget_frame_base tgme_widget body_widget_post emoji_image nodark">'
            '<header class="tgme_header search_collapsed"><div class="tgme_container"><div class='
            '"tgme_header_right_column"><section class="tgme_right_column"><div class="tgme_channel'
            '_info"><div class="tgme_channel_info_header"><div class="tgme_channel_info_header_'
            f'title"><span dir="auto">{title}</span></div><div class="tgme_channel_info_header_'
            f'username"><a href="https://t.me/{ch.name}">@{ch.name}</a></div></div><div class='
            '"tgme_channel_info_counters"><div class="tgme_channel_info_counter"><span class="'
            'counter_value">1.2K</span> <span class="counter_type">subscribers</span></div></div>'
            '</div></section></div></div></header><main class="tgme_main" data-url="/'
            f'{ch.name}"><div class="tgme_container"><section class="tgme_channel_history '
            f'js-message_history">{more}{"".join(_post(ch, p) for p in posts)}</section></div>'
            '</main></body></html>')


def contact_page(name: str, kind: str, title: str, extra: str) -> str:
    """t.me/NAME: a channel's, user's or bot's page, or the bare one of an unused name."""
    head = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram: Contact @{name}'
            f'</title><meta property="og:title" content="{_e(title or "Telegram")}"></head><body>'
            '<div class="tgme_page_wrap"><div class="tgme_body_wrap"><div class="tgme_page">')
    if not kind:
        body = ('<div class="tgme_page_additional">If you have <strong>Telegram</strong>, you '
                f'can contact <a class="tgme_username_link" href="tg://resolve?domain={name}">@'
                f'{name}</a> right away.</div>')
    else:
        action = "Send Message" if kind == "user" else "View in Telegram"
        preview = (f'<div class="tgme_page_context_link_wrap"><a class="tgme_page_context_link" '
                   f'href="/s/{name}">Preview channel</a></div>') if kind == "public" else ""
        body = (f'<div class="tgme_page_title"><span dir="auto">{_e(title)}</span></div><div '
                f'class="tgme_page_extra">{_e(extra)}</div><div class="tgme_page_action"><a '
                f'class="tgme_action_button_new shine" href="tg://resolve?domain={name}">{action}'
                f'</a></div>{preview}')
    return head + body + "</div></div></div></body></html>"
