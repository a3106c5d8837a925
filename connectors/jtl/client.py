"""The JTL-Wawi connector (API v1, pinned): authenticated calls, paged pulls, state, writes.

Owns the conversation with one Wawi, on-premise or through JTL Cloud (`auth.py`). Reading
(§4.1, §4.4, §8.7): customers have no changed-since filter in v1, so every customer pass is a
full paged scan (the mirror writes only rows whose hash changed); orders are read with
`createdSince` = the shop's newest order time known minus max(lag, `recent_orders_days`), which
re-reads the trailing window for cancellations and payments; line items (one request per
order, §8.9) are fetched only for orders the mirror does not hold with the same header
(`lineitems.py`, through the `use_known` look-up sync hands us), a few at a time.
Paging loops on `HasNextPage` (on the last page `NextPageNumber` equals `TotalPages`, §5.1).
v1 cannot sort either list, so a pass takes no "newest change" look-up: its cursor's `high`
(the newest CustomerSince / SalesOrderDate seen, the shop's own clock) starts the next window.
Mapping is in `mapping.py`, writes in `writer.py`. Never reads env vars, files or the mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from loyalsync.connectors.base import Capabilities, CheckResult, CurrentState, KnownPayloads
from loyalsync.connectors.http import HttpClient, json_body
from loyalsync.connectors.jtl import lineitems, mapping
from loyalsync.connectors.jtl import platform as declared
from loyalsync.connectors.jtl.auth import WawiAuth, refusal
from loyalsync.connectors.jtl.writer import apply_ops, label_field
from loyalsync.core.config import OptionSpec, ShopConfig
from loyalsync.core.errors import ConfigError, RecordError
from loyalsync.core.records import GROUPS, Cursor, OpResult, Page, Quarantined, Slot, WriteOp

MAX_PAGE = 1000  # the maximum page size is undocumented (§5.1); we never ask for more


class JtlConnector:
    """Pulls customers and orders from, and writes groups, categories and a label to, one Wawi."""

    platform: ClassVar[str] = "jtl"
    slots: ClassVar[tuple[Slot, ...]] = declared.SLOTS
    options: ClassVar[tuple[OptionSpec, ...]] = declared.OPTIONS
    credential_keys: ClassVar[tuple[str, ...]] = declared.CREDENTIAL_KEYS
    starter_config: ClassVar[str] = declared.STARTER_CONFIG
    parse_error = staticmethod(declared.parse_error)
    rate_limit_wait = staticmethod(declared.rate_limit_wait)
    simulator: ClassVar[str] = "loyalsync.connectors.jtl.simulator"
    capabilities: ClassVar[Capabilities] = Capabilities(
        groups=True,
        multiple_groups=False,
        tags=False,
        personal_codes=False,
        notes=(
            "API version 1 pinned (PascalCase, paths without a version prefix)",
            "a customer group carries a price discount and net/gross display: prefer "
            "customer categories or the label custom field for pure segment labels",
            "discount codes: absent. No JTL API creates JTL-Shop coupons; use `loyalsync "
            "customers --segment S --format csv --with-codes CAMPAIGN` and create the codes "
            "in the shop backend (they are recorded as exported, never as issued)",
            "customers have no changed-since filter in v1: every pull scans all customers "
            "(only changed rows are written to the mirror)",
            "orders have only createdSince: the last recent_orders_days before the newest "
            "order are re-read on every pull; pending orders are invisible until released",
        ),
    )

    def __init__(
        self, shop: ShopConfig, http: HttpClient, *, now: Callable[[], datetime] | None = None
    ) -> None:
        self.shop, self.http = shop, http
        self.now = now or http.now
        self.auth = WawiAuth(shop, http, self.now)
        self.limit = max(1, min(MAX_PAGE, shop.page_size))
        try:
            self.zone = ZoneInfo(str(declared.option(shop, "timezone")))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"shop {shop.name!r}: jtl.timezone {declared.option(shop, 'timezone')!r} is "
                f"not a time zone name (e.g. Europe/Berlin)",
                shop=shop.name,
            ) from None
        self.workflows_disabled = bool(declared.option(shop, "disable_workflows"))
        self.item_workers = max(1, int(declared.option(shop, "line_item_workers")))
        self.known: KnownPayloads | None = None

    def __repr__(self) -> str:
        return f"JtlConnector(shop={self.shop.name!r})"

    def use_known(self, known: KnownPayloads) -> None:
        """The mirror's stored payloads (connectors/base.py): orders it holds with the same
        header keep their stored line items instead of a request each."""
        self.known = known

    # -- transport ------------------------------------------------------------------------
    def call(self, method: str, path: str, what: str = "", **kw: Any) -> requests.Response:
        """One authenticated call; a 401 on cloud renews the token once; 401/402/403 become
        ConfigErrors naming the credential, the licence or the scope."""
        kw.setdefault("idempotent", method in ("GET", "PATCH"))
        accepted = tuple(kw.pop("ok_statuses", ()))
        for attempt in (1, 2):
            sent = self.auth.headers()
            response = self.http.request(
                method, path, headers=sent, ok_statuses=(401, 402, 403, *accepted), **kw
            )
            status = response.status_code
            if status == 401 and attempt == 1 and self.auth.cloud:
                self.auth.invalidate(sent)
                continue
            if status in (401, 402, 403) and status not in accepted:
                raise refusal(self.shop, response, what or f"{method} {path}")
            return response
        raise AssertionError("unreachable")

    def get_json(self, path: str, what: str = "", **params: Any) -> Any:
        return json_body(self.call("GET", path, what, params=params or None))

    # -- check and state ------------------------------------------------------------------
    def check(self) -> CheckResult:
        info = self.get_json("/info", "the API server's status")
        customers = self.get_json("/customers", "reading customers", pageNumber=1, pageSize=1)
        orders = self.get_json("/salesOrders", "reading sales orders", pageNumber=1, pageSize=1)
        messages = [
            f"API version {declared.API_VERSION} ({declared.option(self.shop, 'flavour')})",
            "customer updates send disableAutomaticWorkflows=true: no Wawi workflow fires"
            if self.workflows_disabled
            else "customer updates let Wawi workflows fire (jtl.disable_workflows: false)",
            "discount codes: not available on JTL (no coupon API); use `loyalsync customers "
            "--with-codes` to export codes for the shop backend",
        ]
        name = str(declared.option(self.shop, "label_field") or "")
        messages.append(
            "capabilities: customer groups yes (one per customer, drives prices) | customer "
            "categories yes | label custom field "
            + (f"yes ({name!r})" if name else "not configured (jtl.label_field)")
            + " | tags no | personal discount codes no (export) | deletion scan yes"
        )
        if name:
            found = label_field(self, name)  # raises ConfigError: missing or wrong type
            kind = declared.TEXT_FIELD_TYPES[int(found["Type"])]
            messages.append(f"label custom field {name!r} exists (type {kind})")
        return CheckResult(
            ok=True,
            platform=self.platform,
            version=str(mapping.get(info, "Version") or "") or None,
            customers=int(mapping.get(customers, "TotalItems") or 0),
            orders=int(mapping.get(orders, "TotalItems") or 0),
            messages=tuple(messages),
        )

    def current_state(self) -> CurrentState:
        groups = self.get_json("/customerGroups", "reading customer groups") or []
        categories = self.get_json("/customerCategories", "reading customer categories") or []
        values, quarantined = [], []
        for slot, rows in ((GROUPS, groups), (declared.CATEGORIES, categories)):
            mapped, bad = self._map(list(rows), slot, lambda raw, s=slot: mapping.map_value(s, raw))
            values += mapped
            quarantined += bad
        default = next(
            (v.id for v in values if v.slot == GROUPS and mapping.get(v.raw, "IsDefault")), None
        )
        return CurrentState(
            values=tuple(sorted(values, key=lambda v: (v.slot, v.id))),
            defaults=((GROUPS, default),) if default else (),
            quarantined=tuple(quarantined),
        )

    # -- pulls ----------------------------------------------------------------------------
    def _pages(self, path: str, params: dict[str, Any], start: int) -> Iterator[tuple[int, Any]]:
        """(page number, envelope) from `start`, looping on HasNextPage, never on
        NextPageNumber (it equals TotalPages on the last page)."""
        number = start
        while True:
            data = self.get_json(
                path, f"reading {path}", **params, pageNumber=number, pageSize=self.limit
            )
            yield number, data
            if not mapping.get(data, "HasNextPage"):
                return
            number += 1

    def iter_customers(self, cursor: Cursor) -> Iterator[Page]:
        start = int(cursor.after or 0) + 1
        seen_ids: set[str] = set()
        for number, data in self._pages("/customers", {}, start):
            rows = [
                r
                for r in mapping.get(data, "Items") or []
                if str(mapping.get(r, "Id")) not in seen_ids
            ]
            records, quarantined = self._map(
                rows, "customers", lambda r: mapping.map_customer(r, self.zone)
            )
            seen_ids.update(r.id for r in records)
            newest = max((r.created_at for r in records if r.created_at), default=None)
            cursor = cursor.advance(after=str(number), seen=newest)
            total = mapping.get(data, "TotalItems") if number == start else None
            yield Page(tuple(records), cursor, tuple(quarantined), total)

    def iter_orders(self, cursor: Cursor) -> Iterator[Page]:
        params: dict[str, Any] = {}
        if cursor.since is not None:
            days = int(declared.option(self.shop, "recent_orders_days"))
            back = max(timedelta(minutes=self.shop.lag_minutes), timedelta(days=days))
            params["createdSince"] = (cursor.since - back).isoformat()
        start = int(cursor.after or 0) + 1
        for number, data in self._pages("/salesOrders", params, start):
            rows = list(mapping.get(data, "Items") or [])
            rows = lineitems.with_items(rows, self.known, self._fetch_items, self.item_workers)
            records, quarantined = self._map(rows, "orders", self._order)
            newest = max((r.placed_at for r in records), default=None)
            cursor = cursor.advance(after=str(number), seen=newest)
            total = mapping.get(data, "TotalItems") if number == start else None
            yield Page(tuple(records), cursor, tuple(quarantined), total)

    def _fetch_items(self, oid: str) -> list[Any]:
        return list(self.get_json(f"/salesOrders/{oid}/lineitems", "reading line items") or [])

    def _order(self, raw: Any) -> Any:
        items = mapping.get(raw, lineitems.ITEMS_KEY) or []
        return mapping.map_order(raw, list(items), self.zone, self.shop.currency)

    def _map(
        self, rows: list[Any], entity: str, map_row: Callable[[Any], Any]
    ) -> tuple[list[Any], list[Quarantined]]:
        records, quarantined = [], []
        for raw in rows:
            try:
                records.append(map_row(raw))
            except RecordError as exc:
                rid = mapping.text_id(mapping.get(raw, "Id"))
                quarantined.append(Quarantined(entity, rid, exc.message, raw))
        return records, quarantined

    # -- deletion scan --------------------------------------------------------------------
    def iter_customer_ids(self) -> Iterator[list[str]]:
        """Every live customer id, for the deletion scan: a full paged scan (a first backfill
        counts as one, see sync.pull)."""
        for _, data in self._pages("/customers", {}, 1):
            ids = [str(mapping.get(r, "Id")) for r in mapping.get(data, "Items") or []]
            if ids:
                yield ids

    # -- writes ---------------------------------------------------------------------------
    def apply(self, ops: Sequence[WriteOp]) -> list[OpResult]:
        return apply_ops(self, ops)
