"""Benchmark: how fast the mirror stores pulled pages.

Builds a fresh mirror in a temporary directory and saves synthetic customers and orders
(core.synth) the way a real pull does: pages of 500 records, each with its cursor, through
`Mirror.save_page`. Then saves the very same pages again, which measures the skip path for
unchanged rows. Only the `save_page` calls are timed; generating the records is reported apart.
Prints figures, asserts nothing.

    python -m bench.bench_mirror [--orders 1000000] [--page 500] [--dir DIR] [--profile] [--sql]

`--dir /dev/shm` takes the disk out of the figures; `--sql` shows where SQLite spends its time,
`--profile` where Python does.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import resource
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loyalsync.core.mirror import Mirror, UpsertCounts
from loyalsync.core.records import Cursor, CustomerRecord, OrderRecord
from loyalsync.core.synth import SynthSpec, iter_customers, iter_orders

SHOP = "bench"
ORDERS_PER_CUSTOMER = 3.0  # what the synthetic shop is tuned to; orders are cut at --orders

Record = CustomerRecord | OrderRecord


@dataclass
class TimedConnection:
    """Wraps the mirror's sqlite3 connection and sums the seconds spent per statement kind."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def _timed(self, method: Callable[..., Any], sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(sql, *args)
        finally:
            self.seconds[" ".join(sql.split()[:3])] += time.perf_counter() - started

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed(self.conn.execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed(self.conn.executemany, sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@dataclass
class Phase:
    name: str
    rows: int = 0
    save_seconds: float = 0.0
    wall_seconds: float = 0.0
    counts: UpsertCounts = field(default_factory=UpsertCounts)

    def line(self) -> str:
        rate = self.rows / self.save_seconds if self.save_seconds else 0.0
        c = self.counts
        return (
            f"{self.name:<30} {self.rows:>10,} {self.save_seconds:>9.2f} {rate:>11,.0f}"
            f"   new {c.new:,} / updated {c.updated:,} / unchanged {c.unchanged:,}"
        )


def _seen(record: Record) -> datetime | None:
    if isinstance(record, OrderRecord):
        return record.updated_at or record.placed_at
    return record.updated_at or record.created_at


def _pages(spec: SynthSpec, entity: str, page: int, limit: int | None) -> Iterator[list[Record]]:
    """The pages a pull would deliver, the orders cut off after `limit`."""
    source: Iterator[Sequence[Record]] = (
        iter_customers(spec, chunk=page) if entity == "customers" else iter_orders(spec, chunk=page)
    )
    left = limit if limit is not None else math.inf
    for records in source:
        if left <= 0:
            return
        batch = list(records[: int(min(left, len(records)))])
        left -= len(batch)
        yield batch


def save_pages(
    mirror: Mirror, phase: Phase, pages: Iterator[list[Record]], profiler: cProfile.Profile | None
) -> Phase:
    """Save every page with its advancing cursor, timing only `save_page`."""
    cursor = Cursor()
    started = time.perf_counter()
    entity = "orders" if phase.name.startswith("orders") else "customers"
    for batch in pages:
        seen = max((t for t in map(_seen, batch) if t is not None), default=None)
        cursor = cursor.advance(batch[-1].id, seen)
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        phase.counts += mirror.save_page(SHOP, entity, batch, cursor)
        phase.save_seconds += time.perf_counter() - t0
        if profiler:
            profiler.disable()
        phase.rows += len(batch)
    mirror.save_cursor(SHOP, entity, cursor.finished())
    phase.wall_seconds = time.perf_counter() - started
    return phase


def run(orders: int, page: int, directory: str | None, profile: bool, sql: bool) -> None:
    customers = math.ceil(orders / ORDERS_PER_CUSTOMER * 1.05) + 100  # enough to cut from
    spec = SynthSpec(customers=customers, mean_orders=ORDERS_PER_CUSTOMER)
    profiler = cProfile.Profile() if profile else None
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / "mirror.db"
        mirror = Mirror.open(path)
        timed = TimedConnection(mirror.conn) if sql else None
        if timed:
            mirror.conn = timed  # type: ignore[assignment]
        phases = []
        for name, entity, limit in (
            ("customers, first save", "customers", None),
            ("orders, first save", "orders", orders),
            ("customers, re-save unchanged", "customers", None),
            ("orders, re-save unchanged", "orders", orders),
        ):
            pages = _pages(spec, entity, page, limit)
            phases.append(save_pages(mirror, Phase(name), pages, profiler))
        items = mirror.count("order_items", SHOP)
        mirror.close()
        sizes = {f.name: f.stat().st_size for f in Path(tmp).iterdir()}
    _report(spec, page, phases, items, sizes)
    if timed:
        print("\nseconds inside SQLite per statement (all phases):")
        for statement, seconds in sorted(timed.seconds.items(), key=lambda kv: -kv[1]):
            print(f"{seconds:10.2f}  {statement}")
    if profiler:
        print("\nprofile of save_page (all phases), top 20 by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def _report(
    spec: SynthSpec, page: int, phases: list[Phase], items: int, sizes: dict[str, int]
) -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    saved = sum(p.save_seconds for p in phases)
    generated = sum(p.wall_seconds - p.save_seconds for p in phases)
    print(
        f"mirror benchmark: {phases[1].rows:,} orders ({items:,} line items), "
        f"{phases[0].rows:,} customers, pages of {page}, seed {spec.seed}"
    )
    print(f"{'phase':<30} {'rows':>10} {'seconds':>9} {'rows/s':>11}")
    for phase in phases:
        print(phase.line())
    print(f"total save_page seconds      {saved:10.2f}")
    print(f"record generation seconds    {generated:10.2f}  (not in the figures above)")
    print(f"database file                {sizes.pop('mirror.db', 0) / 1e6:10.1f} MB")
    for name, size in sizes.items():  # a WAL left behind would show here
        print(f"{name:<28} {size / 1e6:10.1f} MB")
    print(f"peak RSS                     {peak_mb:10.1f} MB")
    print(f"cpus                         {os.cpu_count():10}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_mirror", description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders to save")
    parser.add_argument("--page", type=int, default=500, help="records per page")
    parser.add_argument("--dir", default=None, help="where to put the temporary database")
    parser.add_argument("--profile", action="store_true", help="cProfile the save_page calls")
    parser.add_argument("--sql", action="store_true", help="time SQLite per statement kind")
    args = parser.parse_args(argv)
    run(args.orders, args.page, args.dir, args.profile, args.sql)


if __name__ == "__main__":
    main()
