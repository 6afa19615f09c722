"""Sitemaps as a source (``type: sitemap``): a Google News sitemap gives items, an index gives
the sitemaps it lists; only entries dated within ``max_age_hours`` before ``now`` are taken.

Formats: the sitemaps.org protocol (``<urlset>`` of ``<url><loc>``, optional ``<lastmod>``;
``<sitemapindex>`` of ``<sitemap><loc>``) and Google's news extension (``<news:news>``:
``<news:publication><news:name>``, ``<news:publication_date>``, ``<news:title>``,
``<news:keywords>``). Elements are matched by local name: sites get the namespace URIs wrong
(https, the old 0.84 schema, none), and a parser that insists on them reads nothing.

Which entries are taken. A dated one (``news:publication_date``, else ``lastmod``) older than
the window is left out; a date in the future counts as now (:mod:`monitor.parse.dates`). An
undated entry of a news sitemap (one with ``<news:news>``) is taken: a news sitemap lists only
the last two days by definition. An undated entry of a plain sitemap never is: such a sitemap
may list 50,000 old pages, and nothing tells a new one apart. A sitemap whose entries carry no
date at all can never give an item, so it is a :class:`ParseError` (the feed shows as failing,
with the reason) rather than a silent empty poll each time. ``ParsedFeed.bozo_error`` keeps
its meaning, malformed or cut but usable: XML broken after some entries (those are kept), more
than ``MAX_ENTRIES`` entries (the rest is not read), more than ``MAX_ITEMS`` recent ones.

Safety: a document declaring a DTD is refused and the rest of its prolog never reaches the
parser, so no entity is ever defined; lxml also runs without DTD loading, entity expansion,
network or its huge-tree mode (text nodes under 10 MB, nesting under 256). A gzip body (magic
bytes ``1f 8b``, whatever the URL or content type say) is measured before it is inflated: over
``MAX_INFLATED`` it is refused. The text is fed to the parser in slices and each entry freed
once read, so memory follows the body, not the number of entries.
"""

from __future__ import annotations

import html
import re
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree

from monitor.errors import ParseError
from monitor.fetch.decode import decode_feed
from monitor.models import ParsedFeed, ParseRequest, RawItem
from monitor.parse.clean import MAX_ITEMS, root_start
from monitor.parse.dates import sane_datetime
from monitor.parse.feed import MAX_LINK, MAX_TAGS, MAX_TITLE
from monitor.parse.identity import content_key, item_identity
from monitor.parse.urls import canonical_url

#: The protocol's own limits: 50,000 entries and 50 MB (52,428,800 bytes) uncompressed.
MAX_ENTRIES = 50_000
MAX_INFLATED = 52_428_800
#: Child sitemaps of an index handed back (the daemon reads the first few of them).
MAX_CHILDREN = 100
MAX_OUTLET = 200
_SLICE = 1 << 16     # characters fed at a time: the parser builds a slice's elements at once
_ABSOLUTE = re.compile(r"https?://", re.I)
_GZIP_MAGIC = b"\x1f\x8b"
# Characters XML 1.0 forbids; one stray control byte in a title must not lose the document.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ROOT_NAME = re.compile(r"<([^\s/>]{1,100})")
_DOCTYPE = re.compile(r"<!DOCTYPE\s+([^\s>\[]*)", re.I)
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class _Entry:
    """One ``<url>`` (or ``<sitemap>``) taken: within the window, or undated but kept."""

    url: str
    published: datetime | None    # sane (clamped) date, None when undated
    stated: str | None            # the date as the sitemap states it (for the identity)
    title: str = ""
    outlet: str = ""
    keywords: tuple[str, ...] = ()


def parse_sitemap(request: ParseRequest) -> ParsedFeed:
    """Items of a news sitemap, or the children of a sitemap index, within the window.

    Raises :class:`ParseError` when the body is not a sitemap (HTML, RSS, not XML, a DTD, a
    gzip bomb) or a plain sitemap carries no date at all.
    """
    now = request.now or time.time()
    raw = _inflate(request.body)
    if not raw.strip():
        raise ParseError("not a sitemap: the body is empty")
    text = _FORBIDDEN.sub("", decode_feed(raw, request.content_type))
    del raw     # a 50 MB inflated body need not stay beside its text
    root = _root(text)
    reader = _Reader(request.final_url, now, oldest=now - request.max_age_hours * 3600)
    reader.read(text, root)
    if reader.index:
        return ParsedFeed(items=[], title=None, bozo_error=reader.note,
                          children=_children(reader.entries, request.final_url))
    if reader.seen and not reader.usable:
        raise ParseError(
            f"sitemap not usable: none of its {reader.seen} entries has a date "
            "(<lastmod> or <news:publication_date>), so new pages cannot be told from old "
            "ones; use the site's news sitemap or its sitemap index")
    # Newest first, undated (news) entries last: a cut keeps the newest.
    recent = sorted(reader.entries, key=_ts, reverse=True)
    note = reader.note
    if len(recent) > MAX_ITEMS:
        cut = f"{len(recent)} entries are recent; the newest {MAX_ITEMS} kept"
        note, recent = (f"{note}; {cut}" if note else cut), recent[:MAX_ITEMS]
    items = [_item(e, request.feed_name) for e in recent]
    outlet = next((e.outlet for e in recent if e.outlet), None)
    return ParsedFeed(items=items, title=outlet, bozo_error=note)


