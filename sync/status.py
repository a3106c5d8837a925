"""`loyalsync status`: last runs, cursors, quarantine counts, last push and the daemon's next
jobs, gathered from the mirror and the config. Reads only."""

from __future__ import annotations

import json
import socket
from typing import Any

from loyalsync.core.mirror.runlog import process_alive
from loyalsync.core.records import Cursor
from loyalsync.sync.context import AppContext
from loyalsync.sync.daemon import describe_jobs
from loyalsync.sync.output import iso_utc

SHOWN = (
    "new",
    "updated",
    "quarantined",
    "deleted",
    "customers",
    "entered",
    "exited",
    "applied",
    "failed",
    "codes",
)
SHOWN_ENDINGS = ("_set", "_added", "_removed")  # a push's per-slot counts


def _shown(key: str) -> bool:
    return key in SHOWN or key.endswith(SHOWN_ENDINGS)


def _summarise_counts(counts: dict[str, Any]) -> str:
    """The few counts an admin looks for, non-zero ones only."""
    parts = []
    for key, value in counts.items():
        if key == "customers" and "customers_changed" in counts:
            continue  # a push: the shop's size is noise, the changed customers are the news
        if isinstance(value, dict):
            inner = ", ".join(f"{v:,} {k}" for k, v in value.items() if v and _shown(k))
            parts.append(f"{key}: {inner or 'no changes'}")
        elif value and _shown(key):
            parts.append(f"{value:,} {key.replace('_', ' ')}")
    return "; ".join(parts) or "no changes"


def _cursor_summary(raw: str) -> str:
    cursor = Cursor.from_json(raw)
    since = iso_utc(cursor.since) if cursor.since else "the beginning"
    text = f"changes since {since}"
    if cursor.after is not None:
        text += f", pass in progress after key {cursor.after}"
    return text


def _outcome(run: dict[str, Any]) -> str:
    """A run's outcome; a run still 'running' whose process on this host is gone shows as
    abandoned (the next run that starts closes it so in the mirror; status only reads)."""
    if run["outcome"] != "running" or run.get("host") != socket.gethostname():
        return str(run["outcome"])
    pid = run.get("pid")
    return "abandoned" if pid and not process_alive(int(pid)) else "running"


def collect_status(app: AppContext, shop: str | None) -> dict[str, Any]:
    config = app.config
    shops: dict[str, Any] = {}
    for cfg in config.select(shop):
        mirror = app.existing_mirror_for(cfg)
        runs = mirror.runs(cfg.name, limit=10)
        pushes = [r for r in runs if r["kind"] == "push"]
        shops[cfg.name] = {
            "runs": [
                {
                    "id": r["id"],
                    "kind": r["kind"],
                    "started_at": r["started_at"],
                    "started": (r["started_at"] or "")[:16].replace("T", " "),
                    "finished_at": r["finished_at"],
                    "outcome": _outcome(r),
                    "counts": r["counts"],
                    "summary": _summarise_counts(r["counts"]),
                    "error": r["error"],
                }
                for r in runs
            ],
            "cursors": [
                {**c, "summary": _cursor_summary(c["cursor"]), "cursor": json.loads(c["cursor"])}
                for c in mirror.cursors(cfg.name)
            ],
            "quarantine": mirror.quarantine_counts(cfg.name),
            "last_push": (
                f"{iso_utc(pushes[0]['started_at'])} {pushes[0]['outcome']} "
                f"({_summarise_counts(pushes[0]['counts'])})"
                if pushes
                else None
            ),
            "database": config.database_for(cfg.name),
            "customers": mirror.count("customers", cfg.name),
            "orders": mirror.count("orders", cfg.name),
        }
    return {"database": config.database, "shops": shops, "next_jobs": describe_jobs(config)}
