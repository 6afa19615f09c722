"""Extracting an article's main text, title, date, author and language from its page."""
