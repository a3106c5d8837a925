"""Benchmark: a full pull of a big synthetic Shopware shop from the simulator.

    python -m bench.bench_shopware_pull [--customers 100000] [--orders-per-customer 3]
                                        [--latency 0.02] [--page-size 500] [--no-pipeline]

Starts the simulator on 127.0.0.1 with `--latency` seconds added to every request (a shop on
the internet), pulls customers and orders through `sync.pull.pull_entities` into a temporary
mirror, and prints the requests sent, seconds, records per second and the minimum possible
number of requests (records / page size, rounded up, plus the closing short page each).
Pipelined (the default, as `loyalsync backfill` runs): both entities side by side, each page
fetched while the one before is saved, so an entity's seconds are those until its pass ended
and the total is the wall time; `--no-pipeline`: one entity after the other, page by page.
Also times single 500-row keyset pages without latency (the simulator's own cost).
`--shop-process`: the simulator runs in a process of its own, as a real shop runs on its own
server, instead of sharing this process and its GIL (requests are then counted by the client;
an entity's "requests" are its pages). Prints figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from loyalsync.connectors import build_connector
from loyalsync.connectors.shopware import criteria
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.pull import ENTITIES, pull_entities

SEARCH = {"customers": "/api/search/customer", "orders": "/api/search/order"}


def page_probe(sim: ShopwareSimulator, connector: object, rounds: int = 20) -> dict[str, float]:
    """Median milliseconds for one 500-row keyset page, latency switched off."""
    latency, sim.latency = sim.latency, 0.0
    figures = {}
    try:
        for entity, build in (("customer", criteria.customer_page), ("order", criteria.order_page)):
            top = len(sim.customers if entity == "customer" else sim.orders)
            spent = []
            for n in range(rounds):
                body = build(500, after=(n * 7919) % max(1, top - 500))
                started = time.perf_counter()
                connector.search(entity, body)  # type: ignore[attr-defined]
                spent.append((time.perf_counter() - started) * 1000)
            figures[entity] = statistics.median(spent)
    finally:
        sim.latency = latency
    return figures


def run(
    customers: int, orders_per_customer: float, latency: float, page_size: int, pipeline: bool
) -> None:
    load = os.getloadavg()
    started = time.perf_counter()
    spec = SynthSpec(customers=customers, seed=42, mean_orders=orders_per_customer)
    sim = ShopwareSimulator.from_spec(spec, latency=latency)
    built = time.perf_counter() - started
    with sim, tempfile.TemporaryDirectory() as tmp:
        shop = ShopConfig(
            name="bench",
            platform="shopware",
            url=sim.url,
            credentials={"client_id": sim.client_id, "client_secret": sim.client_secret},
            requests_per_second=10_000,
            page_size=page_size,
        )
        connector = build_connector(shop)
        mirror = Mirror.open(Path(tmp) / "bench.db")
        sim.reset_logs()
        began = time.perf_counter()
        ended: dict[str, float] = {}
        pulled = pull_entities(
            connector, mirror, shop.name, ENTITIES, pipeline=pipeline,
            on_done=lambda entity, _: ended.setdefault(entity, time.perf_counter() - began),
        )  # fmt: skip
        wall = time.perf_counter() - began
        figures = {}
        for entity, counts in pulled.items():
            records = counts.new + counts.updated + counts.unchanged + counts.quarantined
            path = SEARCH[entity]
            sent = sum(1 for r in sim.request_log if r.path == path)
            # pipelined: until the entity's pass ended; sequential: the entity's own pass
            before = 0.0 if pipeline or entity == ENTITIES[0] else ended[ENTITIES[0]]
            figures[entity] = (records, sent, ended[entity] - before)
        shop_time = sum(r.ms for r in sim.request_log) / 1000
        total_sent = len(sim.request_log)  # before the probe's requests
        probe = page_probe(sim, connector)
        mirror.close()
    total_records = sum(f[0] for f in figures.values())
    total_seconds = wall
    minimum = sum(math.ceil(f[0] / page_size) for f in figures.values())
    print(f"shop: {customers:,} customers, {figures['orders'][0]:,} orders "
          f"(simulator built in {built:.1f} s), latency {latency * 1000:.0f} ms/request, "
          f"page size {page_size}, "
          + ("pipelined (side by side, a page ahead)" if pipeline else "page by page"))  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"{'entity':<10}{'records':>10}{'requests':>10}{'minimum':>9}{'seconds':>9}{'rec/s':>9}")
    for entity, (records, sent, seconds) in figures.items():
        print(f"{entity:<10}{records:>10,}{sent:>10,}{math.ceil(records / page_size):>9,}"
              f"{seconds:>9.1f}{records / seconds:>9,.0f}")  # fmt: skip
    print(f"{'total':<10}{total_records:>10,}{total_sent:>10,}{minimum:>9,}"
          f"{total_seconds:>9.1f}{total_records / total_seconds:>9,.0f}")  # fmt: skip
    print(f"requests over the minimum: {total_sent - minimum} (the token request, and an empty "
          f"closing page for an entity whose count is a multiple of {page_size})")  # fmt: skip
    print(f"time spent: injected latency {total_sent * latency:.0f} s, the simulator's own work "
          f"{shop_time:.0f} s (same process and GIL), client + mirror the rest"
          + (" (overlapping when pipelined)" if pipeline else ""))  # fmt: skip
    print("one 500-row keyset page without latency (median of 20, HTTP + JSON, no mapping): "
          + ", ".join(f"{e} {ms:.0f} ms" for e, ms in probe.items()))  # fmt: skip


def _serve_apart(spec: SynthSpec, latency: float, pipe: Connection) -> None:
    """The simulator in a process of its own, until the parent says it is done."""
    with ShopwareSimulator.from_spec(spec, latency=latency) as sim:
        pipe.send((sim.url, sim.client_id, sim.client_secret))
        pipe.recv()


def run_apart(
    customers: int, orders_per_customer: float, latency: float, page_size: int, pipeline: bool
) -> None:
    load = os.getloadavg()
    spec = SynthSpec(customers=customers, seed=42, mean_orders=orders_per_customer)
    ours, theirs = multiprocessing.Pipe()
    shop_process = multiprocessing.get_context("spawn").Process(
        target=_serve_apart, args=(spec, latency, theirs), daemon=True
    )
    shop_process.start()
    url, client_id, client_secret = ours.recv()
    with tempfile.TemporaryDirectory() as tmp:
        shop = ShopConfig(
            name="bench", platform="shopware", url=url,
            credentials={"client_id": client_id, "client_secret": client_secret},
            requests_per_second=10_000, page_size=page_size,
        )  # fmt: skip
        connector = build_connector(shop)
        with Mirror.open(Path(tmp) / "bench.db") as mirror:
            began = time.perf_counter()
            pulled = pull_entities(connector, mirror, shop.name, ENTITIES, pipeline=pipeline)
            wall = time.perf_counter() - began
        sent = connector.http.requests_sent  # type: ignore[attr-defined]
    ours.send("done")
    shop_process.join(60)
    records = {e: c.new + c.updated + c.unchanged + c.quarantined for e, c in pulled.items()}
    minimum = sum(math.ceil(n / page_size) for n in records.values())
    mode = "pipelined (side by side, a page ahead)" if pipeline else "page by page"
    print(f"shop in its own process: {customers:,} customers, {records['orders']:,} orders, "
          f"latency {latency * 1000:.0f} ms/request, page size {page_size}, {mode}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    for entity, counts in pulled.items():
        print(f"{entity:<10}{records[entity]:>10,} records{counts.pages:>6,} pages")
    total = sum(records.values())
    print(f"{'total':<10}{total:>10,} records, {sent:,} requests (minimum {minimum:,}), "
          f"{wall:.1f} s, {total / wall:,.0f} records/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders-per-customer", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--no-pipeline", action="store_true", help="one page at a time")
    parser.add_argument("--shop-process", action="store_true", help="simulator in its own process")
    args = parser.parse_args()
    (run_apart if args.shop_process else run)(
        args.customers, args.orders_per_customer, args.latency, args.page_size, not args.no_pipeline
    )


if __name__ == "__main__":
    main()
