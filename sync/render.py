"""Rich rendering of segment sizes, plans and push results for people (stdout).

Display only: takes result objects, prints tables and plain sentences; computes nothing that
matters and never writes anywhere but the console.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from loyalsync.core.plan import Plan, op_dict

FAMILY_ORDER = (
    "abc",
    "loyalty",
    "rfm_segment",
    "lifecycle",
    "inactive",
    "rule",
    "rfm",
    "country",
    "city",
    "postcode",
)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def print_segments(
    out: Console,
    result: Any,
    *,
    families: tuple[str, ...] | None = None,
    max_rows_per_family: int = 12,
) -> None:
    """Segment sizes and revenue share, family by family (large families cut to the top)."""
    sizes = result.sizes
    out.print(
        f"[bold]{result.shop}[/bold]: {result.customers:,} customers segmented as of "
        f"{result.as_of:%Y-%m-%d}"
        + (
            f" ({result.excluded_protected:,} in protected groups left out)"
            if result.excluded_protected
            else ""
        )
        + (
            f"; {result.entered:,} entries and {result.exited:,} exits since the last run"
            if result.saved
            else ""
        )
    )
    table = Table(show_header=True, header_style="bold")
    for col, justify in (
        ("segment", "left"),
        ("customers", "right"),
        ("share", "right"),
        ("revenue share", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    wanted = families or tuple(sorted(set(sizes["family"]), key=lambda f: order.get(f, 99)))
    for family in wanted:
        rows = sizes[sizes["family"] == family].sort_values("customers", ascending=False)
        if rows.empty:
            continue
        hidden = len(rows) - max_rows_per_family
        for row in rows.head(max_rows_per_family).itertuples():
            table.add_row(
                row.segment, f"{row.customers:,}", _pct(row.customer_share), _pct(row.revenue_share)
            )
        if hidden > 0:
            table.add_row(f"[dim]{family}: {hidden} more[/dim]", "", "", "")
        table.add_section()
    out.print(table)


def print_plan(out: Console, shop: str, plan: Plan, *, verbose: bool = False) -> None:
    counts = plan.counts
    out.print(
        f"[bold]plan for {shop}[/bold] (as of {plan.as_of:%Y-%m-%d}): {plan.summary()}",
        highlight=False,
    )
    table = Table(show_header=True, header_style="bold")
    table.add_column("change")
    table.add_column("count", justify="right")
    for label, key in (
        ("groups to create", "groups_to_create"),
        ("tags to create", "tags_to_create"),
        ("customers moved between groups", "moves"),
        ("tags added", "tag_adds"),
        ("tags removed", "tag_removes"),
        ("discount codes issued", "codes"),
    ):
        table.add_row(label, f"{counts.get(key, 0):,}")
    for reason, n in sorted(Counter(s.reason for s in plan.skipped).items()):
        table.add_row(f"[dim]skipped: {reason}[/dim]", f"{n:,}")
    out.print(table)
    moves = Counter(f"{m.from_group or '?'} -> {m.group or 'default group'}" for m in plan.moves)
    for move, n in moves.most_common(8):
        out.print(f"  move {n:,} customers: {move}", highlight=False)
    if plan.over_limit:
        out.print(
            f"[yellow]this plan changes {plan.changed_customers:,} customers, more than "
            f"push.max_changes allows ({plan.limit:,}); push needs --force[/yellow]"
        )
    for line in plan.unsupported:
        out.print(f"  not possible here: {line}", highlight=False)
    for line in plan.notes:
        out.print(f"  note: {line}", highlight=False)
    if verbose:
        for op in plan.ops:
            out.print(f"  {op_dict(op)}", highlight=False)


def print_push(out: Console, shop: str, result: Any, *, verbose: bool = False) -> None:
    print_plan(out, shop, result.plan, verbose=verbose)
    out.print(f"[bold]pushed to {shop}[/bold]: {result.summary()}", highlight=False)
    for reason, n in result.reasons():
        out.print(f"  [red]{n} rejected by the shop:[/red] {reason}", highlight=False)
