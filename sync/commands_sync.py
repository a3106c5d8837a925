"""CLI commands that talk to shops: init, check, backfill, pull, run, daemon, status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from loyalsync.core.errors import ConfigError, TransientError
from loyalsync.sync.context import AppContext, for_each_shop

console = Console(stderr=True)
out = Console()


def exit_code_for(failed: dict[str, Exception], partial: bool = False) -> int:
    """One code for a multi-shop run: config/auth beats temporary beats partial."""
    if any(isinstance(e, ConfigError) for e in failed.values()):
        return 3
    if any(isinstance(e, TransientError) for e in failed.values()):
        return 75
    if failed:
        return max(getattr(e, "exit_code", 1) for e in failed.values())
    return 4 if partial else 0


def report_failures(failed: dict[str, Exception]) -> None:
    for name, exc in failed.items():
        console.print(f"[red]shop {name} failed:[/red] {exc}", markup=True, highlight=False)


@click.command()
@click.option(
    "--path", type=click.Path(dir_okay=False), default="loyalsync.yaml", show_default=True
)
@click.option(
    "--platform",
    type=click.Choice(["shopware", "prestashop", "jtl"]),
    default="shopware",
    show_default=True,
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, platform: str, force: bool) -> int:
    """Write a starter config (every option, commented) for one shop."""
    from loyalsync.sync.starter import starter_config

    target = Path(path)
    if target.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to overwrite it")
    target.write_text(starter_config(platform), encoding="utf-8")
    click.echo(f"wrote {path}: set the credentials' environment variables, then `loyalsync check`")
    return 0


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def check(app: AppContext, shop: str | None, as_json: bool) -> int:
    """Check that each shop answers, the credentials work, and what the platform supports."""
    results: dict[str, Any] = {}

    def one(cfg: Any) -> Any:
        connector = app.connector(cfg)
        result = connector.check()
        caps = connector.capabilities
        results[cfg.name] = {
            "ok": result.ok,
            "platform": result.platform,
            "version": result.version,
            "customers": result.customers,
            "orders": result.orders,
            "messages": list(result.messages),
            "unsupported": caps.unsupported(),
            "notes": list(caps.notes),
        }
        return result

    _, failed = for_each_shop(app.shops(shop), one)
    if as_json:
        from loyalsync.sync.cli import emit_json

        emit_json({**results, **{k: {"ok": False, "error": str(v)} for k, v in failed.items()}})
    else:
        for name, r in results.items():
            version = f" {r['version']}" if r["version"] else ""
            out.print(
                f"[green]ok[/green] {name}: {r['platform']}{version}, "
                f"{r['customers']} customers, {r['orders']} orders"
            )
            for message in r["messages"]:
                out.print(f"   {message}")
            if r["unsupported"]:
                out.print(f"   this platform cannot: {', '.join(r['unsupported'])}")
            for note in r["notes"]:
                out.print(f"   note: {note}")
        report_failures(failed)
    return exit_code_for(failed)


def _progress_pull(
    app: AppContext, shop: str | None, *, backfill: bool, since: Any, deletion_scan: bool | None
) -> int:
    from loyalsync.sync.lock import MirrorLock
    from loyalsync.sync.progress import PullProgress
    from loyalsync.sync.pull import pull_shop

    config = app.config
    results: dict[str, Any] = {}
    with MirrorLock(config.database, "backfill" if backfill else "pull"):

        def one(cfg: Any) -> Any:
            with PullProgress(console, cfg.name, quiet=app.verbosity < 0) as progress:
                result = pull_shop(
                    app.connector(cfg),
                    app.mirror,
                    cfg,
                    backfill=backfill,
                    since=since,
                    deletion_scan=deletion_scan,
                    on_page=progress.on_page,
                )
            results[cfg.name] = result
            return result

        _, failed = for_each_shop(app.shops(shop), one)
    for name, result in results.items():
        parts = [
            f"{entity}: {c.new} new, {c.updated} updated, {c.unchanged} unchanged"
            + (f", {c.quarantined} quarantined" if c.quarantined else "")
            for entity, c in result.entities.items()
        ]
        if result.deleted:
            parts.append(f"{result.deleted} customers deleted in the shop")
        out.print(f"{name}: " + "; ".join(parts), highlight=False)
    report_failures(failed)
    partial = any(r.quarantined for r in results.values())
    return exit_code_for(failed, partial)


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--since", metavar="DATE", help="Only records created or changed since DATE.")
@click.pass_obj
def backfill(app: AppContext, shop: str | None, since: str | None) -> int:
    """Read a shop's whole history (resumable: run it again after any interruption)."""
    from loyalsync.sync.cli import parse_as_of

    return _progress_pull(app, shop, backfill=True, since=parse_as_of(since), deletion_scan=False)


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option(
    "--deletion-scan/--no-deletion-scan",
    default=None,
    help="Force or skip the scan for customers deleted in the shop (default: when due).",
)
@click.pass_obj
def pull(app: AppContext, shop: str | None, deletion_scan: bool | None) -> int:
    """Pull what changed since the last pull (with a small overlap window)."""
    return _progress_pull(app, shop, backfill=False, since=None, deletion_scan=deletion_scan)