def _inflate(body: bytes) -> bytes:
    if not body.startswith(_GZIP_MAGIC):
        # A .xml.gz URL or a gzip content type whose body is plain XML was inflated on the
        # way (Content-Encoding, a proxy): the bytes decide, not the labels.
        return body
    try:
        # Measured first, a slice at a time, keeping nothing: a bomb never takes memory.
        dec, size, rest = zlib.decompressobj(16 + zlib.MAX_WBITS), 0, body
        while rest and size <= MAX_INFLATED:
            size += len(dec.decompress(rest, _SLICE))
            rest = dec.unconsumed_tail
        if not rest:      # flush() would inflate an unconsumed rest whole
            size += len(dec.flush())
        if size > MAX_INFLATED:
            raise ParseError(f"not a sitemap: the gzip body inflates to more than "
                             f"{MAX_INFLATED:,} bytes (the protocol's limit)")
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body)
    except zlib.error as exc:
        raise ParseError(f"not a sitemap: corrupt gzip data ({exc})") from None


def _root(text: str) -> int:
    """Where the root element starts; :class:`ParseError` when it is not a sitemap's root."""
    start = root_start(text)
    doctype = _DOCTYPE.search(text, 0, start)
    name_match = _ROOT_NAME.match(text, start)
    if name_match is None:
        raise ParseError("not a sitemap: not XML (no element found; the body starts with "
                         f"{' '.join(text[:60].split())!r})")
    name = name_match.group(1)
    local = _local(name).lower()
    if local == "html" or (doctype and doctype.group(1).lower() == "html"):
        raise ParseError("not a sitemap: the document is an HTML page")
    if doctype:
        raise ParseError("not a sitemap: the document declares a DTD (<!DOCTYPE>), which "
                         "sitemaps never do; its entities are refused")
    if local in ("rss", "feed", "rdf", "channel"):
        raise ParseError(f"not a sitemap: the root element is <{name}> (use type: rss)")
    if local not in ("urlset", "sitemapindex"):
        raise ParseError(f"not a sitemap: the root element is <{name}>, not <urlset> or "
                         "<sitemapindex>")
    return start


