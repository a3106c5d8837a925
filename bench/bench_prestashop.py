"""Benchmark: a full pull of a big synthetic PrestaShop from the simulator, side by side with
the request pattern of the common ELT connector (offset pages of 50 sorted by date_upd).

    python -m bench.bench_prestashop [--customers 100000] [--orders-per-customer 3]
                                     [--latency 0.02] [--page-size 1000] [--version 8.1]

The simulator runs in its own process (a shop is another machine: its work must not compete
with the client's for one interpreter lock), with `--latency` seconds added to every request
(a shop on the internet). Then (1) loyalsync's connector pulls customers (with their
addresses) and orders (with their rows and the codes of the cart rules used) through
`sync.pull.pull_entity` into a temporary mirror: id keyset pages of `--page-size`; (2) a bare
client pages the same two resources like Airbyte's source-prestashop (`display=full`,
`limit=<offset>,50`, `date=1`, `sort=[date_upd_ASC,id_ASC]`, one `filter[date_upd]` window
over the whole history) with the same latency and only parses the JSON: no addresses, no
codes, no mapping, no mirror, so its figures are a lower bound.

Each side's wall seconds are split into what the shop spent answering (measured inside the
simulator, latency excluded), the latency it waited (requests x latency), and the rest, the
client's own work: for loyalsync mapping plus the mirror (its save time is shown apart), for
the offset client JSON parsing. The simulator keeps sorted list answers and id indexes until
the next write (as MySQL answers from an index), so neither client pays for Python scanning
300,000 rows per request. Prints figures; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

from loyalsync.connectors import build_connector
from loyalsync.connectors.prestashop import parse
from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.pull import pull_entity

OFFSET_PAGE = 50


@dataclass
class Figures:
    records: int
    requests: int
    seconds: float
    shop: float  # seconds the shop spent answering
    waited: float  # requests x latency
    saving: float = 0.0  # loyalsync: seconds in Mirror.save_page


def serve_shop(
    pipe: Connection, customers: int, orders: float, latency: float, version: str
) -> None:
    """The child process: build and serve the shop; answer "stats" and "stop"."""
    from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator

    began = time.perf_counter()
    spec = SynthSpec(customers=customers, seed=42, mean_orders=orders)
    sim = PrestaShopSimulator.from_spec(spec, version=version, latency=latency)
    sim.cache_lists()
    sim.start()
    pipe.send(
        {
            "url": sim.url,
            "key": sim.key,
            "version": sim.api.version,
            "customers": len(sim.store.live_customers()),
            "orders": len(sim.table("orders")),
            "now": sim.store.now(),
            "built": time.perf_counter() - began,
        }
    )
    while True:
        command = pipe.recv()
        if command == "stats":
            pipe.send((len(sim.request_log), sum(sim.busy.values())))
            sim.reset_logs()
        elif command == "stop":
            sim.stop()
            return


class Shop:
    """The simulator process, seen from the benchmark."""

    def __init__(self, customers: int, orders: float, latency: float, version: str) -> None:
        self.pipe, child = multiprocessing.Pipe()
        args = (child, customers, orders, latency, version)
        self.process = multiprocessing.get_context("spawn").Process(target=serve_shop, args=args)
        self.process.start()
        self.info: dict[str, Any] = self.pipe.recv()
        self.latency = latency

    def stats(self) -> tuple[int, float]:
        """(requests, seconds spent answering) since the last call."""
        self.pipe.send("stats")
        sent, busy = self.pipe.recv()
        return int(sent), float(busy)

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(timeout=60)


class TimedMirror(Mirror):
    """The mirror, with the seconds spent saving pages counted (a benchmark's stopwatch)."""

    saving = 0.0

    def save_page(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return super().save_page(*args, **kwargs)
        finally:
            self.saving += time.perf_counter() - began


def pull_with_loyalsync(shop: Shop, page_size: int) -> dict[str, Figures]:
    config = ShopConfig(
        name="bench",
        platform="prestashop",
        url=shop.info["url"],
        credentials={"api_key": shop.info["key"]},
        requests_per_second=10_000,
        page_size=page_size,
    )
    connector = build_connector(config)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        mirror = TimedMirror.open(Path(tmp) / "bench.db")
        if not isinstance(mirror, TimedMirror):
            raise TypeError("Mirror.open no longer builds its own class")
        shop.stats()
        for entity in ("customers", "orders"):
            mirror.saving, began = 0.0, time.perf_counter()
            counts = pull_entity(connector, mirror, config.name, entity)
            seconds = time.perf_counter() - began
            sent, busy = shop.stats()
            records = counts.new + counts.updated + counts.unchanged + counts.quarantined
            figures[entity] = Figures(
                records, sent, seconds, busy, sent * shop.latency, mirror.saving
            )
        mirror.close()
    return figures


def pull_by_offset(shop: Shop) -> dict[str, Figures]:
    session = requests.Session()
    session.auth = (shop.info["key"], "")
    session.headers["Output-Format"] = "JSON"
    window = f"[2000-01-01 00:00:00,{shop.info['now']}]"
    figures = {}
    shop.stats()
    for entity in ("customers", "orders"):
        began, seen, offset = time.perf_counter(), 0, 0
        while True:
            params = {
                "display": "full",
                "date": "1",
                "sort": "[date_upd_ASC,id_ASC]",
                "filter[date_upd]": window,
                "limit": f"{offset},{OFFSET_PAGE}",
            }
            response = session.get(f"{shop.info['url']}/api/{entity}", params=params, timeout=60)
            response.raise_for_status()
            rows = parse.rows_of(parse.json_payload(response, entity), entity)
            seen += len(rows)
            offset += OFFSET_PAGE
            if len(rows) < OFFSET_PAGE:
                break
        seconds = time.perf_counter() - began
        sent, busy = shop.stats()
        figures[entity] = Figures(seen, sent, seconds, busy, sent * shop.latency)
    return figures


def show(title: str, figures: dict[str, Figures]) -> Figures:
    print(title)
    head = ("entity", "records", "requests", "seconds", "shop", "latency", "client", "mirror")
    print(f"  {head[0]:<10}" + "".join(f"{h:>10}" for h in head[1:]))
    total = Figures(0, 0, 0.0, 0.0, 0.0, 0.0)
    for entity, f in [*figures.items(), ("total", total)]:
        if entity != "total":
            total.records += f.records
            total.requests += f.requests
            total.seconds += f.seconds
            total.shop += f.shop
            total.waited += f.waited
            total.saving += f.saving
        client = f.seconds - f.shop - f.waited
        print(
            f"  {entity:<10}{f.records:>10,}{f.requests:>10,}{f.seconds:>10.1f}{f.shop:>10.1f}"
            f"{f.waited:>10.1f}{client:>10.1f}{f.saving:>10.1f}"
        )
    return total


def run(customers: int, orders: float, latency: float, page_size: int, version: str) -> None:
    shop = Shop(customers, orders, latency, version)
    try:
        info = shop.info
        print(
            f"shop: PrestaShop {info['version']}, {info['customers']:,} customers, "
            f"{info['orders']:,} orders (simulator built in {info['built']:.1f} s, in its own "
            f"process), latency {latency * 1000:.0f} ms/request"
        )
        mine = show(
            f"loyalsync: id keyset, pages of {page_size}, with addresses, order rows and "
            "cart-rule codes, mapped into the mirror",
            pull_with_loyalsync(shop, page_size),
        )
        theirs = show(
            f"offset client: pages of {OFFSET_PAGE} sorted by date_upd (JSON parsed only)",
            pull_by_offset(shop),
        )
    finally:
        shop.stop()
    print("  (seconds = shop + latency + client; mirror: part of client, saving pages)")
    print(
        f"requests {mine.requests:,} vs {theirs.requests:,} "
        f"({theirs.requests / mine.requests:.1f}x); seconds {mine.seconds:.0f} vs "
        f"{theirs.seconds:.0f}; of which waiting on the network {mine.waited:.0f} vs "
        f"{theirs.waited:.0f}, the shop working {mine.shop:.0f} vs {theirs.shop:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders-per-customer", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--version", default="8.1")
    args = parser.parse_args()
    run(args.customers, args.orders_per_customer, args.latency, args.page_size, args.version)


if __name__ == "__main__":
    main()
