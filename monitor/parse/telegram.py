"""A public Telegram channel's web preview (``https://t.me/s/NAME``) parsed into feed items.

The page is HTML made for browsers, read as RSSHub's ``telegram/channel`` route and snscrape's
telegram module read it: each post is a ``div.tgme_widget_message`` whose ``data-post`` is
``NAME/ID``, oldest first (newest last); older posts are at ``?before=<id>``. A post's identity is
``tg:<name>/<id>`` whatever host served the page, so a local server and t.me give the same one,
and its key follows the text, so an edit changes the key and keeps the identity.

t.me answers a user, a bot, a group or an unknown name by redirecting ``/s/NAME`` to ``/NAME``,
and a channel without a preview with a contact page (``tgme_page``, no ``tgme_channel_history``):
those are source errors, not empty feeds. Bodies are bounded here by counts (``MAX_POSTS``, text
clipped like the RSS parser's); time and memory are the worker's to bound.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from monitor.errors import ParseError
from monitor.fetch.decode import decode_html
from monitor.models import ParsedFeed, ParseRequest, RawItem
from monitor.parse.dates import sane_datetime
from monitor.parse.feed import MAX_LINK, MAX_SUMMARY
from monitor.parse.identity import content_key
from monitor.parse.urls import canonical_url

#: Posts read from one page. t.me shows 20; a page listing more is not t.me's, and only the
#: newest (last) ones are kept.
MAX_POSTS = 200
#: A post has no title: its first line (or sentence) stands in, clipped to about this length.
TITLE_CHARS = 200
TELEGRAM_HOSTS = ("t.me", "telegram.me", "telegram.dog")

_DATA_POST = re.compile(r"([A-Za-z0-9_]{1,64})/([0-9]{1,12})")
_HTML_HINT = re.compile(r"<(?:!doctype\s+html|html|head|body|div|section|main|meta)[\s>/]", re.I)
_SENTENCE_END = re.compile(r"[.!?؟…](?=\s|$)")
_BREAK = "\ue000"        # stands for <br> while the markup's own whitespace is folded
_BLOCKS = ("p", "div", "blockquote", "pre", "li")
# What is left of a post's meta line once signature and date are taken out, when it says nothing
# but "edited": punctuation and spaces (",&nbsp;" between signature and date).
_META_NOISE = re.compile(r"[\s,.;:·|\-–—]+")


def parse_channel(request: ParseRequest) -> ParsedFeed:
    """The posts of one preview page, newest first.

    Raises:
        ParseError: the body is not HTML, or it is not the preview of a public channel (missing,
            private, a user or bot page, or a redirect away from ``/s/NAME``).
    """
    channel = request.channel or _channel_from_url(request.final_url)
    if channel:
        _check_not_redirected(request.final_url, channel)
    doc = _document(request, channel or "?")
    messages = [m for m in doc.find_class("tgme_widget_message")
                if m.tag == "div" and m.get("data-post")]
    cut = None
    if len(messages) > MAX_POSTS:
        messages = messages[-MAX_POSTS:]
        cut = f"preview lists more than {MAX_POSTS} posts; the newest {MAX_POSTS} kept"
    posts = [(m, match) for m in messages
             if (match := _DATA_POST.fullmatch(m.get("data-post", "")[:100])) is not None]
    channel = channel or (posts[0][1].group(1) if posts else "?")
    title = _field(doc, "tgme_channel_info_header_title", 300) or None
    if not posts and (not doc.find_class("tgme_channel_history") or title is None):
        raise ParseError(_not_public(channel, bool(doc.find_class("tgme_page"))))
    items: list[RawItem] = []
    ids: list[int] = []
    seen: set[str] = set()
    for message, post in posts:
        if post.group(1).lower() != channel.lower():
            continue      # another channel's post (t.me never mixes them): not ours to name
        ids.append(int(post.group(2)))
        item = _item(message, post.group(1), int(post.group(2)), request.final_url, title)
        if item is not None and item.identity not in seen:
            seen.add(item.identity)
            items.append(item)
    items.reverse()
    title = title or _field(doc, "tgme_widget_message_owner_name", 300) or None
    return ParsedFeed(items=items, title=title, bozo_error=cut, ttl_minutes=None,
                      older_url=_older_url(doc, request.final_url, ids))


def _channel_from_url(url: str) -> str | None:
    parts = [p for p in urlsplit(url).path.split("/") if p]
    return parts[1] if len(parts) >= 2 and parts[0] == "s" else None


def _check_not_redirected(final_url: str, channel: str) -> None:
    """t.me sends ``/s/NAME`` on to ``/NAME`` when there is no preview to show."""
    path = urlsplit(final_url).path.strip("/")
    if path.lower() == channel.lower():
        raise ParseError(f"Telegram channel {channel} does not exist or is not public (t.me "
                         f"redirected its preview to {final_url}: a private channel, a user, a "
                         "bot, a group or an unused name)")


def _not_public(channel: str, contact_page: bool) -> str:
    if contact_page:
        return (f"Telegram channel {channel} does not exist or is not public (t.me shows its "
                "contact page, not a preview: a private channel, a user or a bot)")
    return (f"Telegram channel {channel} does not exist or is not public "
            "(its preview shows no posts)")


def _document(request: ParseRequest, channel: str) -> lxml.html.HtmlElement:
    text = decode_html(request.body, request.content_type)
    if not _HTML_HINT.search(text, 0, 65536):
        raise ParseError(f"Telegram channel {channel}: the preview is not HTML "
                         f"({len(request.body)} bytes, content type {request.content_type})")
    # Bytes with a declared encoding, not a str: lxml refuses a str carrying an XML declaration.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"Telegram channel {channel}: the preview is not HTML ({exc})") from exc


def _item(message: lxml.html.HtmlElement, name: str, post_id: int, base: str,
          channel_title: str | None) -> RawItem | None:
    if "service_message" in _classes(message):
        return None       # "Channel created", "pinned …": nothing was published
    preview = _first(message, "tgme_widget_message_link_preview")
    text_el = _text_element(message)
    summary = _text(text_el, MAX_SUMMARY) if text_el is not None else ""
    page_url = _external_link(preview, text_el, base)
    title = _title(summary)
    if not title and preview is not None:
        title = _title(_field(preview, "link_preview_title", TITLE_CHARS * 2)
                       or _field(preview, "link_preview_description", TITLE_CHARS * 2)
                       or _field(preview, "link_preview_site_name", TITLE_CHARS))
        summary = "\n".join(filter(None, (_field(preview, "link_preview_title", MAX_SUMMARY),
                                          _field(preview, "link_preview_description",
                                                 MAX_SUMMARY))))[:MAX_SUMMARY]
    if not title:
        if page_url is None:
            return None   # a photo, sticker or voice note alone: no words to match
        title = page_url[:TITLE_CHARS]
    stated = _stated_date(message)
    stated_iso = stated.isoformat() if stated else None
    forwarded = _forwarded_from(message)
    tags = ((f"forwarded:{forwarded}"[:100],) if forwarded else ()) + (
        ("edited",) if _is_edited(message) else ())
    return RawItem(
        identity=f"tg:{name.lower()}/{post_id}", url=_post_url(base, name, post_id),
        guid=f"{name}/{post_id}", title=title, summary=summary, published=sane_datetime(stated),
        author=forwarded or _field(message, "tgme_widget_message_from_author", 200) or None,
        tags=tags, key=content_key(title, summary, stated_iso),
        outlet=channel_title or _field(message, "tgme_widget_message_owner_name", 300) or None,
        page_url=page_url, own_text=True)


def _post_url(base: str, name: str, post_id: int) -> str | None:
    """The post on t.me when t.me served the page (the alert must open the real post), else on
    the serving host (a test or demo server), so following it stays on that server."""
    parts = urlsplit(base)
    if is_telegram_host(parts.hostname):
        return f"https://t.me/{name}/{post_id}"
    return canonical_url(urlunsplit((parts.scheme, parts.netloc, f"/{name}/{post_id}", "", "")))


def is_telegram_host(host: str | None) -> bool:
    """t.me, telegram.me or telegram.dog (or a subdomain of one)."""
    host = (host or "").lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in TELEGRAM_HOSTS)


def _text_element(message: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The post's own text: not the quoted text of the post it replies to, nor a preview's."""
    for el in message.find_class("tgme_widget_message_text"):
        quoted = False
        for up in el.iterancestors():
            if up is message:
                break
            if _classes(up) & {"tgme_widget_message_reply", "tgme_widget_message_link_preview"}:
                quoted = True
                break
        if not quoted:
            return el
    return None


