"""Analysts in the loop, inside Telegram: the updates the bot receives (``getUpdates`` long
polling), triage buttons on alerts, and bot commands. Outbound messages still go through the
outbox and :mod:`monitor.deliver`; this package only reads updates and answers them."""
