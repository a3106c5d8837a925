"""Benchmark: the daily segment + predict + plan of a big shop: first run, the day after, a
steady day.

    .venv/bin/python -m bench.bench_daily                      # 1,000,000 customers
    .venv/bin/python -m bench.bench_daily --customers 100000   # a smaller mirror

Uses bench_segments' cached synthetic mirror (bench/out/segments_N.db, about 5 orders per
customer; built on first use). The mirror is reset first (membership, history and the kept
order summary and signatures forgotten, this bench's own orders deleted), then:

    first run   segment (all families, predictions on) as of 2026-11-01, then plan: the kept
                summary is built from every order and every membership row is new
    pull        one day later, a pull that changed 1% of the customers (a new order each,
                and a cancelled older order for a tenth of them): the new orders saved through
                save_page, the cancellations updated in place (the mirror's triggers see both)
    day after   segment as of 2026-11-02, then plan
    daily run   another such pull, segment as of 2026-11-03, then plan: a steady day

The plans of the first run and of the day after are then recorded in the mirror as a push
records a shop that accepted every write (`save_push_results`; not counted in the timings), so
the day after carries the first push's changes (a quarter of a million group and tag moves)
and the daily run is a steady day: one pull and one day's push since the run before.

Every step runs in its own process, so each peak RSS (ru_maxrss) is that step's alone. Prints
wall and CPU seconds, peak RSS and the phases of each step (segment: load, predict, build,
save; plan: desired, current, build), then resets the mirror again. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_segments import AS_OF, PROTECTED, SHOP, build_mirror  # noqa: E402
from loyalsync.core.config import (  # noqa: E402
    Config,
    DiscountCampaign,
    GroupMapping,
    PushConfig,
    SegmentationConfig,
    ShopConfig,
    TagMapping,
)
from loyalsync.core.mirror import Mirror  # noqa: E402

BACKED_UP = ("memberships", "slot_values", "codes")  # what an accepted push changes
PULLED = "daily-"  # id prefix of the orders this bench's pull adds

NEXT_DAY = AS_OF + timedelta(days=1)


def shop_config() -> ShopConfig:
    return ShopConfig(
        name=SHOP, platform="shopware", url="http://bench", protected_groups=PROTECTED
    )


def config() -> Config:
    """Segmentation as configured out of the box; a push with groups, tags and a campaign."""
    push = PushConfig(
        enabled=True,
        max_changes=1.0,
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
    return Config(shops=(shop_config(),), push=push, segmentation=SegmentationConfig())


def reset(path: Path) -> None:
    """Back to a mirror that was never segmented, without this bench's pulled orders."""
    from loyalsync.core.mirror.order_summary import forget_order_summary

    with Mirror.open(path) as mirror:
        with mirror.transaction() as conn:
            conn.execute("DELETE FROM segment_members WHERE shop = ?", (SHOP,))
            conn.execute("DELETE FROM segment_changes WHERE shop = ?", (SHOP,))
            conn.execute(
                "DELETE FROM order_items WHERE shop = ? AND order_id LIKE ?", (SHOP, PULLED + "%")
            )
            conn.execute("DELETE FROM orders WHERE shop = ? AND id LIKE ?", (SHOP, PULLED + "%"))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_daily_cancelled AS SELECT * FROM orders WHERE 0"
            )
            conn.execute("INSERT OR REPLACE INTO orders SELECT * FROM bench_daily_cancelled")
            conn.execute("DROP TABLE bench_daily_cancelled")
            for table in BACKED_UP:  # the state before an accepted push, if there was one
                backup = f"bench_daily_{table}"
                found = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
                if conn.execute(found, (backup,)).fetchone():
                    conn.execute(f"DELETE FROM {table} WHERE shop = ?", (SHOP,))  # noqa: S608
                    conn.execute(f"INSERT INTO {table} SELECT * FROM {backup}")  # noqa: S608
                    conn.execute(f"DROP TABLE {backup}")
        forget_order_summary(mirror, SHOP)