class _Reader:
    """Reads the root's children one at a time, keeping the entries within the window."""

    def __init__(self, base: str, now: float, oldest: float) -> None:
        self.base, self.now, self.oldest = base, now, oldest
        self.index = False
        self.entries: list[_Entry] = []
        self.note: str | None = None
        self.seen = 0       # entries read
        self.usable = 0     # entries read that carry a date or are news entries
        self._by_url: dict[str, int] = {}

    def read(self, text: str, root: int) -> None:
        """Parse the document from its root element (at ``root``) on."""
        parser = etree.XMLPullParser(
            events=("start", "end"), resolve_entities=False, load_dtd=False, no_network=True,
            huge_tree=False, remove_comments=True, remove_pis=True)
        depth = 0
        try:
            # The prolog's lines, as blank lines: error line numbers stay the document's own.
            parser.feed("\n" * text.count("\n", 0, root))
            for pos in range(root, len(text), _SLICE):
                parser.feed(text[pos:pos + _SLICE])
                for event, element in parser.read_events():
                    depth += 1 if event == "start" else -1
                    if event == "start" and depth == 1:
                        self.index = _local(element.tag) == "sitemapindex"
                    elif event == "end" and depth == 1 and not self._take(element):
                        return
            parser.close()
        except etree.XMLSyntaxError as exc:
            self._broken(exc)

    def _take(self, element: Any) -> bool:
        """Read one child of the root and free it; False once ``MAX_ENTRIES`` were read."""
        if _local(element.tag) in ("url", "sitemap"):
            if self.seen == MAX_ENTRIES:
                self.note = (f"the sitemap lists more than {MAX_ENTRIES:,} entries (the "
                             "protocol's limit); the rest was not read")
                return False
            self.seen += 1
            self._consider(element)
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
        return True

    def _consider(self, element: Any) -> None:
        loc, lastmod, news = _parts(element)
        fields = _news_fields(news) if news is not None else {}
        stated = _clean(fields.get("publication_date"), 100) or _clean(lastmod, 100) or None
        published = sane_datetime(parse_w3c_date(stated), self.now)
        self.usable += published is not None or news is not None
        # Dates first: most entries of a plain sitemap are old, and only dates are cheap.
        if published is not None and published.timestamp() < self.oldest:
            return
        if published is None and news is None and not self.index:
            return      # a plain sitemap's undated page: old or new, nothing tells
        url = canonical_url(loc, None if _ABSOLUTE.match(loc) else self.base)
        if url is None or len(url) > MAX_LINK:
            return
        keywords = (_clean(k, 100) for k in fields.get("keywords", "")[:2000].split(","))
        self._add(_Entry(url=url, published=published, stated=stated,
                         title=_clean(fields.get("title"), MAX_TITLE),
                         outlet=_clean(fields.get("name"), MAX_OUTLET),
                         keywords=tuple(k for k in keywords if k)[:MAX_TAGS]))

    def _add(self, entry: _Entry) -> None:
        # One URL listed twice is one article: the entry with the later date stands.
        at = self._by_url.get(entry.url)
        if at is None:
            self._by_url[entry.url] = len(self.entries)
            self.entries.append(entry)
        elif _ts(entry) > _ts(self.entries[at]):
            self.entries[at] = entry

    def _broken(self, exc: etree.XMLSyntaxError) -> None:
        last = exc.error_log.last_error if exc.error_log else None
        # lxml's own message is sometimes only "no element found" (line 0): the log says more.
        line, message = (last.line, last.message) if last is not None else (exc.lineno, exc.msg)
        reason = f"not well-formed XML at line {line}: {message}"
        if not self.seen:
            raise ParseError(f"not a sitemap: {reason}") from None
        self.note = f"{reason}; the {self.seen} entries read before it kept"


def _parts(element: Any) -> tuple[str, str | None, Any]:
    """(loc, lastmod, the ``<news:news>`` element) of one ``<url>`` or ``<sitemap>``."""
    loc = lastmod = None
    news: Any = None
    for child in element:
        name = _local(child.tag)
        if name == "loc":
            loc = child.text
        elif name == "lastmod":
            lastmod = child.text
        elif name == "news":
            news = child
    return html.unescape(loc or "").strip(), lastmod, news


def _news_fields(news: Any) -> dict[str, str]:
    """``<news:news>``'s texts by local name (``name`` and ``language`` from the publication),
    as written: only the entries kept are cleaned."""
    fields: dict[str, str] = {}
    for child in news:
        for field in (child if _local(child.tag) == "publication" else (child,)):
            fields.setdefault(_local(field.tag), field.text or "")
    return fields


def parse_w3c_date(text: str | None) -> datetime | None:
    """A sitemap date (W3C Datetime, or the RFC 822 dates some sites write), UTC, or None.

    A date without a zone is taken as UTC; a date of only a year or a month is no date.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:     # year 1 in a zone east of UTC, year 9999 west of it
        return None


def _children(entries: list[_Entry], own_url: str) -> tuple[str, ...]:
    """Child sitemaps, most recently modified first, then the undated in document order."""
    own = canonical_url(own_url)
    listed = [e for e in entries if e.url != own]     # an index listing itself: no loop
    dated = sorted((e for e in listed if e.published), key=_ts, reverse=True)
    undated = [e for e in listed if e.published is None]
    return tuple(e.url for e in [*dated, *undated][:MAX_CHILDREN])


def _item(entry: _Entry, feed_name: str) -> RawItem:
    identity = item_identity(feed_name, None, entry.url, entry.title, "", entry.stated)
    return RawItem(identity=identity, url=entry.url, guid=None, title=entry.title, summary="",
                   published=entry.published, author=None, tags=entry.keywords,
                   key=content_key(entry.title, "", entry.stated),
                   outlet=entry.outlet or None)


def _local(tag: Any) -> str:
    """``{ns}name``, ``prefix:name`` (a prefix never declared) or ``name`` → ``name``."""
    return str(tag).rpartition("}")[2].rpartition(":")[2]


def _clean(value: str | None, limit: int) -> str:
    # Some CMSs escape twice (``&amp;quot;``): the XML parser undoes one level, this the other.
    return _SPACE.sub(" ", html.unescape(value or "")).strip()[:limit]


def _ts(entry: _Entry) -> float:
    return entry.published.timestamp() if entry.published else 0.0
