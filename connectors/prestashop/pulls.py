"""Paged pulls of customers and orders from the PrestaShop webservice, and the id scan.

Owns research/prestashop.md §2.8: every pass is an id keyset (`filter[id]=[last+1,max]`,
`sort=[id_ASC]`, `limit=N`), stable under concurrent updates and free of duplicates; an
incremental pass adds `date=1` and the inclusive window `filter[date_upd]=[start,far]`, where
start is the newest `date_upd` seen (by the shop's clock, written in its time zone) minus the
lag. A pass starts by asking the shop for its newest `date_upd` (one request, limit 1): that
is `Cursor.started`, where the next window begins, so a change the keyset had already passed
is never lost, whatever our clock or the `Date` header says (the clock contract of issue
11). Per page of customers the addresses (most recent active, else the latest order's); per
page of orders the cart rules used. The deletion scan reads `display=[id]` keyset windows.
A list entry that is not an object is quarantined with its page, with the resource named: the
page's own, and those its look-ups (addresses, cart rules) or the reference data set aside.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from loyalsync.connectors.prestashop import mapping, parse
from loyalsync.core.errors import ApiError, RecordError
from loyalsync.core.records import Cursor, Page, Quarantined

if TYPE_CHECKING:
    from loyalsync.connectors.prestashop.client import PrestaShopConnector

MAX_ID = 2_147_483_647  # INT(10) UNSIGNED ids fit; the interval regex wants digits only
FAR = "9999-12-31 23:59:59"
ID_CHUNK = 100  # ids per OR filter: keeps the request line well under 8 KB
ID_SCAN_LIMIT = 5000
OCR_DISPLAY = "[id,id_order,id_cart_rule]"


def id_filters(ids: list[int]) -> list[str]:
    """Filter values covering `ids`: one interval when they are dense, else OR lists."""
    if not ids:
        return []
    ids = sorted(set(ids))
    if ids[-1] - ids[0] + 1 <= 2 * len(ids):
        return [f"[{ids[0]},{ids[-1]}]"]
    return [
        "[" + "|".join(str(i) for i in ids[n : n + ID_CHUNK]) + "]"
        for n in range(0, len(ids), ID_CHUNK)
    ]


def window_start(c: PrestaShopConnector, cursor: Cursor) -> str | None:
    if cursor.since is None:
        return None
    start = cursor.since - timedelta(minutes=c.shop.lag_minutes)
    return parse.shop_text(start, c.reference().tz)


def newest_change(c: PrestaShopConnector, resource: str) -> datetime | None:
    """The shop's newest change time of `resource`, from its own data: the row with the
    latest `date_upd` (one request, limit 1). None for an empty shop."""
    params = {
        "display": "[id,date_add,date_upd]",
        "sort": "[date_upd_DESC]",
        "limit": "1",
        "date": "1",
    }
    tz = c.reference().tz
    stamps = []
    for row in c.fetch_rows(resource, params):
        for key in ("date_upd", "date_add"):
            try:
                stamps.append(parse.shop_time(row.get(key), tz))
            except RecordError:
                continue
    return max((s for s in stamps if s is not None), default=None)


def iter_pass(c: PrestaShopConnector, resource: str, cursor: Cursor) -> Iterator[Page]:
    """One pass: an id keyset, inside the `date_upd` window when the cursor has one. A new
    pass first asks the shop for its newest change: every page's cursor carries it as
    `started`, where the next window begins (changes made during the pass are newer)."""
    ref = c.reference()
    if cursor.after is None and cursor.started is None:
        cursor = replace(cursor, started=newest_change(c, resource))
    start = window_start(c, cursor)
    after = int(cursor.after) if cursor.after else 0
    # a backfill reads orders as one dense id keyset: their cart rules come in their own keyset
    keyset = CodeKeyset() if start is None and resource == "orders" else None
    while True:
        params = {
            "display": "full",
            "sort": "[id_ASC]",
            "limit": str(c.limit),
            "filter[id]": f"[{after + 1},{MAX_ID}]",
        }
        if start is not None:
            params.update({"date": "1", "filter[date_upd]": f"[{start},{FAR}]"})
        entries = c.fetch_entries(resource, params)
        rows, bad = parse.split_rows(entries, resource)
        records, quarantined, seen = _map_page(c, resource, rows, ref, keyset)
        ids = [int(r["id"]) for r in rows if str(r.get("id", "")).isdigit()]
        after = max([after, *ids])
        cursor = cursor.advance(after=str(after) if after else None, seen=seen)
        # entries that are not objects, this page's and those set aside by its look-ups
        # (addresses, cart rules) or by the reference data, go to the quarantine with it
        yield Page(tuple(records), cursor, (*bad, *quarantined, *c.take_aside()))
        if len(entries) < c.limit:  # every entry counts: a junk row is not a short page
            return


def _map_page(
    c: PrestaShopConnector,
    resource: str,
    rows: list[dict[str, Any]],
    ref: mapping.Reference,
    keyset: CodeKeyset | None = None,
) -> tuple[list[Any], list[Quarantined], datetime | None]:
    seen: datetime | None = None
    for row in rows:
        try:
            stamp = parse.shop_time(row.get("date_upd"), ref.tz)
        except RecordError:
            stamp = None
        if stamp is not None and (seen is None or stamp > seen):
            seen = stamp
    if resource == "customers":
        wanted = [r for r in rows if not mapping.is_anonymous(r)]
        addresses = customer_addresses(c, [r.get("id") for r in wanted])
        records, quarantined = _mapped(
            wanted,
            resource,
            lambda r: mapping.map_customer(r, ref, addresses.get(str(r.get("id")))),
        )
    else:
        ids = [r.get("id") for r in rows]
        codes = keyset.codes_for(c, ids) if keyset is not None else order_codes(c, ids)
        records, quarantined = _mapped(
            rows,
            resource,
            lambda r: mapping.map_order(r, ref, codes.get(str(r.get("id")), ()), c.anonymous_id),
        )
    return records, quarantined, seen


def _mapped(rows: list[dict[str, Any]], entity: str, fn: Any) -> tuple[list[Any], list[Any]]:
    records, quarantined = [], []
    for raw in rows:
        try:
            records.append(fn(raw))
        except (RecordError, KeyError, TypeError, ValueError) as exc:
            message = (
                exc.message
                if isinstance(exc, RecordError)
                else f"{entity} row could not be mapped: {type(exc).__name__}: {exc}"[:300]
            )
            rid = parse.text(raw.get("id")) if isinstance(raw, dict) else None
            quarantined.append(Quarantined(entity, rid, message, raw))
    return records, quarantined


def _ints(values: list[Any]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


def customer_addresses(c: PrestaShopConnector, ids: list[Any]) -> dict[str, mapping.Address]:
    """customer id -> the address for geography: the most recent active one, else the
    delivery address of the customer's latest order (often soft-deleted by then)."""
    ref = c.reference()
    display = "[id,id_customer,id_country,city,postcode,deleted,date_upd]"
    found: dict[str, list[mapping.Address]] = {}
    for value in id_filters(_ints(ids)):
        params = {"display": display, "filter[id_customer]": value}
        for row in c.fetch_rows("addresses", params, optional=True):
            address = _address(c, row, ref)
            if address is not None:
                found.setdefault(address.customer_id, []).append(address)
    chosen = {cid: a for cid, rows in found.items() if (a := mapping.best_address(rows))}
    # only soft-deleted addresses: the latest order's. A customer without any address row has
    # no order with one either (PrestaShop soft-deletes an address orders use): no look-up
    stale = [int(cid) for cid in found if cid not in chosen and cid.isdigit()]
    if stale:
        chosen.update(_order_addresses(c, stale, found))
    return chosen


