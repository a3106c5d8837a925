"""CLI commands that plan and write, and the simulated shop: plan, push, demo, simulate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from loyalsync.connectors import simulator_names
from loyalsync.core.mirror.push import load_contacts
from loyalsync.core.records import utcnow
from loyalsync.sync.commands_sync import report_failures
from loyalsync.sync.context import AppContext, for_each_shop
from loyalsync.sync.demo import run_demo, serve_forever
from loyalsync.sync.exits import exit_code_for
from loyalsync.sync.lock import shop_locks
from loyalsync.sync.options import as_of_option, command, json_option, shop_option
from loyalsync.sync.output import DATA, SAY, emit_json
from loyalsync.sync.push import plan_shop, push_shop
from loyalsync.sync.render import plan_json, print_plan, print_push


@command()
@shop_option()
@as_of_option
@json_option
def plan(app: AppContext, shop: str | None, as_of: datetime | None, as_json: bool) -> int:
    """Show what a push would change in the shop, and who is skipped and why. Writes nothing
    to the shop."""
    return _plan_or_push(app, shop, as_of, as_json=as_json, dry_run=True, force=False)


@command()
@shop_option()
@as_of_option
@click.option("--force", is_flag=True, help="Apply even if the plan exceeds push.max_changes.")
@click.option("--dry-run", is_flag=True, help="Only show the plan (same as `loyalsync plan`).")
@json_option
def push(
    app: AppContext,
    shop: str | None,
    as_of: datetime | None,
    force: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Apply the plan: managed customer groups, tags and personal discount codes, in batches.
    Every write and its result is journalled; exit code 4 when the shop rejected some.
    Nothing is written while push.enabled is false; --force only lifts push.max_changes."""
    return _plan_or_push(app, shop, as_of, as_json=as_json, dry_run=dry_run, force=force)


def _plan_or_push(
    app: AppContext,
    shop: str | None,
    as_of: datetime | None,
    *,
    as_json: bool,
    dry_run: bool,
    force: bool,
) -> int:
    shops = app.shops(shop)
    mirrors = {cfg.name: app.existing_mirror_for(cfg) for cfg in shops}
    when = as_of or utcnow()

    def one(cfg: Any) -> Any:
        connector, mirror = app.connector(cfg), mirrors[cfg.name]
        if dry_run:
            return plan_shop(connector, mirror, cfg, app.config, as_of=when)
        with shop_locks(app.config, (cfg,), "push"):
            return push_shop(connector, mirror, cfg, app.config, as_of=when, force=force)

    results, failed = for_each_shop(shops, one)
    named = as_json or app.verbosity > 0
    contacts = {name: load_contacts(mirrors[name], name) for name in results} if named else {}
    if as_json:
        data: dict[str, Any] = {}
        for name, r in results.items():
            if dry_run:
                data[name] = plan_json(r, contacts[name])
            else:
                data[name] = {**r.to_dict(), "plan": plan_json(r.plan, contacts[name])}
        emit_json(data | {name: {"error": str(e)} for name, e in failed.items()})
    else:
        verbose = app.verbosity > 0
        for name, result in results.items():
            show = print_plan if dry_run else print_push
            show(SAY, name, result, verbose=verbose, contacts=contacts.get(name))
    report_failures(failed)
    partial = any(getattr(r, "failed", 0) for r in results.values())
    return exit_code_for(failed, partial)


@command()
@click.option(
    "--platform",
    type=click.Choice(simulator_names()),
    default=simulator_names()[0],
    show_default=True,
    help="Which simulated shop to start.",
)
@click.option(
    "--dir",
    "directory",
    metavar="DIR",
    help="Where to write the demo config, mirror and report (default: a new temporary directory).",
)
@click.option("--customers", default=2000, show_default=True, help="Size of the simulated shop.")
@click.option("--seed", default=42, show_default=True, help="Seed of the synthetic data.")
def demo(app: AppContext, platform: str, directory: str | None, customers: int, seed: int) -> int:
    """Start a simulated shop on 127.0.0.1 and run the whole pipeline against it: backfill,
    segment, plan and push; then show what was written to the shop."""
    return run_demo(
        platform, directory, customers=customers, seed=seed, out=SAY, verbosity=app.verbosity
    )


@command()
@click.option(
    "--platform",
    type=click.Choice(simulator_names()),
    default=simulator_names()[0],
    show_default=True,
    help="Which shop to simulate.",
)
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1 (0: any free).")
@click.option("--customers", default=2000, show_default=True, help="Number of customers.")
@click.option("--seed", default=42, show_default=True, help="Seed of the synthetic data.")
@click.option("--latency", default=0.0, show_default=True, help="Seconds added to each request.")
def simulate(
    app: AppContext, platform: str, port: int, customers: int, seed: int, latency: float
) -> int:
    """Run a simulated shop alone (until Ctrl-C) and print a config snippet pointing at it.
    Same seed, same shop history as `loyalsync demo`, ending now."""
    return serve_forever(
        platform, port=port, customers=customers, seed=seed, latency=latency, out=DATA
    )


COMMANDS = [plan, push, demo, simulate]
