"""CLI commands that talk to shops: init, check, backfill, pull, run, daemon, status."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from loyalsync.connectors import platform_names, platform_specs
from loyalsync.core.config import ShopConfig
from loyalsync.core.plan.protect import check_protected_groups, protection_slots
from loyalsync.core.platform_spec import shop_notices
from loyalsync.core.records import utcnow
from loyalsync.sync.context import AppContext, for_each_shop
from loyalsync.sync.cycle import as_of_problem, newest_segment_as_of, run_cycle
from loyalsync.sync.daemon import Daemon
from loyalsync.sync.exits import exit_code_for
from loyalsync.sync.lock import shop_locks
from loyalsync.sync.options import as_of_option, command, json_option, shop_option, since_option
from loyalsync.sync.output import DATA, ERR, SAY, emit_json, number, plural, print_rows
from loyalsync.sync.progress import PullProgress
from loyalsync.sync.pull import StopRequested, pull_shop
from loyalsync.sync.signals import StopOnSignal
from loyalsync.sync.starter import starter_config
from loyalsync.sync.status import collect_status


def report_failures(failed: dict[str, Exception]) -> None:
    for name, exc in failed.items():
        ERR.print(f"shop {name} failed: {exc}", style="red", markup=False)


def check_stored_as_of(
    app: AppContext, shops: tuple[ShopConfig, ...], as_of: datetime, *, pulled_only: bool = False
) -> None:
    """Refuse (usage error, exit 2) an --as-of that would store bogus history (`pulled_only`:
    shops whose mirror does not exist yet have no history to check)."""
    now = utcnow()
    for shop in shops:
        if pulled_only and not Path(app.config.database_for(shop.name)).exists():
            continue
        mirror = app.existing_mirror_for(shop)
        problem = as_of_problem(as_of, now, newest_segment_as_of(mirror, shop.name))
        if problem:
            raise click.BadParameter(f"[{shop.name}] {problem}", param_hint="'--as-of'")


@command()
@click.option(
    "--path", type=click.Path(dir_okay=False), default="loyalsync.yaml", show_default=True
)
@click.option(
    "--platform",
    type=click.Choice(platform_names()),
    default=platform_names()[0],
    show_default=True,
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(app: AppContext, path: str, platform: str, force: bool) -> int:
    """Write a starter config (every option, commented) for one shop."""
    target = Path(path)
    if target.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")
    target.write_text(starter_config(platform), encoding="utf-8")
    SAY.print(
        f"wrote {path}: set the credentials' environment variables, then `loyalsync check`",
        markup=False,
    )
    return 0


def _check_one(app: AppContext, cfg: ShopConfig) -> dict[str, Any]:
    connector = app.connector(cfg)
    result = connector.check()
    if cfg.protected_groups and connector.slots:
        state = connector.current_state()
        chosen = {s.name for s in protection_slots(connector.slots)}
        values = [(v.id, v.name) for v in state.values if v.slot in chosen]
        check_protected_groups(cfg.name, cfg.protected_groups, values)
    caps = connector.capabilities
    spec = platform_specs().get(cfg.platform)
    return {
        "ok": result.ok,
        "platform": result.platform,
        "version": result.version,
        "customers": result.customers,
        "orders": result.orders,
        "messages": [*result.messages, *shop_notices(app.config, cfg, spec)],
        "unsupported": caps.unsupported(),
        "notes": list(caps.notes),
    }


@command()
@shop_option()
@json_option
def check(app: AppContext, shop: str | None, as_json: bool) -> int:
    """Check that each shop answers, the credentials work, the protected groups exist, and
    what the platform supports."""
    results, failed = for_each_shop(app.shops(shop), lambda cfg: _check_one(app, cfg))
    if as_json:
        emit_json({**results, **{k: {"ok": False, "error": str(v)} for k, v in failed.items()}})
    else:
        for name, r in results.items():
            version = f" {r['version']}" if r["version"] else ""
            SAY.print(
                f"ok {name}: {r['platform']}{version}, {plural(r['customers'], 'customer')}, "
                f"{plural(r['orders'], 'order')}",
                markup=False,
            )
            for message in r["messages"]:
                SAY.print(f"  {message}", markup=False)
            if r["unsupported"]:
                SAY.print(f"  this platform cannot: {', '.join(r['unsupported'])}", markup=False)
            for note in r["notes"]:
                SAY.print(f"  note: {note}", markup=False)
    report_failures(failed)
    return exit_code_for(failed)


def _pull_line(name: str, result: Any) -> str:
    parts = [
        f"{entity}: {number(c.new)} new, {number(c.updated)} updated, "
        f"{number(c.unchanged)} unchanged"
        + (f", {number(c.quarantined)} quarantined" if c.quarantined else "")
        for entity, c in result.entities.items()
    ]
    if result.deleted:
        parts.append(f"{plural(result.deleted, 'customer')} deleted in the shop")
    return f"{name}: " + "; ".join(parts)


def _stopped_message(kind: str, stop: StopOnSignal, shop: str, saved: Counter[str]) -> str:
    done = " and ".join(plural(saved[e], e.rstrip("s")) for e in ("customers", "orders"))
    again = "loyalsync backfill" if kind == "backfill" else "loyalsync pull"
    return (
        f"{kind} of {shop} stopped by {stop.name} after a saved page: {done} saved in this run, "
        f"nothing is lost. Run `{again}` again to resume after the last saved page."
    )


def _progress_pull(
    app: AppContext, shop: str | None, *, backfill: bool, since: Any, deletion_scan: bool | None
) -> int:
    kind = "backfill" if backfill else "pull"
    results: dict[str, Any] = {}
    saved: Counter[str] = Counter()
    current = {"shop": ""}

    def one(cfg: Any) -> Any:
        current["shop"] = cfg.name
        with PullProgress(ERR, cfg.name, quiet=app.verbosity < 0) as progress:

            def on_page(entity: str, page: Any, counts: Any) -> None:
                saved[entity] += len(page.records)
                progress.on_page(entity, page, counts)

            results[cfg.name] = pull_shop(
                app.connector(cfg), app.mirror_for(cfg), cfg, backfill=backfill, since=since,
                deletion_scan=deletion_scan, on_page=on_page, should_stop=stop,
            )  # fmt: skip
        return results[cfg.name]

    with shop_locks(app.config, app.shops(shop), kind), StopOnSignal() as stop:
        try:
            _, failed = for_each_shop(app.shops(shop), one)
        except StopRequested:
            ERR.print(_stopped_message(kind, stop, current["shop"], saved), markup=False)
            return stop.exit_code
    for name, result in results.items():
        SAY.print(_pull_line(name, result), markup=False)
    report_failures(failed)
    return exit_code_for(failed, any(r.quarantined for r in results.values()))


@command()
@shop_option()
@since_option
def backfill(app: AppContext, shop: str | None, since: datetime | None) -> int:
    """Read a shop's whole history (resumable: run it again after any interruption)."""
    return _progress_pull(app, shop, backfill=True, since=since, deletion_scan=False)


