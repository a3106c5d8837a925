"""Benchmark: one daemon serving an agency's shops (issue 17, "Agency scale").

`--shops` simulated Shopware shops of `--customers` customers each (core.synth, about 3 orders
per customer) are served by `--sim-processes` separate processes (one port per shop, 127.0.0.1,
`--latency` per request); this process is the daemon: a `database: mirrors/{shop}.db` config,
so every shop has its own mirror and lock, and the daemon's bounded worker pool
(`schedule.workers`, default from the core count) runs the jobs. Phases, each timed for all
shops at once through `Daemon.run(once=True)` with only that phase's jobs:

1. backfill of `--backfill-shops` shops (a cold pull into empty mirrors). The other shops'
   mirrors are then cloned from the first one (every simulated shop holds the same synthetic
   data, so a clone is exactly what its backfill would have written) to save the time of the
   rest; the backfill of all shops is extrapolated linearly from the measured ones;
2. incremental pull of every shop, nothing changed;
3. incremental pull of every shop after 1% of its customers changed and 0.5% new orders;
4. the full daily cycle of every shop (pull, segment, plan, push with push.enabled: the first
   push, the dearest one).

Prints per phase: wall time, the daemon's CPU seconds, requests, peak RSS of this (the
daemon's) process, and from the incremental pull the largest number of shops one machine keeps
inside a 15-minute pull interval. The simulators share the machine's cores with the daemon;
the CPU-time figure is the daemon's own. Asserts nothing.

    python -m bench.bench_agency [--shops 200] [--customers 5000] [--backfill-shops 40]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from subprocess import PIPE
from typing import IO, Any, cast

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
INTERVAL = 15 * 60


# -- the simulated shops (child processes) ---------------------------------------------------
def serve_part(args: argparse.Namespace) -> int:
    """A child process: serve every `parts`-th shop, then answer commands on stdin."""
    from loyalsync.connectors.shopware.simulator import ShopwareSimulator
    from loyalsync.core.synth import SynthSpec, generate_shop

    data = generate_shop(SynthSpec(customers=args.customers, seed=7, as_of=AS_OF))
    sims = []
    for k in range(args.part, args.shops, args.sim_processes):
        sim = ShopwareSimulator(data, latency=args.latency, seed=k)
        sim.start()
        sims.append(sim)
        shop = {"name": f"shop-{k:03d}", "url": sim.url, "client_id": sim.client_id}
        print(json.dumps({**shop, "client_secret": sim.client_secret}), flush=True)
    print("ready", flush=True)
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "touch":
            fraction, seed = float(rest[0]), int(rest[1])
            for sim in sims:
                sim.touch_customers(fraction, seed)
                sim.add_orders(max(1, round(len(sim.orders) * fraction / 2)), seed)
        elif command == "requests":
            print(sum(len(s.request_log) for s in sims), flush=True)
            continue
        elif command == "quit":
            break
        print("ok", flush=True)
    for sim in sims:
        sim.stop()
    return 0


class Shops:
    """The simulator processes, from the daemon's side."""

    def __init__(self, args: argparse.Namespace) -> None:
        base = [sys.executable, "-m", "bench.bench_agency", "--serve-part"]
        options = [
            *("--shops", str(args.shops), "--customers", str(args.customers)),
            *("--sim-processes", str(args.sim_processes), "--latency", str(args.latency)),
        ]
        self.procs = [
            subprocess.Popen([*base, str(i), *options], stdin=PIPE, stdout=PIPE, text=True)
            for i in range(args.sim_processes)
        ]
        self.pipes = [(cast(IO[str], p.stdin), cast(IO[str], p.stdout)) for p in self.procs]
        self.entries: list[dict[str, str]] = []
        for _, out in self.pipes:
            for line in out:
                if line.strip() == "ready":
                    break
                self.entries.append(json.loads(line))
        self.entries.sort(key=lambda e: e["name"])

    def ask(self, command: str) -> list[str]:
        answers = []
        for into, out in self.pipes:
            into.write(command + "\n")
            into.flush()
            answers.append(out.readline().strip())
        return answers

    def requests(self) -> int:
        return sum(int(a) for a in self.ask("requests"))

    def close(self) -> None:
        for (into, _), proc in zip(self.pipes, self.procs, strict=True):
            into.write("quit\n")
            into.close()
            proc.wait(timeout=60)


