"""``/mute <entity> <duration>`` and ``/unmute <entity>``: hold the alerts about an entity for a
while (an alert is held when every entity it names is muted; see
:func:`monitor.store.judgements.mute_entity`). ``/mute`` alone lists the mutes in force.

The entity is named as the analyst knows it: its id (``wagner``), its display name ("Wagner
Group") or any alias (فاغنر), compared after the matcher's normalisation (case, diacritics,
alef forms). An unknown name is answered with the closest ones.
"""

from __future__ import annotations

import difflib

from monitor.bot.context import CommandContext
from monitor.bot.markup import esc, finish, plural, when
from monitor.bot.rulepack import live_ruleset, require_ruleset
from monitor.errors import CommandError
from monitor.match.model import Entity, RuleSet
from monitor.match.score import HELPER_TYPES
from monitor.normalize import normalize_text
from monitor.store.judgements import mute_entity, muted_entities, unmute_entity
from monitor.trends.digest import parse_span

MAX_MUTE_DAYS = 30
CANDIDATES = 5
USAGE = "usage: /mute <entity> <duration>, e.g. /mute wagner 6h (at most 30d); /mute alone lists"


def _key(text: str) -> str:
    return " ".join(normalize_text(text).casefold().split())


def _names(e: Entity) -> list[str]:
    return [e.id, e.name, *e.aliases]


def resolve_entity(ruleset: RuleSet, query: str) -> Entity:
    """The entity ``query`` names (id, display name or alias), or a refusal listing the closest
    ones. Helper entities (parts of composed concepts, contexts) are never in alerts: refused."""
    want = _key(query)
    exact = {e.id: e for e in ruleset.entities if any(_key(n) == want for n in _names(e))}
    reported = {i: e for i, e in exact.items() if e.type not in HELPER_TYPES}
    if len(reported) == 1:
        return next(iter(reported.values()))
    if len(reported) > 1:
        raise CommandError(f"{query!r} names several entities: "
                           + ", ".join(_label(e) for e in reported.values())
                           + "; give the id")
    if exact:
        raise CommandError(f"{query!r} is a helper entity ({next(iter(exact.values())).type}): "
                           "it is never named in an alert; mute the entity it builds instead")
    raise CommandError(f"no entity {query!r} in the rules." + _closest(ruleset, want))


def _closest(ruleset: RuleSet, want: str) -> str:
    keys: dict[str, Entity] = {}
    for e in ruleset.entities:
        if e.type not in HELPER_TYPES:
            for n in _names(e):
                keys.setdefault(_key(n), e)
    found: dict[str, Entity] = {}
    for k in difflib.get_close_matches(want, list(keys), n=CANDIDATES * 3, cutoff=0.6):
        found.setdefault(keys[k].id, keys[k])
    for k, e in keys.items():          # a part of a name ("haftar" for "Khalifa Haftar")
        if want and len(want) >= 3 and want in k:
            found.setdefault(e.id, e)
    if not found:
        return " /rules lists the rules; entity ids are in the rule files."
    return " Did you mean: " + ", ".join(_label(e) for e in list(found.values())[:CANDIDATES]) + "?"


def _label(e: Entity) -> str:
    return f"{e.name} ({e.id})" if e.name != e.id else e.id


def duration_argument(text: str) -> float:
    """Seconds in "6h", "2d", "90m" (at most 30 days), or a refusal."""
    try:
        seconds = parse_span(text)
    except ValueError:
        raise CommandError(f"not a duration: {text[:40]!r}; write it like 90m, 6h or 2d. "
                           + USAGE) from None
    if seconds > MAX_MUTE_DAYS * 86400:
        raise CommandError(f"{text} is too long: a mute lasts at most {MAX_MUTE_DAYS}d "
                           "(edit the rules to stop an entity for good)")
    return seconds


async def mute_command(ctx: CommandContext, args: list[str]) -> str:
    """``/mute <entity> <duration>``; ``/mute`` alone lists the mutes in force."""
    if not args:
        return _listing(ctx)
    if len(args) < 2:
        raise CommandError(USAGE)
    seconds = duration_argument(args[-1])
    entity = resolve_entity(require_ruleset(ctx), " ".join(args[:-1]))
    until = ctx.now + seconds
    mute_entity(ctx.db, entity.id, until=until, judge=ctx.judge, now=ctx.now)
    return (f"🔕 Muted <b>{esc(entity.name, 60)}</b> (<code>{esc(entity.id)}</code>) for "
            f"{esc(args[-1].strip().lower())}, until {esc(when(until, ctx.now, ctx.settings.alerts.timezone))}"
            f".\nAlerts naming only muted entities are held; /unmute {esc(entity.id)} ends it.")


async def unmute_command(ctx: CommandContext, args: list[str]) -> str:
    """``/unmute <entity>``: end a mute early."""
    if not args:
        raise CommandError("usage: /unmute <entity> (/mute lists the mutes in force)")
    query = " ".join(args)
    muted = muted_entities(ctx.db, ctx.now)
    # An entity muted before a rule edit removed it can still be unmuted by its id.
    entity_id = query.strip() if query.strip() in muted else None
    if entity_id is None:
        entity_id = resolve_entity(require_ruleset(ctx), query).id
    ruleset = live_ruleset(ctx)
    name = (ruleset.entity_names() if ruleset else {}).get(entity_id, entity_id)
    if not unmute_entity(ctx.db, entity_id):
        return f"{esc(name, 60)} (<code>{esc(entity_id)}</code>) was not muted."
    return f"🔔 Unmuted <b>{esc(name, 60)}</b> (<code>{esc(entity_id)}</code>): its alerts are no longer held."


def _listing(ctx: CommandContext) -> str:
    mutes = muted_entities(ctx.db, ctx.now)
    if not mutes:
        return "No entity is muted.\n" + esc(USAGE)
    ruleset = live_ruleset(ctx)
    names = ruleset.entity_names() if ruleset else {}
    tz = ctx.settings.alerts.timezone
    lines = [f"🔕 <b>Muted</b>: {plural(len(mutes), 'entity', 'entities')}"]
    for entity, (until, who) in mutes.items():
        lines.append(f"• <b>{esc(names.get(entity, entity), 60)}</b> (<code>{esc(entity)}</code>) "
                     f"until {esc(when(until, ctx.now, tz))}"
                     + (f", by {esc(who, 40)}" if who else ""))
    lines.append("/unmute &lt;entity&gt; ends one")
    return finish(lines)
