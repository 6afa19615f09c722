"""Scheduling: APScheduler jobs per feed and for delivery and housekeeping; live reloads."""
