"""Run bookkeeping in one place: every pull, backfill, segmentation and push is a row in
`_runs` that is started, given its counts, and finished with an outcome, also when it fails
or is stopped.

    with recorded_run(mirror, shop, "push", as_of) as run:
        run.counts = result.counts      # read when the run ends, however it ends
        ...
        run.heartbeat()                 # after a page or batch: counts so far, at most
                                        # every HEARTBEAT_SECONDS
        run.outcome = "partial"         # default "ok"

Outcomes: ok / partial (set by the caller), refused (a plan failed a safety check),
interrupted (Ctrl-C, SIGTERM, a requested stop: anything that is not an Exception), failed.
The error text stored is capped (and the mirror redacts it). No SQL here: core.mirror's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyalsync.core.errors import PlanRejectedError
from loyalsync.core.mirror import Mirror

ERROR_LIMIT = 500


HEARTBEAT_SECONDS = 30.0


@dataclass
class RunRecord:
    id: int
    mirror: Mirror | None = field(default=None, repr=False)
    outcome: str = "ok"
    counts: Callable[[], dict[str, Any]] = field(default=dict)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _beat: float | None = field(default=None, repr=False)

    def heartbeat(self) -> bool:
        """Store the counts so far on the running row, at most every HEARTBEAT_SECONDS (a
        commit per page would slow a backfill). True when it wrote."""
        now = self.clock()
        if self.mirror is None or (self._beat is not None and now - self._beat < HEARTBEAT_SECONDS):
            return False
        if self._beat is None:  # the first call starts the interval
            self._beat = now
            return False
        self._beat = now
        self.mirror.save_run_progress(self.id, self.counts())
        return True


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, PlanRejectedError):
        return "refused"
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit, a requested stop
        return "interrupted"
    return "failed"


@contextmanager
def recorded_run(
    mirror: Mirror,
    shop: str | None,
    kind: str,
    as_of: datetime | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[RunRecord]:
    run = RunRecord(mirror.start_run(shop, kind, as_of), mirror, clock=clock)
    try:
        yield run
    except BaseException as exc:
        mirror.finish_run(run.id, outcome_of(exc), run.counts(), error=str(exc)[:ERROR_LIMIT])
        raise
    mirror.finish_run(run.id, run.outcome, run.counts())
