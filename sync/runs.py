"""Run bookkeeping in one place: every pull, backfill, segmentation and push is a row in
`_runs` that is started, given its counts, and finished with an outcome, also when it fails
or is stopped.

    with recorded_run(mirror, shop, "push", as_of) as run:
        run.counts = result.counts      # read when the run ends, however it ends
        ...
        run.outcome = "partial"         # default "ok"

Outcomes: ok / partial (set by the caller), refused (a plan failed a safety check),
interrupted (Ctrl-C, SIGTERM, a requested stop: anything that is not an Exception), failed.
The error text stored is capped (and the mirror redacts it). No SQL here: core.mirror's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyalsync.core.errors import PlanRejectedError
from loyalsync.core.mirror import Mirror

ERROR_LIMIT = 500


@dataclass
class RunRecord:
    id: int
    outcome: str = "ok"
    counts: Callable[[], dict[str, Any]] = field(default=dict)


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, PlanRejectedError):
        return "refused"
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit, a requested stop
        return "interrupted"
    return "failed"


@contextmanager
def recorded_run(
    mirror: Mirror, shop: str | None, kind: str, as_of: datetime | None = None
) -> Iterator[RunRecord]:
    run = RunRecord(mirror.start_run(shop, kind, as_of))
    try:
        yield run
    except BaseException as exc:
        mirror.finish_run(run.id, outcome_of(exc), run.counts(), error=str(exc)[:ERROR_LIMIT])
        raise
    mirror.finish_run(run.id, run.outcome, run.counts())
