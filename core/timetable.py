"""The `schedule:` section of the config (what `loyalsync daemon` runs, when, and how many
shops at once) and its checks. Pure: no clock, no I/O; `core/config.py` builds and validates
it with the rest of the file and re-exports `ScheduleConfig`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DEFAULT_WORKERS = 16


@dataclass(frozen=True)
class ScheduleConfig:
    pull_every_minutes: int = 15
    cycle_at: str = "02:00"  # daily full cycle, in `timezone`
    timezone: str = "Europe/Berlin"
    deletion_scan_day: str = "sunday"
    deletion_scan_at: str = "03:30"
    workers: int | None = None  # shops served at once by the daemon; None: from the core count

    def worker_count(self, cpus: int | None = None) -> int:
        """`workers`, or 2 per core (at most 16): a shop's job mostly waits on its shop's
        HTTP answers, so two per core keep the cores busy without piling up memory."""
        if self.workers is not None:
            return self.workers
        cores = cpus if cpus is not None else (os.cpu_count() or 1)
        return max(1, min(MAX_DEFAULT_WORKERS, 2 * cores))


def schedule_problems(schedule: ScheduleConfig) -> list[str]:
    problems = []
    for key in ("cycle_at", "deletion_scan_at"):
        value = getattr(schedule, key)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            problems.append(f"schedule.{key}: expected HH:MM (24h), got {value!r}")
    if schedule.deletion_scan_day not in DAYS:
        problems.append(
            f"schedule.deletion_scan_day: expected a weekday name, got "
            f"{schedule.deletion_scan_day!r}"
        )
    if schedule.pull_every_minutes < 1:
        problems.append("schedule.pull_every_minutes: must be at least 1")
    if schedule.workers is not None and schedule.workers < 1:
        problems.append("schedule.workers: must be at least 1 (or left out: from the core count)")
    try:
        ZoneInfo(schedule.timezone)
    except Exception:
        problems.append(f"schedule.timezone: unknown time zone {schedule.timezone!r}")
    return problems
