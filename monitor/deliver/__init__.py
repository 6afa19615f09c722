"""Delivery: sending rendered alerts to Telegram.

``telegram`` wraps python-telegram-bot's ``Bot`` (:class:`~monitor.deliver.telegram.TelegramSink`);
``translate`` turns every failure into the delivery branch of the tree in ``monitor.errors`` that
the drain loop acts on: retry later (with or without a server-given delay), maybe delivered, or
give up.
"""
