"""The steps of the scale table for one platform and size, each a measured subprocess against
the simulator this process serves: backfill, incremental pull with 1% changed, segment, plan,
first push, steady-state push, mirror size; beside them the naive approach (bench.scale_naive)
measured in the same run. Returns rows of plain data; bench/scale_table.py renders them.

Cells are measured, or skipped with the reason: no figure here is invented.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import scale_proc as proc
from loyalsync.core.synth import SynthSpec

STEPS = ("backfill", "pull", "segment", "plan", "push-first", "push-steady", "mirror")
LABELS = {
    "backfill": "backfill",
    "pull": "pull, 1% changed",
    "segment": "segment (all + predict)",
    "plan": "plan",
    "push-first": "push, first",
    "push-steady": "push, steady state",
    "mirror": "mirror size",
}
CHANGED = 0.01
MEAN_ORDERS = 5.0
SEED = 42


@dataclass
class Row:
    """One cell group of the table: loyalsync's figures and the naive one's, or a skip."""

    platform: str
    customers: int
    step: str
    status: str = "measured"  # measured | skipped | failed
    seconds: float | None = None
    peak_mb: float | None = None
    requests: int | None = None  # reads for pulls and plans, writes for pushes
    minimum: int | None = None
    other: int | None = None  # writes of a pull, reads of a push
    naive_seconds: float | None = None
    naive_requests: int | None = None
    naive_peak_mb: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ShopRun:
    """Every step for one platform at one size, in order, against one simulator."""

    def __init__(self, platform: str, customers: int, latency: float, work: Path) -> None:
        self.platform, self.customers, self.latency = platform, customers, latency
        self.work = work / f"{platform}_{customers}"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.rows: list[Row] = []
        self.sim: Any = None
        self.shift = [timedelta(days=-1)]  # the shop's clock: a day behind ours, then ours
        self.days = 0
        self.naive_pull_skipped = ""  # why the naive pull is not run (the rest of it still is)

    # -- running ------------------------------------------------------------------------
    def cli(self, *args: str) -> proc.Measured:
        self.sim.reset_logs()
        config = str(self.work / "loyalsync.yaml")
        return proc.run_measured([*proc.loyalsync_argv(), "--config", config, *args], cwd=self.work)

    def naive(self, *args: str, credentials: tuple[str, ...] = ()) -> proc.Measured:
        self.sim.reset_logs()
        root = str(Path(__file__).resolve().parent.parent)  # where `bench` imports from
        env = {**os.environ, "PYTHONPATH": root, "NAIVE_CREDENTIALS": " ".join(credentials)}
        argv = [sys.executable, "-m", "bench.scale_naive", *args]
        return proc.run_measured(argv, cwd=self.work, env=env)

    def row(self, step: str, run: proc.Measured, **figures: Any) -> Row:
        reads, writes = proc.split_requests(self.sim.request_log)
        push = step.startswith("push")
        row = Row(self.platform, self.customers, step, seconds=run.seconds, peak_mb=run.peak_mb,
                  requests=writes if push else reads, other=reads if push else writes,
                  **figures)  # fmt: skip
        if run.code not in (0, 4):  # 4: partial success, some records quarantined or rejected
            row.status = "failed"
            row.note = f"exit {run.code}: {run.stderr.strip().splitlines()[-1:]}"
        elif run.code == 4:
            row.note = "exit 4: partial success (some records quarantined or rejected)"
        self.rows.append(row)
        return row

    def run(self, steps: tuple[str, ...], naive: bool) -> list[Row]:
        end = proc.history_end(datetime.now(UTC))
        spec = SynthSpec(customers=self.customers, seed=SEED, as_of=end, mean_orders=MEAN_ORDERS)
        clock = lambda: datetime.now(UTC) + self.shift[0]  # noqa: E731
        self.sim = proc.start_simulator(self.platform, spec, self.latency, clock=clock)
        try:
            proc.write_config(self.work, self.platform, self.sim)
            self._steps(steps, naive)
        finally:
            self.sim.stop()
        return sorted(self.rows, key=lambda r: STEPS.index(r.step))

    def _steps(self, steps: tuple[str, ...], naive: bool) -> None:
        """Day 0 (the shop's clock a day behind ours): backfill, 1% changes, pull, segment,
        plan, first push. Day 1 (the shop's clock at ours): 1% changes, pull, segment, plan,
        steady-state push. Only the named steps become rows."""
        customers, orders = proc.shop_counts(self.platform, self.sim)
        rules = proc.redemptions(self.platform, self.sim)
        minimum, how = proc.minimum_backfill(self.platform, customers, orders, rules)
        row = self.row("backfill", self.cli("-q", "backfill"), minimum=minimum, note=how)
        if naive and self.naive_pull_skipped:
            row.note += f"; naive pull not run: {self.naive_pull_skipped}"
        elif naive:
            self.naive_pull(row)
        self.pull_changes(customers, orders, record="pull" in steps)
        t0 = self.shop_now()
        self.segment(t0, naive, record="segment" in steps)
        plan = self.plan(t0, record="plan" in steps)
        if "push-first" in steps or "push-steady" in steps:
            self.push("push-first", t0, plan)
        if "push-steady" in steps:
            self.shift[0] = timedelta(0)  # a day later
            self.pull_changes(customers, orders, record=False)
            t1 = self.shop_now()
            self.segment(t1, naive=False, record=False)
            self.push("push-steady", t1, self.plan(t1, record=False))
        self.mirror_row()

    def shop_now(self) -> str:
        return (datetime.now(UTC) + self.shift[0]).replace(microsecond=0).isoformat()

    def pull_changes(self, customers: int, orders: int, *, record: bool) -> None:
        changed, new_orders = self.change(orders)
        run = self.cli("-q", "pull")
        if not record:
            return
        low = proc.minimum_incremental(self.platform, customers, len(changed), len(new_orders))
        note = f"{len(changed):,} customers changed, {len(new_orders):,} new orders"
        if self.platform == "jtl":
            note += "; JTL re-reads every customer and the orders of the last 30 days"
        self.row("pull", run, minimum=low, note=note)

    def naive_pull(self, row: Row) -> None:
        run = self.naive("pull", self.platform, self.sim.url, credentials=self._credentials())
        row.naive_seconds, row.naive_peak_mb = run.seconds, run.peak_mb
        row.naive_requests = len(self.sim.request_log)
        if run.code:
            row.note += f"; naive client failed: {run.stderr.strip().splitlines()[-1:]}"

    def _credentials(self) -> tuple[str, ...]:
        if self.platform == "shopware":
            return (self.sim.client_id, self.sim.client_secret)
        if self.platform == "prestashop":
            return (self.sim.key,)
        return (self.sim.api.api_key,)

    def segment(self, as_of: str, naive: bool, *, record: bool = True) -> None:
        run = self.cli("-q", "segment", "--as-of", as_of)
        if not record:
            return
        row = self.row("segment", run, minimum=0)
        if naive:
            self.naive_segment(row, self.work / "loyalsync.db")

    def naive_segment(self, row: Row, mirror: Path) -> None:
        run = self.naive("segment", str(mirror), proc.SHOP)
        row.naive_seconds, row.naive_peak_mb = run.seconds, run.peak_mb
        row.note = "; ".join(filter(None, [row.note, "naive: orders in pandas, RFM + ABC only"]))
        if run.code:
            row.note += f"; naive failed: {run.stderr.strip().splitlines()[-1:]}"

    def plan(self, as_of: str, *, record: bool) -> dict[str, Any]:
        run = self.cli("plan", "--as-of", as_of, "--json")
        data = json.loads(run.stdout)[proc.SHOP] if run.code == 0 else {"changes": []}
        (self.work / f"plan-{as_of[:10]}.json").write_text(run.stdout, encoding="utf-8")
        if record:
            ops = len(data["changes"])
            self.row("plan", run, note=f"{ops:,} operations planned (plan --json to a file)")
        return data

    def push(self, step: str, as_of: str, plan: dict[str, Any]) -> None:
        minimum, naive = proc.minimum_writes(self.platform, plan)
        run = self.cli("-q", "push", "--as-of", as_of, "--force")
        self.row(step, run, minimum=minimum, naive_requests=naive,
                 note=f"{len(plan['changes']):,} ops; naive: one request per customer write, "
                 "counted from the plan (not replayed)")  # fmt: skip

    def change(self, orders: int) -> tuple[list[Any], list[Any]]:
        """A day in the shop: 1% of the customers change, 1% as many orders as exist arrive."""
        n = max(1, math.ceil(orders * CHANGED))
        self.days += 1  # another day, other customers
        seeds = (2 * self.days, 2 * self.days + 1)
        shop = self.sim.store if self.platform == "jtl" else self.sim
        return shop.touch_customers(CHANGED, seeds[0]), shop.add_orders(n, seeds[1])

    def mirror_row(self) -> None:
        size = proc.mirror_mb(self.work / "loyalsync.db")
        self.rows.append(Row(self.platform, self.customers, "mirror", note=f"{size:,.1f} MB"))


def skipped(platform: str, customers: int, steps: tuple[str, ...], why: str) -> list[Row]:
    return [Row(platform, customers, s, status="skipped", note=why) for s in steps]
