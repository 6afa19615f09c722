"""feedparser on fetched bytes: malformed (bozo) feeds keep what parsed; a non-feed is an error.

Bytes are decoded by :func:`monitor.fetch.decode.decode_feed` (encoding repair, per item) and
cleaned by :func:`monitor.parse.clean.clean_feed` (no prolog, so no DTD and no entity; no
forbidden characters; at most ``MAX_ITEMS`` items) first. feedparser is given UTF-8 bytes,
never a ``str`` (it may read it as a URL or a file path).
"""

from __future__ import annotations

import calendar
import html
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.fetch.decode import decode_feed
from monitor.models import ParsedFeed, RawItem
from monitor.parse.clean import clean_feed
from monitor.parse.dates import sane_datetime
from monitor.parse.identity import content_key, disambiguate, item_identity
from monitor.parse.urls import canonical_url

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
MAX_TITLE = 1000
MAX_SUMMARY = 20_000
MAX_LINK = 8192
MAX_GUID_STORED = 1000
MAX_TAGS = 50


def parse_feed(body: bytes, *, feed_name: str, final_url: str,
               content_type: str | None) -> ParsedFeed:
    """Parse a feed body into items. Raises :class:`ParseError` when it is not a feed at all."""
    text, truncated = clean_feed(decode_feed(body, content_type))
    parsed = feedparser.parse(text.encode("utf-8"), response_headers={
        "content-type": "application/xml; charset=utf-8", "content-location": final_url})
    # Malformed and without a single item: an HTML page whose script spells "<rss" gets a
    # version from the lenient parser; a working feed is never both.
    if not parsed.entries and (not parsed.get("version") or (parsed.get("bozo") and not truncated)):
        reason = _bozo_text(parsed) or "no RSS/Atom structure found"
        raise ParseError(f"not a feed: {reason}")
    items = disambiguate([item for entry in parsed.entries
                          if (item := _item(entry, feed_name, final_url)) is not None])
    # A feed cut after MAX_ITEMS ends mid-document: that parse error is ours, the cut is the news.
    bozo = truncated or (_bozo_text(parsed) if parsed.get("bozo") else None)
    return ParsedFeed(items=items, title=_plain(parsed.feed.get("title", ""), 300) or None,
                      bozo_error=bozo, ttl_minutes=_ttl(parsed.feed.get("ttl")),
                      format=str(parsed.get("version") or "") or None)


def _item(entry: Any, feed_name: str, base: str) -> RawItem | None:
    link = str(entry.get("link") or "")
    url = canonical_url(link, base) if link else None
    if url and len(url) > MAX_LINK:
        url = None     # no server or browser takes it; the item keeps its title and summary
    guid = str(entry.get("id") or "")[:MAX_GUID_STORED] or None
    title = _strip_source_suffix(
        _text(entry.get("title", ""), entry.get("title_detail"), MAX_TITLE), entry)
    summary = _text(_summary_html(entry), entry.get("summary_detail"), MAX_SUMMARY)
    if not (title or summary or url):
        return None
    stated = _when(entry)
    # The identity uses the date as stated, so that clamping (which moves with the clock)
    # never changes it from one poll to the next.
    stated_iso = stated.isoformat() if stated else None
    identity = item_identity(feed_name, entry.get("id") or None, url, title, summary, stated_iso)
    tags = tuple(str(t.get("term", ""))[:100] for t in entry.get("tags", [])[:MAX_TAGS]
                 if t.get("term"))
    return RawItem(identity=identity, url=url, guid=guid, title=title, summary=summary,
                   published=sane_datetime(stated), tags=tags,
                   author=_plain(entry.get("author", ""), 200) or None,
                   key=content_key(title, summary, stated_iso),
                   outlet=_plain((entry.get("source") or {}).get("title") or "", 200) or None)


def _strip_source_suffix(title: str, entry: Any) -> str:
    """Aggregators (Google News) append ' - Outlet' to titles; the outlet is in <source>."""
    source = (entry.get("source") or {}).get("title") or ""
    suffix = f" - {source.strip()}"
    if source.strip() and title.endswith(suffix):
        return title[: -len(suffix)].rstrip()
    return title


def _summary_html(entry: Any) -> str:
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    return str(summary)


def _text(value: str, detail: Any, limit: int) -> str:
    """Plain text of a feed field: HTML fields lose their markup, text fields are kept as is."""
    kind = (detail or {}).get("type", "text/html")
    if "html" in kind:
        return _plain(value, limit)
    return "\n".join(" ".join(line.split()) for line in str(value).splitlines()
                     if line.strip())[:limit]


def _plain(value: str, limit: int) -> str:
    """Markup stripped, entities decoded, whitespace folded, length bounded."""
    text = html.unescape(_TAG.sub(" ", str(value)))
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)[:limit]


def _when(entry: Any) -> datetime | None:
    # feedparser's *_parsed are UTC struct_times: timegm, not mktime.
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _ttl(value: Any) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def _bozo_text(parsed: Any) -> str | None:
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}"[:300] if exc else None
