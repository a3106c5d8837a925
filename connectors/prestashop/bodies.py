"""PrestaShop XML request bodies and the 1.7 customer document (pure; no HTTP).

Owns research/prestashop.md §3's shapes: documents are never pretty-printed; multilingual fields
carry one `<language id>` per language; a 1.7 customer is PUT back exactly as read, with only
its groups and default group changed; 8.x/9.x PATCH the id, the complete group list and the
default group when it changes. Used by writer.py, which decides what to send.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from loyalsync.connectors.prestashop import parse
from loyalsync.core.errors import TransientError
from loyalsync.core.records import EnsureCampaign, IssueCode

XLINK = "http://www.w3.org/1999/xlink"
ET.register_namespace("xlink", XLINK)


def doc(element: str, inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><prestashop xmlns:xlink="{XLINK}">'
        f"<{element}>{inner}</{element}></prestashop>"
    ).encode()


def field(name: str, value: Any) -> str:
    return f"<{name}>{escape('' if value is None else str(value))}</{name}>"


def languages_xml(name: str, value: str, languages: list[str]) -> str:
    inner = "".join(f'<language id="{lang}">{escape(value)}</language>' for lang in languages)
    return f"<{name}>{inner}</{name}>"


def group(name: str, price_display: str, languages: list[str]) -> bytes:
    """A managed group: a name in every language, reduction 0, the given price display."""
    return doc(
        "group",
        "<id></id>"
        + field("reduction", "0")
        + field("price_display_method", price_display)
        + field("show_prices", "1")
        + languages_xml("name", name, languages),
    )


def customer_groups(customer: str, groups: list[str], default: str | None) -> bytes:
    """The 8.x/9.x PATCH body: the id, the complete group list, the default when it changes."""
    inner = field("id", customer)
    if default is not None:
        inner += field("id_default_group", default)
    inner += (
        "<associations><groups>"
        + "".join(f"<group>{field('id', g)}</group>" for g in groups)
        + "</groups></associations>"
    )
    return doc("customer", inner)


def customer_document(text: str) -> ET.Element:
    """A customer as XML (1.7), skipping anything PHP printed first; a body that is no XML
    document is a TransientError (a proxy or a crashed module answered, not the webservice)."""
    start = text.find("<?xml")
    try:
        return ET.fromstring(text[start if start >= 0 else text.find("<prestashop") :])  # noqa: S314 (expat: no external entities; entity expansion capped)
    except ET.ParseError:
        raise TransientError("the shop's customer document is not XML") from None


def cart_rule(
    op: IssueCode, campaign: EnsureCampaign, tz: ZoneInfo, currency: str, languages: list[str]
) -> bytes:
    """A personal code's cart rule: bound to the customer, quantity 1, one per user, the
    campaign's validity in the shop's time zone, percent or amount."""
    fields = {
        "id_customer": op.customer_id,
        "date_from": parse.shop_text(campaign.valid_from, tz),
        "date_to": parse.shop_text(campaign.valid_until, tz),
        "description": f"loyalsync {campaign.name}",
        "quantity": 1,
        "quantity_per_user": 1,
        "priority": 1,
        "partial_use": 0,
        "code": op.code,
        "minimum_amount": 0,
        "minimum_amount_tax": 0,
        "minimum_amount_currency": currency,
        "minimum_amount_shipping": 0,
        "country_restriction": 0,
        "carrier_restriction": 0,
        "group_restriction": 0,
        "cart_rule_restriction": 0,
        "product_restriction": 0,
        "shop_restriction": 0,
        "free_shipping": 0,
        "reduction_percent": f"{campaign.percent:.2f}" if campaign.percent else "0",
        "reduction_amount": f"{campaign.amount:.2f}" if campaign.amount else "0",
        "reduction_tax": 1,
        "reduction_currency": currency,
        "reduction_product": 0,
        "reduction_exclude_special": 0,
        "gift_product": 0,
        "gift_product_attribute": 0,
        "highlight": 1,
        "active": 1,
    }
    inner = "<id></id>" + "".join(field(k, v) for k, v in fields.items())
    inner += languages_xml("name", campaign.name[:254], languages)
    return doc("cart_rule", inner)


def xml_groups(doc: ET.Element) -> tuple[list[str], str]:
    customer = doc.find("customer")
    if customer is None:
        raise TransientError("the shop's customer document has no <customer> element")
    groups = [
        (g.findtext("id") or "").strip() for g in customer.findall("./associations/groups/group")
    ]
    return [g for g in groups if g], (customer.findtext("id_default_group") or "").strip()


def replace_groups(doc: ET.Element, groups: list[str], default: str) -> bytes:
    """The customer document exactly as read, with only its groups (and default) changed."""
    customer = doc.find("customer")
    if customer is None:
        raise TransientError("the shop's customer document has no <customer> element")
    node = customer.find("id_default_group")
    if node is not None:
        node.text = default
    assoc = customer.find("./associations/groups")
    if assoc is None:
        holder = customer.find("associations")
        if holder is None:
            holder = ET.SubElement(customer, "associations")
        assoc = ET.SubElement(holder, "groups")
    for child in list(assoc):
        assoc.remove(child)
    for gid in groups:
        item = ET.SubElement(assoc, "group")
        ET.SubElement(item, "id").text = gid
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True)
