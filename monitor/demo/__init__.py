"""Offline demo: bundled Arabic feeds and article pages served on 127.0.0.1."""