@click.command(name="run")
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--as-of", "as_of", metavar="DATE", help="Segment as of this date (default: now).")
@click.option("--force", is_flag=True, help="Push even if the plan exceeds push.max_changes.")
@click.pass_obj
def run_cycle_cmd(app: AppContext, shop: str | None, as_of: str | None, force: bool) -> int:
    """One full cycle per shop: pull, segment, plan, and push when push.enabled is true."""
    from loyalsync.sync.cli import parse_as_of
    from loyalsync.sync.cycle import run_cycle
    from loyalsync.sync.lock import MirrorLock

    with MirrorLock(app.config.database, "run"):
        report = run_cycle(app, shop, as_of=parse_as_of(as_of), force=force)
    for line in report.lines():
        out.print(line, highlight=False)
    report_failures(report.failed)
    return exit_code_for(report.failed, report.partial)


@click.command()
@click.option("--once", is_flag=True, help="Run every job once now, then exit (for testing).")
@click.pass_obj
def daemon(app: AppContext, once: bool) -> int:
    """Run the scheduled jobs (schedule: in the config) until SIGTERM or Ctrl-C."""
    from loyalsync.sync.daemon import Daemon
    from loyalsync.sync.lock import MirrorLock

    with MirrorLock(app.config.database, "daemon"):
        Daemon(app).run(once=once)
    return 0


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def status(app: AppContext, shop: str | None, as_json: bool) -> int:
    """Last runs, cursors, next scheduled jobs, quarantine counts and the last push per shop."""
    from loyalsync.sync.status import collect_status

    data = collect_status(app, shop)
    if as_json:
        from loyalsync.sync.cli import emit_json

        emit_json(data)
        return 0
    for name, info in data["shops"].items():
        table = Table(title=f"shop {name}", show_lines=False)
        for column in ("kind", "started", "outcome", "counts"):
            table.add_column(column)
        for run in info["runs"]:
            table.add_row(run["kind"], run["started"], run["outcome"], run["summary"])
        out.print(table)
        for cursor in info["cursors"]:
            out.print(f"  cursor {cursor['entity']}: {cursor['summary']}", highlight=False)
        if info["quarantine"]:
            out.print(f"  quarantined records: {info['quarantine']}", highlight=False)
        if info["last_push"]:
            out.print(f"  last push: {info['last_push']}", highlight=False)
    if data.get("next_jobs"):
        out.print("next scheduled jobs (daemon):")
        for job in data["next_jobs"]:
            out.print(f"  {job}", highlight=False)
    return 0


COMMANDS = [init, check, backfill, pull, run_cycle_cmd, daemon, status]
