"""Alerts: what a match becomes (payload), how it reads (compose), and the durable outbox."""
