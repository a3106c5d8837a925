"""CLI commands that plan and write, and the simulated shop: plan, push, demo, simulate."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from loyalsync.sync.commands_sync import exit_code_for, report_failures
from loyalsync.sync.context import AppContext, for_each_shop

out = Console()


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--as-of", "as_of", metavar="DATE", help="Plan as of this date (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print every change as JSON.")
@click.pass_obj
def plan(app: AppContext, shop: str | None, as_of: str | None, as_json: bool) -> int:
    """Show what a push would change in the shop, and who is skipped and why. Writes nothing."""
    return _plan_or_push(app, shop, as_of, as_json=as_json, dry_run=True, force=False)


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--as-of", "as_of", metavar="DATE", help="Plan as of this date (default: now).")
@click.option("--force", is_flag=True, help="Apply even if the plan exceeds push.max_changes.")
@click.option("--dry-run", is_flag=True, help="Only show the plan (same as `loyalsync plan`).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan and results as JSON.")
@click.pass_obj
def push(
    app: AppContext, shop: str | None, as_of: str | None, force: bool, dry_run: bool, as_json: bool
) -> int:
    """Apply the plan: managed customer groups, tags and personal discount codes, in batches.
    Every write and its result is journalled; exit code 4 when the shop rejected some."""
    return _plan_or_push(app, shop, as_of, as_json=as_json, dry_run=dry_run, force=force)


def _plan_or_push(
    app: AppContext,
    shop: str | None,
    as_of: str | None,
    *,
    as_json: bool,
    dry_run: bool,
    force: bool,
) -> int:
    from loyalsync.sync.cli import emit_json, parse_as_of
    from loyalsync.sync.render import print_plan, print_push

    moment = parse_as_of(as_of)
    results: dict[str, Any] = {}

    def one(cfg: Any) -> Any:
        from loyalsync.core.records import utcnow
        from loyalsync.sync.push import plan_shop, push_shop

        when = moment or utcnow()
        connector = app.connector(cfg)
        if dry_run:
            results[cfg.name] = plan_shop(connector, app.mirror, cfg, app.config, as_of=when)
        else:
            from loyalsync.sync.lock import MirrorLock

            with MirrorLock(app.config.database, "push"):
                results[cfg.name] = push_shop(
                    connector, app.mirror, cfg, app.config, as_of=when, force=force
                )
        return results[cfg.name]

    _, failed = for_each_shop(app.shops(shop), one)
    if as_json:
        emit_json(
            {
                **{name: r.to_dict() for name, r in results.items()},
                **{name: {"error": str(e)} for name, e in failed.items()},
            }
        )
    else:
        for name, result in results.items():
            if dry_run:
                print_plan(out, name, result, verbose=app.verbosity > 0)
            else:
                print_push(out, name, result, verbose=app.verbosity > 0)
        report_failures(failed)
    partial = any(getattr(r, "failed", 0) for r in results.values())
    return exit_code_for(failed, partial)


@click.command()
@click.option(
    "--platform", default="shopware", show_default=True, help="Which simulated shop to start."
)
@click.option(
    "--dir",
    "directory",
    metavar="DIR",
    help="Where to write the demo config, mirror and report (default: a new temporary directory).",
)
@click.option("--customers", default=2000, show_default=True, help="Size of the simulated shop.")
@click.option("--seed", default=42, show_default=True, help="Seed of the synthetic data.")
@click.pass_obj
def demo(app: AppContext, platform: str, directory: str | None, customers: int, seed: int) -> int:
    """Start a simulated shop on 127.0.0.1 and run the whole pipeline against it: backfill,
    segment, plan and push; then show what was written to the shop."""
    from loyalsync.sync.demo import run_demo

    return run_demo(
        platform, directory, customers=customers, seed=seed, out=out, verbosity=app.verbosity
    )


@click.command()
@click.option("--platform", default="shopware", show_default=True, help="Which shop to simulate.")
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1 (0: any free).")
@click.option("--customers", default=2000, show_default=True, help="Number of customers.")
@click.option("--seed", default=42, show_default=True, help="Seed of the synthetic data.")
@click.option("--latency", default=0.0, show_default=True, help="Seconds added to each request.")
def simulate(platform: str, port: int, customers: int, seed: int, latency: float) -> int:
    """Run a simulated shop alone (until Ctrl-C) and print a config snippet pointing at it."""
    from loyalsync.sync.demo import serve_forever

    return serve_forever(
        platform, port=port, customers=customers, seed=seed, latency=latency, out=out
    )


COMMANDS = [plan, push, demo, simulate]
