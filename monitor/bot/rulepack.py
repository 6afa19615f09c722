"""``/rules``: the loaded rule pack in short, and the version line ``/status`` shows too.

The pack is the daemon's live one (``ctx.matcher()``, swapped on every valid reload); what the
daemon last recorded about loading it (fingerprint, time, a rejected edit) is its ``rules``
service state, the same that ``monitor status`` prints.
"""

from __future__ import annotations

from typing import Any

from monitor.bot.context import CommandContext
from monitor.bot.markup import esc, finish, plural, when
from monitor.errors import CommandError
from monitor.match.model import RuleSet
from monitor.store import service as service_store
from monitor.store.judgements import rule_precision

FINGERPRINT_CHARS = 12
_SEVERITY_MARK = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "⚪"}


def live_ruleset(ctx: CommandContext) -> RuleSet | None:
    """The rule set the daemon scores with now, None when no rules are loaded."""
    ruleset = getattr(ctx.matcher(), "ruleset", None)
    return ruleset if isinstance(ruleset, RuleSet) else None


def require_ruleset(ctx: CommandContext) -> RuleSet:
    """The live rule set, or a refusal saying why there is none."""
    ruleset = live_ruleset(ctx)
    if ruleset is None:
        reason = _recorded(ctx)
        error = reason[0].get("error") if reason else None
        raise CommandError(f"no rules are loaded (rules path: {ctx.settings.rules_path})"
                           + (f"; last error: {error}" if error else ""))
    return ruleset


def _recorded(ctx: CommandContext) -> tuple[dict[str, Any], float] | None:
    state = service_store.get_state(ctx.db, "rules")
    if state is None or not isinstance(state[0], dict):
        return None
    return state[0], float(state[1])


def version_lines(ctx: CommandContext) -> list[str]:
    """"Rules: 2 rules, version 3fa4…, loaded 10:15, 2h ago", then a rejected edit, if any."""
    ruleset, recorded = live_ruleset(ctx), _recorded(ctx)
    tz = ctx.settings.alerts.timezone
    value, at = recorded if recorded else ({}, None)
    if ruleset is None:
        head = "<b>Rules</b>: none loaded"
    else:
        head = (f"<b>Rules</b>: {plural(len(ruleset.rules), 'rule')}, version "
                f"<code>{esc(ruleset.fingerprint[:FINGERPRINT_CHARS])}</code>")
        # The state is saved at each load and each rejected edit: its time is the load's only
        # when it records this pack without an error.
        if at is not None and value.get("fingerprint") == ruleset.fingerprint \
                and not value.get("error"):
            head += f", loaded {esc(when(at, ctx.now, tz))}"
    lines = [head]
    if value.get("error") and at is not None:
        lines.append(f"⚠️ last edit rejected ({esc(when(at, ctx.now, tz))}), the running rules "
                     f"stay: {esc(value['error'], 300)}")
    return lines


async def rules_command(ctx: CommandContext, args: list[str]) -> str:
    """``/rules``: counts, every rule with its severity and threshold, judged precision."""
    lines = version_lines(ctx)
    ruleset = live_ruleset(ctx)
    if ruleset is None:
        return finish(lines + [f"rules path: {esc(ctx.settings.rules_path, 200)}"])
    s = ruleset.summary()
    lines.append(f"{plural(s['entities'], 'entity', 'entities')}, "
                 f"{plural(s['aliases'], 'alias', 'aliases')}, {plural(s['groups'], 'group')}")
    since = ctx.now - ctx.settings.analysts.noisy_days * 86400
    judged = {p.rule_id: p for p in rule_precision(ctx.db, since)}
    lines += ["", "<b>Alerting rules</b>"]
    for rule in sorted(ruleset.rules, key=lambda r: r.id):
        mark = _SEVERITY_MARK.get(rule.severity, "•")
        lines.append(f"{mark} <b>{esc(rule.id, 60)}</b> — {esc(rule.severity)}, threshold "
                     f"{rule.threshold:g} → {esc(rule.destination, 40)}")
        if rule.title and rule.title != rule.id:
            lines.append(f"    {esc(rule.title, 100)}")
        p = judged.get(rule.id)
        if p is not None:
            lines.append(f"    judged {p.judged} in {ctx.settings.analysts.noisy_days:g}d, "
                         f"{p.share:.0%} relevant")
    return finish(lines)
