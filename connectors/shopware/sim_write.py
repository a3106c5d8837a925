"""The simulator's write side: validating and applying a request's rows, all or nothing.

Owns how the fake shop validates and applies writes (../shared/research/shopware.md §3):
every row of a request is validated first (required fields -> 400 with
`/{operationKey}/{index}/{field}` pointers, unknown references -> 500 with the MySQL 1452
text, duplicate individual codes -> 500 with 1062), and only a request without any error is
applied, in order. Each applied row goes to the write log with whether it changed anything.
The routes that feed it (sync, entity routes, their answer shapes) are in sim_api.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from loyalsync.connectors.shopware.sim_criteria import SimError, error, fail
from loyalsync.connectors.shopware.sim_store import ShopStore
from loyalsync.core.synth import synth_id

NOT_BLANK = "c1051bb4-d103-4f74-8988-acbcafc7fdc3"  # Symfony NotBlank::IS_BLANK_ERROR
TOO_LONG = "d94b19cc-114f-4f44-9cc4-4138e80a87b9"  # Symfony Length::TOO_LONG_ERROR
NO_CHOICE = "8e179f1b-97aa-4560-a02f-2a8b42e49df7"  # Symfony Choice::NO_SUCH_CHOICE_ERROR
_UUID = re.compile(r"^[0-9a-f]{32}$")
WRITABLE = (
    "customer",
    "customer_group",
    "tag",
    "customer_tag",
    "promotion",
    "promotion_discount",
    "promotion_sales_channel",
    "promotion_individual_code",
    "promotion_persona_customer",
)
_REQUIRED = {
    "customer_group": ("name",),
    "tag": ("name",),
    "promotion": ("name",),
    "promotion_individual_code": ("promotionId", "code"),
}
_CUSTOMER_REQUIRED = (
    "email",
    "firstName",
    "lastName",
    "customerNumber",
    "salesChannelId",
    "defaultPaymentMethodId",
)
_CUSTOMER_FIELDS = {"groupId": "group_id"}
FK_FAILED = "1452 Cannot add or update a child row: a foreign key constraint fails"
_DISCOUNT_TYPES = ("percentage", "absolute", "fixed", "fixed_unit")

Effect = Callable[[], tuple[Any, bool]]  # applies one row: (written key, changed?)


def _violation(code: str, detail: str, pointer: str, value: Any = None) -> dict[str, Any]:
    item = error(
        400,
        code,
        detail,
        pointer=pointer,
        parameters={"{{ value }}": "null" if value is None else repr(value)},
    )
    item.pop("title")
    item["template"] = detail
    return item


def _sql(detail: str) -> SimError:
    return fail(
        500,
        "0",
        "An exception occurred while executing a query: SQLSTATE[23000]: "
        f"Integrity constraint violation: {detail}",
    )


class Batch:
    """One request's rows: validated against the store plus what earlier rows create."""

    def __init__(self, store: ShopStore) -> None:
        self.store = store
        self.errors: list[dict[str, Any]] = []
        self.effects: list[tuple[str, str, dict[str, Any], Effect]] = []
        self.created: dict[str, set[str]] = {e: set() for e in WRITABLE}
        self.codes: dict[str, str] = {}  # code -> id, written by this request

    def exists(self, entity: str, rid: Any) -> bool:
        table = self.store.customers if entity == "customer" else self.store.tables.get(entity, {})
        return rid in table or rid in self.created.get(entity, ())

    def fk(self, entity: str, rid: Any, child: str) -> None:
        if not self.exists(entity, rid):
            raise _sql(f"{FK_FAILED} (`shopware`.`{child}`, CONSTRAINT `fk.{child}.{entity}_id`)")

    def add(self, entity: str, action: str, rows: Any, where: Callable[[int, str], str]) -> None:
        if entity not in WRITABLE or action not in ("upsert", "delete"):
            raise fail(
                400,
                "FRAMEWORK__INVALID_SYNC_OPERATION",
                f"Operation {action} on entity {entity} is not supported.",
            )
        for index, row in enumerate(rows if isinstance(rows, list) else [rows]):
            if not isinstance(row, dict):
                raise fail(
                    400, "FRAMEWORK__INVALID_SYNC_OPERATION", "Payload rows must be objects."
                )
            effect = self._row(entity, action, dict(row), partial(where, index))
            if effect is not None:
                self.effects.append((entity, action, row, effect))

    def _row(
        self, entity: str, action: str, row: dict[str, Any], at: Callable[[str], str]
    ) -> Effect | None:
        rid = row.get("id")
        if rid is not None and (not isinstance(rid, str) or not _UUID.match(rid)):
            self.errors.append(
                error(
                    400,
                    "FRAMEWORK__INVALID_UUID",
                    f"Value is not a valid UUID: {rid}",
                    pointer=at("id"),
                )
            )
            return None
        if entity in ("customer_tag", "promotion_persona_customer"):
            return self._mapping(entity, action, row)
        if action == "delete":
            return lambda: (rid, self.store_delete(entity, rid))
        if entity == "customer":
            return self._customer(row, at)
        rid = rid or synth_id("sim", entity, len(self.effects), repr(sorted(row.items())))
        row["id"] = rid
        if not self.exists(entity, rid):
            for name in _REQUIRED.get(entity, ()):
                if row.get(name) in (None, ""):
                    self.errors.append(
                        _violation(NOT_BLANK, "This value should not be blank.", at(name))
                    )
        for name in ("name", "code"):
            if isinstance(row.get(name), str) and len(row[name]) > 255:
                self.errors.append(
                    _violation(
                        TOO_LONG,
                        "This value is too long. It should have 255 characters or less.",
                        at(name),
                        row[name],
                    )
                )
        if entity == "promotion":
            self._promotion_children(row, at)
        if entity == "promotion_individual_code":
            self._code(row)
        self.created[entity].add(rid)
        return lambda: (rid, self.store_upsert(entity, row))

    def _customer(self, row: dict[str, Any], at: Callable[[str], str]) -> Effect | None:
        rid = row.get("id")
        if not self.exists("customer", rid):
            for name in _CUSTOMER_REQUIRED:
                if row.get(name) in (None, ""):
                    self.errors.append(
                        _violation(NOT_BLANK, "This value should not be blank.", at(name))
                    )
            return None
        if "groupId" in row:
            self.fk("customer_group", row["groupId"], "customer")
        for tag in row.get("tags") or ():
            self.fk("tag", tag.get("id"), "customer_tag")
        return lambda: (rid, self.update_customer(row))

    def _mapping(self, entity: str, action: str, row: dict[str, Any]) -> Effect:
        parent, key = ("tag", "tagId") if entity == "customer_tag" else ("promotion", "promotionId")
        pair = (row.get(key), row.get("customerId"))
        if action == "upsert":
            self.fk(parent, pair[0], entity)
            self.fk("customer", pair[1], entity)
        return lambda: (dict(row), self.store_mapping(entity, action, pair))

    def _promotion_children(self, row: dict[str, Any], at: Callable[[str], str]) -> None:
        for channel in row.get("salesChannels") or ():
            if channel.get("salesChannelId") not in self.store.tables["sales_channel"]:
                raise _sql(f"{FK_FAILED} (`shopware`.`promotion_sales_channel`)")
        for n, discount in enumerate(row.get("discounts") or ()):
            if discount.get("type") not in _DISCOUNT_TYPES:
                self.errors.append(
                    _violation(
                        NO_CHOICE,
                        "The value you selected is not a valid choice.",
                        at(f"discounts/{n}/type"),
                        discount.get("type"),
                    )
                )
        for persona in row.get("personaCustomers") or ():
            self.fk("customer", persona.get("id"), "promotion_persona_customer")

    def _code(self, row: dict[str, Any]) -> None:
        if row.get("promotionId"):
            self.fk("promotion", row["promotionId"], "promotion_individual_code")
        code = str(row.get("code") or "")
        owner = self.codes.get(code) or next(
            (
                r["id"]
                for r in self.store.tables["promotion_individual_code"].values()
                if r["code"] == code
            ),
            None,
        )
        if code and owner not in (None, row["id"]):
            raise _sql(f"1062 Duplicate entry '{code}' for key 'promotion_individual_code.code'")
        if code:
            self.codes[code] = row["id"]

    # -- applying (only after the whole request validated) -------------------------------
    def store_upsert(self, entity: str, row: dict[str, Any]) -> bool:
        table = self.store.tables[entity]
        children: dict[str, Any] = {
            k: row.pop(k) for k in ("salesChannels", "discounts", "personaCustomers") if k in row
        }
        before = dict(table.get(row["id"]) or {})
        merged = {**_DEFAULTS.get(entity, {}), **before, **row}
        merged.setdefault("createdAt", self.store.now().isoformat())
        changed = {k: v for k, v in merged.items() if k != "updatedAt"} != {
            k: v for k, v in before.items() if k != "updatedAt"
        }
        if before:
            merged["updatedAt"] = self.store.now().isoformat()
        table[row["id"]] = merged
        for name, child in (
            ("salesChannels", "promotion_sales_channel"),
            ("discounts", "promotion_discount"),
        ):
            for given in children.get(name) or ():
                item = {**given, "promotionId": row["id"]}
                item.setdefault("id", synth_id("sim", child, row["id"], repr(sorted(item.items()))))
                changed |= self.store_upsert(child, item)
        for persona in children.get("personaCustomers") or ():
            changed |= self.store_mapping(
                "promotion_persona_customer", "upsert", (row["id"], persona["id"])
            )
        return changed

    def store_delete(self, entity: str, rid: Any) -> bool:
        if entity == "customer":
            return bool(self.store.delete_customers([rid]))
        if entity == "customer_group" and any(
            c.group_id == rid for c in self.store.customers.values()
        ):
            raise fail(
                409,
                "FRAMEWORK__DELETE_RESTRICTED",
                "The delete request for customer_group was denied due to a conflict. "
                "The entity is currently in use by: customer",
            )
        if entity == "tag":
            for c in self.store.customers.values():
                if rid in c.tag_ids:
                    c.tag_ids.remove(rid)
        return self.store.tables[entity].pop(rid, None) is not None

    def update_customer(self, row: dict[str, Any]) -> bool:
        customer = self.store.customers[row["id"]]
        before = (customer.group_id, list(customer.tag_ids))
        if "groupId" in row:
            customer.group_id = row["groupId"]
        for tag in row.get("tags") or ():  # a to-many write only adds (§3)
            if tag["id"] not in customer.tag_ids:
                customer.tag_ids.append(tag["id"])
        customer.updated_at = self.store.now()  # every update moves updatedAt
        return before != (customer.group_id, list(customer.tag_ids))

    def store_mapping(self, entity: str, action: str, pair: tuple[Any, Any]) -> bool:
        if entity == "promotion_persona_customer":
            present = pair in self.store.persona
            (self.store.persona.add if action == "upsert" else self.store.persona.discard)(pair)
            return present != (action == "upsert")
        customer = self.store.customers.get(pair[1])
        if customer is None:
            return False
        present = pair[0] in customer.tag_ids
        if action == "upsert" and not present:
            customer.tag_ids.append(pair[0])  # customer.updatedAt stays: the indexer writes tagIds
        elif action == "delete" and present:
            customer.tag_ids.remove(pair[0])
        return present != (action == "upsert")

    def commit(self) -> list[tuple[str, str, Any]]:
        if self.errors:
            raise SimError(400, self.errors)
        written = []
        for entity, action, row, effect in self.effects:
            key, changed = effect()
            self.store.write_log.append(
                {"entity": entity, "action": action, "payload": row, "changed": changed}
            )
            written.append((entity, action, key))
        return written


_DEFAULTS: dict[str, dict[str, Any]] = {  # Shopware's defaults: inactive, code-less (§3.5)
    "promotion": {
        "active": False,
        "useCodes": False,
        "useIndividualCodes": False,
        "priority": 1,
        "customerRestriction": False,
        "exclusive": False,
        "useSetGroups": False,
        "preventCombination": False,
        "maxRedemptionsGlobal": None,
        "maxRedemptionsPerCustomer": None,
        "validFrom": None,
        "validUntil": None,
        "individualCodePattern": None,
        "code": None,
    },
    "customer_group": {"displayGross": True, "registrationActive": False, "customFields": None},
}
