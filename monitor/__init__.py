"""Arabic press monitor: polls Arabic news feeds, scores articles against YAML rules, alerts on Telegram.

The data flows through sub-packages named after each stage:
source → fetch → parse → extract → normalize → match → dedupe → alert → deliver,
with ``store`` (SQLite state) and ``schedule`` around them. ``pipeline`` strings them together.
"""

__version__ = "0.1.0"
