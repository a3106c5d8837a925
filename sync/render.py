"""Rendering of segment sizes, plans and push results for people (stdout).

Display only: takes result objects, prints tables (plain CSV lines when stdout is not a
terminal, see sync.output) and plain sentences with one number format and correct plurals;
computes nothing that matters and never writes anywhere but the console.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from loyalsync.core.plan import Plan, op_dict
from loyalsync.sync.output import number, plural, print_rows

Contacts = Mapping[str, tuple[Any, ...]]  # customer id -> (number, email, first, last)

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
    text = (
        f"{result.shop}: {plural(result.customers, 'customer')} segmented as of "
        f"{result.as_of:%Y-%m-%d}"
    )
    if result.excluded_protected:
        text += f" ({number(result.excluded_protected)} in protected groups left out)"
    if result.saved:
        text += (
            f"; {plural(result.entered, 'entry')} and {plural(result.exited, 'exit')} "
            f"since the last run"
        )
    else:
        text += " (what-if: nothing stored)"
    out.print(text, markup=False)
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    wanted = families or tuple(sorted(set(sizes["family"]), key=lambda f: order.get(f, 99)))
    rows = []
    for family in wanted:
        found = sizes[sizes["family"] == family].sort_values("customers", ascending=False)
        for row in found.head(max_rows_per_family).itertuples():
            rows.append(
                (
                    row.segment,
                    number(row.customers),
                    _pct(row.customer_share),
                    _pct(row.revenue_share),
                )
            )
        if len(found) > max_rows_per_family:
            rows.append((f"{family}: {len(found) - max_rows_per_family} more", "", "", ""))
    columns = ("segment", "customers", "share", "revenue share")
    print_rows(out, columns, rows, right=columns[1:])


def _slot_changes(plan: Plan) -> list[str]:
    """'3 customer groups set', '5 tags added, 2 removed': per slot, in declared order."""
    c, parts = plan.counts, []
    for slot in plan.slots:
        if slot.cardinality == "one":
            parts.append(f"{plural(c[f'{slot.name}_set'], slot.label)} set")
        else:
            added, removed = c[f"{slot.name}_added"], c[f"{slot.name}_removed"]
            parts.append(f"{plural(added, slot.label)} added, {number(removed)} removed")
    return parts


def plan_summary(plan: Plan) -> str:
    """One sentence: what the plan changes, what it creates, whom it skips."""
    c = plan.counts
    text = "nothing to change"
    if not plan.is_empty:
        changes = [*_slot_changes(plan), plural(c["codes"], "code")]
        text = f"{plural(c['customers_changed'], 'customer')}: {', '.join(changes)}"
    created = [
        plural(c[f"{s.name}_to_create"], s.label) for s in plan.slots if c[f"{s.name}_to_create"]
    ]
    if created:
        text += f" (create {', '.join(created)})"
    skipped = Counter(s.reason for s in plan.skipped)
    if skipped:
        text += "; skipped " + ", ".join(f"{number(n)} {r}" for r, n in sorted(skipped.items()))
    return text


def push_summary(result: Any) -> str:
    if result.dry_run:
        return f"dry run: {plan_summary(result.plan)}"
    text = (
        f"{number(result.applied)} of {plural(len(result.plan.ops), 'write')} applied in "
        f"{plural(result.batches, 'batch', 'batches')}"
    )
    if result.failed:
        why = "; ".join(f"{error} ({number(n)})" for error, n in result.reasons(3))
        text += f", {number(result.failed)} failed: {why}"
    return text


def customer_text(customer_id: str, contacts: Contacts | None) -> str:
    """'customer 10023 anna@example.com (Anna Muster)'; the id when the mirror has no row."""
    found = (contacts or {}).get(customer_id)
    if not found:
        return f"customer id {customer_id}"
    num, email, first, last = found
    name = " ".join(str(p) for p in (first, last) if p)
    parts = [f"customer {num}" if num else f"customer id {customer_id}"]
    parts += [str(email)] if email else []
    parts += [f"({name})"] if name else []
    return " ".join(parts)


def customer_dict(customer_id: str, contacts: Contacts | None) -> dict[str, Any]:
    num, email, first, last = (contacts or {}).get(customer_id) or (None, None, None, None)
    name = " ".join(str(p) for p in (first, last) if p) or None
    return {"id": customer_id, "number": num, "email": email, "name": name}


def plan_json(plan: Plan, contacts: Contacts | None) -> dict[str, Any]:
    """`plan.to_dict()` with every change and skip naming its customer (number, e-mail, name)."""
    data = plan.to_dict()
    for item in [*data["changes"], *data["skipped"]]:
        cid = item.get("customer_id")
        if cid:
            item["customer"] = customer_dict(cid, contacts)
    return data


def _op_line(op: Any, contacts: Contacts | None) -> str:
    data = op_dict(op)
    kind = data.pop("op")
    cid = data.pop("customer_id", None)
    who = f" {customer_text(cid, contacts)}:" if cid else ""
    details = ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", ()))
    return f"  {kind}{who} {details}".rstrip()


def _plan_rows(plan: Plan) -> list[tuple[str, str]]:
    counts = plan.counts
    rows = [(f"{s.label} values to create", f"{s.name}_to_create") for s in plan.slots]
    for s in plan.slots:
        if s.cardinality == "one":
            rows.append((f"customers given another {s.label}", f"{s.name}_set"))
        else:
            rows += [
                (f"{s.label} added", f"{s.name}_added"),
                (f"{s.label} removed", f"{s.name}_removed"),
            ]
    rows.append(("discount codes issued", "codes"))
    return [(label, number(counts.get(key, 0))) for label, key in rows] + [
        (f"skipped: {reason}", number(n))
        for reason, n in sorted(Counter(s.reason for s in plan.skipped).items())
    ]


def print_plan(
    out: Console,
    shop: str,
    plan: Plan,
    *,
    verbose: bool = False,
    contacts: Contacts | None = None,
    forced: bool = False,
) -> None:
    out.print(f"plan for {shop} (as of {plan.as_of:%Y-%m-%d}): {plan_summary(plan)}", markup=False)
    print_rows(out, ("change", "count"), _plan_rows(plan), right=("count",))
    labels = {s.name: s.label for s in plan.slots}
    moves = Counter(
        (labels.get(m.slot, m.slot), f"{m.from_value or '?'} -> {m.value or 'the default'}")
        for m in plan.sets
    )
    for (label, move), n in moves.most_common(8):
        out.print(f"  {label} of {plural(n, 'customer')}: {move}", markup=False)
    if plan.over_limit and not forced:
        out.print(
            f"this plan changes {plural(plan.changed_customers, 'customer')}, more than "
            f"push.max_changes allows ({number(plan.limit)}); push needs --force",
            style="yellow",
            markup=False,
        )
    for line in plan.unsupported:
        out.print(f"  not possible here: {line}", markup=False)
    for line in plan.notes:
        out.print(f"  note: {line}", markup=False)
    if verbose:
        for op in plan.ops:
            out.print(_op_line(op, contacts), markup=False)
        for skip in plan.skipped:
            out.print(
                f"  skipped {customer_text(skip.customer_id, contacts)}: {skip.detail}",
                markup=False,
            )


def print_push(
    out: Console, shop: str, result: Any, *, verbose: bool = False, contacts: Contacts | None = None
) -> None:
    print_plan(out, shop, result.plan, verbose=verbose, contacts=contacts, forced=result.forced)
    if result.forced:
        changed = plural(result.plan.changed_customers, "customer")
        out.print(
            f"pushed with --force: the plan changes {changed}, more than push.max_changes "
            f"allows ({number(result.plan.limit)})",
            markup=False,
        )
    out.print(f"pushed to {shop}: {push_summary(result)}", markup=False)
    for reason, n in result.reasons():
        out.print(f"  {number(n)} rejected by the shop: {reason}", style="red", markup=False)