@command()
@shop_option()
@click.option(
    "--deletion-scan/--no-deletion-scan",
    default=None,
    help="Force or skip the scan for customers deleted in the shop (default: when due).",
)
def pull(app: AppContext, shop: str | None, deletion_scan: bool | None) -> int:
    """Pull what changed since the last pull (with a small overlap window)."""
    return _progress_pull(app, shop, backfill=False, since=None, deletion_scan=deletion_scan)


@command(name="run")
@shop_option()
@as_of_option
@click.option("--force", is_flag=True, help="Push even if the plan exceeds push.max_changes.")
def run_cycle_cmd(app: AppContext, shop: str | None, as_of: datetime | None, force: bool) -> int:
    """One full cycle per shop: pull, segment, plan, and push when push.enabled is true."""
    with shop_locks(app.config, app.shops(shop), "run"):
        if as_of is not None and app.config.database != ":memory:":
            check_stored_as_of(app, app.shops(shop), as_of, pulled_only=True)
        report = run_cycle(app, shop, as_of=as_of, force=force)
    for line in report.lines():
        SAY.print(line, markup=False)
    report_failures(report.failed)
    return exit_code_for(report.failed, report.partial)


@command()
@click.option("--once", is_flag=True, help="Run every job once now, then exit (for testing).")
def daemon(app: AppContext, once: bool) -> int:
    """Run the scheduled jobs (schedule: in the config) until SIGTERM or Ctrl-C."""
    Daemon(app).run(once=once)  # holds every shop's mirror lock while it runs
    return 0


@command()
@shop_option()
@json_option
def status(app: AppContext, shop: str | None, as_json: bool) -> int:
    """Last runs, cursors, next scheduled jobs, quarantine counts and the last push per shop."""
    data = collect_status(app, shop)
    if as_json:
        emit_json(data)
        return 0
    for name, info in data["shops"].items():
        rows = [(r["kind"], r["started"], r["outcome"], r["summary"]) for r in info["runs"]]
        print_rows(DATA, ("kind", "started", "outcome", "counts"), rows, title=f"shop {name}")
        for cursor in info["cursors"]:
            DATA.print(f"  cursor {cursor['entity']}: {cursor['summary']}", markup=False)
        if info["quarantine"]:
            held = ", ".join(f"{number(n)} {entity}" for entity, n in info["quarantine"].items())
            DATA.print(f"  quarantined records: {held}", markup=False)
        if info["last_push"]:
            DATA.print(f"  last push: {info['last_push']}", markup=False)
    if data.get("next_jobs"):
        DATA.print("next scheduled jobs (daemon):")
        for job in data["next_jobs"]:
            DATA.print(f"  {job}", markup=False)
    return 0


COMMANDS = [init, check, backfill, pull, run_cycle_cmd, daemon, status]
