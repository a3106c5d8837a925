"""`make bench`: run every benchmark in its own process, one after the other, printing their
figures. `--quick` uses small sizes (a minute or two) to check the benchmarks still run; the
default sizes are the ones the issues name (they take a while on 2 cores)."""

from __future__ import annotations

import argparse
import subprocess
import sys

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", help="run only benchmarks whose module name contains this")
    args = parser.parse_args()
    failed = 0
    for command in QUICK if args.quick else FULL:
        if args.only and args.only not in command[0]:
            continue
        print(f"\n=== python -m {' '.join(command)}", flush=True)
        failed += subprocess.run([sys.executable, "-m", *command], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
