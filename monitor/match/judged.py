"""Backtesting a rule edit on judged articles: precision, recall and F1 of the live and the
edited rules against what analysts said (✅/❌), per rule too, and every judged article whose
alert the edit would change. Read-only: nothing is queued or sent.

The articles come from ``monitor labels export --jsonl`` (or any labelled set in the same
shape: ``tests/data/labelled*.jsonl``) or straight from the state database; scoring reuses the
worker processes of :mod:`monitor.match.backtest`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError
from monitor.match.backtest import CHUNK, Verdict, _map


@dataclass(frozen=True)
class Labelled:
    """One judged article: its text and whether the analysts found it relevant."""

    id: Any                         # the article id (int), or a labelled set's own id
    title: str
    text: str
    relevant: bool
    url: str | None = None
    rule: str | None = None         # the rule that alerted on it, when known
    judges: tuple[str, ...] = ()    # who judged (names), for the report


@dataclass
class Confusion:
    """One rule set's alerts against the judgements."""

    tp: int = 0        # alerted, judged relevant
    fp: int = 0        # alerted, judged not relevant
    fn: int = 0        # quiet, judged relevant
    tn: int = 0        # quiet, judged not relevant

    def add(self, alerted: bool, relevant: bool) -> None:
        if alerted:
            self.tp, self.fp = self.tp + relevant, self.fp + (not relevant)
        else:
            self.fn, self.tn = self.fn + relevant, self.tn + (not relevant)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"precision": _round(self.precision), "recall": _round(self.recall),
                "f1": _round(self.f1), "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "tn": self.tn}


@dataclass
class RuleCount:
    """A rule's alerts among the judged articles, and how many of them were relevant."""

    judged: int = 0
    relevant: int = 0

    @property
    def share(self) -> float | None:
        return self.relevant / self.judged if self.judged else None


@dataclass(frozen=True)
class Change:
    """A judged article the edit makes alert, or stop alerting."""

    article: Labelled
    verdict: Verdict


@dataclass
class JudgedReport:
    """What the edited rules would do to the judged articles."""

    source: str
    articles: int = 0
    relevant: int = 0
    live: Confusion = field(default_factory=Confusion)
    edited: Confusion = field(default_factory=Confusion)
    live_rules: dict[str, RuleCount] = field(default_factory=dict)
    edited_rules: dict[str, RuleCount] = field(default_factory=dict)
    lost: list[Change] = field(default_factory=list)        # relevant, would stop alerting
    noise: list[Change] = field(default_factory=list)       # not relevant, would newly alert
    gained: list[Change] = field(default_factory=list)      # relevant, would newly alert
    quieted: list[Change] = field(default_factory=list)     # not relevant, would stop alerting


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


# ------------------------------------------------------------------ inputs


def from_judged(judged: Iterable[Any]) -> list[Labelled]:
    """Labelled articles from :func:`monitor.store.judgements.judged_articles`."""
    return [Labelled(a.article_id, a.title, a.text, a.label == "relevant", a.url, a.rule_id,
                     tuple(name or str(uid) for name, uid, _label, _at in a.judges))
            for a in judged]