def _text(el: lxml.html.HtmlElement, limit: int) -> str:
    """Plain text with the post's line breaks; the markup's own newlines are only spaces."""
    for br in el.iter("br"):
        br.tail = _BREAK + (br.tail or "")
    for block in el.iter(*_BLOCKS):
        if block is not el:       # a quote or paragraph starts and ends a line
            block.text = _BREAK + (block.text or "")
            block.tail = _BREAK + (block.tail or "")
    raw = el.text_content()[: limit * 2]
    lines: list[str] = []
    for part in raw.split(_BREAK):
        line = " ".join(part.split())
        if line or (lines and lines[-1]):    # one empty line between paragraphs, as posted
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)[:limit]


def _title(text: str) -> str:
    """The first line; when longer than TITLE_CHARS its first sentence, else cut at a word."""
    first = next((line for line in text.split("\n") if line), "")
    if len(first) <= TITLE_CHARS:
        return first
    head = first[:TITLE_CHARS]
    for end in _SENTENCE_END.finditer(head):
        if end.end() >= 30:        # not an abbreviation or a numbered list's "1."
            return head[:end.end()]
    space = head.rfind(" ")
    return (head[:space] if space > TITLE_CHARS // 2 else head).rstrip() + "…"


def _external_link(preview: lxml.html.HtmlElement | None, text_el: lxml.html.HtmlElement | None,
                   base: str) -> str | None:
    """The page a post points to: its link preview, else the first outside link in its text.
    Outside: not Telegram's, and not on the origin that served the preview (host and port: a
    local t.me and the sites its posts link to may share 127.0.0.1)."""
    page_origin = urlsplit(canonical_url(base) or "").netloc
    anchors = ([preview] if preview is not None else []) + (
        list(text_el.iter("a")) if text_el is not None else [])
    for a in anchors:
        href = (a.get("href") or "").strip()[:MAX_LINK]
        if a.get("onclick") is not None:
            # Since 2024-04 t.me escapes '&' twice in text links (those with a confirm
            # onclick); RSSHub's channel route undoes it the same way.
            href = href.replace("&amp;", "&")
        if not href.lower().startswith(("http://", "https://")):
            continue         # hashtag searches (?q=%23…), mentions and other relative links
        url = canonical_url(href)
        parts = urlsplit(url) if url else None
        if parts and not is_telegram_host(parts.hostname) and parts.netloc != page_origin:
            return url
    return None


def _stated_date(message: lxml.html.HtmlElement) -> datetime | None:
    for anchor in message.find_class("tgme_widget_message_date"):
        for time_el in anchor.iter("time"):
            value = (time_el.get("datetime") or "").strip()[:64]
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _forwarded_from(message: lxml.html.HtmlElement) -> str | None:
    box = _first(message, "tgme_widget_message_forwarded_from")
    if box is None:
        return None
    name = _field(box, "tgme_widget_message_forwarded_from_name", 200)
    if not name:     # a hidden sender: only the label and a name in plain text
        name = re.sub(r"^forwarded from\s*", "", _fold(box.text_content()), flags=re.I)[:200]
    return name or "?"


def _is_edited(message: lxml.html.HtmlElement) -> bool:
    """The meta line says "edited" between signature and date. Any word there is taken for it,
    so a page served in another language (t.me may follow Accept-Language) still counts."""
    for meta in message.find_class("tgme_widget_message_meta"):
        loose = (meta.text or "") + "".join(child.tail or "" for child in meta)
        if _META_NOISE.sub("", loose):
            return True
    return False


def _older_url(doc: lxml.html.HtmlElement, base: str, ids: list[int]) -> str | None:
    """The page's own link to older posts when it is sane, else ``?before=<smallest id>``."""
    parts = urlsplit(base)
    smallest = min(ids) if ids else None
    links = [el.get("href") for el in doc.iter("link")
             if (el.get("rel") or "").strip().lower() == "prev"]
    links += [a.get("href") for a in doc.find_class("tme_messages_more") if a.get("data-before")]
    for href in links:
        link = urlsplit(urljoin(base, (href or "").strip()[:MAX_LINK]))
        before = parse_qs(link.query).get("before", [""])[0]
        if not re.fullmatch(r"[0-9]{1,12}", before):
            continue      # an empty page links "?before=" with no id
        # Same origin and channel (no hop elsewhere), and older than this page (no loop).
        if ((link.scheme, link.netloc) == (parts.scheme, parts.netloc)
                and link.path.lower() == parts.path.lower()
                and 1 < int(before) <= (smallest or int(before))):
            return urlunsplit((parts.scheme, parts.netloc, link.path, f"before={int(before)}", ""))
    if smallest is None or smallest <= 1:
        return None           # post 1 is the oldest a channel can have
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"before={smallest}", ""))


def _first(el: lxml.html.HtmlElement, cls: str) -> lxml.html.HtmlElement | None:
    found = el.find_class(cls)
    return found[0] if found else None


def _field(el: lxml.html.HtmlElement, cls: str, limit: int) -> str:
    """The whitespace-folded text of the first descendant of class ``cls``."""
    found = _first(el, cls)
    return _fold(found.text_content()[: limit * 2])[:limit] if found is not None else ""


def _fold(text: str) -> str:
    return " ".join(text.split())


def _classes(el: lxml.html.HtmlElement) -> set[str]:
    return set((el.get("class") or "")[:2000].split())
