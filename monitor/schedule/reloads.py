"""Live reloads of the running service: rule edits and config edits, applied only when valid.

:class:`Reloads` is the part of :class:`monitor.schedule.service.Service` that reacts to the
watchers of :mod:`monitor.schedule.reload` (and SIGHUP): a rule set is swapped in only when it
loads completely, a config edit adds, removes or changes feeds, and everything else it changes
waits for a restart (and says so).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config import FeedSource, Settings, load_settings
from monitor.deliver.destinations import unconfigured_destinations
from monitor.errors import ConfigError, RulesError
from monitor.ops.metrics import METRICS
from monitor.schedule.reload import ChangeWatcher, rules_diff
from monitor.store import feeds as feed_store
from monitor.store import service as service_store

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.ops.notices import Notifier

# The service's own logger: reloads were always reported under it, and operators filter on it.
log = logging.getLogger("monitor.schedule.service")


class Reloads:
    """Rule and config reloads (a mixin of the service, which owns these attributes)."""

    app: App
    settings: Settings
    config_path: Path | None
    demo: bool
    sources: dict[str, FeedSource]
    notifier: Notifier
    _rules_watch: ChangeWatcher
    _config_watch: ChangeWatcher
    _rules_error: str | None

    def _hangup(self) -> None:
        log.info("SIGHUP: reloading rules and configuration")
        self._rules_watch.force()
        self._config_watch.force()
        asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        if self._rules_watch.poll():
            self.reload_rules()
        if self._config_watch.poll():
            self.reload_config()

    def _register_rules(self) -> None:
        ruleset = getattr(self.app.pipeline.scorer, "ruleset", None)
        if ruleset is not None:
            service_store.register_rules(self.app.db, [r.id for r in ruleset.rules], time.time())
            self._save_rules_state(ruleset.fingerprint, None)

    def reload_rules(self) -> bool:
        """Load and validate the rules completely; swap them in only if valid."""
        from monitor.match.rules import load_rules
        from monitor.match.score import Matcher

        old = getattr(self.app.pipeline.scorer, "ruleset", None)
        try:
            new = load_rules(self.settings.rules_path)
        except RulesError as exc:
            problems = [str(p) for p in (exc.problems or [exc])]
            for problem in problems:
                log.error("rule edit rejected, the running rules stay: %s", problem)
            METRICS.rule_reloads.labels("rejected").inc()
            self._save_rules_state(old.fingerprint if old else None, "; ".join(problems))
            self.notifier.notify(f"rules-rejected:{hash(tuple(problems))}", "Rule edit rejected",
                                 "The running rules stay in force.\n" + "\n".join(problems[:10]))
            return False
        if old is not None and new.fingerprint == old.fingerprint:
            self._save_rules_state(new.fingerprint, None)
            return True
        self.app.pipeline.scorer = Matcher(new)   # one attribute swap: atomic for the pipeline
        METRICS.rule_reloads.labels("ok").inc()
        service_store.register_rules(self.app.db, [r.id for r in new.rules], time.time())
        self._save_rules_state(new.fingerprint, None)
        log.info("rules reloaded (%s): %s", new.fingerprint[:12],
                 rules_diff(old, new) if old else "first load")
        for warning in unconfigured_destinations(new.rules, self.settings.alerts):
            log.warning("%s", warning)
        return True

    def _save_rules_state(self, fingerprint: str | None, error: str | None) -> None:
        self._rules_error = error
        service_store.set_state(self.app.db, "rules", {
            "fingerprint": fingerprint, "error": error, "path": str(self.settings.rules_path)},
            time.time())

    def reload_config(self) -> bool:
        """Apply feed additions, removals and interval changes from the config file."""
        try:
            fresh = load_settings(self.config_path)
        except ConfigError as exc:
            log.error("config edit rejected, the running configuration stays: %s", exc)
            return False
        if self.demo:
            log.info("config changed; demo mode keeps the demo feeds")
            return True
        want = {f.name: f for f in fresh.feeds if f.enabled}
        feed_store.sync_feeds(self.app.db, list(want.values()), time.time())
        feed_store.set_active(self.app.db, list(want))
        for name in self.sources.keys() - want.keys():
            log.info("feed removed feed=%s", name)
        for name, source in want.items():
            if self.sources.get(name) != source:
                change = "changed" if name in self.sources else "added"
                log.info("feed %s feed=%s url=%s", change, name, source.feed_url)
        self.sources = want    # the polling job reads it: the next due poll uses the new source
        other = [k for k in ("fetch", "extract", "alerts", "ops", "surges", "database")
                 if getattr(fresh, k) != getattr(self.settings, k)]
        if other:
            log.warning("config: changes to %s take effect after a restart", ", ".join(other))
        return True
