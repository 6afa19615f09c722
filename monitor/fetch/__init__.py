"""Fetching over HTTP: one shared client, SSRF guard, caps on time and size, conditional GET."""
