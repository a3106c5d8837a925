"""Criteria bodies for the Shopware 6 Admin API search endpoints, as plain data.

Owns which fields, associations and filters the connector asks for; every builder is pure and
sends nothing. The quirks behind each choice are in ../shared/research/shopware.md:

- §2.2 the Criteria JSON (`filter`, `sort`, `associations`, `includes`, `total-count-mode`);
  `range` values are bound raw against UTC DATETIME(3) columns, so times are sent as
  `YYYY-MM-DD HH:MM:SS.fff` in UTC;
- §2.2 sorting has no implicit tie-breaker: every sort here ends on a unique key;
- §2.3 `limit` above the shop's maximum is a 400, not clamped (the client handles it);
- §2.4 keyset paging on `autoIncrement` (fallback: `page` paging sorted by createdAt, id);
- §2.5 `updatedAt` is null until the first update, so a delta is updatedAt OR createdAt;
- §2.8 associations are not autoloaded (group, tags, billing address, order state...).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def _words(text: str) -> list[str]:
    return text.split()


MAX_LIMIT = 500  # Shopware 6.6+ default `shopware.api.max_limit`

CUSTOMER_INCLUDES: dict[str, list[str]] = {
    "customer": _words(
        "id autoIncrement customerNumber email firstName lastName company groupId group guest "
        "active accountType salesChannelId tagIds tags defaultBillingAddress createdAt updatedAt "
        "newsletter"  # 6.4's consent flag; 6.5 removed it (unknown includes are ignored)
    ),
    "customer_group": ["id", "name", "displayGross"],
    "tag": ["id", "name"],
    "customer_address": ["zipcode", "city", "country"],
    "country": ["iso"],
}
CUSTOMER_ASSOCIATIONS: dict[str, Any] = {
    "group": {},
    "tags": {},
    "defaultBillingAddress": {"associations": {"country": {}}},
}

ORDER_INCLUDES: dict[str, list[str]] = {
    "order": _words(
        "id autoIncrement orderNumber orderDateTime amountTotal amountNet shippingTotal "
        "taxStatus currencyFactor currency salesChannelId stateMachineState orderCustomer "
        "lineItems transactions createdAt updatedAt"
    ),
    "state_machine_state": ["technicalName"],
    "currency": ["isoCode"],
    "order_customer": ["customerId", "email", "customerNumber"],
    "order_line_item": _words(
        "id type productId referencedId label quantity unitPrice totalPrice payload position "
        "parentId"
    ),
    "order_transaction": ["createdAt", "stateMachineState"],
}
ORDER_ASSOCIATIONS: dict[str, Any] = {
    "stateMachineState": {},
    "currency": {},
    "orderCustomer": {},
    "lineItems": {},
    "transactions": {"associations": {"stateMachineState": {}}},
}

# what the writer compares before (re)writing a campaign's promotion (sync_plan.py)
PROMOTION_LOOKUP: dict[str, Any] = {
    "associations": {"discounts": {}, "salesChannels": {}},
    "includes": {
        "promotion": _words(
            "id name active validFrom validUntil maxRedemptionsPerCustomer useCodes "
            "useIndividualCodes customerRestriction individualCodePattern discounts salesChannels"
        ),
        "promotion_discount": ["id", "type", "value"],
        "promotion_sales_channel": ["id", "salesChannelId"],
    },
}

KEYSET_SORT = [{"field": "autoIncrement", "order": "ASC"}]
# page-paging fallback: createdAt alone has ties, so the unique id must come last (§2.2)
PAGE_SORT = [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}]


# the shop's newest change, by its own data: asked with the first page of every pass
NEWEST_CHANGE: list[dict[str, Any]] = [
    {"name": "newest_updated", "type": "max", "field": "updatedAt"},
    {"name": "newest_created", "type": "max", "field": "createdAt"},
]


def sql_time(value: datetime) -> str:
    """A tz-aware time as the UTC text Shopware binds raw into DATETIME(3) comparisons."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: all times must be tz-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def changed_since(since: datetime, placed_since: datetime | None = None) -> dict[str, Any]:
    """Rows created or updated at or after `since` (updatedAt is null until the first update),
    and for orders also those placed after `placed_since`: payment and delivery changes do not
    move `order.updatedAt` (§2.5), so recent orders are re-read every time."""
    stamp = sql_time(since)
    queries: list[dict[str, Any]] = [
        {"type": "range", "field": "updatedAt", "parameters": {"gte": stamp}},
        {"type": "range", "field": "createdAt", "parameters": {"gte": stamp}},
    ]
    if placed_since is not None:
        queries.append(
            {
                "type": "range",
                "field": "orderDateTime",
                "parameters": {"gte": sql_time(placed_since)},
            }
        )
    return {"type": "multi", "operator": "or", "queries": queries}


