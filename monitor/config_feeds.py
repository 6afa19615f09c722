"""The ``feeds:`` list of the settings (RSS/Atom feeds, Google News searches, public Telegram
channels, news sitemaps) and the ``sources:`` section shared by those types.

Import it from :mod:`monitor.config`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from urllib.parse import quote_plus

from pydantic import Field, model_validator

from monitor.config_sections import StrictModel

SourceType = Literal["rss", "google_news", "telegram", "sitemap"]
#: Telegram's rule for public usernames: 5-32 letters, digits and underscores, a letter first.
CHANNEL_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{3,31}$"


class FeedSource(StrictModel):
    """One source: an RSS/Atom feed, a Google News search (turned into its RSS URL), a public
    Telegram channel (its web preview ``t.me/s/NAME``) or a news sitemap."""

    name: str = Field(min_length=1)
    type: SourceType = "rss"
    url: str | None = None
    query: str | None = None
    channel: str | None = Field(None, pattern=CHANNEL_PATTERN)
    edition: str = Field("EG", pattern=r"^[A-Z]{2}$")
    language: str = "ar"
    max_age_hours: float = Field(48.0, gt=0, description="sitemap: older entries are left out")
    interval_seconds: float | None = Field(None, gt=0)
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True
    verified: dt.date | None = Field(None, description="when the source was last seen working "
                                     "(monitor feeds check); unset: never verified")

    @model_validator(mode="after")
    def _check_source(self) -> FeedSource:
        if self.type == "google_news":
            if not self.query:
                raise ValueError("a google_news source needs a 'query'")
            if self.url is None:
                object.__setattr__(self, "url", google_news_url(self.query, self.edition))
        if self.type == "telegram":
            if not self.channel:
                raise ValueError("a telegram source needs a 'channel' (the public username)")
            if self.url is None:
                object.__setattr__(self, "url", telegram_preview_url(self.channel))
        if not self.url:
            raise ValueError(f"a {self.type} source needs a 'url'")
        if not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url must be http(s), got {self.url!r}")
        return self

    @property
    def feed_url(self) -> str:
        """The URL polled (always set once validated)."""
        assert self.url is not None
        return self.url


class SourceSettings(StrictModel):
    """What the source types share: Google News link resolution, channel and sitemap paging."""

    google_news_base: str = Field("https://news.google.com", description="where Google News "
                                  "links are resolved (a local server in tests and the demo)")
    resolve_per_minute: float = Field(30.0, gt=0, description="Google News link resolutions "
                                      "started per minute (Google throttles bursts)")
    resolve_cache_days: float = Field(30.0, gt=0, description="how long a resolved link is kept")
    telegram_base: str = Field("https://t.me", description="where Telegram post links are read "
                               "(monitor score t.me/NAME/ID; a local server in tests)")
    telegram_pages: int = Field(3, ge=1, le=20, description="preview pages read per poll when "
                                "a channel posted more than one page since the last poll")
    sitemap_children: int = Field(5, ge=1, le=50, description="sitemaps of an index read per "
                                  "poll (the most recently modified)")

    def resolutions_kept_since(self, now: float) -> float:
        """Resolved links made before this time are past ``resolve_cache_days``."""
        return now - self.resolve_cache_days * 86400.0


def google_news_url(query: str, edition: str = "EG") -> str:
    """Google News RSS search URL for an Arabic query (covers outlets that have no feed)."""
    return (f"https://news.google.com/rss/search?q={quote_plus(query)}"
            f"&hl=ar&gl={edition}&ceid={edition}:ar")


def telegram_preview_url(channel: str) -> str:
    """The public web preview of a channel: its latest posts, no login or API key."""
    return f"https://t.me/s/{channel}"
