"""The ``feeds:`` list of the settings: RSS/Atom feeds and Google News searches.

Import it from :mod:`monitor.config`.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote_plus

from pydantic import Field, model_validator

from monitor.config_sections import StrictModel


class FeedSource(StrictModel):
    """One source: an RSS/Atom feed, or a Google News search turned into its RSS URL."""

    name: str = Field(min_length=1)
    type: Literal["rss", "google_news"] = "rss"
    url: str | None = None
    query: str | None = None
    edition: str = Field("EG", pattern=r"^[A-Z]{2}$")
    language: str = "ar"
    interval_seconds: float | None = Field(None, gt=0)
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True

    @model_validator(mode="after")
    def _check_source(self) -> FeedSource:
        if self.type == "google_news":
            if not self.query:
                raise ValueError("a google_news source needs a 'query'")
            if self.url is None:
                object.__setattr__(self, "url", google_news_url(self.query, self.edition))
        if not self.url:
            raise ValueError("an rss source needs a 'url'")
        if not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url must be http(s), got {self.url!r}")
        return self

    @property
    def feed_url(self) -> str:
        """The URL polled (always set once validated)."""
        assert self.url is not None
        return self.url


def google_news_url(query: str, edition: str = "EG") -> str:
    """Google News RSS search URL for an Arabic query (covers outlets that have no feed)."""
    return (f"https://news.google.com/rss/search?q={quote_plus(query)}"
            f"&hl=ar&gl={edition}&ceid={edition}:ar")
