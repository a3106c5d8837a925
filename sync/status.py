"""`loyalsync status`: last runs, cursors, quarantine counts, last push and the daemon's next
jobs, gathered from the mirror and the config. Reads only."""

from __future__ import annotations

import json
from typing import Any

from core.records import Cursor
from sync.context import AppContext


def _summarise_counts(counts: dict[str, Any]) -> str:
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} {v}" for k, v in value.items() if v)
            parts.append(f"{key}: {inner or 'nothing'}")
        else:
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


def _cursor_summary(raw: str) -> str:
    cursor = Cursor.from_json(raw)
    since = cursor.since.isoformat(timespec="seconds") if cursor.since else "the beginning"
    text = f"changes since {since}"
    if cursor.after is not None:
        text += f", pass in progress after key {cursor.after}"
    return text


def collect_status(app: AppContext, shop: str | None) -> dict[str, Any]:
    config = app.config
    mirror = app.mirror
    shops: dict[str, Any] = {}
    for cfg in config.select(shop):
        runs = mirror.runs(cfg.name, limit=10)
        pushes = [r for r in runs if r["kind"] == "push"]
        shops[cfg.name] = {
            "runs": [
                {
                    "id": r["id"],
                    "kind": r["kind"],
                    "started_at": r["started_at"],
                    "finished_at": r["finished_at"],
                    "outcome": r["outcome"],
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
                f"{pushes[0]['started_at']} {pushes[0]['outcome']} "
                f"({_summarise_counts(pushes[0]['counts'])})"
                if pushes
                else None
            ),
            "customers": mirror.count("customers", cfg.name),
            "orders": mirror.count("orders", cfg.name),
        }
    from sync.daemon import describe_jobs

    return {"database": config.database, "shops": shops, "next_jobs": describe_jobs(config)}
