"""Writes to the PrestaShop webservice: groups, group memberships, personal codes (XML).

Owns research/prestashop.md §3 (the XML bodies themselves are in bodies.py). A customer's
groups are replaced as the complete list in `associations/groups`, so we read the customer's
current list first and change only the groups named by the operations (hand-assigned groups
stay). 8.x and 9.x: PATCH with the id, the groups (and the default group when asked). 1.7
has no PATCH: GET the whole customer as XML and PUT it back complete, every field as read
(`passwd` hash, `secure_key`, birthday, newsletter, note). A customer is never PUT on 9.x (it wipes
`secure_key`, issue #42206). Managed groups are created with a name in every language,
reduction 0 and the default customer group's price display. Personal codes are cart rules
bound to the customer (quantity 1, one per user, the campaign's validity, percent or amount),
looked up by `filter[code]` before every create; groups are looked up by name the same way.
A write whose outcome is unknown (a 5xx, a dropped connection, a read timeout) is read back (the
customer's groups and default group; the cart rule by its code; the group by its name): applied,
it is done; not applied, UnsureWriteError, and `HttpClient.redo_unsure` writes it again in the
same run with the HTTP policy's backoff. A 4xx refusal is never retried.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loyalsync.connectors.http import UnsureWriteError, may_have_applied
from loyalsync.connectors.prestashop import bodies, parse
from loyalsync.connectors.prestashop.state import PrestaShopState
from loyalsync.core.errors import LoyalsyncError, TransientError
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
    SlotOp,
    WriteOp,
)

if TYPE_CHECKING:
    from loyalsync.connectors.prestashop.client import PrestaShopConnector

XML = {"Content-Type": "application/xml"}
JSON = {"Output-Format": "JSON"}
MAX_GROUP_NAME = 32
NO_DEFAULT_CHANGE = (
    "making {name!r} the customer's default group changes prices; set "
    "change_default_group: true to let loyalsync do it"
)
DEFAULT_REMOVED = (
    "group {name!r} is the customer's default group; set change_default_group: true to "
    "let loyalsync change it"
)
log = logging.getLogger("loyalsync.prestashop")
Seen = tuple[list[str], str, "ET.Element | None"]  # a customer's groups, default, 1.7 document


class Writer:
    """Applies one batch of operations for one connector."""

    def __init__(self, c: PrestaShopConnector) -> None:
        self.c = c
        self.ref = c.reference()
        self.state = c.shop_state()
        self.shop = c.shop.name
        self._langs: list[str] | None = None
        self._fresh: dict[str, Seen] = {}  # customer -> read back after an unsure write

    # -- lookups --------------------------------------------------------------------------
    def refresh(self) -> PrestaShopState:
        self.state = self.c.shop_state(refresh=True)
        return self.state

    def languages(self) -> list[str]:
        if self._langs is None:
            rows = self.c.fetch_rows("languages", {"display": "[id]"}, optional=True)
            langs = [str(r.get("id")) for r in rows if parse.text(r.get("id"))]
            self._langs = langs or [self.ref.language or "1"]
        return self._langs

    # -- groups ---------------------------------------------------------------------------
    def ensure_group(self, name: str) -> str:
        """The group's id; created (a name in every language, reduction 0, the default
        group's price display) when the shop has no group of that name in any language."""
        if len(name) > MAX_GROUP_NAME:
            raise LoyalsyncError(f"group name {name!r} is longer than {MAX_GROUP_NAME} characters")
        found = self.state.names.get(name)
        if found:
            return found
        default = self.state.default_group_id or "3"
        display = self.state.price_display.get(default, "0")
        body = bodies.group(name, display, self.languages())
        gid = self._create(
            "groups", body, lambda: self.refresh().names.get(name), f"group {name!r}"
        )
        self.refresh()
        return gid

    def _create(self, resource: str, body: bytes, lookup: Any, what: str) -> str:
        """POST once. A POST is not idempotent: after a failure whose outcome is unknown (a
        5xx, a dropped connection, a read timeout) `lookup` reads the shop back; found, the
        shop made it and its id is the answer; not found, UnsureWriteError, and
        `HttpClient.redo_unsure` sends it again."""
        try:
            response = self.c.call(
                "POST", f"/api/{resource}", resource, data=body, headers={**XML, **JSON}
            )
            rows = parse.rows_of(parse.json_payload(response, f"/api/{resource}"), resource)
        except TransientError as exc:
            if not may_have_applied(exc):
                raise  # not written, and already retried by the HTTP layer: the next run
            found = lookup()
            if found:
                log.info("[%s] %s: %s; read back: created (id %s)", self.shop, what, exc, found)
                return str(found)
            raise UnsureWriteError.after(what, exc, "read back: not applied") from exc
        rid = parse.text(rows[0].get("id")) if rows else None
        found = rid or lookup()
        if found:
            return str(found)
        raise UnsureWriteError(f"{what}: the answer named no id and the shop has none yet")

    # -- memberships ----------------------------------------------------------------------
    def change_groups(self, customer: str, ops: list[SlotOp]) -> str | None:
        """Apply one customer's membership operations with at most one write; returns an
        error for the customer, or None. Reads the customer first and writes only what
        differs, so sending it again after an unknown outcome never changes more."""
        seen = self._fresh.pop(customer, None) or self._read_customer(customer)
        if seen is None:
            return f"customer {customer} does not exist"
        groups, default, doc = seen
        guarded = set(groups) & self.state.protected
        if guarded:  # read from the shop just now: a hand-made change since the pull counts
            return f"customer {customer} is in a protected group (id {min(guarded)}): not modified"
        wanted, new_default, error = self._target(groups, default, ops)
        if error:
            return error
        if wanted == groups and new_default == default:
            return None  # already as asked: no write
        try:
            self._write_groups(customer, doc, wanted, new_default, default)
        except TransientError as exc:
            if not may_have_applied(exc):
                raise  # not written, and already retried by the HTTP layer: the next run
            self._confirm_groups(customer, wanted, new_default, exc)
        return None

    def _read_customer(self, customer: str) -> Seen | None:
        """(groups, default group, the 1.7 XML document) as the shop has them; None: 404."""
        if self.c.major >= 8:
            response = self.c.call(
                "GET", f"/api/customers/{customer}", "customers", headers=JSON, ok_statuses=(404,)
            )
            payload = parse.json_payload(response, "/api/customers") if response.ok else []
            current = parse.rows_of(payload, "customer")
            if response.status_code == 404 or not current:
                return None
            groups = parse.association_ids(current[0], "groups")
            return groups, parse.text(current[0].get("id_default_group")) or "", None
        doc = self._customer_xml(customer)
        if doc is None:
            return None
        groups, default = bodies.xml_groups(doc)
        return groups, default, doc

    def _write_groups(
        self, customer: str, doc: ET.Element | None, wanted: list[str], new: str, old: str
    ) -> None:
        if self.c.major >= 8:
            self.c.call(
                "PATCH",
                f"/api/customers/{customer}",
                "customers",
                data=bodies.customer_groups(customer, wanted, new if new != old else None),
                headers=XML,
                idempotent=True,  # the complete list: sending it twice changes nothing
            )
            return
        if doc is None:  # read by change_groups for 1.7
            raise TransientError(f"customer {customer}: its document was not read")
        body = bodies.replace_groups(doc, wanted, new)
        self.c.call("PUT", f"/api/customers/{customer}", "customers", data=body, headers=XML)

    def _confirm_groups(
        self, customer: str, wanted: list[str], default: str, exc: TransientError
    ) -> None:
        """After a group write whose outcome is unknown: read the customer back. Applied:
        done. Not applied: UnsureWriteError, and the redo starts from this read."""
        what = f"customer {customer} groups"
        seen = self._read_customer(customer)
        if seen is not None and set(seen[0]) == set(wanted) and seen[1] == default:
            log.info("[%s] %s: %s; read back: applied", self.shop, what, exc)
            return
        if seen is not None:
            self._fresh[customer] = seen
        raise UnsureWriteError.after(what, exc, "read back: not applied") from exc

    def _customer_xml(self, customer: str) -> ET.Element | None:
        response = self.c.call("GET", f"/api/customers/{customer}", "customers", ok_statuses=(404,))
        if response.status_code == 404:
            return None
        return bodies.customer_document(response.text)

    def _target(
        self, groups: list[str], default: str, ops: list[SlotOp]
    ) -> tuple[list[str], str, str | None]:
        """The customer's new list and default group after `ops`, or an error."""
        change_default = bool(self.c.settings["change_default_group"])
        wanted, new_default = list(groups), default
        for op in ops:
            name = getattr(op, "value", None) or ""
            gid = self.state.group_id(name)
            if gid is None and isinstance(op, RemoveValue):
                continue  # a group the shop does not have is nobody's group
            if gid is None:
                return groups, default, f"the shop has no group {name!r}"
            if isinstance(op, AddValue | SetDefault):
                if isinstance(op, SetDefault) and not change_default:
                    return groups, default, NO_DEFAULT_CHANGE.format(name=name)
                if gid not in wanted:
                    wanted.append(gid)
                if change_default:  # the managed group also decides the customer's prices
                    new_default = gid
            elif isinstance(op, RemoveValue) and gid in wanted:
                if gid == new_default:
                    if not change_default:
                        return groups, default, DEFAULT_REMOVED.format(name=name)
                    new_default = ""
                wanted.remove(gid)
        if not new_default:
            fallback = self.state.default_group_id or "3"
            new_default = fallback if fallback in wanted else (wanted[0] if wanted else fallback)
        if new_default not in wanted:
            wanted.append(new_default)
        return wanted, new_default, None

    # -- codes ----------------------------------------------------------------------------
    def find_code(self, code: str) -> dict[str, Any] | None:
        rows = self.c.fetch_rows(
            "cart_rules", {"display": "[id,id_customer,code]", "filter[code]": f"[{code}]"}
        )
        return next((r for r in rows if parse.text(r.get("code")) == code), None)

    def issue_code(self, op: IssueCode) -> str:
        found = self.find_code(op.code)
        if found is None:
            campaign = self.c.campaigns.get(op.campaign)
            if campaign is None:
                raise LoyalsyncError(
                    f"campaign {op.campaign!r} unknown: EnsureCampaign must come first"
                )
            currency = self.ref.config.get("PS_CURRENCY_DEFAULT") or "1"
            body = bodies.cart_rule(op, campaign, self.ref.tz, currency, self.languages())

            def lookup() -> str | None:
                again = self.find_code(op.code)
                return str(again["id"]) if again else None

            return self._create("cart_rules", body, lookup, f"code {op.code}")
        owner = parse.text(found.get("id_customer"))
        if owner != op.customer_id:
            raise LoyalsyncError(f"code {op.code} already belongs to customer {owner}")
        return str(found["id"])


