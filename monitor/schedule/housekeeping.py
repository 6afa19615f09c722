"""The housekeeping job: old article text pruned, the story index trimmed, Google News link
resolutions past their keeping time forgotten, the database kept compact and its write-ahead
log checkpointed."""

from __future__ import annotations

import asyncio
import logging
import time

from monitor.config import Settings
from monitor.dedupe import bands
from monitor.store import maintenance
from monitor.store.db import Database
from monitor.store.links import prune_links

__all__ = ["housekeeping", "prune_old_text"]

log = logging.getLogger(__name__)


async def housekeeping(db: Database, settings: Settings) -> None:
    """One run of the job (the service schedules it every ``ops.housekeeping_interval_seconds``)."""
    pruned = prune_old_text(db, settings.ops.retention_days, time.time())
    if pruned:
        log.info("housekeeping: pruned the text of %d articles older than %g days", pruned,
                 settings.ops.retention_days)
        await asyncio.to_thread(maintenance.vacuum, settings.database)
    with db.transaction() as conn:
        dropped = bands.prune(conn, time.time() - settings.stories.window_seconds)
    log.debug("housekeeping: %d story index entries past the window dropped", dropped)
    forgotten = prune_links(db, settings.sources.resolutions_kept_since(time.time()))
    log.debug("housekeeping: %d resolved links past their keeping time forgotten", forgotten)
    maintenance.checkpoint(db)
    maintenance.optimize(db)


def prune_old_text(db: Database, days: float, now: float) -> int:
    """Drop the text (not the row: it still dedupes) of articles older than ``days``."""
    return maintenance.drop_text_before(db, now - days * 86400)
