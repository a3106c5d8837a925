"""Benchmark: JTL-Wawi (API v1) backfill and a daily 1% incremental pull in a fresh process.

    python -m bench.bench_jtl [--customers 100000] [--orders-per-customer 3] [--latency 0.02]
                              [--page-size 500] [--workers 4] [--fraction 0.1]

Everything runs through `sync.pull.pull_shop` against the simulator over real sockets with
`--latency` seconds per request. v1 has no changed-since filter for customers (every pull is a
full scan) and line items cost one request per order (N+1), fetched `--workers` at a time.
The backfill is measured in full for the newest `--fraction` of the orders (a real backfill
with `since`; customers are always scanned in full) and its order part extrapolated to every
order: printed as such. Then, a day later with 1% of the customers changed and 1% new orders,
an incremental pull runs in a fresh process (new connector, reopened mirror): line items are
fetched only for orders the mirror does not hold unchanged. Prints figures only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from loyalsync.connectors import build_connector
from loyalsync.connectors.jtl.simulator import JtlSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.pull import pull_shop


def kinds(sim: JtlSimulator) -> Counter[str]:
    """Requests by kind: customer pages, order pages, line items, other."""
    counted: Counter[str] = Counter()
    for r in sim.request_log:
        kind = ("line items" if r.path.endswith("/lineitems") else
                "order pages" if r.path.endswith("/salesOrders") else
                "customer pages" if r.path.endswith("/customers") else "other")  # fmt: skip
        counted[kind] += 1
    return counted


def timed_pull(
    sim: JtlSimulator, shop: ShopConfig, db: Path, **kw: Any
) -> tuple[Counter[str], float, float]:
    """One pull in a fresh process's state (a new connector, a reopened mirror): requests by
    kind, seconds in all, seconds until the last customer page was saved."""
    sim.reset_logs()
    began = time.perf_counter()
    marks = {"customers": began}

    def mark(entity: str, page: Any, counts: Any) -> None:
        marks[entity] = time.perf_counter()

    with Mirror.open(db) as mirror:
        pull_shop(build_connector(shop), mirror, shop, on_page=mark, **kw)
    return kinds(sim), time.perf_counter() - began, marks["customers"] - began


def line(label: str, counted: Counter[str], seconds: float) -> str:
    parts = ", ".join(f"{k} {v:,}" for k, v in sorted(counted.items()))
    return f"{label}: {sum(counted.values()):,} requests ({parts}), {seconds:.0f} s"


def run(customers: int, per_customer: float, latency: float, page_size: int, workers: int,
        fraction: float) -> None:  # fmt: skip
    started = time.perf_counter()
    sim = JtlSimulator.from_spec(SynthSpec(customers=customers, seed=42, mean_orders=per_customer))
    orders = sorted(sim.store.visible_orders(), key=lambda o: o.created)
    print(f"shop built in {time.perf_counter() - started:.0f} s: {len(sim.customers):,} "
          f"customers, {len(orders):,} orders; latency {latency * 1000:.0f} ms, page size "
          f"{page_size}, {workers} line-item requests at once")  # fmt: skip
    with sim, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        shop = ShopConfig(name="bench", platform="jtl", url=sim.url,
                          credentials={"api_key": sim.api.api_key}, requests_per_second=10_000,
                          page_size=page_size, options={"line_item_workers": workers})  # fmt: skip
        sim.latency = latency
        # the backfill of the newest `fraction` of orders (since = that order's time + 30 days:
        # a backfill re-reads recent_orders_days before `since` like any order pass)
        cut = orders[min(len(orders) - 1, int(len(orders) * (1 - fraction)))].created
        back, seconds, customer_s = timed_pull(
            sim, shop, db, backfill=True, since=cut + timedelta(days=30)
        )
        print(line(f"backfill, measured (all customers, newest {fraction:.0%} of orders)",
                   back, seconds))  # fmt: skip
        scale = len(orders) / max(1, back["line items"])
        order_requests = round((back["order pages"] + back["line items"]) * scale)
        estimate = customer_s + (seconds - customer_s) * scale
        print(f"backfill, extrapolated to all {len(orders):,} orders (order part x{scale:.2f}): "
              f"{back['customer pages'] + back['other'] + order_requests:,} requests, "
              f"~{estimate:.0f} s (customers {customer_s:.0f} s measured, orders "
              f"{(seconds - customer_s) * scale:.0f} s scaled)")  # fmt: skip

        newest = orders[-1].created
        sim.clock = lambda: newest + timedelta(days=1)  # a day later: 1% changed, 1% new
        sim.store.touch_customers(0.01, seed=1)
        sim.store.add_orders(max(1, len(orders) // 100), seed=2)
        daily, seconds, _ = timed_pull(sim, shop, db, deletion_scan=False)
        print(line("daily pull, fresh process (new connector, reopened mirror)", daily, seconds))
        again, seconds, _ = timed_pull(sim, replace(shop), db, deletion_scan=False)
        print(line("next pull, nothing changed, fresh process", again, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders-per-customer", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--fraction", type=float, default=0.1)
    args = parser.parse_args()
    run(args.customers, args.orders_per_customer, args.latency, args.page_size, args.workers,
        args.fraction)  # fmt: skip


if __name__ == "__main__":
    main()
