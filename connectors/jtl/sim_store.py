"""The data of the fake JTL-Wawi: customers, sales orders, line items, customer groups and
categories, custom fields (definitions with types, values per customer), pending orders, the
write log and the workflow log. Seeded from core.synth; every timestamp it writes is stamped by
the shop's clock (ours plus `clock_offset`) and rendered as Wawi does: seven fractional digits
with an offset, or naive Wawi local time (Europe/Berlin) when `naive_times` is set.
Research: ../shared/research/jtl.md §4 (shapes), §5.4 (dates), §8 (pitfalls).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from loyalsync.core.records import GROUPS, TAGS, CustomerRecord, OrderRecord
from loyalsync.core.synth import B2B_GROUP_ID, CURRENCIES, HAND_TAGS, SynthShop

WAWI_ZONE = ZoneInfo("Europe/Berlin")
ITEM_TYPES = {"product": 1, "shipping": 2, "promotion": 3, "other": 0}
# custom field types (spec `CustomField.Type`): 3=Text, 4=Checkbox, 5=List, 11=Date, 12=ShortText
CUSTOM_FIELDS = (
    {"CustomFieldId": 9, "GroupName": "Marketing", "Name": "Segment", "Type": 12},
    {"CustomFieldId": 10, "GroupName": "Marketing", "Name": "Technical Data", "Type": 3},
    {"CustomFieldId": 11, "GroupName": "Marketing", "Name": "VIP seit", "Type": 11},
)
SEED_CATEGORIES = ((1, "Stammkunde"), (2, "Presse"))


def render_time(value: datetime | None, naive: bool) -> str | None:
    """A Wawi date-time: `2023-02-01T13:30:00.0000000+01:00`, or local time without offset."""
    if value is None:
        return None
    local = value.astimezone(WAWI_ZONE)
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}0"
    if naive:
        return text
    offset = local.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:]}"


@dataclass
class SimOrder:
    id: str
    header: dict[str, Any]
    items: list[dict[str, Any]]
    created: datetime
    pending: bool = False


@dataclass
class JtlStore:
    shop: SynthShop
    now: Callable[[], datetime]  # the shop's clock
    naive_times: bool = False
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, SimOrder] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    field_values: dict[str, dict[int, Any]] = field(default_factory=dict)  # customer -> values
    write_log: list[dict[str, Any]] = field(default_factory=list)
    workflow_log: list[dict[str, Any]] = field(default_factory=list)
    _next: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.groups = {
            "1": {
                "Id": 1,
                "Name": "Endkunden",
                "IsDefault": True,
                "Discount": 0,
                "IsNetPrice": False,
            },
            "2": {
                "Id": 2,
                "Name": "B2B / Händler",
                "IsDefault": False,
                "Discount": 5,
                "IsNetPrice": True,
            },
        }
        self.categories = {str(i): {"Id": i, "Name": n} for i, n in SEED_CATEGORIES}
        self.custom_fields = [{**f, "Attribut": {}, "PossibleValues": []} for f in CUSTOM_FIELDS]
        ids: dict[str, str] = {}
        people = sorted(self.shop.customers, key=lambda c: (c.created_at or self.now(), c.id))
        for n, rec in enumerate(people, start=1):
            ids[rec.id] = str(n)
            self.customers[str(n)] = self._customer(n, rec)
        for n, order in enumerate(sorted(self.shop.orders, key=lambda o: (o.placed_at, o.id)), 1):
            self.orders[str(n)] = self._order(n, order, ids.get(order.customer_id or ""))
        self._next = {"customer": len(self.customers) + 1, "order": len(self.orders) + 1}
        self._next.update(group=3, category=3, item=10_000)

    # -- rendering ------------------------------------------------------------------------
    def time(self, value: datetime | None) -> str | None:
        return render_time(value, self.naive_times)

    def _customer(self, n: int, rec: CustomerRecord) -> dict[str, Any]:
        b2b = B2B_GROUP_ID in rec.values(GROUPS)
        category = 2 if HAND_TAGS[2].id in rec.values(TAGS) or n % 17 == 0 else 0
        address = {
            "Id": 100_000 + n, "Company": rec.company, "Company2": None, "FormOfAddress": None,
            "Title": None, "FirstName": rec.first_name, "LastName": rec.last_name,
            "Street": f"Hauptstraße {n % 97 + 1}", "Address2": None, "PostalCode": rec.postcode,
            "City": rec.city, "State": None, "CountryIso": rec.country, "VatID": None,
            "PhoneNumber": None, "MobilePhoneNumber": None, "EmailAddress": rec.email, "Fax": None,
        }  # fmt: skip
        return {
            "Id": n, "Number": f"K{10000 + n}", "CustomerGroupId": 2 if b2b else 1,
            "BillingAddress": address, "Shipmentaddress": dict(address), "CustomAddress": None,
            "OtherAddresses": None, "PaymentSettings": None,
            "CustomerSince": self.time(rec.created_at), "LanguageIso": "DE",
            "InternalCompanyId": 1, "CustomerCategoryId": category,
            "TaxIdentificationNumber": None, "AccountsReceivableNumber": None,
            "CommercialRegisterNumber": None, "Website": None, "InitialContact": None,
            "EbayUsername": None, "Birthday": None, "IsLocked": False,
            "IsCashRegisterBased": False,
        }  # fmt: skip

    def _order(self, n: int, rec: OrderRecord, customer: str | None) -> SimOrder:
        factor = CURRENCIES.get(rec.currency, 1.0)
        address = dict(self.customers[customer]["BillingAddress"]) if customer else None
        header = {
            "Id": n, "Number": f"AU{200000 + n}", "ExternalNumber": None, "BillingNumber": None,
            "CompanyId": 1, "CustomerId": int(customer) if customer else 0,
            "DepartureCountry": {"CountryISO": "DE", "State": None, "CurrencyIso": "EUR",
                                 "CurrencyFactor": 1},
            "BillingAddress": address, "Shipmentaddress": address,
            "SalesOrderDate": self.time(rec.placed_at),
            "SalesOrderPaymentDetails": {
                "PaymentMethodId": 1, "PaymentStatus": 2, "TotalGrossAmount": rec.total_gross,
                "CurrencyIso": rec.currency, "CurrencyFactor": factor, "DateOfPayment": None,
                "StillToPay": 0, "PaymentTarget": 0, "CashDiscount": 0, "CashDiscountDays": 0,
            },
            "IsCancelled": not rec.is_valid, "CancellationDetails": None, "LanguageIso": "DE",
            "SalesChannelId": "1-1-1", "Comment": None, "CustomerComment": None,
        }  # fmt: skip
        items = [
            {
                "Id": n * 100 + line,
                "SalesOrderId": n,
                "ItemId": None,
                "Name": i.name,
                "SKU": i.sku,
                "Type": ITEM_TYPES.get(i.kind, 0),
                "Quantity": i.quantity,
                "QuantityDelivered": i.quantity,
                "QuantityReturned": 0,
                "SalesUnit": "stk",
                "SalesPriceNet": round(i.unit_price / 1.19, 2),
                "SalesPriceGross": i.unit_price,
                "Discount": 0,
                "PurchasePriceNet": None,
                "TaxRate": 19,
                "Notice": i.code,
            }
            for line, i in enumerate(rec.items, start=1)
        ]
        return SimOrder(str(n), header, items, rec.placed_at)

    # -- reads ----------------------------------------------------------------------------
    def visible_orders(self) -> list[SimOrder]:
        """Non-pending orders in id order ("Returns all non-pending sales orders")."""
        return [o for o in self.orders.values() if not o.pending]

    # -- writes (through the API) ---------------------------------------------------------
    def log(self, kind: str, **what: Any) -> None:
        self.write_log.append({"kind": kind, **what})

    def patch_customer(self, cid: str, body: dict[str, Any], workflows: bool) -> dict[str, Any]:
        row = self.customers[cid]
        for key, value in body.items():
            row[key] = value
        self.log("customer", id=cid, body=body)
        if workflows:
            self.workflow_log.append({"event": "Kunde geändert", "customer": cid})
        return row

    def create(self, table: str, body: dict[str, Any]) -> dict[str, Any]:
        rows = self.groups if table == "group" else self.categories
        n = self._next[table]
        self._next[table] = n + 1
        if table == "group":
            row = {
                "Id": n,
                "Name": body["Name"],
                "IsDefault": bool(body.get("IsDefault")),
                "Discount": body.get("Discount") or 0,
                "IsNetPrice": bool(body.get("IsNetPrice")),
            }
        else:
            row = {"Id": n, "Name": body["Name"]}
        rows[str(n)] = row
        self.log(table, body=body)
        return row

    def set_field(self, cid: str, field_id: int, value: Any) -> None:
        self.field_values.setdefault(cid, {})[field_id] = value
        self.log("customfield", id=cid, field=field_id, value=value)

    # -- changes behind the connector's back (tests) --------------------------------------
    def touch_customers(self, fraction: float, seed: int) -> list[str]:
        rng = random.Random(seed)
        ids = sorted(self.customers, key=int)
        chosen = rng.sample(ids, max(1, round(len(ids) * fraction)))
        for cid in chosen:
            address = self.customers[cid]["BillingAddress"]
            address["Street"] = f"Neue Straße {rng.randint(1, 999)}"
            address["City"] = f"{address.get('City') or 'Ort'}-{rng.randint(1, 9)}"
        return chosen

    def add_orders(self, n: int, seed: int, *, pending: bool = False) -> list[str]:
        rng = random.Random(seed)
        template = next(iter(self.shop.orders))
        made = []
        for _ in range(n):
            cid = rng.choice(sorted(self.customers, key=int))
            num = self._next["order"]
            self._next["order"] = num + 1
            order = self._order(num, template, cid)
            order.created = self.now()
            order.header["SalesOrderDate"] = self.time(order.created)
            order.header["IsCancelled"] = False
            for item in order.items:
                item["SalesOrderId"] = num
            order.pending = pending
            self.orders[order.id] = order
            made.append(order.id)
        return made

    def release(self, oid: str) -> None:
        self.orders[oid].pending = False

    def cancel(self, oid: str) -> None:
        self.orders[oid].header["IsCancelled"] = True
        self.orders[oid].header["CancellationDetails"] = {
            "CancellationReasonId": -4, "CancellationComment": None,
            "Date": self.time(self.now()),
        }  # fmt: skip

    def delete_customers(self, ids: list[str]) -> list[str]:
        gone = [cid for cid in ids if self.customers.pop(cid, None) is not None]
        return gone
