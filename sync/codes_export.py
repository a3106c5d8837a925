"""Personal codes exported for the shop backend (`loyalsync customers --with-codes CAMPAIGN`),
for platforms whose API cannot create coupons (JTL-Wawi): one deterministic code per customer
of the list, recorded in the mirror as 'exported' (never as 'issued': loyalsync did not create
it in the shop). Exporting the same list again gives the same codes.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import datetime, timedelta

from loyalsync.core.config import Config, DiscountCampaign
from loyalsync.core.errors import ConfigError
from loyalsync.core.mirror import Mirror, db_time
from loyalsync.core.plan.model import personal_code

EXPORTED = "exported"


def campaign_named(config: Config, name: str) -> DiscountCampaign:
    """The push.discounts campaign called `name`, or ConfigError with a did-you-mean."""
    for campaign in config.push.discounts:
        if campaign.name == name:
            return campaign
    names = [c.name for c in config.push.discounts]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known = ", ".join(repr(n) for n in names) or "none"
    raise ConfigError(f"--with-codes: no campaign {name!r} in push.discounts{hint}; known: {known}")


def export_codes(
    mirror: Mirror, shop: str, campaign: DiscountCampaign, customer_ids: Sequence[str],
    as_of: datetime, key: str = "",
) -> dict[str, str]:  # fmt: skip
    """customer id -> code: the customer's exported code of the campaign, or a new one."""
    conn = mirror.conn
    rows = conn.execute(
        "SELECT customer_id, code, status FROM codes WHERE shop = ? AND campaign = ?",
        (shop, campaign.name),
    ).fetchall()
    used = {code for (code,) in conn.execute("SELECT code FROM codes WHERE shop = ?", (shop,))}
    serials: dict[str, int] = {}
    found: dict[str, str] = {}
    for cid, code, status in rows:
        serials[cid] = serials.get(cid, 0) + 1
        if status == EXPORTED:
            found.setdefault(cid, code)
    new = []
    until = as_of + timedelta(days=campaign.valid_days)
    for cid in customer_ids:
        if cid in found:
            continue
        serial = serials.get(cid, 0)
        text = personal_code(campaign.code_prefix, key or shop, campaign.name, cid, serial)
        while text in used:
            serial += 1
            text = personal_code(campaign.code_prefix, key or shop, campaign.name, cid, serial)
        used.add(text)
        found[cid] = text
        new.append((shop, campaign.name, cid, text, EXPORTED, db_time(as_of), db_time(until)))
    with mirror.transaction():
        conn.executemany(
            "INSERT INTO codes (shop, campaign, customer_id, code, status, issued_at, "
            "valid_until) VALUES (?, ?, ?, ?, ?, ?, ?)",
            new,
        )
    return {cid: found[cid] for cid in customer_ids}
