"""Writes of the fake PrestaShop webservice: POST, PUT and PATCH with XML bodies.

Owns `WebserviceRequest::saveEntityFromXml()` as research/prestashop.md §3 describes it:
bodies are XML only (a body starting `xml=` is accepted too), parse failure is 500 code 127;
POST with a non-empty `<id>` is 400 code 91 and answers 201 with the record; PUT needs `<id>`
(400 code 90) of an existing record (404 code 92) and **replaces the whole record**: an absent
required field is 400 code 41, an absent optional one is wiped (NULL, multilingual: empty);
associations are replaced only when `<associations>` is present; PATCH (8.x and 9.x; 405 code
23 on 1.7) merges what is sent. Customers: a `passwd` that differs from the stored hash is
hashed (`setWsPasswd`); on 9.x `secure_key`/`last_passwd_gen` are not writable (400 code 93)
and a PUT without them wipes `secure_key` (PR #29391, issue #42206). Cart rules are validated
(code isCleanHtml, reduction_percent isPercentage, dates isDate: 400 code 85). Every applied
write is appended to the write log.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import unquote_plus

from loyalsync.connectors.prestashop.sim_query import SimError
from loyalsync.connectors.prestashop.sim_render import SCHEMAS, Schema
from loyalsync.connectors.prestashop.sim_store import ShopTables, fake_hash

Row = dict[str, Any]
NOT_WRITABLE_9 = ("secure_key", "last_passwd_gen")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")


def parse_body(raw: bytes, resource: str) -> tuple[Row, bool]:
    """The record element of a body as {field: text | {lang: text}}, plus whether
    `<associations>` was present (associations land under the key "associations")."""
    text = raw.decode("utf-8", "replace")
    if text.startswith("xml="):
        text = unquote_plus(text[4:])
    try:
        root = ET.fromstring(text)  # noqa: S314 (expat: no external entities; entity expansion capped)
    except ET.ParseError as exc:
        raise SimError(500, 127, f"XML error : {exc}\n{text[:200]}") from None
    schema = SCHEMAS[resource]
    node = root.find(schema.singular) if root.tag == "prestashop" else None
    if node is None:
        raise SimError(400, 34, f"The resource {schema.singular} is missing in the XML")
    values: Row = {}
    has_assoc = False
    for child in node:
        if child.tag == "associations":
            has_assoc = True
            values["associations"] = _associations(child, schema)
        elif len(child) and child[0].tag == "language":
            values[child.tag] = {int(lang.get("id") or 0): lang.text or "" for lang in child}
        else:
            values[child.tag] = child.text or ""
    return values, has_assoc


def _associations(node: ET.Element, schema: Schema) -> dict[str, Any]:
    found: dict[str, Any] = {}
    names = dict(schema.associations)
    for assoc in node:
        if assoc.tag not in names:
            raise SimError(400, 86, f'The association "{assoc.tag}" does not exists')
        if assoc.tag == "groups":
            found["groups"] = [(g.findtext("id") or "").strip() for g in assoc]
        else:
            found[assoc.tag] = [{c.tag: c.text or "" for c in item} for item in assoc]
    return found


class Writer:
    """Applies POST / PUT / PATCH to the tables for one simulated version."""

    def __init__(self, tables: ShopTables, major: int) -> None:
        self.tables, self.major = tables, major
        self.log: list[Row] = []

    def _check_writable(self, resource: str, values: Row) -> None:
        unknown = [f for f in values if f not in ("id", "associations", *SCHEMAS[resource].fields)]
        if unknown:
            raise SimError(
                400,
                93,
                f'parameter "{unknown[0]}" not writable. Please remove this attribute of this XML',
            )
        if resource == "customers" and self.major >= 9:
            for field in NOT_WRITABLE_9:
                if field in values:
                    raise SimError(
                        400,
                        93,
                        f'parameter "{field}" not writable. Please remove '
                        "this attribute of this XML",
                    )

    def post(self, resource: str, raw: bytes) -> Row:
        values, _ = parse_body(raw, resource)
        if values.get("id"):
            raise SimError(400, 91, "id is forbidden when adding a new resource")
        self._check_writable(resource, values)
        schema = SCHEMAS[resource]
        row = self._complete(resource, schema, values, {})
        now = self.tables.now()
        row["date_add"] = row.get("date_add") or now
        row["date_upd"] = now
        self._validate(resource, row)
        row.setdefault("associations", values.get("associations", {}))
        new_id = self.tables.insert(resource, row)
        self.log.append({"method": "POST", "resource": resource, "id": new_id})
        return row

    def put(self, resource: str, url_id: int, raw: bytes) -> Row:
        values, has_assoc = parse_body(raw, resource)
        if not values.get("id"):
            raise SimError(400, 90, "id is required when modifying a resource")
        current = self._existing(resource, values["id"], url_id)
        self._check_writable(resource, values)
        schema = SCHEMAS[resource]
        row = self._complete(resource, schema, values, current)
        self._validate(resource, row)
        row["id"] = current["id"]
        row["date_upd"] = self.tables.now()
        row["associations"] = (
            values["associations"] if has_assoc else current.get("associations", {})
        )
        self.tables.tables[resource][current["id"]] = row
        self.log.append(
            {
                "method": "PUT",
                "resource": resource,
                "id": current["id"],
                "fields": sorted(f for f in values if f != "associations"),
            }
        )
        return row

    def patch(self, resource: str, url_id: int, raw: bytes) -> Row:
        if self.major < 8:
            raise SimError(405, 23, "Method PATCH is not valid")
        values, has_assoc = parse_body(raw, resource)
        if not values.get("id"):
            raise SimError(400, 90, "id is required when modifying a resource")
        current = self._existing(resource, values["id"], url_id)
        self._check_writable(resource, values)
        row = dict(current)
        for field, value in values.items():
            if field in ("id", "associations"):
                continue
            row[field] = self._password(current, value) if field == "passwd" else value
        if has_assoc:
            row["associations"] = {**current.get("associations", {}), **values["associations"]}
        self._validate(resource, row)
        row["date_upd"] = self.tables.now()
        self.tables.tables[resource][current["id"]] = row
        self.log.append(
            {
                "method": "PATCH",
                "resource": resource,
                "id": current["id"],
                "fields": sorted(f for f in values if f != "associations"),
            }
        )
        return row

    # -- helpers --------------------------------------------------------------------------
    def _existing(self, resource: str, body_id: str, url_id: int) -> Row:
        try:
            rid = int(body_id)
        except ValueError:
            raise SimError(400, 89, f"Invalid id {body_id!r}") from None
        current = self.tables.tables.get(resource, {}).get(rid)
        if current is None or rid != url_id:
            raise SimError(404, 92, "Invalid ID")
        return current

    def _password(self, current: Row, value: str) -> str:
        # setWsPasswd: re-hash only when the value differs from the stored hash (§3.3)
        return value if value == current.get("passwd") else fake_hash(value)

    def _complete(self, resource: str, schema: Schema, values: Row, current: Row) -> Row:
        row: Row = {}
        for field in schema.fields:
            if field in values:
                value = values[field]
                row[field] = self._password(current, value) if field == "passwd" else value
            elif field in schema.required:
                raise SimError(400, 41, f'parameter "{field}" required')
            elif field in schema.multilingual:
                row[field] = dict.fromkeys(self.tables.languages, "")
            else:
                row[field] = ""  # absent from a PUT: NULL (issue #9819)
        return row

    def _validate(self, resource: str, row: Row) -> None:
        if resource == "groups":
            names = row.get("name") or {}
            if not any(names.values()) or any(len(n) > 32 for n in names.values()):
                raise SimError(400, 84, 'Validation error: "name" is required, at most 32')
        if resource != "cart_rules":
            return
        for field in ("date_from", "date_to"):
            if not _DATE.match(row.get(field) or ""):
                raise SimError(
                    400, 85, f'Validation error: "Property CartRule->{field} is not valid"'
                )
        if "<" in (row.get("code") or "") or len(row.get("code") or "") > 254:
            raise SimError(400, 85, 'Validation error: "Property CartRule->code is not valid"')
        percent = row.get("reduction_percent") or "0"
        try:
            ok = 0 <= float(percent) <= 100
        except ValueError:
            ok = False
        if not ok:
            raise SimError(
                400, 85, 'Validation error: "Property CartRule->reduction_percent is not valid"'
            )
        if not any((row.get("name") or {}).values()):
            raise SimError(400, 84, 'Validation error: "Property CartRule->name is empty"')