# -- the daemon side --------------------------------------------------------------------------
def write_config(directory: Path, entries: list[dict[str, str]], workers: int | None) -> Path:
    lines = ["database: mirrors/{shop}.db", "schedule:"]
    lines += [f"  workers: {workers}"] if workers else ["  pull_every_minutes: 15"]
    lines += ["push:", "  enabled: true", "  max_changes: 0.99",
              "  groups: [{segment: 'loyalty:vip', group: 'VIP (auto)'}]",
              "  tags: [{segment: 'rfm_segment:champions', tag: champions}]", "shops:"]  # fmt: skip
    for e in entries:
        lines += [
            f"  - name: {e['name']}",
            "    platform: shopware",
            f"    url: {e['url']}",
            f"    credentials: {{client_id: {e['client_id']},",
            f"                   client_secret: {e['client_secret']}}}",
            "    requests_per_second: 50",
        ]
    (directory / "mirrors").mkdir()
    path = directory / "loyalsync.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Phase:
    name: str
    shops: int
    seconds: float
    cpu: float
    requests: int
    rss_mb: float
    outcomes: Counter[str]

    def line(self) -> str:
        per = self.seconds / self.shops if self.shops else 0.0
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items()))
        return (
            f"{self.name:<34} {self.shops:>4} shops  {self.seconds:8.1f} s wall "
            f"({per:6.2f} s/shop)  {self.cpu:8.1f} s daemon CPU  {self.requests:>7} requests  "
            f"peak RSS {self.rss_mb:7.0f} MB  [{outcomes}]"
        )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_phase(app: Any, shops: Shops, name: str, job: str, names: list[str], workers: int) -> Phase:
    from loyalsync.sync.daemon import Daemon, unit_jobs

    chosen = set(names)
    daemon = Daemon(app, jobs=[], workers=workers, install_signals=False)
    daemon.jobs = [
        j
        for s in app.config.shops
        if s.name in chosen
        for j in unit_jobs(app, (s,), daemon.stop_event.is_set)
        if j.name == job
    ]
    requests, cpu, started = shops.requests(), cpu_seconds(), time.perf_counter()
    daemon.run(once=True)
    seconds = time.perf_counter() - started
    outcomes = Counter(outcome for _, outcome in daemon.runs)
    return Phase(name, len(names), seconds, cpu_seconds() - cpu, shops.requests() - requests,
                 peak_rss_mb(), outcomes)  # fmt: skip


