"""Benchmark: write requests and seconds of a push, first to a whole shop, then with 1% churn.

Starts the Shopware simulator on 127.0.0.1 with a synthetic shop (core.synth), pulls groups,
tags and customers into a fresh mirror, stores a synthetic segment membership (5% VIP, 10%
frequent, 8% champions, 5% slipping; B2B customers are protected), and times `push_shop`:

1. the first push (every managed group, tag and code is new; forced past max_changes),
2. a second push straight after (must send nothing),
3. a steady-state push a day later, after `--churn` of the customers changed segment (a few
   customers also come of age for managed groups: min_age_days is 14).

For each it prints the operations planned, the write requests the shop received (Sync API
POSTs), the minimum ceil(operations / batch size), the read requests the connector made to
look before writing, and seconds (plan alone, and the whole push: plan + apply). The simulator
runs in this process; its heap is frozen out of the garbage collector after setup, as if it
were a separate shop. Prints figures, asserts nothing.

    python -m bench.bench_push [--customers 100000] [--churn 0.01] [--batch 200]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loyalsync.connectors import build_connector
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from loyalsync.core.config import (
    Config,
    DiscountCampaign,
    GroupMapping,
    PushConfig,
    SegmentationConfig,
    ShopConfig,
    TagMapping,
)
from loyalsync.core.mirror import Mirror, db_time
from loyalsync.core.synth import B2B_GROUP_ID, SynthSpec
from loyalsync.sync.pull import pull_entity, refresh_state
from loyalsync.sync.push import plan_shop, push_shop

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
SEGMENTS = (
    ("loyalty:vip", 0.05),
    ("loyalty:frequent", 0.10),
    ("rfm_segment:champions", 0.08),
    ("lifecycle:slipping", 0.05),
)


def push_config(batch: int) -> PushConfig:
    return PushConfig(
        enabled=True,
        batch_size=batch,
        max_changes=0.25,
        groups=(
            GroupMapping("loyalty:vip", "VIP (auto)"),
            GroupMapping("loyalty:frequent", "Frequent (auto)"),
        ),
        tags=(
            TagMapping("rfm_segment:champions", "champions"),
            TagMapping("lifecycle:slipping", "slipping"),
        ),
        discounts=(
            DiscountCampaign("winback", "lifecycle:slipping", percent=10, code_prefix="WB"),
        ),
    )


def draw_members(ids: list[str], seed: int) -> dict[str, set[str]]:
    rng = random.Random(seed)
    return {cid: {s for s, share in SEGMENTS if rng.random() < share} for cid in ids}


def store_members(mirror: Mirror, shop: str, members: dict[str, set[str]]) -> None:
    """What segmentation stores (segment_members), written directly: not what is measured."""
    stamp = db_time(AS_OF)
    rows = [(shop, c, s, stamp) for c, segs in members.items() for s in segs]
    with mirror.transaction() as conn:
        conn.execute("DELETE FROM segment_members WHERE shop = ?", (shop,))
        conn.executemany(
            "INSERT INTO segment_members (shop, customer_id, segment, since) VALUES (?, ?, ?, ?)",
            rows,
        )


@dataclass
class Figures:
    name: str
    ops: int
    writes: int
    reads: int
    plan_seconds: float
    push_seconds: float
    failed: int
    batch: int

    def line(self) -> str:
        minimum = math.ceil(self.ops / self.batch)
        return (
            f"{self.name:<26} {self.ops:>8,} {self.writes:>7,} {minimum:>8,} {self.reads:>7,}"
            f" {self.plan_seconds:>8.2f} {self.push_seconds:>8.2f} {self.failed:>7,}"
        )


def measure(
    name: str,
    sim: ShopwareSimulator,
    connector: Any,
    mirror: Mirror,
    shop: ShopConfig,
    config: Config,
    as_of: datetime,
) -> Figures:
    started = time.perf_counter()
    plan_shop(connector, mirror, shop, config, as_of=as_of)
    planned = time.perf_counter() - started
    sim.reset_logs()
    started = time.perf_counter()
    result = push_shop(connector, mirror, shop, config, as_of=as_of, force=True)
    seconds = time.perf_counter() - started
    writes = len(sim.requests("/api/_action/sync", method="POST"))
    reads = len(sim.requests("/api/search"))
    return Figures(
        name,
        len(result.plan.ops),
        writes,
        reads,
        planned,
        seconds,
        result.failed,
        config.push.batch_size,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    started = time.perf_counter()
    spec = SynthSpec(customers=args.customers, seed=args.seed, as_of=AS_OF, mean_orders=1.0)
    sim = ShopwareSimulator.from_spec(spec, clock=lambda: AS_OF + timedelta(hours=12))
    sim.start()
    shop = ShopConfig(
        name="bench",
        platform="shopware",
        url=sim.url,
        requests_per_second=100_000,
        credentials={"client_id": sim.client_id, "client_secret": sim.client_secret},
        protected_groups=(B2B_GROUP_ID,),
        page_size=500,
    )
    config = Config(
        shops=(shop,),
        push=push_config(args.batch),
        segmentation=SegmentationConfig(min_age_days=14),
    )
    connector = build_connector(shop)
    with tempfile.TemporaryDirectory() as tmp, Mirror.open(Path(tmp) / "bench.db") as mirror:
        refresh_state(connector, mirror, shop.name)
        pull_entity(connector, mirror, shop.name, "customers")
        ids = [c.id for c in sim.customers.values() if not c.rec.is_guest]
        members = draw_members(sorted(ids), args.seed)
        store_members(mirror, shop.name, members)
        gc.freeze()  # the simulator's heap shares this process: keep the collector off it
        print(
            f"setup: {args.customers:,} customers simulated and pulled in "
            f"{time.perf_counter() - started:.1f}s; batch size {args.batch}"
        )
        print(
            f"{'push':<26} {'ops':>8} {'writes':>7} {'minimum':>8} {'reads':>7} "
            f"{'plan s':>8} {'push s':>8} {'failed':>7}"
        )
        print(measure("first push", sim, connector, mirror, shop, config, AS_OF).line())
        print(
            measure("second push, same moment", sim, connector, mirror, shop, config, AS_OF).line()
        )
        later = AS_OF + timedelta(days=1)
        rng = random.Random(args.seed + 1)
        for cid in rng.sample(sorted(ids), round(len(ids) * args.churn)):
            members[cid] = draw_members([cid], rng.randrange(1 << 30))[cid] ^ {"loyalty:vip"}
        store_members(mirror, shop.name, members)
        name = f"steady state, {args.churn:.0%} churn"
        print(measure(name, sim, connector, mirror, shop, config, later + timedelta(days=1)).line())
    sim.stop()


if __name__ == "__main__":
    main()
