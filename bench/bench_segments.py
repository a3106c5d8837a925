"""Benchmark: the whole segmentation of a synthetic shop, and the CDNOW segment sizes.

    .venv/bin/python bench/bench_segments.py                 # 100k and 1M customers + CDNOW
    .venv/bin/python bench/bench_segments.py --sizes 100000  # one size

For each size a mirror is built once by `core/synth.py` (about 5 orders per customer) and
cached under bench/out/ (gitignored). Each measurement runs `segment_shop` in its own
subprocess, so every peak RSS (ru_maxrss) is that run's alone:

    first     empty membership: every row is an entry (the one-off cost of the first run)
    next day  as_of one day later: only the customers whose segments moved are written
    same day  the next-day run repeated: nothing changes, nothing is written

Prints wall time, CPU time, peak RSS and the phases (load / build / save) per run, then the
segment sizes of the CDNOW transactions (tests/fixtures/cdnow) as of 1998-07-01.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalsync.core.config import SegmentationConfig, ShopConfig  # noqa: E402
from loyalsync.core.mirror import Mirror  # noqa: E402
from loyalsync.core.records import Cursor  # noqa: E402

OUT = ROOT / "bench" / "out"
SHOP = "bench"
SEED = 20261101
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
PROTECTED = ("B2B / Händler",)  # the synthetic shop's B2B group
PAGE = 100_000


def mirror_path(customers: int) -> Path:
    return OUT / f"segments_{customers}.db"


def build_mirror(customers: int) -> Path:
    """The cached synthetic mirror for `customers` rows, built through Mirror.save_page."""
    from loyalsync.core.synth import GROUPS, SynthSpec, iter_customers, iter_orders

    path = mirror_path(customers)
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    spec = SynthSpec(customers=customers, seed=SEED, as_of=AS_OF, mean_orders=5.0)
    started = time.perf_counter()
    orders = 0
    with Mirror.open(partial) as mirror:
        mirror.replace_values(SHOP, GROUPS)
        for chunk in iter_customers(spec, PAGE):
            mirror.save_page(SHOP, "customers", chunk, Cursor())
        for chunk in iter_orders(spec, PAGE):
            mirror.save_page(SHOP, "orders", chunk, Cursor())
            orders += len(chunk)
    partial.rename(path)
    took = time.perf_counter() - started
    print(f"built {path.name}: {customers:,} customers, {orders:,} orders in {took:.0f} s")
    return path


def clear_membership(path: Path) -> None:
    with Mirror.open(path) as mirror, mirror.transaction() as conn:
        conn.execute("DELETE FROM segment_members WHERE shop = ?", (SHOP,))
        conn.execute("DELETE FROM segment_changes WHERE shop = ?", (SHOP,))


def measure(path: Path, days: int) -> dict[str, object]:
    """One segment_shop run (in this process): times, peak RSS and result counts."""
    from loyalsync.core.segments.run import segment_shop

    shop = ShopConfig(
        name=SHOP, platform="shopware", url="http://bench", protected_groups=PROTECTED
    )
    wall, cpu = time.perf_counter(), time.process_time()
    with Mirror.open(path) as mirror:
        result = segment_shop(mirror, shop, SegmentationConfig(), AS_OF + timedelta(days=days))
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "customers": result.customers,
        "excluded": result.excluded_protected,
        "members": len(result.members),
        "entered": result.entered,
        "exited": result.exited,
        "phases": result.timings,
    }


def run_child(path: Path, days: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(days)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(customers: int) -> None:
    path = build_mirror(customers)
    with Mirror.open(path) as mirror:
        orders = mirror.count("orders", SHOP)
    print(f"\n{customers:,} customers, {orders:,} orders ({orders / customers:.1f} per customer)")
    clear_membership(path)
    for label, days in (("first", 0), ("next day", 1), ("same day", 1)):
        r = run_child(path, days)
        phases = " ".join(f"{k} {v:.1f}" for k, v in r["phases"].items())  # type: ignore[union-attr]
        print(
            f"  {label:<9} wall {r['wall']:6.1f} s  cpu {r['cpu']:6.1f} s  "
            f"peak {r['peak_mb']:6.0f} MB  | {phases} | segmented {r['customers']:,} "
            f"(protected {r['excluded']:,}), {r['members']:,} memberships, "
            f"entered {r['entered']:,}, exited {r['exited']:,}"
        )


def bench_cdnow() -> None:
    from loyalsync.core.segments.abc import share_of_customers_for
    from loyalsync.core.segments.run import segment_shop
    from tests.segments.cdnow import CDNOW_AS_OF, load_cdnow_mirror

    workdir = OUT / "cdnow"
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "cdnow.db"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    with load_cdnow_mirror(path) as mirror:
        shop = ShopConfig(name="cdnow", platform="shopware", url="http://cdnow")
        started = time.perf_counter()
        result = segment_shop(mirror, shop, SegmentationConfig(), CDNOW_AS_OF)
        took = time.perf_counter() - started
    sizes = result.sizes
    sizes = sizes[~sizes["family"].isin(["country", "city", "postcode"])]
    top = share_of_customers_for(result.summary["revenue"], 0.80)
    print(f"\nCDNOW as of {CDNOW_AS_OF:%Y-%m-%d}: {result.customers:,} customers in {took:.1f} s;")
    print(f"80% of the revenue comes from {top:.1%} of the customers")
    print(sizes.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--no-cdnow", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("DB", "DAYS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), int(args.child[1]))))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for customers in args.sizes:
        bench_size(customers)
    if not args.no_cdnow:
        bench_cdnow()


if __name__ == "__main__":
    main()
