"""Rendering of the fake PrestaShop webservice: resource schemas, JSON and XML bodies.

Owns what WebserviceOutputJSON / WebserviceOutputXML produce (research/prestashop.md §2.4):
JSON ids as numbers and every other scalar as a string; multilingual fields as
`[{"id":"1","value":...}]`, or a plain string when one language is shown; a list without
`display` is `[{"id":1},...]`; a list that matched nothing is a bare `[]` (the 1.7 renderer's
quirk, issue #22760); a single record is `{"customer":{...}}` but `{"customers":[{...}]}` when
`display` is in the query. XML wraps values in CDATA, lists without display as
`<customer id="1" xlink:href=.../>`, associations with `nodeType`/`api`. Schemas (the blank
documents of the docs, samples/prestashop/xml_schema_blank_*) also drive PUT semantics.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from loyalsync.connectors.prestashop.sim_query import Display

Row = dict[str, Any]


@dataclass(frozen=True)
class Schema:
    singular: str
    fields: tuple[str, ...]
    required: frozenset[str] = frozenset()
    multilingual: frozenset[str] = frozenset()
    associations: tuple[tuple[str, str], ...] = ()  # (association, element name)
    writable: bool = False  # POST / PUT / PATCH allowed on the resource


def _fields(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SCHEMAS: dict[str, Schema] = {
    "customers": Schema(
        "customer",
        _fields(
            "id_default_group id_lang newsletter_date_add ip_registration_newsletter "
            "last_passwd_gen secure_key deleted passwd lastname firstname email id_gender "
            "birthday newsletter optin website company siret ape outstanding_allow_amount "
            "show_public_prices id_risk max_payment_days active note is_guest id_shop "
            "id_shop_group date_add date_upd reset_password_token reset_password_validity"
        ),
        frozenset({"passwd", "lastname", "firstname", "email"}),
        associations=(("groups", "group"),),
        writable=True,
    ),
    "orders": Schema(
        "order",
        _fields(
            "id_address_delivery id_address_invoice id_cart id_currency id_lang id_customer "
            "id_carrier current_state module invoice_date delivery_date valid date_add "
            "date_upd payment total_discounts total_paid total_paid_tax_incl "
            "total_paid_tax_excl total_paid_real total_products total_products_wt "
            "total_shipping conversion_rate reference"
        ),
        associations=(("order_rows", "order_row"),),
    ),
    "addresses": Schema(
        "address",
        _fields(
            "id_customer id_country alias company lastname firstname address1 postcode city "
            "deleted date_add date_upd"
        ),
        frozenset({"id_country", "alias", "lastname", "firstname", "address1", "city"}),
    ),
    "countries": Schema(
        "country", _fields("iso_code active name"), multilingual=frozenset({"name"})
    ),
    "currencies": Schema("currency", _fields("iso_code conversion_rate")),
    "languages": Schema("language", _fields("iso_code name active")),
    "order_states": Schema(
        "order_state",
        _fields("name logable paid shipped delivery invoice deleted color module_name"),
        multilingual=frozenset({"name"}),
    ),
    "groups": Schema(
        "group",
        _fields("reduction price_display_method show_prices date_add date_upd name"),
        frozenset({"price_display_method", "name"}),
        frozenset({"name"}),
        writable=True,
    ),
    "cart_rules": Schema(
        "cart_rule",
        _fields(
            "id_customer date_from date_to description quantity quantity_per_user priority "
            "partial_use code minimum_amount minimum_amount_tax minimum_amount_currency "
            "minimum_amount_shipping country_restriction carrier_restriction "
            "group_restriction cart_rule_restriction product_restriction shop_restriction "
            "free_shipping reduction_percent reduction_amount reduction_tax "
            "reduction_currency reduction_product reduction_exclude_special gift_product "
            "gift_product_attribute highlight active date_add date_upd name"
        ),
        frozenset({"date_from", "date_to", "name"}),
        frozenset({"name"}),
        writable=True,
    ),
    "order_cart_rules": Schema(
        "order_cart_rule", _fields("id_order id_cart_rule name value deleted")
    ),
    "configurations": Schema("configuration", _fields("name value")),
}


def known_fields(resource: str) -> list[str]:
    schema = SCHEMAS[resource]
    return ["id", *schema.fields]


# ---------------------------------------------------------------------------------------------
# JSON


def _json_value(field: str, value: Any, languages: list[int]) -> Any:
    if field == "id":
        return int(value)
    if isinstance(value, dict):
        shown = [(lang, value.get(lang, "")) for lang in languages]
        if len(shown) == 1:
            return shown[0][1]
        return [{"id": str(lang), "value": text} for lang, text in shown]
    return value


def _assoc_json(name: str, value: Any) -> Any:
    if name == "groups":
        return [{"id": g} for g in value]
    return [dict(v) if isinstance(v, dict) else v for v in value]  # tests store broken rows


def json_record(row: Row, schema: Schema, display: Display, languages: list[int]) -> Row:
    if display.mode is None:
        return {"id": int(row["id"])}
    fields = ["id", *schema.fields] if display.mode == "full" else list(display.fields)
    out = {f: _json_value(f, row.get(f), languages) for f in fields}
    assocs = {
        a: _assoc_json(a, row["associations"][a])
        for a in display.associations
        if row.get("associations", {}).get(a)
    }
    if assocs:
        out["associations"] = assocs
    return out


def json_list(
    resource: str, rows: list[Row], display: Display, languages: list[int], extra: Any = None
) -> bytes:
    """A list answer; `extra` (sim_api.BadRows, tests) adds entries no shop should send."""
    schema = SCHEMAS[resource]
    records: list[Any] = [json_record(r, schema, display, languages) for r in rows]
    if extra is not None:
        if len(records) > extra.copy_of and extra.copies:
            twin = records[extra.copy_of]
            spot = extra.copy_of + 1
            records[spot:spot] = [copy.deepcopy(twin) for _ in range(extra.copies)]
        at = len(records) if extra.at is None else extra.at
        records[at:at] = list(extra.rows)
    if not records:
        return b"[]"  # the renderer's content starts as an empty PHP array (§2.4)
    return json.dumps({resource: records}, ensure_ascii=False).encode()


def json_single(resource: str, row: Row, languages: list[int], *, display_given: bool) -> bytes:
    schema = SCHEMAS[resource]
    record = json_record(
        row,
        schema,
        Display("full", schema.fields, tuple(a for a, _ in schema.associations)),
        languages,
    )
    if display_given:  # list-vs-single is decided by array_key_exists('display', $_GET)
        return json.dumps({resource: [record]}, ensure_ascii=False).encode()
    return json.dumps({schema.singular: record}, ensure_ascii=False).encode()


def json_errors(errors: list[tuple[int | None, str]]) -> bytes:
    body = {"errors": [{"code": code, "message": message} for code, message in errors]}
    return json.dumps(body, ensure_ascii=False).encode()


# ---------------------------------------------------------------------------------------------
# XML

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">\n'
TAIL = "</prestashop>\n"


def cdata(value: Any) -> str:
    text = "" if value is None else str(value)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_field(field: str, value: Any, languages: list[int], base: str) -> str:
    if isinstance(value, dict):
        inner = "".join(
            f'<language id="{lang}" xlink:href="{base}/api/languages/{lang}">'
            f"{cdata(value.get(lang, ''))}</language>"
            for lang in languages
        )
        return f"<{field}>{inner}</{field}>"
    return f"<{field}>{cdata(value)}</{field}>"


def _xml_assoc(name: str, element: str, value: Any, base: str) -> str:
    if name == "groups":
        inner = "".join(
            f'<group xlink:href="{base}/api/groups/{g}"><id>{cdata(g)}</id></group>' for g in value
        )
    else:
        inner = "".join(
            f"<{element}>"
            + "".join(f"<{k}>{cdata(v)}</{k}>" for k, v in row.items())
            + f"</{element}>"
            for row in value
        )
    return f'<{name} nodeType="{element}" api="{name}">{inner}</{name}>'


def xml_record(
    resource: str, row: Row, fields: list[str], assocs: list[str], languages: list[int], base: str
) -> str:
    schema = SCHEMAS[resource]
    parts = [_xml_field(f, row.get(f), languages, base) for f in fields]
    elements = dict(schema.associations)
    inner = "".join(
        _xml_assoc(a, elements[a], row.get("associations", {}).get(a, []), base) for a in assocs
    )
    if inner:
        parts.append(f"<associations>{inner}</associations>")
    return f"<{schema.singular}>\n" + "\n".join(parts) + f"\n</{schema.singular}>\n"


def xml_list(
    resource: str, rows: list[Row], display: Display, languages: list[int], base: str
) -> bytes:
    schema = SCHEMAS[resource]
    if display.mode is None:
        items = "".join(
            f'<{schema.singular} id="{r["id"]}" xlink:href='
            + quoteattr(f"{base}/api/{resource}/{r['id']}")
            + "/>\n"
            for r in rows
        )
    else:
        fields = ["id", *schema.fields] if display.mode == "full" else list(display.fields)
        items = "".join(
            xml_record(resource, r, fields, list(display.associations), languages, base)
            for r in rows
        )
    return (HEAD + f"<{resource}>\n{items}</{resource}>\n" + TAIL).encode()


def xml_single(resource: str, row: Row, languages: list[int], base: str) -> bytes:
    schema = SCHEMAS[resource]
    fields = ["id", *schema.fields]
    assocs = [a for a, _ in schema.associations]
    return (HEAD + xml_record(resource, row, fields, assocs, languages, base) + TAIL).encode()


def xml_schema(resource: str, languages: list[int], synopsis: bool) -> bytes:
    schema = SCHEMAS[resource]
    parts = []
    for field in ("id", *schema.fields):
        attrs = ""
        if synopsis and field in schema.required:
            attrs += ' required="true"'
        if synopsis and field in ("date_add", "date_upd"):
            attrs += ' format="isDate"'
        if field in schema.multilingual:
            langs = "".join(f'<language id="{lang}"></language>' for lang in languages)
            parts.append(f"<{field}{attrs}>{langs}</{field}>")
        else:
            parts.append(f"<{field}{attrs}></{field}>")
    assocs = "".join(
        f'<{name} nodeType="{element}" api="{name}"><{element}><id></id></{element}></{name}>'
        for name, element in schema.associations
    )
    if assocs:
        parts.append(f"<associations>{assocs}</associations>")
    body = f"<{schema.singular}>\n" + "\n".join(parts) + f"\n</{schema.singular}>\n"
    return (HEAD + body + TAIL).encode()


def xml_errors(errors: list[tuple[int | None, str]]) -> bytes:
    items = "".join(
        f"<error>\n<code>{cdata(code if code is not None else '')}</code>\n"
        f"<message>{cdata(message)}</message>\n</error>\n"
        for code, message in errors
    )
    return (HEAD + f"<errors>\n{items}</errors>\n" + TAIL).encode()


def xml_root(permissions: dict[str, set[str]], base: str, patch: bool) -> bytes:
    methods = ["get", "put", "post", *(["patch"] if patch else []), "delete", "head"]
    items = []
    for resource in sorted(permissions):
        allowed = permissions[resource]
        attrs = " ".join(f'{m}="{"true" if m.upper() in allowed else "false"}"' for m in methods)
        items.append(
            f'<{resource} xlink:href="{base}/api/{resource}" {attrs}>'
            f"<description>{resource}</description></{resource}>"
        )
    body = '<api shopName="loyalsync simulator">\n' + "\n".join(items) + "\n</api>\n"
    return (HEAD + body + TAIL).encode()
