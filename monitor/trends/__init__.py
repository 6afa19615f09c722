"""Trends over stored articles: entity surges (alerts) and period digests (``monitor digest``)."""
