"""The scale table: rows of bench.scale_steps rendered as one aligned text table with a header
(cores, load average, date), and the same as JSON under bench/out/. Pure formatting, no I/O
besides `save_json`."""

from __future__ import annotations

import json
import os
import platform as host
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.scale_steps import LABELS, Row

COLUMNS = (
    ("platform", "<"), ("customers", ">"), ("step", "<"), ("status", "<"), ("s", ">"),
    ("peak MB", ">"), ("requests", ">"), ("minimum", ">"), ("x min", ">"), ("naive s", ">"),
    ("naive req", ">"), ("naive MB", ">"), ("naive/ours s", ">"), ("naive/ours req", ">"),
    ("note", "<"),
)  # fmt: skip


def header(latency: float) -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "load_average": [round(v, 2) for v in load],
        "python": host.python_version(),
        "latency_ms": round(latency * 1000),
    }


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _ratio(top: float | None, bottom: float | None) -> str:
    if top is None or bottom is None or bottom == 0:
        return "-"
    return f"{top / bottom:,.1f}x"


def cells(row: Row) -> list[str]:
    measured = row.status == "measured"
    return [
        row.platform,
        f"{row.customers:,}",
        LABELS.get(row.step, row.step),
        row.status,
        _num(row.seconds),
        _num(row.peak_mb, 0),
        _num(row.requests) if measured else "-",
        _num(row.minimum),
        _ratio(row.requests, row.minimum) if row.minimum else "-",
        _num(row.naive_seconds),
        _num(row.naive_requests),
        _num(row.naive_peak_mb, 0),
        _ratio(row.naive_seconds, row.seconds),
        _ratio(row.naive_requests, row.requests),
        row.note,
    ]


def render(rows: Sequence[Row], head: dict[str, Any]) -> str:
    """One aligned table, the header line above it, the legend below."""
    table = [[name for name, _ in COLUMNS], *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    lines = []
    for line in table:
        parts = [
            f"{text:{align}{width}}"
            for text, (_, align), width in zip(line[:-1], COLUMNS[:-1], widths, strict=True)
        ]
        lines.append("  ".join([*parts, line[-1]]).rstrip())
    load = ", ".join(f"{v:.2f}" for v in head["load_average"])
    title = (
        f"loyalsync scale table, {head['date']}: {head['cores']} cores, load average {load} "
        f"(a shared machine: timings taken under load; request counts and sizes are exact), "
        f"python {head['python']}, {head['latency_ms']} ms latency per request"
    )
    return "\n".join([title, "", *lines, "", LEGEND])


LEGEND = """\
requests: reads for backfill, pull and plan; writes for pushes (from the simulator's log).
minimum: pulls, pages of the API's maximum size (Shopware 500, JTL 1000, PrestaShop its default
  1000; PrestaShop adds one address read per customer page and its redemptions as pages of
  their own: order cart rules and the codes they name; JTL one line-item request per order);
  incremental, the changed rows so paged (JTL v1: a full customer scan); pushes,
  Shopware ceil(operations / 200) per Sync API call, PrestaShop and JTL one request per value
  created, per customer whose memberships change and per code.
naive: offset pages of 50, JSON parsed only (a lower bound; JTL's line items too, one request
  per order as for loyalsync); per-order pandas for segments (every order loaded, RFM + ABC
  only); one write request per customer operation (counted from the plan, not replayed).
peak MB: ru_maxrss of the step's own process (os.wait4); every step is a `loyalsync` run."""


def save_json(rows: Sequence[Row], head: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**head, "rows": [r.to_dict() for r in rows]}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