def _address(
    c: PrestaShopConnector, row: dict[str, Any], ref: mapping.Reference
) -> mapping.Address | None:
    """An address row mapped, or None: geography only, so the customer is kept without it and
    the row is set aside for the quarantine with the reason."""
    try:
        return mapping.map_address(row, ref)
    except RecordError as exc:
        c.set_aside([Quarantined("addresses", parse.text(row.get("id")), exc.message, row)])
        return None


def _order_addresses(
    c: PrestaShopConnector, ids: list[int], known: dict[str, list[mapping.Address]]
) -> dict[str, mapping.Address]:
    latest: dict[str, tuple[int, str]] = {}
    for value in id_filters(ids):
        params = {"display": "[id,id_customer,id_address_delivery]", "filter[id_customer]": value}
        for row in c.fetch_rows("orders", params):
            cid, address = str(row.get("id_customer")), str(row.get("id_address_delivery"))
            if address.isdigit() and address != "0" and _ints([row.get("id")]):
                oid = int(row["id"])
                if cid not in latest or oid > latest[cid][0]:
                    latest[cid] = (oid, address)
    by_id = {a.id: a for rows in known.values() for a in rows}
    wanted = [a for _, a in latest.values() if a not in by_id]  # another customer's address
    display = "[id,id_customer,id_country,city,postcode,deleted,date_upd]"
    for value in id_filters(_ints(wanted)):
        for row in c.fetch_rows("addresses", {"display": display, "filter[id]": value}):
            address = _address(c, row, c.reference())
            if address is not None:
                by_id[address.id] = address
    return {cid: by_id[a] for cid, (_, a) in latest.items() if a in by_id}


def order_codes(c: PrestaShopConnector, ids: list[Any]) -> dict[str, tuple[str, ...]]:
    """order id -> the codes of the cart rules used with it (for redemptions): the
    order_cart_rules of exactly these orders (incremental pages, whose ids are sparse)."""
    used: dict[str, list[str]] = {}
    for value in id_filters(_ints(ids)):
        params = {"display": OCR_DISPLAY, "filter[id_order]": value}
        _add_rules(used, c.fetch_rows("order_cart_rules", params, optional=True))
    return _codes(c, used, ids)


