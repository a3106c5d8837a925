"""The SQLite mirror: schema and migrations, upserts with their cursors, run log, quarantine,
push journal, segment membership and its history, issued discount codes.

This package is the only place that performs SQLite I/O. It stores plain records
(core.records) and returns plain rows or pandas frames; it never talks to a shop. Every table's
primary key starts with `shop`, so one file serves many shops. The file holds personal data: it
is created 0600. Times are stored as UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which sorts and
compares correctly and which SQLite's date functions understand.

    schema.py    migrations and column lists
    rows.py      record -> row tuples, mirror times (pure)
    store.py     the Mirror: connection, cursors, page upserts, quarantine, journal
    runlog.py    the run log (`_runs`): start, finish, abandoned runs
    privacy.py   deleted customers erased everywhere; per-shop secrets
    segments.py  what segmentation reads and writes (summary aggregate, membership, history)
    order_summary.py  the per-customer order summary kept up to date by triggers (migration 5)
    kept_rows.py the customer columns segmentation reads, kept as BLOBs (migration 11)
    push.py      what the push planner reads and writes (state, codes, results)
"""

from loyalsync.core.mirror.push import (
    expire_codes,
    load_push_addresses,
    load_push_codes,
    load_push_customers,
    load_push_members,
    load_push_overview,
    load_push_state,
    load_value_holders,
    managed_view,
    record_redemptions,
    save_planned_codes,
    save_push_results,
)
from loyalsync.core.mirror.rows import UpsertCounts, db_time, parse_db_time
from loyalsync.core.mirror.schema import SCHEMA_VERSION
from loyalsync.core.mirror.segments import (
    load_kept_signatures,
    load_members,
    load_movements,
    load_purchases,
    load_signatures,
    load_summary,
    save_segments,
)
from loyalsync.core.mirror.store import Mirror

__all__ = [
    "SCHEMA_VERSION",
    "Mirror",
    "UpsertCounts",
    "db_time",
    "expire_codes",
    "load_kept_signatures",
    "load_members",
    "load_movements",
    "load_purchases",
    "load_push_addresses",
    "load_push_codes",
    "load_push_customers",
    "load_push_members",
    "load_push_overview",
    "load_push_state",
    "load_signatures",
    "load_summary",
    "load_value_holders",
    "managed_view",
    "parse_db_time",
    "record_redemptions",
    "save_planned_codes",
    "save_push_results",
    "save_segments",
]
