"""OPML subscription lists: read the ones feed readers export, write one they all import.

Reading (:func:`read_opml`). Every ``<outline>`` with an ``xmlUrl`` is an RSS/Atom feed;
outlines around them are categories, flattened: their names become the feed's tags (lower
case, spaces as hyphens; the standard ``category`` attribute adds its own). A feed listed in
two categories (Feedly does that) is one feed with both tags. Names come from ``title``, else
``text``: a title with Latin letters gives a slug of it ("BBC Arabic" → ``bbc-arabic``),
the convention of the shipped feed list; any other title (Arabic, "21") gives the site's name
(``www.alwasat.ly`` → ``alwasat``), since names are keys in logs and the state database. Names
are made unique with ``-2``, ``-3`` … An outline whose feed is unusable (an ``xmlUrl`` that is
not http(s), an invalid channel) is skipped with a warning naming its line; a file that is not
OPML at all is a :class:`ConfigError` naming the file and line.

Our own source types travel in attributes of the namespace :data:`NAMESPACE` (prefix
``monitor``), whose names are the config keys: ``monitor:type`` (``telegram``, ``sitemap``,
``google_news``), ``monitor:name``, ``monitor:channel``, ``monitor:query``, ``monitor:edition``,
``monitor:language``, ``monitor:max_age_hours``, ``monitor:interval_seconds``,
``monitor:enabled``, ``monitor:verified``. Other readers ignore them (OPML 2.0 allows namespaced
attributes); they let an export come back as the same sources.

Writing (:func:`export_opml`): OPML 2.0, outlines grouped under their first tag. Telegram
channels and sitemaps are not feeds another reader could poll, so they are ``type="link"``
outlines (``url``, no ``xmlUrl``): readers keep them as links instead of adding broken feeds.

The XML is read with lxml without DTD loading, entity expansion or network; a file declaring a
DTD is refused, and so is one over ``MAX_OPML_BYTES``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from pydantic import ValidationError

from monitor.config_feeds import FeedSource
from monitor.errors import ConfigError
from monitor.fetch.decode import decode_document
from monitor.parse.clean import root_start
from monitor.parse.urls import canonical_url

NAMESPACE = "urn:arabic-press-monitor:opml"
MAX_OPML_BYTES = 10_000_000
MAX_NAME = 40
#: The config keys carried as ``monitor:`` attributes, in the order they are written.
EXTRA_KEYS = ("name", "channel", "query", "edition", "language", "max_age_hours",
              "interval_seconds", "enabled", "verified")
_TYPES = ("rss", "google_news", "telegram", "sitemap")
_LINK_TYPES = ("telegram", "sitemap")
_SLUG = re.compile(r"[^a-z0-9]+")
# Host labels that say nothing about the site: www.alwasat.ly → alwasat, lana.gov.ly → lana.
_HOST_NOISE = {"www", "feeds", "feed", "rss", "m", "ar", "arabic", "com", "co", "net", "org",
               "gov", "edu", "ac"}
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)


def read_opml(path: str | Path, warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """The feeds of an OPML file, as ``feeds:`` entries of the config (see the module doc).

    Args:
        path: the OPML file.
        warnings: if given, one line per outline skipped is appended (``file:line: reason``).

    Raises:
        ConfigError: the file cannot be read, is not well-formed XML, is not OPML, declares a
            DTD or lists no feed; it names the file and, when known, the line.
    """
    label = str(path)
    root = _parse(Path(path), label)
    found: dict[str, dict[str, Any]] = {}       # canonical URL → entry
    skipped = warnings if warnings is not None else []
    feeds = 0
    for outline, tags in _feed_outlines(root.find("body"), ()):
        feeds += 1
        try:
            entry, url = _entry(outline, tags)
        except ValueError as exc:
            skipped.append(f"{label}:{outline.sourceline}: outline {_title(outline)!r} "
                           f"skipped: {exc}")
            continue
        if url in found:      # one feed in two categories: one feed, both tags
            known = found[url]
            known["tags"] = list(dict.fromkeys([*known.get("tags", []), *entry.get("tags", [])]))
        else:
            found[url] = entry
    if not feeds:
        raise ConfigError("no feeds found: no <outline> has an xmlUrl attribute", file=label,
                          line=root.sourceline)
    return unique_names(list(found.values()))


def export_opml(sources: Sequence[FeedSource], now: datetime | None = None) -> str:
    """OPML 2.0 text of ``sources``, grouped under their first tag; read back by :func:`read_opml`."""
    opml = etree.Element("opml", version="2.0", nsmap={"monitor": NAMESPACE})
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = "Arabic press monitor: feeds"
    when = now or datetime.now(UTC)
    etree.SubElement(head, "dateCreated").text = format_datetime(when.astimezone(UTC), usegmt=True)
    body = etree.SubElement(opml, "body")
    groups: dict[str, etree._Element] = {}
    for source in sources:
        parent = body
        if source.tags:
            first = source.tags[0]
            if first not in groups:
                groups[first] = etree.SubElement(body, "outline", text=first, title=first)
            parent = groups[first]
        _outline(parent, source)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        opml, encoding="unicode", pretty_print=True)


def unique_names(entries: list[dict[str, Any]], taken: set[str] | None = None
                 ) -> list[dict[str, Any]]:
    """``entries`` with names made unique (``-2``, ``-3`` …), also against ``taken``."""
    used = set(taken or ())
    for entry in entries:
        base, n = entry["name"], 1
        while entry["name"] in used:
            n += 1
            entry["name"] = f"{base[:MAX_NAME - 4]}-{n}"
        used.add(entry["name"])
    return entries


def _parse(path: Path, label: str) -> Any:
    try:
        if path.stat().st_size > MAX_OPML_BYTES:
            raise ConfigError(f"file larger than {MAX_OPML_BYTES // 1_000_000} MB; refused",
                              file=label)
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=label) from None
    # Refused before parsing: libxml2 expands entities in attribute values whatever the
    # options say (its amplification limit is the only stop).
    text, _ = decode_document(raw, [])
    doctype = _DOCTYPE.search(text, 0, root_start(text))
    if doctype:
        raise ConfigError("the file declares a DTD (<!DOCTYPE>), which OPML files never do; "
                          "refused", file=label, line=text.count("\n", 0, doctype.start()) + 1)
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        last = exc.error_log.last_error if exc.error_log else None
        message = last.message if last is not None else exc.msg
        raise ConfigError(f"not well-formed XML: {message}", file=label,
                          line=(last.line if last is not None else exc.lineno) or None) from None
    if etree.QName(root).localname.lower() != "opml":
        raise ConfigError(f"not an OPML file: the root element is <{root.tag}>, not <opml>",
                          file=label, line=root.sourceline)
    return root


def _feed_outlines(parent: Any, tags: tuple[str, ...]) -> Any:
    """(outline, category tags) of every feed outline under ``parent``, depth first."""
    for outline in parent.iterchildren("outline") if parent is not None else ():
        if _attr(outline, "xmlUrl") or _extra(outline, "type"):
            yield outline, tags
        elif len(outline):
            tag = _tag(_title(outline))
            yield from _feed_outlines(outline, (*tags, tag) if tag else tags)


def _entry(outline: Any, tags: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """The ``feeds:`` entry of a feed outline and its canonical URL; ValueError when unusable."""
    kind = _extra(outline, "type") or "rss"
    if kind not in _TYPES:
        raise ValueError(f"unknown monitor:type {kind!r} (one of {', '.join(_TYPES)})")
    url = _attr(outline, "xmlUrl") or _attr(outline, "url") or ""
    if kind in ("rss", "sitemap") and not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"xmlUrl is not an http(s) URL: {url[:200]!r}")
    category = [_tag(c) for c in re.split(r"[,/]", _attr(outline, "category") or "")]
    raw: dict[str, Any] = {"name": _extra(outline, "name") or _name(_title(outline), url),
                           "type": kind}
    if kind in ("rss", "sitemap"):
        raw["url"] = url
    raw.update({key: value for key in EXTRA_KEYS[1:] if (value := _extra(outline, key))})
    if all_tags := list(dict.fromkeys(t for t in (*tags, *category) if t)):
        raw["tags"] = all_tags
    try:
        source = FeedSource.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where + ': ' if where else ''}"
                         f"{first['msg'].removeprefix('Value error, ')}") from None
    entry = {key: getattr(source, key) for key in raw if key != "type" or kind != "rss"}
    return entry, canonical_url(source.feed_url) or source.feed_url


def _outline(parent: Any, source: FeedSource) -> Any:
    attrs = {"text": source.name, "title": source.name}
    if source.type in _LINK_TYPES:
        attrs.update(type="link", url=source.feed_url)
    else:
        attrs.update(type="rss", xmlUrl=source.feed_url)
    if source.tags:
        attrs["category"] = ",".join(source.tags)
    outline = etree.SubElement(parent, "outline", attrs)
    if source.type != "rss":
        outline.set(f"{{{NAMESPACE}}}type", source.type)
    defaults = FeedSource.model_fields
    for key in EXTRA_KEYS:
        value = getattr(source, key)
        if key == "name" or (value is not None and value != defaults[key].default):
            outline.set(f"{{{NAMESPACE}}}{key}", str(value).lower()
                        if isinstance(value, bool) else str(value))
    return outline


def _name(title: str, url: str) -> str:
    """A config name: the title's slug when it has Latin letters, else the site's."""
    slug = _SLUG.sub("-", title.lower()).strip("-")
    if not re.search("[a-z]", slug):
        host = (urlsplit(url).hostname or "").split(".")
        words = [w for w in host[:-1] if w not in _HOST_NOISE] or host[:1]
        slug = _SLUG.sub("-", "-".join(words).lower()).strip("-")
    return slug[:MAX_NAME].strip("-") or "feed"


def _tag(category: str) -> str:
    return "-".join(category.lower().split())[:60]


def _title(outline: Any) -> str:
    return " ".join((_attr(outline, "title") or _attr(outline, "text") or "").split())


def _attr(outline: Any, name: str) -> str | None:
    """An OPML attribute, whatever the case of its name (exporters write xmlurl, XMLURL)."""
    value = outline.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in outline.attrib.items() if k.lower() == lower), None)
    return value.strip() if value else None


def _extra(outline: Any, key: str) -> str | None:
    value = outline.get(f"{{{NAMESPACE}}}{key}")
    return value.strip() if value else None
