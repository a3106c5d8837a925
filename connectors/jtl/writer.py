"""Applying write operations to JTL-Wawi: look up, then write only what differs.

Groups and categories are ensured by name (`POST /customerGroups`, `/customerCategories`; a new
group copies IsNetPrice from the default group and carries no discount). A customer's group or
category is set with `PATCH /customers/{id}` (answered 201) and `disableAutomaticWorkflows=true`
unless the shop turned that off; the label goes to the configured text custom field with
`PATCH /customers/{id}/customfields/{fieldId}` (answered 204). Every customer operation first
reads the customer (or its custom field values), so applying the same operations again sends
no write. Customers in a protected group are refused. Discount codes are absent on JTL: those
operations fail in plain words. Research: ../shared/research/jtl.md §4.2-4.3, §8.14-8.16, §8.19.

Faults are settled within the run (`HttpClient.redo_unsure`, with the HTTP policy's backoff):
each operation is redone from its look-up while it raises UnsureWriteError. A create (POST, not
idempotent) is followed by a read of its table: found, it is done, whether or not its answer
came; missing after an unknown outcome, it is sent again. The PATCHes set a value, so they are
naturally idempotent: the HTTP layer resends them after drops and timeouts, and after a 500
the redo reads the customer and sends what still differs (no read-back of its own). A 4xx
refusal, a 429/503 the HTTP layer gave up on, or a look-up that failed is never redone here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from loyalsync.connectors.http import (
    HttpClient,
    UnsureWriteError,
    idempotent_write,
    may_have_applied,
)
from loyalsync.connectors.jtl import mapping
from loyalsync.connectors.jtl import platform as declared
from loyalsync.core.config import ShopConfig
from loyalsync.core.errors import ConfigError, LoyalsyncError, TransientError
from loyalsync.core.records import (
    GROUPS,
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    OpResult,
    RemoveValue,
    SetDefault,
    SetValue,
    WriteOp,
)

NO_CODES = (
    "JTL-Wawi has no API that creates JTL-Shop coupons: personal codes are not written; "
    "export them with `loyalsync customers --segment S --format csv --with-codes CAMPAIGN`"
)
TABLES = {GROUPS: "/customerGroups", declared.CATEGORIES: "/customerCategories"}
COLUMNS = {GROUPS: "CustomerGroupId", declared.CATEGORIES: "CustomerCategoryId"}
T = TypeVar("T")


class Target(Protocol):
    shop: ShopConfig
    http: HttpClient
    workflows_disabled: bool

    def get_json(self, path: str, what: str = "", **params: Any) -> Any: ...

    def call(self, method: str, path: str, what: str = "", **kw: Any) -> Any: ...


def label_field(target: Target, name: str) -> dict[str, Any]:
    """The custom field definition named `name`; ConfigError when it is missing or not text."""
    fields = target.get_json("/customers/customfields", "reading custom fields") or []
    found = next((f for f in fields if mapping.get(f, "Name") == name), None)
    if found is None:
        known = ", ".join(repr(mapping.get(f, "Name")) for f in fields) or "none"
        raise ConfigError(
            f"shop {target.shop.name!r}: jtl.label_field {name!r} is not a customer custom "
            f"field in Wawi (known: {known}); create it in Wawi first (the API cannot)",
            shop=target.shop.name,
        )
    if int(mapping.get(found, "Type") or -1) not in declared.TEXT_FIELD_TYPES:
        raise ConfigError(
            f"shop {target.shop.name!r}: custom field {name!r} has type "
            f"{mapping.get(found, 'Type')}, not a text type (3 Text or 12 ShortText)",
            shop=target.shop.name,
        )
    return dict(found)


class _Writer:
    def __init__(self, target: Target, ops: Sequence[WriteOp] = ()) -> None:
        self.t = target
        self.values: dict[str, list[dict[str, Any]]] = {}
        self.protected = set(target.shop.protected_groups)
        # categories hold one value in v1: an AddValue may replace only a value this batch
        # removes anyway (a move between two of ours); any other category is kept
        self.leaving = {
            (op.customer_id, op.slot, op.value) for op in ops if isinstance(op, RemoveValue)
        }

    def rows(self, slot: str, fresh: bool = False) -> list[dict[str, Any]]:
        if fresh or slot not in self.values:
            self.values[slot] = list(self.t.get_json(TABLES[slot], f"reading {slot}") or [])
        return self.values[slot]

    def find(self, slot: str, value: str | None) -> dict[str, Any] | None:
        rows = self.rows(slot)
        if value is None and slot == GROUPS:
            return next((r for r in rows if mapping.get(r, "IsDefault")), None)
        by_name = next((r for r in rows if mapping.get(r, "Name") == value), None)
        return by_name or next((r for r in rows if str(mapping.get(r, "Id")) == value), None)

    def ensure(self, op: EnsureValue) -> str:
        if op.slot == declared.LABEL:
            name = str(declared.option(self.t.shop, "label_field") or "")
            if not name:
                raise ConfigError("no jtl.label_field configured for the label slot")
            return str(mapping.get(label_field(self.t, name), "CustomFieldId"))
        found = self.find(op.slot, op.name)
        if found is None:
            body: dict[str, Any] = {"Name": op.name}
            if op.slot == GROUPS:
                default = self.find(GROUPS, None) or {}
                body.update(
                    IsDefault=False, Discount=0, IsNetPrice=bool(mapping.get(default, "IsNetPrice"))
                )
            found = self.create(op, body)
        return str(mapping.get(found, "Id"))

    def create(self, op: EnsureValue, body: dict[str, Any]) -> dict[str, Any]:
        """POST once. Answered with the created row (201 `CustomerGroup`, with its Id and our
        name), it is done; otherwise read the table back (the answer may be lost after the
        create, or carry no row): found, it is done; missing after a failure whose outcome is
        unknown, UnsureWriteError (the redo looks it up again before it sends it)."""
        what = f"{op.slot} {op.name!r}"
        lost: TransientError | None = None
        try:
            response = self.t.call("POST", TABLES[op.slot], f"creating {op.slot}", json=body)
            made = _created_row(response, op.name)
            if made is not None:
                cached = self.values.get(op.slot)
                if cached is not None:  # as `find` loaded it before the create
                    cached.append(made)
                return made
        except TransientError as exc:
            if not may_have_applied(exc):
                raise  # not written, and already retried by the HTTP layer: the next run
            lost = exc
        self.rows(op.slot, fresh=True)
        found = self.find(op.slot, op.name)
        if found is not None:
            return found
        if lost is not None:
            raise UnsureWriteError.after(what, lost, "read back: not created")
        raise TransientError(
            f"{what} answered as created, but not listed; the next run looks again"
        )

    def customer(self, cid: str) -> dict[str, Any]:
        row = self.t.get_json(f"/customers/{cid}", "reading a customer")
        group = str(mapping.get(row, "CustomerGroupId"))
        names = {str(mapping.get(g, "Id")): mapping.get(g, "Name") for g in self.rows(GROUPS)}
        if group in self.protected or names.get(group) in self.protected:
            raise ConfigError(f"customer group {names.get(group, group)!r} is protected")
        return dict(row)

    def patch(self, cid: str, body: dict[str, Any]) -> None:
        params = {"disableAutomaticWorkflows": "true"} if self.t.workflows_disabled else None
        with idempotent_write(f"customer {cid}"):
            self.t.call(
                "PATCH", f"/customers/{cid}", "updating a customer", json=body, params=params
            )

    def member(self, op: SetValue | AddValue | RemoveValue) -> None:
        if op.slot == declared.LABEL:
            return self.label(op)
        if op.slot not in COLUMNS:
            raise ConfigError(f"JTL has no slot {op.slot!r}")
        column, row = COLUMNS[op.slot], self.customer(op.customer_id)
        current = str(mapping.get(row, column) or 0)
        if isinstance(op, RemoveValue):
            found = self.find(op.slot, op.value)
            wanted = "0" if found and str(mapping.get(found, "Id")) == current else current
        elif op.value:
            wanted = self.ensure(EnsureValue(op.slot, op.value))
            if isinstance(op, AddValue) and current not in ("0", wanted):
                self.room_for(op, current)
        else:
            default = self.find(op.slot, None)
            wanted = str(mapping.get(default, "Id")) if default else "0"
        if wanted != current:
            self.patch(op.customer_id, {column: int(wanted)})
        return None

    def room_for(self, op: AddValue, current: str) -> None:
        """Refuse to replace a category the batch does not remove (the shop changed since
        the plan): it is not ours, and v1 holds one category per customer."""
        held = next((r for r in self.rows(op.slot) if str(mapping.get(r, "Id")) == current), {})
        name = str(mapping.get(held, "Name") or current)
        if not {(op.customer_id, op.slot, name), (op.customer_id, op.slot, current)} & self.leaving:
            raise ConfigError(
                f"customer {op.customer_id} holds customer category {name!r}, which is kept "
                f"(a customer has one category in JTL-Wawi v1)"
            )

    def label(self, op: SetValue | AddValue | RemoveValue) -> None:
        fid = int(self.ensure(EnsureValue(declared.LABEL, "")))
        values = self.t.get_json(
            f"/customers/{op.customer_id}/customfields", "reading custom fields"
        )
        current = next(
            (v.get("Value") for v in values or [] if v.get("CustomFieldId") == fid), None
        )
        wanted = "" if isinstance(op, RemoveValue) else (op.value or "")
        if isinstance(op, RemoveValue) and current != op.value:
            return
        if (current or "") != wanted:
            path = f"/customers/{op.customer_id}/customfields/{fid}"
            with idempotent_write(f"customer {op.customer_id} label"):
                self.t.call(
                    "PATCH", path, "writing the label", json={"Value": wanted}, ok_statuses=(204,)
                )

    def one(self, op: WriteOp) -> OpResult:
        try:
            if isinstance(op, EnsureCampaign | IssueCode):
                return OpResult(op, ok=False, error=NO_CODES)
            if isinstance(op, SetDefault):
                return OpResult(op, ok=False, error=f"JTL slot {op.slot!r} has no default value")
            if isinstance(op, EnsureValue):
                return OpResult(op, ok=True, remote_id=self.redo(op, lambda: self.ensure(op)))
            if isinstance(op, SetValue | AddValue | RemoveValue):
                self.redo(op, lambda: self.member(op))
                return OpResult(op, ok=True)
            return OpResult(op, ok=False, error=f"unknown operation {type(op).__name__}")
        except ConfigError as exc:
            if exc.status in (401, 402, 403):
                raise
            return OpResult(op, ok=False, error=exc.message)
        except LoyalsyncError as exc:
            return OpResult(op, ok=False, error=exc.message)

    def redo(self, op: WriteOp, fn: Callable[[], T]) -> T:
        """`fn` (look up, then write what differs), again while it raises UnsureWriteError."""
        return self.t.http.redo_unsure(fn, op.key)


def _created_row(response: Any, name: str) -> dict[str, Any] | None:
    """The row a create answered with, if its body is one: an object with an Id and our
    name (anything else, an empty body included, is read back from the table instead)."""
    try:
        row = response.json()
    except ValueError:
        return None
    if not isinstance(row, dict) or mapping.get(row, "Id") in (None, ""):
        return None
    return row if mapping.get(row, "Name") == name else None


def apply_ops(target: Target, ops: Sequence[WriteOp]) -> list[OpResult]:
    writer = _Writer(target, ops)
    return [writer.one(op) for op in ops]