def pull(path: Path, share: float, day: int = 1) -> dict[str, Any]:
    """A pull that changed `share` of the customers, saved through the pull's save path."""
    from loyalsync.core.records import Cursor, OrderRecord

    with Mirror.open(path) as mirror:
        ids = [r[0] for r in mirror.conn.execute(
            "SELECT id FROM customers WHERE shop = ? AND deleted_at IS NULL ORDER BY id", (SHOP,)
        )]  # fmt: skip
        rng = random.Random(7 + day)
        chosen = sorted(rng.sample(ids, round(len(ids) * share)))
        orders = []
        for n, cid in enumerate(chosen):
            amount = round(rng.uniform(10, 300), 2)
            placed = AS_OF + timedelta(days=day - 1, hours=6, seconds=rng.randrange(12 * 3600))
            orders.append(OrderRecord(
                id=f"{PULLED}{day}-{n}", number=f"D{day}-{n}", customer_id=cid, email=None,
                placed_at=placed,
                status="completed", is_valid=True, total_gross=amount, total_net=amount / 1.19,
                currency="EUR", base_currency_total_gross=amount,
                base_currency_total_net=amount / 1.19, updated_at=placed,
            ))  # fmt: skip
        cancel = chosen[::10]
        started = time.perf_counter()
        mirror.save_page(SHOP, "orders", orders, Cursor())
        with mirror.transaction() as conn:  # cancellations, as an updated order would arrive
            conn.execute("CREATE TEMP TABLE _cancel (id TEXT PRIMARY KEY)")
            conn.executemany("INSERT INTO temp._cancel VALUES (?)", [(c,) for c in cancel])
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_daily_cancelled AS SELECT * FROM orders WHERE 0"
            )
            conn.execute(
                "INSERT INTO bench_daily_cancelled SELECT * FROM orders WHERE shop = ? "
                "AND id IN ("
                "SELECT MIN(o.id) FROM orders o JOIN temp._cancel c ON o.shop = ? "
                "AND o.customer_id = c.id WHERE o.id NOT LIKE 'daily-%' AND o.is_valid "
                "GROUP BY o.customer_id)",
                (SHOP, SHOP),
            )
            conn.execute(
                "UPDATE orders SET is_valid = 0, status = 'cancelled' WHERE shop = ? "
                "AND id IN (SELECT id FROM bench_daily_cancelled) AND is_valid",
                (SHOP,),
            )
            conn.execute("DROP TABLE temp._cancel")
        took = time.perf_counter() - started
    return {"customers": len(chosen), "orders": len(orders), "cancelled": len(cancel), "s": took}


def run_segment(path: Path, as_of: datetime) -> dict[str, Any]:
    from loyalsync.sync.segment import segment_shop

    cfg = config()
    with Mirror.open(path) as mirror:
        result = segment_shop(mirror, shop_config(), cfg.segmentation, as_of)
    return {
        "phases": result.timings, "customers": result.customers,
        "entered": result.entered, "exited": result.exited,
    }  # fmt: skip


def run_plan(path: Path, as_of: datetime, accept: bool = False) -> dict[str, Any]:
    """What `plan_shop` does after reading the shop's state (no shop here: the synthetic
    groups and tags are the mirrored state), with the same loaders. `accept`: afterwards
    record the plan as a push records a shop that accepted every write (codes planned, then
    `save_push_results`), so the next day's plan is the steady-state one."""
    from loyalsync.connectors.shopware.platform import SLOTS
    from loyalsync.core.mirror import expire_codes, record_redemptions
    from loyalsync.core.plan import build_plan
    from loyalsync.sync.push import load_plan_current, load_plan_desired, plan_rules

    cfg = config()
    shop = shop_config()
    phases: dict[str, float] = {}
    clock = time.perf_counter()
    with Mirror.open(path) as mirror:
        record_redemptions(mirror, SHOP)
        expire_codes(mirror, SHOP, as_of)
        desired = load_plan_desired(mirror, SHOP, cfg)
        phases["desired"] = time.perf_counter() - clock
        current = load_plan_current(mirror, SHOP, cfg, desired, slots=SLOTS, as_of=as_of)
        phases["current"] = time.perf_counter() - clock - sum(phases.values())

        class _Connector:  # what plan_rules reads of a connector
            platform = "shopware"

        rules = plan_rules(_Connector(), shop, cfg, mirror)  # type: ignore[arg-type]
        plan = build_plan(desired, current, as_of=as_of, push=cfg.push, slots=SLOTS, rules=rules)
        phases["build"] = time.perf_counter() - clock - sum(phases.values())
        if accept:
            started = time.perf_counter()
            accepted(mirror, plan)
            phases["accept (not counted)"] = time.perf_counter() - started
    return {
        "phases": phases, "ops": len(plan.ops), "customers": plan.customer_count,
        "read": len(current.customers),
    }  # fmt: skip


