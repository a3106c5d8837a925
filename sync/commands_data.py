"""CLI commands over the mirror's data: segment, customers, report. They need a mirror that a
backfill made (`existing_mirror`); only `segment` writes, under the lock."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from loyalsync.core.mirror.report import load_consent
from loyalsync.core.records import utcnow
from loyalsync.core.segments.references import segment_problem
from loyalsync.sync import export
from loyalsync.sync.codes_export import campaign_named, export_codes
from loyalsync.sync.commands_sync import check_stored_as_of, report_failures
from loyalsync.sync.context import AppContext, for_each_shop
from loyalsync.sync.cycle import segment_recorded
from loyalsync.sync.exits import exit_code_for
from loyalsync.sync.lock import shop_locks
from loyalsync.sync.options import as_of_option, command, date_callback, json_option, shop_option
from loyalsync.sync.output import DATA, SAY, csv_line, emit_json, iso_utc, number, print_rows
from loyalsync.sync.render import print_segments
from loyalsync.sync.report import write_report
from loyalsync.sync.segment import customer_table


@command()
@shop_option()
@as_of_option
@click.option(
    "--dry-run", is_flag=True, help="A what-if: compute and print, store nothing (any --as-of)."
)
@json_option
def segment(
    app: AppContext, shop: str | None, as_of: datetime | None, dry_run: bool, as_json: bool
) -> int:
    """Compute every customer's segments (ABC, RFM, loyalty, inactivity, lifecycle, geography,
    rules), store membership and its history, print sizes and revenue share."""
    moment = as_of or utcnow()
    shops = app.shops(shop)
    for cfg in shops:  # refuse before taking the lock when nothing was pulled
        app.existing_mirror_for(cfg)
    if dry_run:
        results, failed = for_each_shop(
            shops, lambda c: segment_recorded(app, c, moment, save=False)
        )
    else:
        with shop_locks(app.config, shops, "segment"):
            if as_of is not None:
                check_stored_as_of(app, shops, as_of)
            results, failed = for_each_shop(shops, lambda c: segment_recorded(app, c, moment))
    if as_json:
        emit_json(
            {name: r.to_dict() for name, r in results.items()}
            | {name: {"error": str(e)} for name, e in failed.items()}
        )
    else:
        for result in results.values():
            print_segments(SAY, result)
    report_failures(failed)
    return exit_code_for(failed)


@command()
@shop_option("The shop (default: the first configured).")
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
    type=click.Choice(
        [
            "city",
            "country",
            "postcode",
            "email",
            "last_name",
            "last_order",
            "revenue",
            "orders",
            "clv",
            "contact_due",
        ]
    ),
    help="Sort the list by this column after ranking (last_order: most recent first; revenue, "
    "orders, clv: highest first; contact_due: earliest contact-due date first).",
)
@click.option(
    "--due-before",
    "due_before",
    metavar="DATE",
    callback=date_callback,
    help="Only customers whose contact-due date (predicted) is before DATE: who to contact now.",
)
@click.option(
    "--consented-only",
    is_flag=True,
    help="Only customers who consented to the newsletter (refused when the mirror has no "
    "consent data for the shop).",
)
@click.option(
    "--columns",
    metavar="A,B,...",
    help="Only these columns, in this order (e.g. email,first_name,newsletter).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--with-codes",
    "with_codes",
    metavar="CAMPAIGN",
    help="Add one personal code per customer of the push.discounts campaign, for shops whose "
    "API cannot create coupons: create them in the shop backend. Recorded as exported.",
)
@json_option
def customers(
    app: AppContext,
    shop: str | None,
    segment_name: str | None,
    top: int | None,
    by: str,
    sort: str | None,
    due_before: datetime | None,
    consented_only: bool,
    columns: str | None,
    fmt: str,
    with_codes: str | None,
    as_json: bool,
) -> int:
    """List customers with contact details and newsletter consent (for newsletters and CRM
    export): the top N by revenue or orders, or the members of a segment; with --due-before,
    who to contact now (with each one's P(active), CLV and contact-due date)."""
    cfg = app.config.shop(shop) if shop else app.config.shops[0]
    if segment_name is not None:
        problem = segment_problem(segment_name, app.config.segmentation)
        if problem:
            raise click.BadParameter(problem, param_hint="'--segment'")
    table_sort = None if sort in export.EXTRA_SORTS else sort
    frame = customer_table(
        app.existing_mirror_for(cfg), cfg, segment=segment_name, top=top, by=by,
        sort="contact_due_at" if table_sort == "contact_due" else table_sort,
        cfg=app.config.segmentation, due_before=due_before,
    )  # fmt: skip
    frame = _with_consent(app, cfg.name, frame, consented_only)
    if sort in export.EXTRA_SORTS:
        frame = export.sorted_export(frame, sort)
    frame = _readable(frame)
    if with_codes is not None:
        if fmt == "table" and not as_json:
            raise click.BadParameter(
                "use --format csv or json with it", param_hint="'--with-codes'"
            )
        campaign = campaign_named(app.config, with_codes)
        ids = [str(c) for c in frame["customer_id"]]
        with shop_locks(app.config, (cfg,), "export codes"):
            codes = export_codes(app.existing_mirror_for(cfg), cfg.name, campaign, ids, utcnow())
        frame["code"] = [codes[c] for c in ids]
    chosen = export.chosen_columns(columns, list(frame.columns)) if columns else None
    if as_json or fmt == "json":
        emit_json({cfg.name: frame.loc[:, chosen or list(frame.columns)].to_dict("records")})
    elif fmt == "csv":
        picked = frame.loc[:, chosen or list(frame.columns)]
        for line in [csv_line(picked.columns), *(csv_line(r) for r in picked.itertuples(False))]:
            sys.stdout.write(line + "\n")
    else:
        _print_table(frame, cfg.name, segment_name, due_before, chosen)
    return 0


def _with_consent(app: AppContext, shop: str, frame: Any, consented_only: bool) -> Any:
    """The newsletter column; only the consenting with `consented_only` (refused without any
    consent data); without consent data a note on stderr (CSV or JSON on stdout stay clean)."""
    consent = load_consent(app.existing_mirror_for(app.config.shop(shop)), shop)
    frame = export.with_consent(frame, consent)
    if consented_only:
        return export.consented_only(frame, shop, not consent.empty)
    if consent.empty:
        click.echo(f"note: no newsletter consent data in the mirror for {shop}; the "
                   "newsletter column is empty", err=True)  # fmt: skip
    return frame


def _readable(frame: Any) -> Any:
    """Rounded money and probabilities, ISO dates (one form for table, CSV and JSON)."""
    frame["revenue"] = frame["revenue"].round(2)
    predicted = "contact_due_at" in frame.columns
    for column in ("last_order_at", "contact_due_at") if predicted else ("last_order_at",):
        frame[column] = [iso_utc(v) if v == v and v is not None else None for v in frame[column]]
    if predicted:
        frame["p_alive"], frame["clv"] = frame["p_alive"].round(3), frame["clv"].round(2)
    return frame


def _print_table(
    frame: Any, shop: str, segment: str | None, due_before: datetime | None, chosen: Any
) -> None:
    what = segment or "all customers"
    if due_before is not None:
        what += f", contact due before {due_before.date().isoformat()}"
    title = f"{shop}: {what} ({number(len(frame))})"
    if chosen:
        rows = [tuple("" if v is None or v != v else str(v) for v in r)
                for r in frame.loc[:, chosen].itertuples(index=False)]  # fmt: skip
        print_rows(DATA, tuple(chosen), rows, title=title)
        return
    predicted = "contact_due_at" in frame.columns
    columns = CUSTOMER_COLUMNS + (PREDICTED_COLUMNS if predicted else ())
    print_rows(DATA, columns, _customer_rows(frame, predicted), title=title, right=RIGHT)


CUSTOMER_COLUMNS = ("name", "email", "place", "orders", "revenue", "last order")
PREDICTED_COLUMNS = ("p(active)", "clv", "contact due")
RIGHT = ("orders", "revenue", "p(active)", "clv")


def _customer_rows(frame: Any, predicted: bool = False) -> list[tuple[str, ...]]:
    """Readable rows: name, contact, place, orders, revenue, last order, and with `predicted`
    P(active), CLV and the contact-due day (CSV/JSON have all columns, including the ids)."""

    def text(value: Any) -> str:
        return "" if value is None or value != value else str(value)

    rows: list[tuple[str, ...]] = []
    for row in frame.itertuples(index=False):
        name = " ".join(filter(None, (text(row.first_name), text(row.last_name))))
        if text(row.company):
            name += f" ({row.company})"
        place = " ".join(filter(None, (text(row.country), text(row.postcode), text(row.city))))
        last = text(row.last_order_at)[:10]
        revenue = f"{row.revenue:,.2f}"
        extra: tuple[str, ...] = ()
        if predicted:
            alive, clv = (f"{v:,.2f}" if v == v else "" for v in (row.p_alive, row.clv))
            extra = (alive, clv, text(row.contact_due_at)[:10])
        rows.append((name, text(row.email), place, number(row.orders), revenue, last, *extra))
    return rows


@command()
@shop_option()
@as_of_option
@click.option(
    "--out",
    "path",
    default="loyalsync-report.html",
    show_default=True,
    help="Where to write the HTML file.",
)
def report(app: AppContext, shop: str | None, as_of: datetime | None, path: str) -> int:
    """Write one self-contained HTML report (charts inline, no network needed to open it):
    headline figures, top customers, ABC, RFM, loyalty tiers, moves, inactivity and contact-due
    lists, cohorts, predictions, campaigns and the last pushes."""
    moment = as_of or utcnow()
    shops = app.shops(shop)
    written = write_report(app.existing_mirror_of(shops), app.config, shops, moment, path)
    SAY.print(f"report written to {written}", markup=False)
    return 0


COMMANDS = [segment, customers, report]