def clone_mirror(source: Path, target: Path, old: str, new: str) -> None:
    """Copy a backfilled mirror and rename its shop in every table that names one."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
        tables = [r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        with dst:
            for table in tables:
                columns = {r[1] for r in dst.execute(f"PRAGMA table_info('{table}')")}
                if "shop" in columns:
                    update = f"UPDATE '{table}' SET shop = ? WHERE shop = ?"  # noqa: S608
                    dst.execute(update, (new, old))
    finally:
        src.close()
        dst.close()
    os.chmod(target, 0o600)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--backfill-shops", type=int, default=40)
    parser.add_argument("--sim-processes", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=None, help="default: from the cores")
    parser.add_argument("--serve-part", dest="part", type=int, default=None)
    args = parser.parse_args()
    if args.part is not None:
        return serve_part(args)
    return measure(args)


def measure(args: argparse.Namespace) -> int:
    from loyalsync.sync.context import AppContext
    from loyalsync.sync.logs import setup_logging

    setup_logging(verbosity=-1)
    started = time.perf_counter()
    shops = Shops(args)
    setup = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-agency-") as tmp:
        app = AppContext(config_path=str(write_config(Path(tmp), shops.entries, args.workers)))
        workers = app.config.schedule.worker_count()
        names = [s.name for s in app.config.shops]
        print(f"{len(names)} simulated Shopware shops x {args.customers:,} customers in "
              f"{args.sim_processes} processes ({setup:.0f} s to start), {args.latency * 1000:.0f} "
              f"ms latency; daemon: {workers} workers on {os.cpu_count()} cores, one mirror per "
              f"shop", flush=True)  # fmt: skip
        phases = run_all_phases(app, shops, names, args, workers, Path(tmp))
        report(phases, args, workers)
        app.close()
    shops.close()
    return 0


def run_all_phases(
    app: Any, shops: Shops, names: list[str], args: argparse.Namespace, workers: int, tmp: Path
) -> dict[str, Phase]:
    phases: dict[str, Phase] = {}
    cold = names[: args.backfill_shops]
    phases["backfill"] = run_phase(app, shops, "backfill (cold pull)", "pull", cold, workers)
    print(phases["backfill"].line(), flush=True)
    started = time.perf_counter()
    for name in names[len(cold) :]:
        clone_mirror(
            tmp / "mirrors" / f"{cold[0]}.db", tmp / "mirrors" / f"{name}.db", cold[0], name
        )
    print(f"  (cloned {len(names) - len(cold)} mirrors in {time.perf_counter() - started:.0f} s)")
    phases["pull0"] = run_phase(app, shops, "incremental pull, nothing changed", "pull", names,
                                workers)  # fmt: skip
    print(phases["pull0"].line(), flush=True)
    shops.ask("touch 0.01 1")
    phases["pull1"] = run_phase(app, shops, "incremental pull, 1% changed", "pull", names, workers)
    print(phases["pull1"].line(), flush=True)
    shops.ask("touch 0.01 2")
    phases["cycle"] = run_phase(app, shops, "daily cycle (first push)", "cycle", names, workers)
    print(phases["cycle"].line(), flush=True)
    return phases


def report(phases: dict[str, Phase], args: argparse.Namespace, workers: int) -> None:
    backfill, pull, cycle = phases["backfill"], phases["pull1"], phases["cycle"]
    per_backfill = backfill.seconds / backfill.shops
    print(f"\nbackfill of all {args.shops} shops, extrapolated from {backfill.shops}: "
          f"{per_backfill * args.shops / 60:.1f} min")  # fmt: skip
    per_pull = pull.seconds / pull.shops
    fits = int(INTERVAL / per_pull)
    cpu_fits = int(INTERVAL * (os.cpu_count() or 1) / (pull.cpu / pull.shops))
    cycle_for_fits = fits * cycle.seconds / cycle.shops / 60
    print(f"incremental pull of all {pull.shops} shops: {pull.seconds:.1f} s "
          f"({per_pull:.2f} s per shop with {workers} workers)")  # fmt: skip
    print(f"largest number of shops inside a 15-minute pull interval on this machine: {fits:,} "
          f"(simulators sharing the cores; the daemon's own CPU alone would allow about "
          f"{cpu_fits:,}); their daily cycle takes about {cycle_for_fits:.0f} min")  # fmt: skip
    strict = int(INTERVAL / (cycle.seconds / cycle.shops))
    print(f"  ... with the whole daily cycle of every shop inside one interval too (no shop "
          f"waits longer than 15 minutes, even at the nightly cycle): {strict:,}")  # fmt: skip
    print(
        f"full daily cycle of all {cycle.shops} shops: {cycle.seconds / 60:.1f} min; "
        f"peak RSS of the daemon process {max(p.rss_mb for p in phases.values()):.0f} MB"
    )


if __name__ == "__main__":
    sys.exit(main())