def accepted(mirror: Mirror, plan: Any) -> None:
    """The mirror after a push whose every write the shop accepted (the push's own calls)."""
    from loyalsync.core.mirror import save_planned_codes, save_push_results
    from loyalsync.core.records import OpResult

    with mirror.transaction() as conn:  # what reset() puts back
        for table in BACKED_UP:
            copy = f"CREATE TABLE IF NOT EXISTS bench_daily_{table} AS SELECT * FROM {table} "  # noqa: S608
            conn.execute(copy + "WHERE shop = ?", (SHOP,))
    codes = plan.new_codes
    new = [(c.campaign, c.customer_id, c.code, c.issued_at, c.valid_until) for c in codes]
    save_planned_codes(mirror, SHOP, new, None)
    save_push_results(mirror, SHOP, [OpResult(op, ok=True) for op in plan.ops])


STEPS = {
    "segment": run_segment,
    "plan": run_plan,
    "plan+accept": lambda path, as_of: run_plan(path, as_of, accept=True),
}


def child(step: str, path: Path, as_of: datetime) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = STEPS[step](path, as_of)
    aside = result["phases"].get("accept (not counted)", 0.0)
    return {
        **result,
        "wall": time.perf_counter() - wall - aside,
        "cpu": time.process_time() - cpu - aside,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def spawn(step: str, path: Path, as_of: datetime) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_daily", "--child", step, str(path), as_of.isoformat()],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def show(label: str, step: str, r: dict[str, Any]) -> None:
    phases = " ".join(f"{k} {v:.1f}" for k, v in r["phases"].items())
    extra = (
        f"segmented {r['customers']:,}, entered {r['entered']:,}, exited {r['exited']:,}"
        if step == "segment"
        else f"{r['ops']:,} operations for {r['customers']:,} customers ({r['read']:,} read)"
    )
    print(
        f"  {label:<10} {step:<11} wall {r['wall']:6.1f} s  cpu {r['cpu']:6.1f} s  "
        f"peak {r['peak_mb']:6.0f} MB  | {phases} | {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of customers pulled")
    parser.add_argument("--child", nargs=3, metavar=("STEP", "DB", "AS_OF"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, db, at = args.child
        print(json.dumps(child(step, Path(db), datetime.fromisoformat(at))))
        return
    path = build_mirror(args.customers)
    load = os.getloadavg()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load[0]:.2f}")
    reset(path)
    print(f"\n{args.customers:,} customers ({path.name})")
    totals: dict[str, float] = {}
    days = (("first run", AS_OF), ("day after", NEXT_DAY), ("daily run", NEXT_DAY + timedelta(1)))
    for day, (label, as_of) in enumerate(days):
        if day:
            p = pull(path, args.changed, day)
            print(
                f"  pull       {p['customers']:,} customers changed: {p['orders']:,} new orders, "
                f"{p['cancelled']:,} cancelled, saved in {p['s']:.1f} s"
            )
        for step in ("segment", "plan+accept" if day < 2 else "plan"):
            r = spawn(step, path, as_of)
            show(label, step, r)
            totals[label] = totals.get(label, 0.0) + r["wall"]
    print("  " + ", ".join(f"{k}: segment + plan {v:.1f} s" for k, v in totals.items()))
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    reset(path)  # the cached mirror as bench_segments built it, for the next benchmark


if __name__ == "__main__":
    main()
