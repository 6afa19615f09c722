"""A stable identity for each feed item: guid, else canonical URL, else a content hash.

A guid that is a URL is canonicalised, so the same article carried by two feeds has one identity.
Other guids ("12345", tag: URIs) are only unique within their feed, so they are namespaced by
feed name. Without either, a hash of title, summary and date stands in.

Feeds get this wrong: some give every item the same guid (the site's home page), some point every
item at one page (a live blog, the home page). Taken at their word, the first item would hide all
the others. So items of one feed body whose identities collide but whose content differs (title,
summary, date: :func:`content_key`) each get ``<identity>#<key>``, and items that share a link
but not their content each get the link ``<url>#item-<key>``: an anchor on the shared page, a
link that still opens it, and the sign that the page is not the item's own text
(:func:`is_shared_page`). Both are functions of the item alone, so the same item gets the same
identity in every poll and after restarts; ``base_identity`` keeps the plain one, so an item
first seen alone and later beside a namesake is still recognised (``monitor.store.articles``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import replace

from monitor.models import RawItem
from monitor.parse.urls import canonical_url

#: Longer guids are hashed: identities are indexed keys.
MAX_GUID = 500
_ANCHOR = "#item-"


def item_identity(feed_name: str, guid: str | None, url: str | None, title: str, summary: str,
                  published: str | None) -> str:
    """The identity string stored in ``articles.identity`` and ``sightings.identity``."""
    guid = (guid or "").strip()
    if guid:
        as_url = canonical_url(guid) if guid.lower().startswith(("http://", "https://")) else None
        if as_url and len(as_url) <= MAX_GUID:
            return f"url:{as_url}"
        if len(guid) > MAX_GUID:
            guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
        return f"guid:{feed_name}:{guid}"
    if url:
        return f"url:{url}"
    return f"hash:{_digest(title, summary, published or '')[:32]}"


def content_key(title: str, summary: str, published: str | None) -> str:
    """What tells two items apart when their guid or link does not."""
    return _digest(title, summary, published or "")[:16]


def is_shared_page(url: str | None) -> bool:
    """True for a link given an item anchor because several items point at that page."""
    return bool(url) and _ANCHOR in (url or "")


def disambiguate(items: list[RawItem]) -> list[RawItem]:
    """One feed body's items, each distinct item with an identity and a link of its own."""
    keys_by_identity: dict[str, set[str]] = defaultdict(set)
    keys_by_url: dict[str, set[str]] = defaultdict(set)
    for item in items:
        keys_by_identity[item.identity].add(item.key)
        if item.url:
            keys_by_url[item.url].add(item.key)
    out = []
    for item in items:
        if len(keys_by_identity[item.identity]) > 1:
            item = replace(item, identity=f"{item.identity}#{item.key}",
                           base_identity=item.identity)
        if item.url and len(keys_by_url[item.url]) > 1:
            item = replace(item, url=anchored(item.url, item.key))
        out.append(item)
    return out


def reusing(item: RawItem, stored_title: str, stored_url: str | None) -> RawItem | None:
    """``item`` under an identity of its own when the article already stored under its identity
    is another item (the feed reuses one guid), else None.

    Another item means another title *and* another link: an edited title alone, or a changed
    slug alone, is the same article.
    """
    plain = (stored_url or "").split(_ANCHOR)[0] or None
    if item.title == stored_title or item.url == plain or item.url == stored_url:
        return None
    return replace(item, identity=f"{item.identity}#{item.key}", base_identity=item.identity)


def anchored(url: str, key: str) -> str:
    """``url`` with the item anchor of ``key`` (replacing any fragment)."""
    return url.split("#")[0] + _ANCHOR + key


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
