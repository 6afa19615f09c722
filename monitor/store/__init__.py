"""State in SQLite (the default) or PostgreSQL. Every SQL statement of the program is in this
package, one module per concern:

``db`` (opening either engine, migrations, transactions), ``postgres`` (the PostgreSQL driver:
pool, SQL translation, column types), ``leases`` (replicas: feed leases, the leader lock,
heartbeats), ``transfer`` (whole-state export and import), ``feeds`` (sources, validators, health, back-off),
``articles`` (items, sightings, extraction and score results), ``stories`` (story rows and the
in-memory band index), ``mentions`` (entity mention aggregates), ``surges`` (surge rows),
``digest`` (period summaries), ``outbox`` (queued messages), ``service`` (service state, rule
statistics), ``hosts`` (circuit breakers), ``maintenance`` (pruning, checkpoints, VACUUM),
``corpus`` (stored texts for backtests), ``search`` (the full-text index: kept in step,
backfilled, queried). Callers decide what to compute and when; these functions
only read or persist, taking the connection or :class:`~monitor.store.db.Database` the caller has.
"""