class CodeKeyset:
    """The cart rules used by a backfill's orders, read as a keyset of their own sorted by
    `id_order` (pages of `page_size`), merged with the orders' id keyset: ceil(rows / page)
    requests for the whole pass instead of one per order page, as most orders use none.

    A short page covers every order after it. An order placed after that read (during the
    pass) may lack its codes here; its `date_upd` is newer than the pass's start, so the next
    incremental pull re-reads it with `order_codes`."""

    def __init__(self) -> None:
        self.covered = 0  # orders up to this id are known
        self.used: dict[str, list[str]] = {}

    def codes_for(self, c: PrestaShopConnector, ids: list[Any]) -> dict[str, tuple[str, ...]]:
        numbers = _ints(ids)
        if not numbers:
            return {}
        low, high = min(numbers), max(numbers)
        self.covered = max(self.covered, low - 1)
        while self.covered < high:
            self._read_from(c, self.covered + 1, high)
        found = _codes(c, {k: v for k, v in self.used.items() if int(k) <= high}, ids)
        self.used = {k: v for k, v in self.used.items() if int(k) > high}
        return found

    def _read_from(self, c: PrestaShopConnector, first: int, high: int) -> None:
        params = {
            "display": OCR_DISPLAY,
            "filter[id_order]": f"[{first},{MAX_ID}]",
            "sort": "[id_order_ASC,id_ASC]",
            "limit": str(c.limit),
        }
        rows = c.fetch_rows("order_cart_rules", params, optional=True)
        fetch_codes(c, rows)  # the codes of a whole page of rules at once
        if len(rows) < c.limit:
            _add_rules(self.used, rows)
            self.covered = MAX_ID
            return
        last = max(_ints([r.get("id_order") for r in rows]), default=first)
        if last > first:  # the last order's rules may go on in the next page
            _add_rules(self.used, [r for r in rows if str(r.get("id_order")) != str(last)])
            self.covered = last - 1
            return
        # one order holds a whole page of rules: read the rest of this order page unbounded
        params = {"display": OCR_DISPLAY, "filter[id_order]": f"[{first},{high}]"}
        _add_rules(self.used, c.fetch_rows("order_cart_rules", params, optional=True))
        self.covered = high


def _add_rules(used: dict[str, list[str]], rows: list[dict[str, Any]]) -> None:
    for row in rows:
        rule = parse.text(row.get("id_cart_rule"))
        if rule:
            used.setdefault(str(row.get("id_order")), []).append(rule)


def fetch_codes(c: PrestaShopConnector, rows: list[dict[str, Any]]) -> None:
    """Read the codes of the cart rules named in `rows` the connector does not know yet."""
    unknown = {parse.text(r.get("id_cart_rule")) for r in rows} - set(c.codes) - {None}
    for value in id_filters(_ints(list(unknown))):
        params = {"display": "[id,code]", "filter[id]": value}
        for row in c.fetch_rows("cart_rules", params, optional=True):
            rid = parse.text(row.get("id"))
            if rid is None:
                c.set_aside([Quarantined("cart_rules", None, "cart rule without an id", row)])
            else:
                c.codes[rid] = parse.text(row.get("code")) or ""
    for rule in unknown:
        c.codes.setdefault(str(rule), "")  # deleted since: not asked for again


def _codes(
    c: PrestaShopConnector, used: dict[str, list[str]], ids: list[Any]
) -> dict[str, tuple[str, ...]]:
    """The codes of the rules in `used` for the orders `ids`; unknown rules read by id."""
    wanted = {str(i) for i in ids}
    used = {k: v for k, v in used.items() if k in wanted}
    fetch_codes(c, [{"id_cart_rule": r} for rules in used.values() for r in rules])
    return {
        oid: tuple(sorted({c.codes[r] for r in rules if c.codes.get(r)}))
        for oid, rules in used.items()
    }


def iter_ids(
    c: PrestaShopConnector, resource: str, window: int = ID_SCAN_LIMIT
) -> Iterator[list[str]]:
    """Every live id, in `display=[id]` keyset windows of `window` ids (no objects loaded,
    §2.7): ids // window + 1 requests (the last window is the short one that ends it). A row
    whose id cannot be read stops the scan with an ApiError: it may stand for a live customer."""
    after = 0
    while True:
        params = {
            "display": "[id]",
            "sort": "[id_ASC]",
            "limit": str(window),
            "filter[id]": f"[{after + 1},{MAX_ID}]",
        }
        entries = c.fetch_entries(resource, params)
        rows, bad = parse.split_rows(entries, resource)
        odd = [b.error for b in bad] + [
            f"{resource} row without a valid id: {r.get('id')!r:.40}"
            for r in rows
            if not _ints([r.get("id")])
        ]
        if odd:  # an id we cannot read would mark a live customer deleted: stop, delete nothing
            raise ApiError(
                f"GET /api/{resource} (deletion scan): {odd[0]}; stopped before marking "
                "anything deleted"
            )
        ids = _ints([r.get("id") for r in rows])
        if ids:
            yield [str(i) for i in ids]
            after = max(ids)
        if len(entries) < window:
            return
