"""Text normalisation before matching (see :mod:`monitor.normalize.arabic`)."""

from __future__ import annotations

from monitor.normalize.arabic import Normalized, normalize, normalize_text

__all__ = ["Normalized", "normalize", "normalize_text"]
