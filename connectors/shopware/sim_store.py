"""The simulator's in-memory shop: rows, indexes, searches and test mutations.

Owns the fake shop's state, built from `core.synth` data: customers and orders as light rows
in autoIncrement order (bisect serves keyset pages in a few milliseconds), with sorted indexes
on createdAt + id and on id (sim_index.py), small entities (groups, tags, sales channels,
currencies, promotions, codes, newsletter recipients: these with a look-up by e-mail) as
dicts, which index answers which search (`_candidates`), and the helpers tests use to change
the shop behind the connector's back. Every page costs about its own size, as MySQL with its
indexes answers, so a 1,000,000-customer shop can be pulled. Knows nothing about HTTP
(simulator.py) and validates no writes (sim_write.py).
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from loyalsync.connectors.shopware import sim_criteria as crit
from loyalsync.connectors.shopware import sim_newsletter as newsletter
from loyalsync.connectors.shopware.sim_index import IndexedTable, SortedIndex
from loyalsync.connectors.shopware.sim_render import (
    FAST,
    HEADLESS_ID,
    HEADLESS_TYPE_ID,
    STOREFRONT_ID,
    STOREFRONT_TYPE_ID,
    CustomerRow,
    OrderRow,
    apply_includes,
    buyer_json,
    currency_id,
    customer_json,
    entity_json,
    millis,
    order_json,
)
from loyalsync.core.records import GROUPS, TAGS, OrderItemRecord, OrderRecord
from loyalsync.core.synth import CURRENCIES, DEFAULT_GROUP_ID, PRODUCTS, SynthShop, synth_id

SMALL_FIELDS: dict[str, set[str]] = {
    entity: set(fields.split())
    for entity, fields in {
        "customer_group": "id name displayGross registrationActive customFields",
        "tag": "id name",
        "sales_channel": "id name typeId customerGroupId active currencyId",
        "currency": "id isoCode factor isSystemDefault name",
        "promotion": "id name active validFrom validUntil maxRedemptionsGlobal "
        "maxRedemptionsPerCustomer priority exclusive preventCombination useSetGroups useCodes "
        "useIndividualCodes individualCodePattern code customerRestriction discounts "
        "salesChannels individualCodes personaCustomers",
        "promotion_individual_code": "id promotionId code payload",
        "promotion_discount": "id promotionId scope type value considerAdvancedRules maxValue",
        "promotion_sales_channel": "id promotionId salesChannelId priority",
        newsletter.ENTITY: newsletter.FIELDS,
    }.items()
}
_PROMOTION_CHILDREN = {
    "discounts": "promotion_discount",
    "salesChannels": "promotion_sales_channel",
    "individualCodes": "promotion_individual_code",
}
SEARCHABLE = frozenset({"customer", "order", *SMALL_FIELDS})
# the sorts served from a sorted index (each ends on the unique id: no ties to order)
SORTED_INDEXES: tuple[tuple[str, ...], ...] = (("createdAt", "id"), ("id",))
# the small entities' fields with a hash index (the connector asks by these once per page)
HASH_INDEXES: dict[str, tuple[str, ...]] = {newsletter.ENTITY: ("email",)}


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _payment_state(o: OrderRecord) -> str:
    if o.status == "cancelled":
        return "cancelled"
    if o.base_currency_refunded and o.base_currency_refunded >= o.base_currency_total_gross:
        return "refunded"
    if o.base_currency_refunded:
        return "refunded_partially"
    return "open" if o.status == "open" else "paid"


class ShopStore:
    def __init__(
        self,
        shop: SynthShop,
        clock: Callable[[], datetime],
        seed: int = 0,
        *,
        legacy_newsletter: bool = False,
    ) -> None:
        self.clock = clock
        self.legacy_newsletter = legacy_newsletter  # 6.4: customer.newsletter is a field
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.customers: dict[str, CustomerRow] = {}
        self.orders: dict[str, OrderRow] = {}
        self.index: dict[str, list[Any]] = {"customer": [], "order": []}  # by autoIncrement
        self.ais: dict[str, list[int]] = {"customer": [], "order": []}
        self.sorted: dict[str, dict[tuple[str, ...], SortedIndex]] = {
            e: {f: SortedIndex(f, self._sort_key(e, f)) for f in SORTED_INDEXES}
            for e in ("customer", "order")
        }
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            e: IndexedTable(HASH_INDEXES[e], crit.normalise) if e in HASH_INDEXES else {}
            for e in SMALL_FIELDS
        }
        self.persona: set[tuple[str, str]] = set()  # (promotionId, customerId)
        self.write_log: list[dict[str, Any]] = []
        self._load(shop)
        newsletter.seed_recipients(
            self.index["customer"], self.tables[newsletter.ENTITY], legacy_newsletter
        )
        self.known = {e: self._fields(e) for e in SEARCHABLE}

    # -- loading ----------------------------------------------------------------------------
    def _load(self, shop: SynthShop) -> None:
        ai = 0
        for c in sorted(shop.customers, key=lambda c: (c.created_at, c.id)):
            ai += 1 + (int(c.id[:4], 16) % 50 == 0)  # burnt auto-increment values: gaps
            created = _ms(c.created_at) + millis(c.id) if c.created_at else self.clock()
            updated = _ms(c.updated_at) + millis(c.id[3:]) if c.updated_at else None
            group = next(iter(c.values(GROUPS)), DEFAULT_GROUP_ID)
            self._add(
                "customer",
                CustomerRow(ai, c, group, list(c.values(TAGS)), created, updated),
                sort=False,
            )
        for ai, o in enumerate(sorted(shop.orders, key=lambda o: (o.placed_at, o.id)), start=1):
            row = self._order_row(ai, o, _ms(o.placed_at) + millis(o.id))
            self._add("order", row, sort=False)
        for entity, indexes in self.sorted.items():
            for index in indexes.values():
                index.extend(self.index[entity])
        tables = self.tables
        for g in shop.groups:
            gross = g.id == DEFAULT_GROUP_ID  # B2B shows net prices
            tables["customer_group"][g.id] = {
                "id": g.id,
                "name": g.name,
                "displayGross": gross,
                "registrationActive": False,
                "customFields": None,
            }
        tables["tag"].update({t.id: {"id": t.id, "name": t.name} for t in shop.tags})
        channels = (
            (STOREFRONT_ID, "Storefront", STOREFRONT_TYPE_ID),
            (HEADLESS_ID, "Headless", HEADLESS_TYPE_ID),
        )
        for cid, name, kind in channels:
            tables["sales_channel"][cid] = {
                "id": cid,
                "name": name,
                "typeId": kind,
                "customerGroupId": DEFAULT_GROUP_ID,
                "active": True,
                "currencyId": currency_id("EUR"),
            }
        for iso, factor in CURRENCIES.items():
            tables["currency"][currency_id(iso)] = {
                "id": currency_id(iso),
                "isoCode": iso,
                "factor": factor,
                "isSystemDefault": factor == 1.0,
                "name": iso,
            }

    def _order_row(self, ai: int, o: OrderRecord, created: datetime) -> OrderRow:
        factor = CURRENCIES.get(o.currency, 1.0)
        updated = _ms(o.updated_at) + millis(o.id[5:]) if o.updated_at else None
        row = OrderRow(ai, o, o.customer_id, o.status, _payment_state(o), created, updated, factor)
        row.buyer = buyer_json(self.customers.get(o.customer_id or ""))
        return row

    def _add(self, entity: str, row: Any, *, sort: bool = True) -> None:
        (self.customers if entity == "customer" else self.orders)[row.id] = row
        self.index[entity].append(row)
        self.ais[entity].append(row.ai)
        if sort:  # the initial load sorts each index once instead
            for index in self.sorted[entity].values():
                index.add(row)

    def _sort_key(self, entity: str, fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
        values = self.values(entity)
        return lambda row: tuple(crit.sort_value(row, name, values) for name in fields)

    def _fields(self, entity: str) -> set[str]:
        if entity in SMALL_FIELDS:
            return SMALL_FIELDS[entity] | {"createdAt", "updatedAt"}
        rows = self.index[entity]
        if not rows:
            return set(FAST[entity])
        return set(self.render(entity, rows[0], _ALL[entity])) | {
            p.split(".")[0] for p in FAST[entity]
        }

    # -- reading ----------------------------------------------------------------------------
    def render(self, entity: str, row: Any, assoc: dict[str, Any]) -> dict[str, Any]:
        if entity == "customer":
            return customer_json(row, assoc, self.tables)
        if entity == "order":
            return order_json(row, assoc, self.tables)
        data = entity_json(entity, row)
        if entity == "customer_group":  # the sales channels whose default group this is
            data["salesChannels"] = (
                [
                    entity_json("sales_channel", r)
                    for r in self.tables["sales_channel"].values()
                    if r.get("customerGroupId") == row["id"]
                ]
                if "salesChannels" in assoc
                else None
            )
        if entity == "promotion":
            for name, child in _PROMOTION_CHILDREN.items():
                found = [
                    entity_json(child, r)
                    for r in self.tables[child].values()
                    if r["promotionId"] == row["id"]
                ]
                data[name] = found if name in assoc else None
            customers = [
                self.customers[c]
                for p, c in sorted(self.persona)
                if p == row["id"] and c in self.customers
            ]
            data["personaCustomers"] = (
                [
                    {"id": c.id, "customerNumber": c.rec.number, "apiAlias": "customer"}
                    for c in customers
                ]
                if "personaCustomers" in assoc
                else None
            )
        return data

    def values(self, entity: str) -> crit.Values:
        fast = FAST.get(entity, {})

        def get(row: Any, name: str) -> list[Any]:
            if name in fast:
                return [fast[name](row)]
            data = (
                self.render(entity, row, _ALL.get(entity, {}))
                if entity in FAST
                else self.render(entity, row, _ALL_SMALL)
            )
            return list(_walk(data, name.split(".")))

        return get

    def search(
        self, entity: str, body: Any, max_limit: int | None
    ) -> tuple[list[Any], int, crit.Query]:
        known = self.known[entity]
        q = crit.parse(body, entity, lambda f: f.split(".")[0] in known, max_limit)
        with self.lock:
            rows, ordered = self._candidates(entity, q)
            page, total = crit.select(
                rows,
                q,
                self.values(entity),
                entity,
                ordered=ordered,
                rng=random.Random(self.rng.random()),
            )
        return page, total, q

    def search_json(self, entity: str, body: Any, max_limit: int | None) -> dict[str, Any]:
        page, total, q = self.search(entity, body, max_limit)
        with self.lock:
            data = [self.render(entity, r, q.associations) for r in page]
        if q.includes:
            data = apply_includes(data, {alias: set(f) for alias, f in q.includes.items()})
        aggregations: Any = []
        if q.aggregations:
            with self.lock:
                aggregations = self._aggregate(entity, q)
        return {"total": total, "data": data, "aggregations": aggregations}

    def _aggregate(self, entity: str, q: crit.Query) -> dict[str, Any]:
        table = self._table(entity)
        rows = [table[i] for i in q.ids if i in table] if q.ids is not None else table.values()
        return crit.aggregate(rows, q, self.values(entity), entity)

    def _table(self, entity: str) -> dict[str, Any]:
        if entity == "customer":
            return self.customers
        return self.orders if entity == "order" else self.tables[entity]

    def _candidates(self, entity: str, q: crit.Query) -> tuple[Iterable[Any], bool]:
        """The rows a search needs to look at, and whether they come in its sort order: the
        `ids`; the rows an indexed equality filter names; an index walk in sort order; else
        the whole table. The criteria engine filters and sorts these exactly as it would the
        whole table, so the index never changes an answer."""
        table = self._table(entity)
        if q.ids is not None:
            return [table[i] for i in q.ids if i in table], not q.sort
        if isinstance(table, IndexedTable):
            found = self._looked_up(table, entity, q.filters)
            if found is not None:
                return found, False
        if entity not in self.index:
            return list(table.values()), False
        fields = tuple(name for name, _ in q.sort)
        descending = {desc for _, desc in q.sort}
        if fields in self.sorted[entity] and len(descending) == 1:
            return self.sorted[entity][fields].walk(descending.pop()), True
        if q.sort not in ([("autoIncrement", False)], [("autoIncrement", True)]):
            return list(table.values()), False
        low, high = self._ai_bounds(entity, q.filters)
        rows = self.index[entity]
        if q.sort[0][1]:
            return (rows[i] for i in range(high - 1, low - 1, -1)), True
        return itertools.islice(rows, low, high), True

    @staticmethod
    def _looked_up(
        table: IndexedTable, entity: str, filters: list[dict[str, Any]]
    ) -> list[dict[str, Any]] | None:
        """The rows a top-level equals/equalsAny filter on an indexed field allows (the values
        read as the filter reads them), or None when no such filter can use the index."""
        for f in filters:
            kind, name = f.get("type"), crit._field(f.get("field"), entity)
            if kind not in ("equals", "equalsAny") or name not in table.fields:
                continue
            found = table.lookup(name, crit.wanted(f, name))
            if found is not None:
                return found
        return None

    def _ai_bounds(self, entity: str, filters: list[dict[str, Any]]) -> tuple[int, int]:
        """Index range allowed by top-level autoIncrement range filters (the rest is checked
        row by row anyway): the bisect that makes keyset pages cheap."""
        ais, low, high = self.ais[entity], 0, len(self.ais[entity])
        for f in filters:
            if f.get("type") != "range" or crit._field(f.get("field"), entity) != "autoIncrement":
                continue
            p = f.get("parameters") or {}
            if "gt" in p:
                low = max(low, bisect.bisect_right(ais, int(p["gt"])))
            if "gte" in p:
                low = max(low, bisect.bisect_left(ais, int(p["gte"])))
            if "lt" in p:
                high = min(high, bisect.bisect_left(ais, int(p["lt"])))
            if "lte" in p:
                high = min(high, bisect.bisect_right(ais, int(p["lte"])))
        return low, max(low, high)

    # -- test mutations ---------------------------------------------------------------------
    def touch_customers(self, fraction: float, seed: int) -> list[str]:
        """Change a share of customers (a login and an edit): bumps their updatedAt."""
        with self.lock:
            ids = sorted(self.customers)
            chosen = random.Random(seed).sample(
                ids, max(1, round(len(ids) * fraction)) if ids else 0
            )
            now = _ms(self.clock())
            for cid in chosen:
                row = self.customers[cid]
                row.updated_at = row.last_login = now
            return sorted(chosen)

    def set_newsletter(
        self, customer_id: str, status: str, channel: str | None = None
    ) -> dict[str, Any]:
        """The customer (un)subscribes (status direct / optIn / optOut / notSet) in `channel`
        (their own storefront by default); returns the recipient row."""
        with self.lock:
            customer = self.customers[customer_id]
            email = (customer.rec.email or "").casefold()
            same = [c for c in self.customers.values() if (c.rec.email or "").casefold() == email]
            return newsletter.set_status(
                self.tables[newsletter.ENTITY], customer, status, channel or STOREFRONT_ID,
                _ms(self.clock()), same if self.legacy_newsletter else None,
            )  # fmt: skip

    def add_orders(
        self,
        n: int,
        seed: int,
        customer_ids: Iterable[str] | None = None,
        code: str | None = None,
    ) -> list[str]:
        """n new open orders placed now by existing (registered) customers; with `code`, each
        redeems that discount code (a promotion line item carrying `payload.code`)."""
        rng = random.Random(seed)
        with self.lock:
            registered = [c for c in sorted(self.customers) if not self.customers[c].rec.is_guest]
            pool = list(customer_ids or registered)
            return [self._new_order(self.customers[rng.choice(pool)], rng, code) for _ in range(n)]

    def _new_order(self, customer: CustomerRow, rng: random.Random, code: str | None) -> str:
        now = _ms(self.clock())
        ai = (self.ais["order"][-1] if self.ais["order"] else 0) + 1
        oid = synth_id("sim-order", ai, now.isoformat())
        product = PRODUCTS[rng.randrange(len(PRODUCTS))]
        qty = rng.randint(1, 3)
        total = round(product.price * qty, 2)
        items = [
            OrderItemRecord(1, product.id, product.sku, product.name, qty, product.price, total)
        ]
        if code:
            off = -round(total * 0.1, 2)
            items.append(
                OrderItemRecord(2, None, None, f"Code {code}", 1.0, off, off, "promotion", code)
            )
            total = round(total + off, 2)
            self._redeem(code, oid, customer)
        net = round(total / 1.19, 2)
        rec = OrderRecord(
            oid, str(900000 + ai), customer.id, customer.rec.email, now, "open", True,
            total, net, "EUR", total, net, items=tuple(items), codes=(code,) if code else (),
        )  # fmt: skip
        row = OrderRow(
            ai, rec, customer.id, "open", "open", now, None, 1.0, buyer=buyer_json(customer)
        )
        self._add("order", row)
        return rec.id

    def _redeem(self, code: str, order_id: str, customer: CustomerRow) -> None:
        """What PromotionIndividualCodeRedeemer writes on the individual code (§3.5)."""
        name = f"{customer.rec.first_name} {customer.rec.last_name}"
        for row in self.tables["promotion_individual_code"].values():
            if row.get("code") == code:
                row["payload"] = {
                    "orderId": order_id,
                    "customerId": customer.id,
                    "customerName": name,
                }

    def set_order_state(self, order_id: str, state: str) -> None:
        """An order state transition: bumps order.updatedAt."""
        with self.lock:
            row = self.orders[order_id]
            row.state, row.updated_at = state, _ms(self.clock())

    def set_payment_state(self, order_id: str, state: str) -> None:
        """A payment transition writes order_transaction only: order.updatedAt stays (§2.5)."""
        with self.lock:
            row = self.orders[order_id]
            row.payment_state, row.payment_changed_at = state, _ms(self.clock())

    def delete_customers(self, ids: Iterable[str]) -> list[str]:
        """Delete customers; their orders keep going with orderCustomer.customerId null."""
        gone = []
        with self.lock:
            for cid in ids:
                row = self.customers.pop(cid, None)
                if row is None:
                    continue
                at = bisect.bisect_left(self.ais["customer"], row.ai)
                del self.ais["customer"][at], self.index["customer"][at]
                for index in self.sorted["customer"].values():
                    index.remove(row)
                for order in self.orders.values():
                    if order.customer_id == cid:
                        order.customer_id = None
                self.persona = {(p, c) for p, c in self.persona if c != cid}
                gone.append(cid)
        return gone

    def corrupt_customer(self, customer_id: str, **raw: Any) -> None:
        """Give one customer's JSON questionable values (an e-mail that is an object...)."""
        with self.lock:
            self.customers[customer_id].extra.update(raw)

    def corrupt_order(self, order_id: str, **raw: Any) -> None:
        """Make one order's JSON unmappable (for quarantine tests)."""
        with self.lock:
            self.orders[order_id].extra.update(raw)

    def now(self) -> datetime:
        return _ms(self.clock())

    def later(self, **delta: float) -> datetime:
        return self.now() + timedelta(**delta)


_ALL: dict[str, dict[str, Any]] = {
    "customer": {
        "group": {},
        "tags": {},
        "defaultBillingAddress": {"associations": {"country": {}}},
    },
    "order": {
        "stateMachineState": {},
        "currency": {},
        "lineItems": {},
        "transactions": {"associations": {"stateMachineState": {}}},
    },
}
_ALL_SMALL: dict[str, Any] = {
    "discounts": {},
    "salesChannels": {},
    "individualCodes": {},
    "personaCustomers": {},
}


def _walk(value: Any, path: list[str]) -> Iterator[Any]:
    if not path:
        if isinstance(value, list):
            yield from value
        else:
            yield value
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, path)
    elif isinstance(value, dict):
        yield from _walk(value.get(path[0]), path[1:])
    elif value is None:
        yield None
