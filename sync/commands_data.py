"""CLI commands over the mirror's data: segment, customers, report."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from loyalsync.sync.commands_sync import exit_code_for, report_failures
from loyalsync.sync.context import AppContext, for_each_shop

out = Console()


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--as-of", "as_of", metavar="DATE", help="Segment as of this date (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def segment(app: AppContext, shop: str | None, as_of: str | None, as_json: bool) -> int:
    """Compute every customer's segments (ABC, RFM, loyalty, inactivity, lifecycle, geography,
    rules), store membership and its history, print sizes and revenue share."""
    from loyalsync.core.records import utcnow
    from loyalsync.sync.cli import emit_json, parse_as_of
    from loyalsync.sync.cycle import segment_recorded
    from loyalsync.sync.render import print_segments

    moment = parse_as_of(as_of) or utcnow()
    results: dict[str, Any] = {}

    def one(cfg: Any) -> Any:
        results[cfg.name] = segment_recorded(app, cfg, moment)
        return results[cfg.name]

    _, failed = for_each_shop(app.shops(shop), one)
    if as_json:
        emit_json(
            {name: r.to_dict() for name, r in results.items()}
            | {name: {"error": str(e)} for name, e in failed.items()}
        )
    else:
        for result in results.values():
            print_segments(out, result)
        report_failures(failed)
    return exit_code_for(failed)


@click.command()
@click.option("--shop", metavar="NAME", help="The shop (default: the first configured).")
@click.option("--segment", "segment_name", metavar="S", help="Only members of S, e.g. inactive:3m.")
@click.option("--top", type=int, metavar="N", help="Only the first N by --by.")
@click.option(
    "--by",
    type=click.Choice(["revenue", "orders"]),
    default="revenue",
    show_default=True,
    help="Rank customers by revenue or by orders.",
)
@click.option(
    "--sort",
    type=click.Choice(["city", "country", "postcode", "email", "last_name"]),
    help="Sort the list by this column after ranking.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.pass_obj
def customers(
    app: AppContext,
    shop: str | None,
    segment_name: str | None,
    top: int | None,
    by: str,
    sort: str | None,
    fmt: str,
) -> int:
    """List customers with contact details (for newsletters and CRM export): the top N by
    revenue or orders, or the members of a segment."""
    from loyalsync.core.segments.run import customer_table

    cfg = app.config.shop(shop) if shop else app.config.shops[0]
    frame = customer_table(
        app.mirror,
        cfg,
        segment=segment_name,
        top=top,
        by=by,
        sort=sort,
        cfg=app.config.segmentation,
    )
    frame["revenue"] = frame["revenue"].round(2)
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=2))
    else:
        out.print(_customer_rich_table(frame, f"{cfg.name}: {segment_name or 'all customers'}"))
    return 0


@click.command()
@click.option("--shop", metavar="NAME", help="Only this shop.")
@click.option("--as-of", "as_of", metavar="DATE", help="Report as of this date (default: now).")
@click.option(
    "--out",
    "path",
    default="loyalsync-report.html",
    show_default=True,
    help="Where to write the HTML file.",
)
@click.pass_obj
def report(app: AppContext, shop: str | None, as_of: str | None, path: str) -> int:
    """Write an HTML report of segment sizes, revenue shares and recent movements."""
    from loyalsync.core.records import utcnow
    from loyalsync.sync.cli import parse_as_of
    from loyalsync.sync.report import write_report

    moment = parse_as_of(as_of) or utcnow()
    written = write_report(app.mirror, app.config, app.shops(shop), moment, path)
    out.print(f"report written to {written}")
    return 0


def _customer_rich_table(frame: Any, title: str) -> Table:
    """A readable table: name, contact, place, orders, revenue, last order (CSV/JSON have all
    columns, including the ids)."""
    table = Table(title=f"{title} ({len(frame):,})", title_justify="left")
    for column, justify in (
        ("name", "left"),
        ("email", "left"),
        ("place", "left"),
        ("orders", "right"),
        ("revenue", "right"),
        ("last order", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]

    def text(value: Any) -> str:
        return "" if value is None or value != value else str(value)

    for row in frame.itertuples(index=False):
        name = " ".join(filter(None, (text(row.first_name), text(row.last_name))))
        if text(row.company):
            name += f" ({row.company})"
        place = " ".join(filter(None, (text(row.country), text(row.postcode), text(row.city))))
        last = text(row.last_order_at)[:10]
        table.add_row(name, text(row.email), place, f"{row.orders:,}", f"{row.revenue:,.2f}", last)
    return table


COMMANDS = [segment, customers, report]
