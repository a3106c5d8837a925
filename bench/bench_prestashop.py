"""Benchmark: a full pull of a big synthetic PrestaShop from the simulator, side by side with
the request pattern of the common ELT connector (offset pages of 50 sorted by date_upd).

    python -m bench.bench_prestashop [--customers 100000] [--orders-per-customer 3]
                                     [--latency 0.02] [--page-size 1000] [--version 8.1]

Starts the PrestaShop simulator on 127.0.0.1 with `--latency` seconds added to every request
(a shop on the internet). Then (1) loyalsync's connector pulls customers (with their
addresses) and orders (with the codes of the cart rules used) through `sync.pull.pull_entity`
into a temporary mirror: id keyset pages of `--page-size`; (2) a bare client pages the same
two resources like Airbyte's source-prestashop (`display=full`, `limit=<offset>,50`,
`date=1`, `sort=[date_upd_ASC,id_ASC]`, one `filter[date_upd]` window over the whole history)
and only parses the JSON: no addresses, no codes, no mapping, no mirror, so its figures are a
lower bound. The simulator keeps sorted list answers until the next write (as MySQL would
answer from an index), so neither client pays for Python re-sorting 300,000 rows per request.
Prints requests and seconds for both; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import requests

from loyalsync.connectors import build_connector
from loyalsync.connectors.prestashop import parse
from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator
from loyalsync.core.config import ShopConfig
from loyalsync.core.mirror import Mirror
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.pull import pull_entity

OFFSET_PAGE = 50


def pull_with_loyalsync(
    sim: PrestaShopSimulator, page_size: int
) -> dict[str, tuple[int, int, float]]:
    shop = ShopConfig(
        name="bench",
        platform="prestashop",
        url=sim.url,
        credentials={"api_key": sim.key},
        requests_per_second=10_000,
        page_size=page_size,
    )
    connector = build_connector(shop)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        mirror = Mirror.open(Path(tmp) / "bench.db")
        for entity in ("customers", "orders"):
            sim.reset_logs()
            began = time.perf_counter()
            counts = pull_entity(connector, mirror, shop.name, entity)
            seconds = time.perf_counter() - began
            records = counts.new + counts.updated + counts.unchanged + counts.quarantined
            figures[entity] = (records, len(sim.request_log), seconds)
        mirror.close()
    return figures


def pull_by_offset(sim: PrestaShopSimulator) -> dict[str, tuple[int, int, float]]:
    session = requests.Session()
    session.auth = (sim.key, "")
    session.headers["Output-Format"] = "JSON"
    window = f"[2000-01-01 00:00:00,{sim.store.now()}]"
    figures = {}
    for entity in ("customers", "orders"):
        began, sent, seen, offset = time.perf_counter(), 0, 0, 0
        while True:
            params = {
                "display": "full",
                "date": "1",
                "sort": "[date_upd_ASC,id_ASC]",
                "filter[date_upd]": window,
                "limit": f"{offset},{OFFSET_PAGE}",
            }
            response = session.get(f"{sim.url}/api/{entity}", params=params, timeout=60)
            response.raise_for_status()
            sent += 1
            rows = parse.rows_of(parse.json_payload(response, entity), entity)
            seen += len(rows)
            offset += OFFSET_PAGE
            if len(rows) < OFFSET_PAGE:
                break
        figures[entity] = (seen, sent, time.perf_counter() - began)
    return figures


def show(title: str, figures: dict[str, tuple[int, int, float]]) -> None:
    print(title)
    print(f"  {'entity':<10}{'records':>10}{'requests':>10}{'seconds':>9}{'rec/s':>9}")
    for entity, (records, sent, seconds) in figures.items():
        print(f"  {entity:<10}{records:>10,}{sent:>10,}{seconds:>9.1f}{records / seconds:>9,.0f}")
    records = sum(f[0] for f in figures.values())
    sent = sum(f[1] for f in figures.values())
    seconds = sum(f[2] for f in figures.values())
    print(f"  {'total':<10}{records:>10,}{sent:>10,}{seconds:>9.1f}{records / seconds:>9,.0f}")


def run(customers: int, orders: float, latency: float, page_size: int, version: str) -> None:
    started = time.perf_counter()
    spec = SynthSpec(customers=customers, seed=42, mean_orders=orders)
    sim = PrestaShopSimulator.from_spec(spec, version=version, latency=latency)
    sim.cache_lists()
    built = time.perf_counter() - started
    with sim:
        print(
            f"shop: PrestaShop {sim.api.version}, {len(sim.store.live_customers()):,} customers, "
            f"{len(sim.table('orders')):,} orders (simulator built in {built:.1f} s), "
            f"latency {latency * 1000:.0f} ms/request"
        )
        mine = pull_with_loyalsync(sim, page_size)
        show(
            f"loyalsync: id keyset, pages of {page_size}, with addresses and cart-rule codes, "
            "into the mirror",
            mine,
        )
        theirs = pull_by_offset(sim)
        show(f"offset client: pages of {OFFSET_PAGE} sorted by date_upd (JSON parsed only)", theirs)
    ours = sum(f[1] for f in mine.values()), sum(f[2] for f in mine.values())
    other = sum(f[1] for f in theirs.values()), sum(f[2] for f in theirs.values())
    print(
        f"requests {ours[0]:,} vs {other[0]:,} ({other[0] / ours[0]:.1f}x); seconds "
        f"{ours[1]:.0f} vs {other[1]:.0f} ({other[1] / ours[1]:.1f}x)"
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
