"""The Shopware 6 connector: authenticated Admin API calls, paged pulls, state, writes.

Owns the conversation with one shop's Admin API (6.4 to 6.7): auth via `TokenAuth`, the search
loops (keyset on `autoIncrement`, page paging as fallback), the deletion id scan and the
current groups/tags. Mapping is in `mapping.py`, criteria bodies in `criteria.py`, write
batches in `writer.py`. Never reads env vars, files or the mirror; never sleeps (the HTTP
layer does). Research: ../shared/research/shopware.md §2 (reading), §3 (writing), §9.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from loyalsync.connectors.base import Capabilities, CheckResult, CurrentState
from loyalsync.connectors.http import HttpClient, json_body
from loyalsync.connectors.shopware import consent, criteria, mapping
from loyalsync.connectors.shopware import platform as declared
from loyalsync.connectors.shopware.auth import TokenAuth
from loyalsync.connectors.shopware.state import ShopwareState
from loyalsync.connectors.shopware.writer import DEFAULT_BATCH, apply_ops
from loyalsync.core.config import OptionSpec, ShopConfig
from loyalsync.core.errors import ApiError, LoyalsyncError
from loyalsync.core.records import Cursor, OpResult, Page, Slot, WriteOp

QUERY_LIMIT_EXCEEDED = "FRAMEWORK__QUERY_LIMIT_EXCEEDED"
ACCESSOR_NOT_ALLOWED = "FRAMEWORK__ACCESSOR_NOT_ALLOWED"
STOREFRONT_TYPE_ID = "8a243080f92e4c719546314b577cf82b"  # Defaults::SALES_CHANNEL_TYPE_STOREFRONT
PAGE_PREFIX = "page:"  # cursor.after in page-paging mode: "page:<rows already read>"


def _path(entity: str) -> str:
    return entity.replace("_", "-")


class ShopwareConnector:
    """Pulls customers and orders from, and pushes groups, tags and codes to, one shop."""

    platform: ClassVar[str] = "shopware"
    slots: ClassVar[tuple[Slot, ...]] = declared.SLOTS
    options: ClassVar[tuple[OptionSpec, ...]] = declared.OPTIONS
    credential_keys: ClassVar[tuple[str, ...]] = declared.CREDENTIAL_KEYS
    starter_config: ClassVar[str] = declared.STARTER_CONFIG
    parse_error = staticmethod(declared.parse_error)
    simulator: ClassVar[str] = "loyalsync.connectors.shopware.simulator"
    capabilities: ClassVar[Capabilities] = Capabilities(
        groups=True,
        multiple_groups=False,
        tags=True,
        personal_codes=True,
        notes=(
            "a customer has exactly one group, and the group drives prices (gross/net "
            "display, advanced prices): new groups copy displayGross from the default group; "
            "prefer tags for analytic segments",
            "personal codes are individual codes of one promotion per campaign, restricted to "
            "the campaign's customers and one redemption per customer; Shopware itself does "
            "not bind a code to one customer, so that binding is enforced by the customer "
            "restriction plus our record of who got which code",
            "payment and delivery changes do not move an order's updatedAt: orders placed in "
            "the last recent_orders_days are re-read on every pull",
        ),
    )

    def __init__(
        self,
        shop: ShopConfig,
        http: HttpClient,
        *,
        now: Callable[[], datetime] | None = None,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self.shop = shop
        self.http = http
        # the HTTP client's clock unless told otherwise, so one fake clock drives both in tests
        self.now = now or http.now
        self.auth = TokenAuth(shop, http, self.now)
        self.limit = max(1, min(criteria.MAX_LIMIT, shop.page_size))
        self.batch_size = max(1, min(DEFAULT_BATCH, batch_size))
        self.keyset = True  # False once the shop refused autoIncrement filters/sorting
        self.newsletter_flag: bool | None = None  # True: customers carry `newsletter` (6.4)
        self.valid_states = tuple(shop.valid_states) or mapping.DEFAULT_VALID_STATES

    def __repr__(self) -> str:
        return f"ShopwareConnector(shop={self.shop.name!r})"

    # -- transport ------------------------------------------------------------------------
    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        """One authenticated call; a 401 drops the token and retries once with a new one."""
        kw.setdefault("idempotent", True)
        accepted = tuple(kw.pop("ok_statuses", ()))
        extra = kw.pop("headers", None) or {}
        sent = self.auth.headers()
        response = self.http.request(
            method, path, headers={**extra, **sent}, ok_statuses=(401, *accepted), **kw
        )
        if response.status_code == 401:
            self.auth.invalidate(sent)
            response = self.http.request(
                method, path, headers={**extra, **self.auth.headers()}, ok_statuses=accepted, **kw
            )
        return response

    def search(self, entity: str, body: dict[str, Any], *, ids_only: bool = False) -> Any:
        """POST /api/search[-ids]/<entity>. Above the shop's maximum page size Shopware answers
        400 QUERY_LIMIT_EXCEEDED instead of clamping (§2.3): adopt its maximum and resend."""
        kind = "search-ids" if ids_only else "search"
        while True:
            try:
                response = self.call("POST", f"/api/{kind}/{_path(entity)}", json=body, read=True)
                return json_body(response)
            except ApiError as exc:
                maximum = _max_limit(exc)
                if maximum is None or "limit" not in body or maximum >= body["limit"]:
                    raise
                self.limit = min(self.limit, maximum)
                body["limit"] = maximum

    # -- check and state ------------------------------------------------------------------
    def check(self) -> CheckResult:
        version = self._version()
        counts = {}
        for entity in ("customer", "order"):
            body = {"limit": 1, "total-count-mode": 1, "includes": {entity: ["id"]}}
            counts[entity] = int(self.search(entity, body).get("total") or 0)
        messages = [f"page size {self.limit}"]
        if not self.keyset:
            messages.append("autoIncrement refused: page paging (slower on big shops)")
        return CheckResult(
            ok=True,
            platform=self.platform,
            version=version,
            customers=counts["customer"],
            orders=counts["order"],
            messages=tuple(messages),
        )

    def _version(self) -> str | None:
        response = self.call("GET", "/api/_info/version", ok_statuses=(404,))
        if response.status_code == 404:
            return None
        data = json_body(response)
        return str(data.get("version")) if isinstance(data, dict) and data.get("version") else None

    def iter_all(
        self,
        entity: str,
        includes: dict[str, list[str]],
        associations: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a small entity (groups, tags), page by page."""
        page = 1
        while True:
            body = criteria.everything(includes, page, self.limit, associations)
            rows = self.search(entity, body).get("data") or []
            yield from rows
            if len(rows) < body["limit"]:
                return
            page += 1

    def shop_state(self) -> ShopwareState:
        """Groups, tags, the default group and the storefronts, typed (the writer's view).
        Two requests for a shop with fewer than `page_size` groups and tags: the sales channels
        come with the groups they default to. Rows that cannot be mapped (no id, not an
        object) are kept aside in `quarantined`; the rest of the shop is read."""
        raw_groups = list(
            self.iter_all("customer_group", criteria.GROUP_INCLUDES, criteria.GROUP_ASSOCIATIONS)
        )
        groups, bad_groups = mapping.map_rows(
            [mapping.without_channels(g) for g in raw_groups], mapping.map_group, "groups"
        )
        tag_rows = list(self.iter_all("tag", {"tag": ["id", "name"]}))
        tags, bad_tags = mapping.map_rows(tag_rows, mapping.map_tag, "tags")
        channels = sorted(
            (
                c
                for g in raw_groups
                if isinstance(g, dict)
                for c in (g.get("salesChannels") or ())
                if isinstance(c, dict) and c.get("id")
            ),
            key=lambda c: str(c.get("id")),
        )
        storefronts = [c for c in channels if c.get("typeId") == STOREFRONT_TYPE_ID] or channels
        return ShopwareState(
            groups=tuple(sorted(groups, key=lambda g: g.id)),
            tags=tuple(sorted(tags, key=lambda t: t.id)),
            default_group_id=storefronts[0].get("customerGroupId") if storefronts else None,
            storefronts=tuple(c["id"] for c in storefronts),
            channel_names={c["id"]: c.get("name") for c in channels},
            display_gross={g.id: bool(g.raw.get("displayGross", True)) for g in groups},
            quarantined=(*bad_groups, *bad_tags),
        )

    def current_state(self) -> CurrentState:
        return self.shop_state().current()

    # -- pulls ----------------------------------------------------------------------------
    def iter_customers(self, cursor: Cursor) -> Iterator[Page]:
        """Changed customers page by page, each with its newsletter consent (consent.py): an
        incremental pass also re-reads the customers whose newsletter_recipient changed."""
        since = self._window_start(cursor)
        emails = self._consent_changes(since)
        yield from self._iter_pass(
            "customer",
            "customers",
            cursor,
            self._map_customer,
            lambda **kw: criteria.customer_page(since=since, emails=emails, **kw),
            enrich=self._with_consent,
        )

    def _consent_changes(self, since: datetime | None) -> list[str]:
        if since is None or self.newsletter_flag:  # a full pass reads everyone; 6.4: the flag
            return []
        return consent.changed_emails(self.search, since, self.limit)

    def _with_consent(self, rows: list[Any]) -> list[Any]:
        if not rows:
            return rows
        if consent.carries_flag(rows):
            self.newsletter_flag = True
            return rows
        self.newsletter_flag = False
        return consent.with_recipients(self.search, rows, self.limit)

    def iter_orders(self, cursor: Cursor) -> Iterator[Page]:
        since = self._window_start(cursor)
        placed = None
        if cursor.since is not None:
            # recent orders by the shop's newest order time (the cursor), never by our clock
            days = declared.option(self.shop, "recent_orders_days")
            placed = cursor.since - timedelta(days=days)
        return self._iter_pass(
            "order",
            "orders",
            cursor,
            self._map_order,
            lambda **kw: criteria.order_page(since=since, placed_since=placed, **kw),
        )

    def _window_start(self, cursor: Cursor) -> datetime | None:
        if cursor.since is None:
            return None
        return cursor.since - timedelta(minutes=self.shop.lag_minutes)

    def _iter_pass(
        self,
        entity: str,
        mirror_entity: str,
        cursor: Cursor,
        map_row: Callable[[Any], Any],
        build: Callable[..., dict[str, Any]],
        enrich: Callable[[list[Any]], list[Any]] | None = None,
    ) -> Iterator[Page]:
        position = _Position.parse(cursor.after, keyset=self.keyset)
        start = cursor.after is None  # the exact total and the shop's newest change: at the start
        total: int | None = None
        read = 0
        while True:
            body, data, rows = self._next_page(entity, build, position, start)
            if start:
                # a row changed after the pass began may sit behind the keyset already: the
                # next window starts at the shop's newest change when the pass began, by the
                # shop's own data (aggregated with the first page: no extra request)
                total, start = data.get("total"), False
                cursor = replace(cursor, started=mapping.newest_change(data.get("aggregations")))
            records, quarantined = mapping.map_rows(
                enrich(rows) if enrich else rows, map_row, mirror_entity
            )
            seen = max((t for t in map(mapping.change_time, rows) if t), default=None)
            cursor = cursor.advance(after=position.advance(rows, body["limit"]), seen=seen)
            yield Page(tuple(records), cursor, tuple(quarantined), total)
            read += len(rows)
            # rows added since the pass began are newer than `started`: the next pass has them
            if len(rows) < body["limit"] or (total is not None and read >= total):
                return

    def _next_page(
        self, entity: str, build: Callable[..., dict[str, Any]], at: _Position, count: bool
    ) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
        """The next page's body, answer and rows; switches the pass to page paging (from the
        start) when the shop refuses autoIncrement."""
        while True:
            if at.paged:
                body = build(limit=self.limit, page=(at.done or 0) // self.limit + 1, count=count)
            else:
                body = build(limit=self.limit, after=at.after, count=count)
            if count:
                body["aggregations"] = criteria.NEWEST_CHANGE
            try:
                data = self.search(entity, body)
                rows = list(data.get("data") or [])
                if not at.paged and rows and _last_auto_increment(rows) is None:
                    raise ApiError(
                        f"{entity} rows without autoIncrement", code=ACCESSOR_NOT_ALLOWED
                    )
                return body, data, rows
            except LoyalsyncError as exc:
                if at.paged or not _keyset_refused(exc):
                    raise
                self.keyset = False
                at.paged, at.done = True, 0

    def _map_customer(self, raw: Any) -> Any:
        return mapping.map_customer(raw)

    def _map_order(self, raw: Any) -> Any:
        return mapping.map_order(
            raw, valid_states=self.valid_states, base_currency=self.shop.currency
        )

    # -- deletion scan --------------------------------------------------------------------
    def iter_customer_ids(self) -> Iterator[list[str]]:
        """Every live customer id, for the deletion scan (§2.6): a keyset over autoIncrement
        (no offsets, so rows deleted meanwhile never shift others out), id and autoIncrement
        only, stopping at the first page's exact total: ceil(customers / limit) requests."""
        if self.keyset:
            try:
                yield from self._ids_by_keyset("customer")
                return
            except LoyalsyncError as exc:
                if not _keyset_refused(exc):
                    raise
                self.keyset = False
        page = 1
        while True:
            body = criteria.id_page(page, self.limit)
            ids = list(self.search("customer", body, ids_only=True).get("data") or [])
            if ids:
                yield ids
            if len(ids) < body["limit"]:
                return
            page += 1

    def _ids_by_keyset(self, entity: str) -> Iterator[list[str]]:
        after: int | None = None
        total: int | None = None
        read = 0
        while True:
            body = criteria.id_keyset(after, self.limit, count=total is None)
            data = self.search(entity, body)
            rows = [r for r in data.get("data") or [] if isinstance(r, dict)]
            if total is None:
                total = data.get("total") if isinstance(data.get("total"), int) else -1
            ids = [str(r["id"]) for r in rows if r.get("id")]
            if ids:
                yield ids
            read += len(rows)
            last = _last_auto_increment(rows)
            if len(rows) < body["limit"] or last is None or 0 <= total <= read:
                return
            after = last

    # -- writes ---------------------------------------------------------------------------
    def apply(self, ops: Sequence[WriteOp], *, batch_size: int | None = None) -> list[OpResult]:
        size = self.batch_size if batch_size is None else max(1, min(DEFAULT_BATCH, batch_size))
        return apply_ops(self, ops, size)


@dataclass
class _Position:
    """Where a pass stands: the last autoIncrement read (keyset) or the rows read (pages)."""

    after: int | None = None
    done: int | None = None
    paged: bool = False

    @classmethod
    def parse(cls, after: str | None, *, keyset: bool) -> _Position:
        if after and after.startswith(PAGE_PREFIX):
            return cls(done=int(after[len(PAGE_PREFIX) :] or 0), paged=True)
        return cls(after=int(after) if after else None, paged=not keyset)

    def advance(self, rows: list[Any], limit: int) -> str | None:
        """Move past `rows` and return the cursor position to store with them."""
        if self.paged:
            # the page started at done // limit * limit: a changed limit re-reads, never skips
            self.done = (self.done or 0) // limit * limit + len(rows)
            return f"{PAGE_PREFIX}{self.done}"
        last = _last_auto_increment(rows)
        self.after = last if last is not None else self.after
        return str(self.after) if self.after is not None else None


def _last_auto_increment(rows: list[Any]) -> int | None:
    values = [mapping.auto_increment(r) for r in rows if isinstance(r, dict)]
    found = [v for v in values if v is not None]
    return max(found) if found else None


def _max_limit(exc: ApiError) -> int | None:
    if exc.code != QUERY_LIMIT_EXCEEDED:
        return None
    try:
        value = int(exc.payload["errors"][0]["meta"]["parameters"]["maxLimit"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if value > 0 else None


def _keyset_refused(exc: LoyalsyncError) -> bool:
    """The shop will not filter or sort on autoIncrement (§2.4: an inference, not seen live)."""
    if exc.code == ACCESSOR_NOT_ALLOWED:
        return True
    return (
        isinstance(exc, ApiError) and exc.status == 400 and "autoIncrement" in (exc.excerpt or "")
    )
