"""Benchmark: the scale table of issue 17, one table for every platform and size.

    python -m bench.bench_scale [--sizes 100000 1000000] [--platforms shopware prestashop jtl]
                                [--steps backfill pull segment plan push-first push-steady]
                                [--latency 0.02] [--pull-limit 100000] [--jtl-pull-limit 10000]
                                [--no-naive | --no-naive-pull] [--keep] [--quick]

For each platform and size a synthetic shop (core.synth, about 5 orders per customer) is served
by that platform's simulator in this process with `--latency` seconds per request; it outlives
the steps. Every step is a real `loyalsync` CLI subprocess with a generated config pointing at
it (backfill; pull after 1% of the customers changed and 1% new orders; segment; plan; first
push; steady-state push a day later), so the code measured is the product and each peak RSS is
that process's own (os.wait4). Requests come from the simulator's log, split into reads and
writes, against a minimum computed from the data (see scale_proc.minimum_*). Beside them the
naive approach (bench/scale_naive.py) runs in the same run as its own process
(`--no-naive-pull`: all of it but the pull, which for JTL at 100,000 is some 507,000 sequential
requests; the backfill row then says it was not run).

Sizes above `--pull-limit` are not pulled (a million customers through a 20 ms simulator takes
hours), nor JTL above `--jtl-pull-limit` (one line-item request per order): their backfill,
pull and push cells are printed as skipped with the reason, and the mirror-side steps (segment,
plan) run on the cached synthetic mirror of bench/bench_segments.py, with the Shopware
simulator answering the plan's reads of groups and tags. `--quick` (run_all's QUICK list):
1,000 customers, no latency. Prints the table; writes bench/out/scale.json. Nothing here
asserts on time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bench import scale_proc as proc
from bench.scale_steps import STEPS, Row, ShopRun, skipped
from bench.scale_table import header, render, save_json

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PLATFORMS = ("shopware", "prestashop", "jtl")
MIRROR_AS_OF = "2026-11-03T00:00:00+00:00"  # after bench_segments' stored runs (as of +1 day)


def mirror_only(
    platform: str, customers: int, steps: tuple[str, ...], work: Path, why: str
) -> list[Row]:
    """Segment and plan on the cached synthetic mirror (no pull at this size); Shopware's
    slots only (the mirror-side code is the same for every platform)."""
    pulled = tuple(s for s in steps if s in ("backfill", "pull", "push-first", "push-steady"))
    rows = skipped(platform, customers, pulled, why)
    if platform != "shopware":
        local = tuple(s for s in steps if s in ("segment", "plan"))
        return rows + skipped(platform, customers, local, "mirror-side steps: see shopware")
    from bench.bench_segments import build_mirror, clear_membership
    from loyalsync.core.synth import SynthSpec

    path = build_mirror(customers)
    clear_membership(path)
    run = ShopRun(platform, customers, 0.0, work)
    run.sim = proc.start_simulator(platform, SynthSpec(customers=50), 0.0)  # groups and tags
    try:
        proc.write_config(run.work, platform, run.sim, database=str(path))
        if "segment" in steps:
            first = "first run on the cached mirror (bench_segments), membership cleared"
            segment = run.cli("-q", "segment", "--as-of", MIRROR_AS_OF)
            row = run.row("segment", segment, minimum=0, note=first)
            run.naive_segment(row, path)
        if "plan" in steps:
            run.plan(MIRROR_AS_OF, record=True)
    finally:
        run.sim.stop()
    mirror = Row(platform, customers, "mirror", note=f"{proc.mirror_mb(path):,.1f} MB (built)")
    return sorted([*rows, *run.rows, mirror], key=lambda r: STEPS.index(r.step))


def skip_reason(platform: str, customers: int, args: argparse.Namespace) -> str:
    """Why this cell is not pulled through the simulator, or "" when it is."""
    if customers > args.pull_limit:
        return f"not pulled: over --pull-limit {args.pull_limit:,} (mirror built by core.synth)"
    if platform == "jtl" and customers > args.jtl_pull_limit:
        return (
            f"not pulled: JTL v1 reads line items with one request per order (about "
            f"{customers * 5:,} requests at {args.latency * 1000:.0f} ms); raise --jtl-pull-limit "
            f"(now {args.jtl_pull_limit:,}) to run it"
        )
    return ""


def collect(args: argparse.Namespace, work: Path) -> list[Row]:
    rows: list[Row] = []
    steps = tuple(args.steps)
    for customers in args.sizes:
        for platform in args.platforms:
            print(f"... {platform}, {customers:,} customers", file=sys.stderr, flush=True)
            why = skip_reason(platform, customers, args)
            if why:
                rows += mirror_only(platform, customers, steps, work, why)
                continue
            shop = ShopRun(platform, customers, args.latency, work)
            if args.no_naive_pull:
                shop.naive_pull_skipped = "--no-naive-pull"
            rows += shop.run(steps, naive=not args.no_naive)
    return rows


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--platforms", nargs="+", choices=PLATFORMS, default=list(PLATFORMS))
    parser.add_argument("--steps", nargs="+", choices=STEPS[:-1], default=list(STEPS[:-1]))
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--pull-limit", type=int, default=100_000,
                        help="largest size pulled through the simulator")  # fmt: skip
    parser.add_argument("--jtl-pull-limit", type=int, default=10_000,
                        help="largest JTL size pulled (one request per order)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep bench/out/scale_work")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive side")
    parser.add_argument("--no-naive-pull", action="store_true",
                        help="skip only the naive pull (JTL at 100,000 takes hours)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="1,000 customers, no latency")
    parser.add_argument("--out", type=Path, default=OUT / "scale.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.latency = [1000], 0.0
    return args


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse(argv)
    work = OUT / "scale_work"
    try:
        rows = collect(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    head = header(args.latency)
    print(render(rows, head))
    print(f"\nJSON: {save_json(rows, head, args.out)}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
