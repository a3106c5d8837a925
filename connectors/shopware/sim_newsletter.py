"""The simulator's newsletter consent: `newsletter_recipient` rows and 6.4's `customer.newsletter`.

Owns how the fake shop seeds and changes newsletter subscriptions, as Shopware keeps them
(../shared/research/shopware.md §2.8): one `newsletter_recipient` row per e-mail and sales
channel, `status` one of `direct` (subscribed without double opt-in), `optIn` (confirmed double
opt-in, `confirmedAt` set), `optOut` (unsubscribed) and `notSet` (double opt-in not yet
confirmed); `updatedAt` null until the first update; rows for people without a customer account
and rows in another sales channel than the customer's. In 6.4 the customer also carries the
(deprecated) boolean `newsletter`; 6.5 removed it. A change of a recipient does not move the
customer's `updatedAt` in 6.5+ (it is another entity); in 6.4 the customer flag is written too.
Pure data work on the store's tables; no HTTP, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from loyalsync.connectors.shopware.sim_render import (
    HEADLESS_ID,
    LANGUAGE_ID,
    SALUTATION_ID,
    STOREFRONT_ID,
    CustomerRow,
    stamp,
)
from loyalsync.core.records import TAGS
from loyalsync.core.synth import HAND_TAGS, synth_id

ENTITY = "newsletter_recipient"
FIELDS = (
    "id email title firstName lastName zipCode city street status hash customFields "
    "confirmedAt salutationId languageId salesChannelId"
)
STATUSES = ("direct", "optIn", "optOut", "notSet")
SUBSCRIBED = frozenset({"direct", "optIn"})
NEWSLETTER_TAG = HAND_TAGS[0].id


def recipient_id(email: str, channel: str) -> str:
    return synth_id("newsletter_recipient", email.casefold(), channel)


def seeded_status(row: CustomerRow) -> tuple[str, str] | None:
    """(status, sales channel) of a customer's recipient row, or None (never subscribed):
    about a quarter subscribed in their own channel (everyone tagged `newsletter`), some
    unsubscribed, some with a double opt-in never confirmed, a few only in the other channel."""
    share = int(row.id[-4:], 16) % 100
    if NEWSLETTER_TAG in row.rec.values(TAGS) or share < 25:
        return ("direct" if share % 2 else "optIn"), STOREFRONT_ID
    if share < 30:
        return "optOut", STOREFRONT_ID
    if share < 33:
        return "notSet", STOREFRONT_ID
    if share < 35:
        return "optIn", HEADLESS_ID
    return None


def recipient_row(
    email: str,
    status: str,
    channel: str,
    created: datetime,
    customer: CustomerRow | None = None,
) -> dict[str, Any]:
    c = customer.rec if customer is not None else None
    return {
        "id": recipient_id(email, channel),
        "email": email,
        "title": None,
        "firstName": c.first_name if c else None,
        "lastName": c.last_name if c else None,
        "zipCode": c.postcode if c else None,
        "city": c.city if c else None,
        "street": None,
        "status": status,
        "hash": synth_id("hash", email, channel),
        "customFields": None,
        "confirmedAt": stamp(created + timedelta(hours=1)) if status == "optIn" else None,
        "salutationId": SALUTATION_ID,
        "languageId": LANGUAGE_ID,
        "salesChannelId": channel,
        "createdAt": stamp(created),
        "updatedAt": None,
    }


def seed_recipients(
    customers: Iterable[CustomerRow], table: dict[str, dict[str, Any]], legacy: bool
) -> None:
    """Recipient rows for the seeded customers, plus newsletter-only subscribers (one per
    twenty customers, no account). `legacy` (6.4): customers carry `newsletter` too."""
    rows = list(customers)
    for row in rows:
        seeded = seeded_status(row)
        if seeded is not None and row.rec.email:
            status, channel = seeded
            created = row.created_at + timedelta(minutes=5)
            new = recipient_row(row.rec.email, status, channel, created, row)
            table[new["id"]] = new
    if legacy:  # one subscription per e-mail: customers sharing one (guests) share the flag
        for row in rows:
            found = table.get(recipient_id(row.rec.email or "", STOREFRONT_ID))
            row.newsletter = found is not None and found["status"] in SUBSCRIBED
    first = min((r.created_at for r in rows), default=None)
    for n in range(len(rows) // 20):
        email = f"subscriber-{n}@newsletter.example"
        created = (first or datetime.fromisoformat("2024-01-01T00:00:00+00:00")) + timedelta(
            hours=n
        )
        new = recipient_row(email, "direct", STOREFRONT_ID, created)
        table[new["id"]] = new


def set_status(
    table: dict[str, dict[str, Any]],
    customer: CustomerRow,
    status: str,
    channel: str,
    now: datetime,
    legacy: Iterable[CustomerRow] | None,
) -> dict[str, Any]:
    """A customer (un)subscribes in `channel`: the recipient row is written (created when
    missing), its updatedAt moves; in 6.4 (`legacy`: the customers with that e-mail) their
    flag and updatedAt too."""
    if status not in STATUSES:
        raise ValueError(f"unknown newsletter status {status!r}; one of {', '.join(STATUSES)}")
    email = customer.rec.email or ""
    key = recipient_id(email, channel)
    row = table.get(key)
    if row is None:
        row = table[key] = recipient_row(email, status, channel, now, customer)
    else:
        row["status"], row["updatedAt"] = status, stamp(now)
        row["confirmedAt"] = stamp(now) if status == "optIn" else row["confirmedAt"]
    if legacy is not None and channel == STOREFRONT_ID:
        for same in legacy:
            same.newsletter = status in SUBSCRIBED
            same.updated_at = now
    return dict(row)
