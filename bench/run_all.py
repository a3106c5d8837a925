"""`make bench`: the scale table of issue 17 (bench/bench_scale.py), one table for every
platform and size. `--quick` runs it small (a minute or two) to check it still runs; `--all`
also runs the per-component benchmarks after it, each in its own process, printing their own
figures (their sizes are the ones the issues name; they take a while on 2 cores)."""

from __future__ import annotations

import argparse
import subprocess
import sys

SCALE = ["bench.bench_scale", "--sizes", "100000", "1000000", "--latency", "0.02"]
SCALE_QUICK = ["bench.bench_scale", "--quick"]
FULL = [
    ["bench.bench_mirror", "--orders", "1000000"],
    ["bench.bench_shopware_pull", "--customers", "100000", "--orders-per-customer", "3",
     "--latency", "0.02"],
    ["bench.bench_prestashop", "--customers", "100000", "--orders-per-customer", "3",
     "--latency", "0.02"],
    ["bench.bench_segments", "--sizes", "100000", "1000000"],
    ["bench.bench_daily", "--customers", "1000000", "--changed", "0.01"],
    ["bench.bench_push", "--customers", "100000", "--churn", "0.01"],
    ["bench.bench_report", "--customers", "1000000"],
    ["bench.bench_jtl", "--customers", "100000", "--orders-per-customer", "3",
     "--latency", "0.02"],
    ["bench.bench_agency", "--shops", "200", "--customers", "5000", "--backfill-shops", "40"],
]  # fmt: skip
QUICK = [
    ["bench.bench_mirror", "--orders", "50000"],
    ["bench.bench_shopware_pull", "--customers", "5000", "--orders-per-customer", "3",
     "--latency", "0.0"],
    ["bench.bench_prestashop", "--customers", "3000", "--latency", "0.0"],
    ["bench.bench_segments", "--sizes", "20000"],
    ["bench.bench_daily", "--customers", "20000", "--changed", "0.01"],
    ["bench.bench_push", "--customers", "5000", "--churn", "0.01"],
    ["bench.bench_report", "--customers", "20000"],
    ["bench.bench_jtl", "--customers", "2000", "--latency", "0.0", "--sample", "100"],
    ["bench.bench_agency", "--shops", "10", "--customers", "500", "--backfill-shops", "3"],
]  # fmt: skip


def commands(quick: bool, everything: bool) -> list[list[str]]:
    """The scale table first; the component benchmarks only with --all."""
    scale = SCALE_QUICK if quick else SCALE
    return [scale, *((QUICK if quick else FULL) if everything else [])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--all", action="store_true", help="also the per-component benchmarks")
    parser.add_argument("--only", help="run only benchmarks whose module name contains this")
    args = parser.parse_args()
    failed = 0
    for command in commands(args.quick, args.all or bool(args.only)):
        if args.only and args.only not in command[0]:
            continue
        print(f"\n=== python -m {' '.join(command)}", flush=True)
        failed += subprocess.run([sys.executable, "-m", *command], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
