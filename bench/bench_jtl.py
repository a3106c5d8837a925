"""Benchmark: JTL-Wawi (API v1) backfill and a daily 1% incremental pull from the simulator.

    python -m bench.bench_jtl [--customers 100000] [--orders-per-customer 3]
                              [--latency 0.02] [--page-size 500] [--sample 1000]

v1 has no changed-since filter for customers (every pull is a full scan) and line items cost
one request per order (N+1). Customer scans and order list pages are pulled for real through
`sync.pull.pull_entity` / the connector against the simulator with `--latency` seconds per
request; line items are measured on `--sample` orders and extrapolated to every order that
needs them (printed as such: a full N+1 run at 20 ms would take hours). Prints figures only.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from loyalsync.connectors import build_connector
from loyalsync.connectors.jtl.simulator import JtlSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.pull import pull_entity


def timed(sim: JtlSimulator, work: Any) -> tuple[Any, int, float]:
    sim.reset_logs()
    began = time.perf_counter()
    result = work()
    return result, len(sim.request_log), time.perf_counter() - began


def list_orders(connector: Any, since: str | None) -> list[str]:
    params = {"createdSince": since} if since else {}
    ids: list[str] = []
    for _, data in connector._pages("/salesOrders", params, 1):
        ids += [str(o["Id"]) for o in data["Items"]]
    return ids


def items_cost(sim: JtlSimulator, connector: Any, ids: list[str], sample: int) -> float:
    """Seconds per line-item request, measured on `sample` orders."""
    chosen = ids[:: max(1, len(ids) // sample)][:sample]
    _, _, seconds = timed(
        sim, lambda: [connector.get_json(f"/salesOrders/{oid}/lineitems") for oid in chosen]
    )
    return seconds / max(1, len(chosen))


def run(customers: int, per_customer: float, latency: float, page_size: int, sample: int) -> None:
    started = time.perf_counter()
    spec = SynthSpec(customers=customers, seed=42, mean_orders=per_customer)
    sim = JtlSimulator.from_spec(spec, latency=latency)
    built = time.perf_counter() - started
    print(f"shop built in {built:.1f} s: {len(sim.customers):,} customers, "
          f"{len(sim.store.orders):,} orders, latency {latency * 1000:.0f} ms")  # fmt: skip
    with sim, tempfile.TemporaryDirectory() as tmp:
        shop = ShopConfig(name="bench", platform="jtl", url=sim.url,
                          credentials={"api_key": sim.api.api_key},
                          requests_per_second=10_000, page_size=page_size)  # fmt: skip
        connector = build_connector(shop)
        mirror = Mirror.open(Path(tmp) / "bench.db")
        _, c_req, c_sec = timed(sim, lambda: pull_entity(connector, mirror, shop.name, "customers"))
        ids, o_req, o_sec = timed(sim, lambda: list_orders(connector, None))
        per_item = items_cost(sim, connector, ids, sample)
        total_req = c_req + o_req + len(ids)
        total_sec = c_sec + o_sec + per_item * len(ids)
        print(f"backfill customers: {c_req:,} requests, {c_sec:.1f} s (measured)")
        print(f"backfill order pages: {o_req:,} requests, {o_sec:.1f} s (measured)")
        print(f"backfill line items: {len(ids):,} requests, {per_item * len(ids):.0f} s "
              f"(extrapolated from {sample:,} at {per_item * 1000:.1f} ms each)")  # fmt: skip
        print(f"backfill total: {total_req:,} requests, {total_sec:.0f} s "
              f"(minimum pages: {math.ceil(len(sim.customers) / page_size)} + "
              f"{math.ceil(len(ids) / page_size)}, plus one request per order)")  # fmt: skip
        newest = max(o.created for o in sim.store.visible_orders())
        # a day later: 1% of the customers changed, 1% new orders
        sim.clock = lambda: newest + timedelta(days=1)
        sim.store.touch_customers(0.01, seed=1)
        new = sim.store.add_orders(max(1, len(ids) // 100), seed=2)
        _, ci_req, ci_sec = timed(
            sim, lambda: pull_entity(connector, mirror, shop.name, "customers")
        )
        since = (newest - timedelta(days=30)).isoformat()
        window, oi_req, oi_sec = timed(sim, lambda: list_orders(connector, since))
        print(f"daily customers (full scan, v1 has no filter): {ci_req:,} requests, {ci_sec:.1f} s")
        print(f"daily order pages (createdSince newest - 30 d): {oi_req:,} requests, "
              f"{oi_sec:.1f} s, {len(window):,} orders in the window")  # fmt: skip
        fresh = ci_req + oi_req + len(window)
        warm = ci_req + oi_req + len(new)
        print(f"daily total, fresh process (items for every order in the window): {fresh:,} "
              f"requests, {ci_sec + oi_sec + per_item * len(window):.0f} s")  # fmt: skip
        print(f"daily total, connector kept between pulls (items for new orders only): {warm:,} "
              f"requests, {ci_sec + oi_sec + per_item * len(new):.0f} s")  # fmt: skip
        mirror.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders-per-customer", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--sample", type=int, default=1000)
    args = parser.parse_args()
    run(args.customers, args.orders_per_customer, args.latency, args.page_size, args.sample)


if __name__ == "__main__":
    main()
