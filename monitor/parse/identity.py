"""A stable identity for each feed item: guid, else canonical URL, else a content hash.

A guid that is a URL is canonicalised, so the same article carried by two feeds has one identity.
Other guids ("12345", tag: URIs) are only unique within their feed, so they are namespaced by
feed name. Without either, a hash of title, summary and date stands in.
"""

from __future__ import annotations

import hashlib

from monitor.parse.urls import canonical_url


def item_identity(feed_name: str, guid: str | None, url: str | None, title: str, summary: str,
                  published: str | None) -> str:
    """The identity string stored in ``articles.identity`` and ``sightings.identity``."""
    guid = (guid or "").strip()
    if guid:
        as_url = canonical_url(guid) if guid.lower().startswith(("http://", "https://")) else None
        if as_url:
            return f"url:{as_url}"
        return f"guid:{feed_name}:{guid}"
    if url:
        return f"url:{url}"
    digest = hashlib.sha256("\x1f".join([title, summary, published or ""]).encode()).hexdigest()
    return f"hash:{digest[:32]}"
