"""Readable explanations of a score (``monitor score``): rules with thresholds, hits in the
original spelling, each with a snippet of its context.

Alert messages build their own snippets (:mod:`monitor.alert.build`).
"""

from __future__ import annotations

import re

from monitor.match.model import Hit, ScoreResult

__all__ = ["snippet", "explain", "MARKS"]

MARKS = ("«", "»")
_SPACES = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text)


def snippet(text: str, start: int, end: int, width: int = 60,
            marks: tuple[str, str] = MARKS) -> str:
    """``text[start:end]`` marked with ``marks`` and up to ``width`` characters either side.

    Whitespace runs become single spaces; an ellipsis shows where the context was cut.
    """
    start, end = max(0, start), min(len(text), end)
    left = max(0, start - width)
    right = min(len(text), end + width)
    # Widen to whole words so the context does not begin or end in the middle of one.
    while left > 0 and not text[left - 1].isspace() and start - left < width + 15:
        left -= 1
    while right < len(text) and not text[right].isspace() and right - end < width + 15:
        right += 1
    before = _squash(text[left:start]).lstrip()
    after = _squash(text[end:right]).rstrip()
    lead = "…" if left > 0 else ""
    tail = "…" if right < len(text) else ""
    return f"{lead}{before}{marks[0]}{_squash(text[start:end])}{marks[1]}{after}{tail}"


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def explain(result: ScoreResult, title: str, text: str, width: int = 50,
            max_hits: int = 40) -> str:
    """Multi-line explanation: verdict, each rule against its threshold, each hit with context."""
    lines = [f"score {_fmt(result.score)}  {'ALERT' if result.alert else 'no alert'}"]
    for r in result.rules:
        mark = "ALERT" if r.alert else "-"
        lines.append(f"  rule {r.id}: {_fmt(r.score)} / threshold {_fmt(r.threshold)}  {mark}"
                     f"  [{r.severity} -> {r.destination}]")
        if r.missing:
            lines.append(f"    not met: {'; '.join(r.missing)} (raw {_fmt(r.raw_score)})")
        if r.entities:
            lines.append(f"    entities: {', '.join(r.entities)}")
    fields = {"title": title, "text": text}
    lines.append(f"hits ({len(result.hits)}):")
    for h in result.hits[:max_hits]:
        lines.append(f"  {h.entity} <- {h.match!r} {_how(h)} [{h.field} {h.start}:{h.end}]")
        for part in h.parts:
            lines.append(f"      part {part.entity} <- {part.match!r} {_how(part)}")
        lines.append("    " + snippet(fields[h.field], h.start, h.end, width))
    if len(result.hits) > max_hits:
        lines.append(f"  … {len(result.hits) - max_hits} more")
    if result.suppressed:
        lines.append(f"excluded by context ({len(result.suppressed)}):")
        for h, why in result.suppressed[:max_hits]:
            lines.append(f"  {h.entity} <- {h.match!r} [{h.field} {h.start}:{h.end}]: {why}")
    return "\n".join(lines)


def _how(h: Hit) -> str:
    """How a hit was found: composed from parts, or which alias, inflected or variant."""
    if h.parts:
        return f"composed of {h.alias}"
    how = " (variant)" if h.variant else " (inflected)" if h.inflected else ""
    return f"as {h.alias!r}{how}"
