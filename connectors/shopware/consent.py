"""Newsletter consent for Shopware customers: 6.4's `customer.newsletter`, 6.5+'s recipients.

Owns how a customer pull learns each customer's consent (../shared/research/shopware.md §2.8).
6.4 sends the (deprecated) boolean `customer.newsletter` with the customer: nothing to do. 6.5
removed it; consent lives in the `newsletter_recipient` entity, one row per e-mail and sales
channel with `status` direct / optIn (subscribed), optOut / notSet (not, or double opt-in not
confirmed). The connector then asks, per page of customers, for the recipient rows of that
page's e-mails (one request, `equalsAny` on email) and attaches the one of the customer's own
sales channel to the customer's payload as `newsletterRecipient` (null: never subscribed), so
the mirror keeps it with the customer. A recipient change does not move `customer.updatedAt`:
an incremental pass first asks which recipients changed in its window (one request) and adds
their e-mails to the customer window. Pure builders plus the two look-ups; sends through the
connector it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from loyalsync.connectors.shopware.criteria import changed_since

ENTITY = "newsletter_recipient"
FIELD = "newsletterRecipient"  # where the matched recipient travels in the customer payload
SUBSCRIBED = frozenset({"direct", "optIn"})
INCLUDES = {ENTITY: ["id", "email", "status", "salesChannelId", "confirmedAt", "updatedAt"]}
_SORT = [{"field": "id", "order": "ASC"}]  # unique: pages never skip or repeat a row

Search = Callable[[str, dict[str, Any]], Any]


def recipients_body(emails: list[str], limit: int, page: int) -> dict[str, Any]:
    """The recipient rows of these e-mails (every sales channel), one page."""
    return {
        "page": page,
        "limit": limit,
        "total-count-mode": 0,
        "sort": _SORT,
        "filter": [{"type": "equalsAny", "field": "email", "value": emails}],
        "includes": INCLUDES,
    }


def changed_body(since: datetime, limit: int, page: int) -> dict[str, Any]:
    """Recipients created or updated since `since` (updatedAt is null until the first update);
    only their e-mails travel."""
    return {
        "page": page,
        "limit": limit,
        "total-count-mode": 0,
        "sort": _SORT,
        "filter": [changed_since(since)],
        "includes": {ENTITY: ["id", "email"]},
    }


def _pages(search: Search, build: Callable[[int], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        body = build(page)
        rows = [r for r in search(ENTITY, body).get("data") or [] if isinstance(r, dict)]
        yield from rows
        if len(rows) < body["limit"]:
            return
        page += 1


def changed_emails(search: Search, since: datetime, limit: int) -> list[str]:
    """E-mails of the recipients changed since `since`: one request unless more than a page
    changed."""
    found = {
        str(r["email"]).strip()
        for r in _pages(search, lambda p: changed_body(since, limit, p))
        if isinstance(r.get("email"), str) and r["email"].strip()
    }
    return sorted(found)


def carries_flag(rows: list[Any]) -> bool:
    """6.4: the customers come with their own `newsletter` flag."""
    return any(isinstance(r, dict) and "newsletter" in r for r in rows)


def with_recipients(search: Search, rows: list[Any], limit: int) -> list[Any]:
    """The page's customer rows, each given `newsletterRecipient`: its recipient row of the
    customer's sales channel, or None (not subscribed there). One request per page (more only
    when the page's e-mails have more recipient rows than a page holds)."""
    emails = sorted(
        {r["email"] for r in rows if isinstance(r, dict) and isinstance(r.get("email"), str)}
    )
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    if emails:
        for rec in _pages(search, lambda p: recipients_body(emails, limit, p)):
            if isinstance(rec.get("email"), str):
                by_key[(rec["email"].casefold(), str(rec.get("salesChannelId")))] = rec
    return [
        {**r, FIELD: by_key.get((r["email"].casefold(), str(r.get("salesChannelId"))))}
        if isinstance(r, dict) and isinstance(r.get("email"), str)
        else r
        for r in rows
    ]


def consent(raw: Any) -> bool | None:
    """A customer payload's consent: 6.4's flag, else the attached recipient's status (none
    attached: not subscribed), else None (unknown: the payload says nothing)."""
    if "newsletter" in raw and isinstance(raw["newsletter"], bool | int):
        return bool(raw["newsletter"])
    if FIELD in raw:
        recipient = raw[FIELD]
        return isinstance(recipient, dict) and recipient.get("status") in SUBSCRIBED
    return None
