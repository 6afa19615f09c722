"""``/score <url>``: read a page as ``monitor score URL`` does and explain its score, shortened:
the score against the threshold, the rules that alert (or the closest), and the terms found
most, each with a snippet of where it was found."""

from __future__ import annotations

import asyncio
import html
from collections import defaultdict

from monitor.alert.text import line_mark, one_line, safe_url
from monitor.bot.context import CommandContext
from monitor.bot.markup import esc, finish, link, plural
from monitor.bot.rulepack import require_ruleset
from monitor.errors import CommandError, MonitorError
from monitor.match.explain import snippet
from monitor.match.model import Hit, RuleResult, ScoreResult
from monitor.source.single import load_url

RULES_SHOWN = 4
TERMS_SHOWN = 6
SNIPPET_WIDTH = 45
_OPEN, _CLOSE = "\ue000", "\ue001"     # private-use marks: never in text, kept by one_line


def url_argument(args: list[str]) -> str:
    """The one http(s) URL of the command, or a refusal."""
    if not args:
        raise CommandError("usage: /score <url> (an article page, a Google News or t.me link)")
    url = safe_url(args[0])
    if url is None or len(args) > 1:
        raise CommandError(f"not a web address: {' '.join(args)[:100]!r}; "
                           "give one http(s) link: /score https://…")
    return url


async def score_command(ctx: CommandContext, args: list[str]) -> str:
    """``/score <url>``: fetch, extract and score the page with the live rules."""
    url = url_argument(args)
    require_ruleset(ctx)          # say so before fetching anything
    matcher = ctx.matcher()
    try:
        title, text = await load_url(url, ctx.settings, fetcher=ctx.fetcher,
                                     extractor=ctx.extractor)
    except MonitorError as exc:
        raise CommandError(f"cannot read {url}: {exc}") from None
    if not title.strip() and not text.strip():
        raise CommandError(f"{url} gave no text to score")
    # Scoring a long page takes a while in Python: off the event loop, so polling and delivery
    # go on (the matcher is thread-safe).
    result: ScoreResult = await asyncio.to_thread(matcher.score, title, text)
    names = matcher.ruleset.entity_names()
    return finish(explanation(result, title, text, url, names))


def explanation(result: ScoreResult, title: str, text: str, url: str | None,
                names: dict[str, str]) -> list[str]:
    """The shortened explanation, as HTML lines."""
    ranked = sorted(result.rules, key=lambda r: (not r.alert, -r.score / r.threshold, r.id))
    best = ranked[0] if ranked else None
    verdict = "🔔 <b>ALERT</b>" if result.alert else "no alert"
    head = f"<b>Score {_num(result.score)}</b>"
    if best is not None:
        head += f" / threshold {_num(best.threshold)} ({esc(best.id, 50)})"
    lines = [f"{head} — {verdict}", link(title or url or "(untitled)", url, 120)]
    shown = [r for r in ranked if r.alert or r.raw_score > 0][:RULES_SHOWN]
    if shown:
        lines += ["", "<b>Rules</b>"] + [_rule_line(r) for r in shown]
    others = len(result.rules) - len(shown)
    if others:
        lines.append(f"({plural(others, 'other rule')} found nothing)" if not shown
                     else f"(+{plural(others, 'other rule')})")
    lines += _term_lines(result.hits, {"title": title, "text": text}, names)
    if result.suppressed:
        lines.append(f"<i>{plural(len(result.suppressed), 'hit')} excluded by context</i>")
    return lines


def _rule_line(r: RuleResult) -> str:
    mark = "🔔" if r.alert else "•"
    line = (f"{mark} <b>{esc(r.id, 50)}</b>: {_num(r.score)} / {_num(r.threshold)} "
            f"[{esc(r.severity)} → {esc(r.destination, 30)}]")
    if r.missing:
        line += f"\n    not met: {esc('; '.join(r.missing), 120)} (raw {_num(r.raw_score)})"
    return line


def _term_lines(hits: list[Hit], fields: dict[str, str], names: dict[str, str]) -> list[str]:
    if not hits:
        return ["", "no rule term found in the page"]
    by_entity: dict[str, list[Hit]] = defaultdict(list)
    for h in hits:
        by_entity[h.entity].append(h)
    order = sorted(by_entity, key=lambda e: (-len(by_entity[e]), by_entity[e][0].start))
    lines = ["", f"<b>Terms found</b> ({plural(len(hits), 'hit')})"]
    for entity in order[:TERMS_SHOWN]:
        found = by_entity[entity]
        forms = list(dict.fromkeys(one_line(h.match) for h in found))[:3]
        lines.append(f"• <b>{esc(names.get(entity, entity), 50)}</b> ×{len(found)}: "
                     + ", ".join(esc(f, 40) for f in forms))
        first = found[0]
        lines.append(_snippet_line(fields[first.field], first))
    if len(order) > TERMS_SHOWN:
        lines.append(f"… and {plural(len(order) - TERMS_SHOWN, 'more term')}")
    return lines


def _snippet_line(text: str, hit: Hit) -> str:
    """The hit in its context, the matched words in bold (escaped part by part, so the bold tag
    is always whole)."""
    plain = one_line(snippet(text, hit.start, hit.end, SNIPPET_WIDTH, (_OPEN, _CLOSE)))
    before, _, rest = plain.partition(_OPEN)
    match, _, after = rest.partition(_CLOSE)
    shown = before + match + after
    return (f"    {line_mark(shown)}{html.escape(before, quote=False)}"
            f"<b>{html.escape(match, quote=False)}</b>{html.escape(after, quote=False)}")


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")