def search_body(
    *,
    limit: int,
    includes: dict[str, list[str]],
    associations: dict[str, Any],
    window: dict[str, Any] | None = None,
    after: int | None = None,
    page: int | None = None,
    count: bool = False,
) -> dict[str, Any]:
    """One page of a pull. Keyset (`page` None): autoIncrement > after, sorted by it. Page
    paging (`page` given): sorted by createdAt then id. `count` asks for the exact total."""
    filters: list[dict[str, Any]] = []
    if window is not None:
        filters.append(window)
    if page is None:
        if after is not None:
            filters.append({"type": "range", "field": "autoIncrement", "parameters": {"gt": after}})
        sort, page = KEYSET_SORT, 1
    else:
        sort = PAGE_SORT
    body: dict[str, Any] = {
        "page": page,
        "limit": limit,
        "total-count-mode": 1 if count else 0,
        "sort": sort,
        "associations": associations,
        "includes": includes,
    }
    if filters:
        body["filter"] = filters
    return body


def customer_page(
    limit: int,
    *,
    after: int | None = None,
    page: int | None = None,
    since: datetime | None = None,
    emails: Sequence[str] = (),
    count: bool = False,
) -> dict[str, Any]:
    """A page of customers (changed since `since`, or with one of `emails`: those whose
    newsletter_recipient changed, which does not move customer.updatedAt)."""
    window = changed_since(since) if since is not None else None
    if window is not None and emails:
        window["queries"].append({"type": "equalsAny", "field": "email", "value": list(emails)})
    return search_body(
        limit=limit,
        includes=CUSTOMER_INCLUDES,
        associations=CUSTOMER_ASSOCIATIONS,
        window=window,
        after=after,
        page=page,
        count=count,
    )


def order_page(
    limit: int,
    *,
    after: int | None = None,
    page: int | None = None,
    since: datetime | None = None,
    placed_since: datetime | None = None,
    count: bool = False,
) -> dict[str, Any]:
    window = changed_since(since, placed_since) if since is not None else None
    return search_body(
        limit=limit,
        includes=ORDER_INCLUDES,
        associations=ORDER_ASSOCIATIONS,
        window=window,
        after=after,
        page=page,
        count=count,
    )


def id_keyset(after: int | None, limit: int, *, count: bool) -> dict[str, Any]:
    """Ids for the deletion scan: autoIncrement > after, sorted by it; only id and
    autoIncrement travel. `count` asks for the exact total (first page)."""
    body: dict[str, Any] = {
        "limit": limit,
        "total-count-mode": 1 if count else 0,
        "sort": KEYSET_SORT,
        "includes": {"customer": ["id", "autoIncrement"]},
    }
    if after is not None:
        body["filter"] = [{"type": "range", "field": "autoIncrement", "parameters": {"gt": after}}]
    return body


def id_page(page: int, limit: int) -> dict[str, Any]:
    """search-ids by page, sorted by the unique id (fallback when autoIncrement is refused)."""
    return {"page": page, "limit": limit, "sort": [{"field": "id", "order": "ASC"}]}


def by_ids(ids: list[str], includes: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    """Direct lookup: `ids` removes the limit (§2.2), so one call reads a whole batch."""
    return {"ids": ids, "includes": includes, **extra}


def everything(
    includes: dict[str, list[str]],
    page: int,
    limit: int,
    associations: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A small entity (groups, tags) page by page, sorted by the unique id."""
    body: dict[str, Any] = {
        "page": page,
        "limit": limit,
        "sort": [{"field": "id", "order": "ASC"}],
        "includes": includes,
    }
    if associations:
        body["associations"] = associations
    return body


# customer groups with the sales channels that use each as their default group (the
# OneToMany `customer_group.salesChannels`): groups and default group in one request
GROUP_INCLUDES = {
    "customer_group": ["id", "name", "displayGross", "salesChannels"],
    "sales_channel": ["id", "name", "typeId", "customerGroupId", "active"],
}
GROUP_ASSOCIATIONS: dict[str, Any] = {"salesChannels": {}}
