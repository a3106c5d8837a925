"""The data of the fake PrestaShop: tables of rows as the shop's MySQL holds them.

Owns seeding from core.synth (customers with their groups, addresses, orders with order rows,
order states with flags, currencies with conversion rates, cart rules used by orders, the
psgdpr "Anonymous" customer) and the helpers tests use to change the shop behind the
connector's back. Every value is a string the way PrestaShop stores it (`"1"`, `"61.800000"`),
dates are the shop's local wall-clock time `YYYY-MM-DD HH:MM:SS` (research/prestashop.md
§2.5), unset dates are `0000-00-00 00:00:00`. Multilingual fields are `{lang_id: text}`.
No HTTP here (sim_api.py), no I/O.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loyalsync.core.records import GROUPS, TAGS
from loyalsync.core.synth import B2B_GROUP_ID, CURRENCIES, HAND_TAGS, SynthShop
from loyalsync.core.synth_data import _COUNTRIES

ZERO_DATE = "0000-00-00 00:00:00"
ANONYMOUS_EMAIL = "anonymous@psgdpr.com"
Row = dict[str, Any]

# id, name, logable, paid, shipped, delivery (ids as a default 1.7 install; §2.6 table)
ORDER_STATES = (
    (1, "Awaiting check payment", 0, 0, 0, 0),
    (2, "Payment accepted", 1, 1, 0, 0),
    (3, "Processing in progress", 1, 1, 0, 1),
    (4, "Shipped", 1, 1, 1, 1),
    (5, "Delivered", 1, 1, 1, 1),
    (6, "Canceled", 0, 0, 0, 0),
    (7, "Refunded", 0, 0, 0, 0),
    (8, "Payment error", 0, 0, 0, 0),
    (9, "On backorder (paid)", 0, 1, 0, 0),
    (10, "Awaiting bank wire payment", 0, 0, 0, 0),
)
GROUP_ROWS = ((1, "Visitor", "1"), (2, "Guest", "1"), (3, "Customer", "0"))
CUSTOMER_GROUP, GUEST_GROUP, B2B_GROUP = 3, 2, 4
# synth state -> PrestaShop order state (open orders: half awaiting wire transfer, half paid)
STATE_OF = {"open": (10, 2), "in_progress": (3, 3), "completed": (5, 5), "cancelled": (6, 6)}


def local(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if dt else ZERO_DATE


def fake_hash(text: str) -> str:
    """What `setWsPasswd` stores: a bcrypt-looking hash of a new password."""
    return "$2y$10$" + hashlib.sha256(text.encode()).hexdigest()[:53]


class ShopTables:
    """Resource name -> id -> row. `languages` decides the multilingual rendering."""

    def __init__(
        self, shop: SynthShop, clock: Callable[[], datetime], tz: ZoneInfo, seed: int = 0
    ) -> None:
        self.clock, self.tz = clock, tz
        self.rng = random.Random(seed)
        self.tables: dict[str, dict[int, Row]] = {}
        self.languages = [1, 2]
        self.next_id: dict[str, int] = {}
        self.address_index: dict[str, int] = {}  # customer id -> their newest address
        self._seed_reference()
        self._seed_people(shop)

    # -- helpers --------------------------------------------------------------------------
    def now(self) -> str:
        return local(self.clock(), self.tz)

    def insert(self, resource: str, row: Row) -> int:
        table = self.tables.setdefault(resource, {})
        new_id = self.next_id.get(resource) or max(table, default=0) + 1  # max only once
        self.next_id[resource] = new_id + 1
        row["id"] = new_id
        table[new_id] = row
        if resource == "addresses":  # the index `_address_of` reads (id_customer is a key)
            self.address_index[str(row.get("id_customer"))] = new_id
        return new_id

    def names(self, text: str) -> dict[int, str]:
        return dict.fromkeys(self.languages, text)

    # -- seeding --------------------------------------------------------------------------
    def _seed_reference(self) -> None:
        for _lang, iso in zip(self.languages, ("de", "en"), strict=True):
            self.insert("languages", {"iso_code": iso, "name": iso, "active": "1"})
        for iso, rate in CURRENCIES.items():
            self.insert("currencies", {"iso_code": iso, "conversion_rate": f"{rate:.6f}"})
        for country in _COUNTRIES:
            self.insert(
                "countries",
                {"iso_code": country.code, "active": "1", "name": self.names(country.code)},
            )
        for sid, name, logable, paid, shipped, delivery in ORDER_STATES:
            self.tables.setdefault("order_states", {})[sid] = {
                "id": sid,
                "name": self.names(name),
                "logable": str(logable),
                "paid": str(paid),
                "shipped": str(shipped),
                "delivery": str(delivery),
                "invoice": str(paid),
                "deleted": "0",
                "color": "#4169E1",
                "module_name": "",
            }
        stamp = "2023-01-01 00:00:00"
        for gid, name, method in (*GROUP_ROWS, (B2B_GROUP, "B2B / Händler", "1")):
            self.tables.setdefault("groups", {})[gid] = {
                "id": gid,
                "name": self.names(name),
                "reduction": "0.00",
                "price_display_method": method,
                "show_prices": "1",
                "date_add": stamp,
                "date_upd": stamp,
            }
        config = {
            "PS_TIMEZONE": self.tz.key,
            "PS_CUSTOMER_GROUP": str(CUSTOMER_GROUP),
            "PS_GUEST_GROUP": str(GUEST_GROUP),
            "PS_UNIDENTIFIED_GROUP": "1",
            "PS_LANG_DEFAULT": "1",
            "PS_CURRENCY_DEFAULT": "1",
            "PS_OS_CANCELED": "6",
            "PS_OS_REFUND": "7",
            "PS_OS_ERROR": "8",
        }
        for name, value in config.items():
            self.insert("configurations", {"name": name, "value": value})

    def _seed_people(self, shop: SynthShop) -> None:
        first = min((c.created_at for c in shop.customers if c.created_at), default=None)
        anonymous = self._customer_row(
            email=ANONYMOUS_EMAIL,
            first="Anonymous",
            last="Anonymous",
            groups=[CUSTOMER_GROUP],
            created=local(first - timedelta(days=1) if first else self.clock(), self.tz),
        )
        anonymous["active"] = "0"
        self.anonymous_id = self.insert("customers", anonymous)
        countries = {r["iso_code"]: i for i, r in self.tables["countries"].items()}
        by_synth: dict[str, int] = {}
        newsletter_tag = HAND_TAGS[0].id
        for c in shop.customers:
            guest = c.is_guest
            groups = [GUEST_GROUP] if guest else [CUSTOMER_GROUP]
            if B2B_GROUP_ID in c.values(GROUPS):
                groups = [B2B_GROUP, CUSTOMER_GROUP]
            row = self._customer_row(
                email=c.email or "",
                first=c.first_name or "",
                last=c.last_name or "",
                groups=groups,
                created=local(c.created_at, self.tz),
                guest=guest,
                company=c.company or "",
                newsletter=newsletter_tag in c.values(TAGS),
            )
            row["id_default_group"] = str(groups[0])
            row["date_upd"] = local(c.updated_at or c.created_at, self.tz)
            cid = self.insert("customers", row)
            by_synth[c.id] = cid
            address = {
                "id_customer": str(cid),
                "id_country": str(countries.get(c.country or "", 1)),
                "alias": "Mein Zuhause",
                "lastname": row["lastname"],
                "firstname": row["firstname"],
                "address1": "Hauptstr. 1",
                "city": c.city or "",
                "postcode": c.postcode or "",
                "deleted": "0",
                "date_add": row["date_add"],
                "date_upd": row["date_add"],
            }
            self.insert("addresses", address)
        for o in shop.orders:
            owner = by_synth.get(o.customer_id or "", self.anonymous_id)
            self._order_row(o, owner)

    def _customer_row(
        self,
        *,
        email: str,
        first: str,
        last: str,
        groups: list[int],
        created: str,
        guest: bool = False,
        company: str = "",
        newsletter: bool = False,
    ) -> Row:
        secret = hashlib.md5(f"{email}{created}".encode(), usedforsecurity=False).hexdigest()
        return {
            "id_default_group": str(groups[0]),
            "id_lang": "1",
            "newsletter_date_add": created if newsletter else ZERO_DATE,
            "ip_registration_newsletter": "",
            "last_passwd_gen": created,
            "secure_key": secret,
            "deleted": "0",
            "passwd": fake_hash(email),
            "lastname": last,
            "firstname": first,
            "email": email,
            "id_gender": "0",
            "birthday": "0000-00-00",
            "newsletter": "1" if newsletter else "0",
            "optin": "0",
            "website": "",
            "company": company,
            "siret": "",
            "ape": "",
            "outstanding_allow_amount": "0.000000",
            "show_public_prices": "0",
            "id_risk": "0",
            "max_payment_days": "0",
            "active": "1",
            "note": "",
            "is_guest": "1" if guest else "0",
            "id_shop": "1",
            "id_shop_group": "1",
            "date_add": created,
            "date_upd": created,
            "reset_password_token": "",
            "reset_password_validity": ZERO_DATE,
            "associations": {"groups": [str(g) for g in groups]},
        }

    def _order_row(self, o: Any, owner: int) -> int:
        chf = o.currency == "CHF"
        options = STATE_OF.get(o.status, (2, 2))
        state = options[int(o.number or 0) % 2]
        rate = CURRENCIES[o.currency]
        rows = [
            {
                "id": str(i + 1),
                "product_id": _product_id(it.product_id),
                "product_attribute_id": "0",
                "product_quantity": str(int(it.quantity)),
                "product_name": it.name or "",
                "product_reference": it.sku or "",
                "unit_price_tax_incl": f"{it.unit_price:.6f}",
                "unit_price_tax_excl": f"{it.unit_price / 1.19:.6f}",
                "product_price": f"{it.unit_price / 1.19:.6f}",
            }
            for i, it in enumerate(o.items)
            if it.kind == "product"
        ]
        row = {
            "id_customer": str(owner),
            "id_currency": "2" if chf else "1",
            "id_address_delivery": "0",
            "id_address_invoice": "0",
            "id_cart": "0",
            "id_lang": "1",
            "id_carrier": "1",
            "current_state": str(state),
            "module": "ps_wirepayment",
            "valid": self.tables["order_states"][state]["logable"],
            "date_add": local(o.placed_at, self.tz),
            "date_upd": local(o.updated_at or o.placed_at, self.tz),
            "invoice_date": ZERO_DATE,
            "delivery_date": ZERO_DATE,
            "payment": "Bank wire",
            "total_paid": f"{o.total_gross:.6f}",
            "total_paid_tax_incl": f"{o.total_gross:.6f}",
            "total_paid_tax_excl": f"{o.total_net:.6f}",
            "total_paid_real": "0.000000",
            "total_products": f"{o.total_net:.6f}",
            "total_products_wt": f"{o.total_gross:.6f}",
            "total_discounts": "0.000000",
            "total_shipping": "0.000000",
            "conversion_rate": f"{rate:.6f}",
            "reference": _reference(o.number or o.id),
            "associations": {"order_rows": rows},
        }
        address = self._address_of(owner)
        if address:
            row["id_address_delivery"] = row["id_address_invoice"] = str(address)
        oid = self.insert("orders", row)
        for code in o.codes:
            self._redeem(oid, code)
        return oid

    def _address_of(self, customer: int) -> int | None:
        return self.address_index.get(str(customer))

    def _redeem(self, order_id: int, code: str) -> None:
        rules = self.tables.setdefault("cart_rules", {})
        rule = next((i for i, r in rules.items() if r["code"] == code), None)
        if rule is None:
            rule = self.insert("cart_rules", self.shared_rule(code))
        self.insert(
            "order_cart_rules",
            {
                "id_order": str(order_id),
                "id_cart_rule": str(rule),
                "name": rules[rule]["name"][1],
                "value": "5.000000",
                "deleted": "0",
            },
        )

    def shared_rule(self, code: str) -> Row:
        stamp = "2023-01-01 00:00:00"
        return {
            "id_customer": "0",
            "date_from": stamp,
            "date_to": "2030-01-01 00:00:00",
            "description": "",
            "quantity": "100000",
            "quantity_per_user": "1",
            "priority": "1",
            "partial_use": "0",
            "code": code,
            "reduction_percent": "10.00",
            "reduction_amount": "0.000000",
            "active": "1",
            "name": self.names(code),
            "date_add": stamp,
            "date_upd": stamp,
        }

    # -- changes behind the connector's back ----------------------------------------------
    def live_customers(self) -> list[int]:
        return sorted(i for i in self.tables["customers"] if i != self.anonymous_id)

    def touch_customers(self, fraction: float, seed: int) -> list[int]:
        rng = random.Random(seed)
        ids = self.live_customers()
        chosen = sorted(rng.sample(ids, max(1, round(len(ids) * fraction))))
        for cid in chosen:
            row = self.tables["customers"][cid]
            row["note"] = f"touched {seed}"
            row["date_upd"] = self.now()
        return chosen

    def add_orders(self, n: int, seed: int) -> list[int]:
        rng = random.Random(seed)
        customers = self.live_customers()
        added = []
        for _ in range(n):
            owner = rng.choice(customers)
            gross = round(rng.uniform(10, 300), 2)
            row = {
                "id_customer": str(owner),
                "id_currency": "1",
                "current_state": "2",
                "valid": "1",
                "date_add": self.now(),
                "date_upd": self.now(),
                "invoice_date": ZERO_DATE,
                "delivery_date": ZERO_DATE,
                "total_paid_tax_incl": f"{gross:.6f}",
                "total_paid_tax_excl": f"{gross / 1.19:.6f}",
                "conversion_rate": "1.000000",
                "reference": _reference(str(rng.random())),
                "associations": {"order_rows": []},
                "id_address_delivery": str(self._address_of(owner) or 0),
            }
            added.append(self.insert("orders", row))
        return added

    def delete_customers(self, ids: list[int]) -> list[int]:
        for cid in ids:
            self.tables["customers"].pop(cid, None)
        return ids


def _reference(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(chr(65 + b % 26) for b in digest[:9])


def _product_id(synth_product: str | None) -> str:
    return str(int(hashlib.sha256((synth_product or "").encode()).hexdigest()[:6], 16) % 10_000)