def apply_ops(c: PrestaShopConnector, ops: Sequence[WriteOp]) -> list[OpResult]:
    """One result per operation, in order. Ensures first, then one read and at most one
    write per customer for all of its membership operations, then codes."""
    w = Writer(c)
    results: dict[int, OpResult] = {}
    members: dict[str, list[tuple[int, SlotOp]]] = {}
    for i, op in enumerate(ops):
        if isinstance(op, EnsureValue | AddValue | RemoveValue | SetDefault | SetValue) and (
            op.slot != GROUPS
        ):
            results[i] = OpResult(op, False, f"PrestaShop has no slot {op.slot!r}")
        elif isinstance(op, SetValue):
            results[i] = OpResult(op, False, "groups is a many slot: use AddValue/RemoveValue")
        elif isinstance(op, EnsureValue):
            results[i] = _attempt(
                op, lambda n=op.name: c.http.redo_unsure(lambda: w.ensure_group(n), f"group {n!r}")
            )
        elif isinstance(op, EnsureCampaign):
            c.campaigns[op.name] = op
            results[i] = OpResult(op, True)
        elif isinstance(op, AddValue | RemoveValue | SetDefault):
            members.setdefault(op.customer_id, []).append((i, op))
        elif not isinstance(op, IssueCode):
            results[i] = OpResult(op, False, f"{type(op).__name__} is not supported")
    for customer, items in members.items():
        try:
            error = c.http.redo_unsure(
                lambda cid=customer, mine=[s for _, s in items]: w.change_groups(cid, mine),
                f"customer {customer} groups",
            )
        except LoyalsyncError as exc:
            error = str(exc)
        for i, _ in items:
            results[i] = OpResult(ops[i], error is None, error, customer)
    for i, op in enumerate(ops):
        if isinstance(op, IssueCode):
            results[i] = _attempt(
                op, lambda o=op: c.http.redo_unsure(lambda: w.issue_code(o), f"code {o.code}")
            )
    return [results[i] for i in range(len(ops))]


def _attempt(op: WriteOp, fn: Any) -> OpResult:
    """Run one create; its id is the result's remote id, a failure its error."""
    try:
        value = fn()
    except LoyalsyncError as exc:
        return OpResult(op, False, str(exc))
    return OpResult(op, True, None, value)