def read_labels(path: Path) -> list[Labelled]:
    """Labelled articles from a JSON-lines file: ``monitor labels export --jsonl`` or a labelled
    set (``{"id", "title", "text", "label": true|false}``). A line that cannot be used stops
    the backtest with its file and line: a CI check must not pass on half a file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise MonitorError(f"{path}: cannot read the labels: {exc}") from None
    out = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MonitorError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise MonitorError(f"{path}:{lineno}: not a JSON object")
        relevant = _relevant(record)
        if relevant is None:
            raise MonitorError(f"{path}:{lineno}: no label (expected \"label\": true|false or "
                               "\"relevant\"|\"not_relevant\")")
        title, text = record.get("title") or "", record.get("text") or ""
        if not isinstance(title, str) or not isinstance(text, str):
            raise MonitorError(f"{path}:{lineno}: title and text must be strings")
        judges = tuple(str(j.get("name") or j.get("user_id", "?"))
                       for j in record.get("judges") or () if isinstance(j, dict))
        out.append(Labelled(record.get("id", f"{path.name}:{lineno}"), title, text, relevant,
                            record.get("url"), record.get("rule"), judges))
    return out


def _relevant(record: dict[str, Any]) -> bool | None:
    for key in ("label", "relevant"):
        value = record.get(key)
        if isinstance(value, bool):
            return value
        if value in ("relevant", "not_relevant"):
            return value == "relevant"
    return None


# ------------------------------------------------------------------ the backtest


def judged_backtest(articles: list[Labelled], live: Path, candidate: Path, *, source: str,
                    workers: int = 1) -> JudgedReport:
    """Score every judged article with both rule sets and compare with the judgements."""
    report = JudgedReport(source, len(articles), sum(a.relevant for a in articles))
    # Workers see list positions, not the ids: a labelled set's ids need not be integers.
    chunks = _chunks([(i, a.title, a.text, a.url) for i, a in enumerate(articles)])
    # No more worker processes than chunks: each one compiles both rule sets before scoring.
    workers = max(1, min(workers, -(-len(articles) // CHUNK)))
    for verdicts in _map(chunks, str(live), str(candidate), workers):
        for v in verdicts:
            _count(report, articles[v.id], v)
    return report


def _chunks(rows: list[tuple[int, str, str, str | None]]) -> Iterator[list[Any]]:
    for i in range(0, len(rows), CHUNK):
        yield rows[i:i + CHUNK]


def _count(report: JudgedReport, article: Labelled, v: Verdict) -> None:
    was, now = bool(v.live_rules), bool(v.new_rules)
    report.live.add(was, article.relevant)
    report.edited.add(now, article.relevant)
    for rules, counts in ((v.live_rules, report.live_rules), (v.new_rules, report.edited_rules)):
        for rule in rules:
            c = counts.setdefault(rule, RuleCount())
            c.judged, c.relevant = c.judged + 1, c.relevant + article.relevant
    if was != now:
        kind = {(True, True): report.lost, (False, False): report.noise,
                (True, False): report.gained, (False, True): report.quieted}
        kind[(article.relevant, was)].append(Change(article, v))


def fails(report: JudgedReport) -> bool:
    """Whether the edit loses a judged-relevant alert (``--fail-on-loss``)."""
    return bool(report.lost)


# ------------------------------------------------------------------ output


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def render(report: JudgedReport) -> str:
    """The human report: the scores side by side, per rule, then every changed article."""
    from monitor.report import table

    lines = [f"backtest on {report.articles} judged articles from {report.source}: "
             f"{report.relevant} relevant, {report.articles - report.relevant} not relevant", ""]
    a, b = report.live, report.edited
    lines.append(table(["", "live", "edited"], [
        ("precision", _num(a.precision), _num(b.precision)),
        ("recall", _num(a.recall), _num(b.recall)),
        ("F1", _num(a.f1), _num(b.f1)),
        ("alerted, relevant (TP)", a.tp, b.tp),
        ("alerted, not relevant (FP)", a.fp, b.fp),
        ("quiet, relevant (FN)", a.fn, b.fn),
        ("quiet, not relevant (TN)", a.tn, b.tn)]))
    rules = sorted(set(report.live_rules) | set(report.edited_rules))
    if rules:
        rows = []
        for r in rules:
            x, y = report.live_rules.get(r, RuleCount()), report.edited_rules.get(r, RuleCount())
            rows.append((r, x.judged, x.relevant, _pct(x.share), y.judged, y.relevant,
                         _pct(y.share)))
        lines += ["", "judged alerts per rule",
                  table(["rule", "live", "relevant", "share", "edited", "relevant", "share"],
                        rows)]
    for label, items in (("judged relevant, would STOP alerting", report.lost),
                         ("judged NOT relevant, would NEWLY alert", report.noise),
                         ("judged relevant, would newly alert", report.gained),
                         ("judged not relevant, would stop alerting", report.quieted)):
        lines += ["", f"{label}: {len(items)}"]
        lines += [_change_line(c) for c in items]
    return "\n".join(lines)


def _change_line(c: Change) -> str:
    v, art = c.verdict, c.article
    rules = ",".join(v.live_rules or v.new_rules)
    who = f"; judged by {', '.join(art.judges)}" if art.judges else ""
    return (f"  #{art.id} [{v.live_score:g} -> {v.new_score:g}] {' '.join(art.title.split())}  "
            f"{art.url or ''}  ({rules}{who})")


def jsonl_lines(report: JudgedReport) -> Iterator[dict[str, Any]]:
    """One object per changed article (``change`` and ``relevant`` as in the plain backtest's
    lines), then a summary object."""
    for change, items in (("stop_alerting", report.lost), ("newly_alerting", report.noise),
                          ("newly_alerting", report.gained), ("stop_alerting", report.quieted)):
        for c in items:
            v = c.verdict
            yield {"change": change, "relevant": c.article.relevant, "id": c.article.id,
                   "title": c.article.title, "url": c.article.url, "rule": c.article.rule,
                   "live_score": v.live_score, "new_score": v.new_score,
                   "live_rules": list(v.live_rules), "new_rules": list(v.new_rules)}
    rules = sorted(set(report.live_rules) | set(report.edited_rules))
    yield {"summary": True, "source": report.source, "articles": report.articles,
           "relevant": report.relevant, "live": report.live.as_dict(),
           "edited": report.edited.as_dict(),
           "per_rule": {r: {side: {"judged": c.judged, "relevant": c.relevant,
                                   "share": _round(c.share)}
                            for side, c in (("live", report.live_rules.get(r, RuleCount())),
                                            ("edited", report.edited_rules.get(r, RuleCount())))}
                        for r in rules},
           "lost_relevant": len(report.lost), "new_not_relevant": len(report.noise),
           "gained_relevant": len(report.gained), "quieted_not_relevant": len(report.quieted)}
