"""Delivery: sending rendered alerts to Telegram.

``telegram`` wraps python-telegram-bot's ``Bot`` (:class:`~monitor.deliver.telegram.TelegramSink`)
and translates every failure into the small tree in ``errors`` that the drain loop acts on:
retry later (with or without a server-given delay), maybe delivered, or give up.
"""
