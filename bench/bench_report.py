"""Benchmark: `loyalsync report` for a large synthetic shop (render time and file size).

    .venv/bin/python -m bench.bench_report                      # 1,000,000 customers
    .venv/bin/python -m bench.bench_report --customers 100000

The mirror is bench_segments' cached one (bench/out/segments_<n>.db, built once by
`core/synth.py`, about 5 orders per customer). Two segmentation runs a day apart are stored
first (once per mirror: skipped when the mirror already has them), so the report has moves and
trends to draw. Then the report is built and written, timed by phase:

    load    mirror reads and segmentation for the report (load_report_data)
    build   sections and charts (build_report)
    render  the Jinja2 template (render_html) and the write

Prints seconds per phase, the total, the file size and the peak RSS (targets: under 30 s and
under 5 MB for a million customers).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_segments import AS_OF, OUT, PROTECTED, SHOP, build_mirror  # noqa: E402
from loyalsync.core.config import Config, ShopConfig  # noqa: E402
from loyalsync.core.mirror import Mirror  # noqa: E402


def config() -> Config:
    shop = ShopConfig(name=SHOP, platform="shopware", url="http://127.0.0.1:9",
                      protected_groups=PROTECTED)  # fmt: skip
    return Config(shops=(shop,), database="unused")


def store_runs(path: Path, cfg: Config) -> None:
    """Two stored segmentation runs (a day apart), as `loyalsync segment` records them."""
    from loyalsync.sync.cycle import run_history_counts
    from loyalsync.sync.runs import recorded_run
    from loyalsync.sync.segment import segment_shop

    with Mirror.open(path) as mirror:
        done = [r for r in mirror.runs(SHOP, limit=50) if r["kind"] == "segment"]
        if len(done) >= 2 and all("sizes" in r["counts"] for r in done[:2]):
            return
        for days in (1, 0):
            as_of = AS_OF - timedelta(days=days)
            started = time.perf_counter()
            with recorded_run(mirror, SHOP, "segment", as_of) as run:
                result = segment_shop(mirror, cfg.shops[0], cfg.segmentation, as_of,
                                      run_id=run.id)  # fmt: skip
                extra = run_history_counts(result, cfg.segmentation.loyalty)
                run.counts = lambda r=result, e=extra: {"customers": r.customers, **e}
            print(f"stored segmentation as of {as_of:%Y-%m-%d}: "
                  f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip


def measure(path: Path, cfg: Config, out: Path) -> dict[str, float]:
    from loyalsync.core.report import build_report, render_html
    from loyalsync.sync.report_data import load_report_data

    times: dict[str, float] = {}
    clock = time.perf_counter()
    with Mirror.open(path) as mirror:
        data = load_report_data(mirror, cfg, cfg.shops[0], AS_OF)
    times["load"] = time.perf_counter() - clock
    clock = time.perf_counter()
    report = build_report(data)
    times["build"] = time.perf_counter() - clock
    clock = time.perf_counter()
    out.write_text(render_html([report], AS_OF), encoding="utf-8")
    times["render"] = time.perf_counter() - clock
    times["total"] = times["load"] + times["build"] + times["render"]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    cfg = config()
    path = build_mirror(args.customers)
    store_runs(path, cfg)
    out = OUT / f"report_{args.customers}.html"
    times = measure(path, cfg, out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = out.stat().st_size / 1_000_000
    print(
        f"report, {args.customers:,} customers: {times['total']:.1f} s (load "
        f"{times['load']:.1f} s, build {times['build']:.1f} s, render {times['render']:.2f} s); "
        f"{size:.2f} MB file ({out}); peak RSS {peak:,.0f} MB"
    )


if __name__ == "__main__":
    main()
