"""Deleted customers' personal data is gone from every table after the deletion scan (issue 17,
Security), every connector, through the real CLI: backfill, segment and push (codes issued, so
the push journal knows them too), the shop deletes customers, `pull --deletion-scan`; then no
personal value of theirs (e-mail, names, company, street, phone, postcode, city, birthday) is
left in any row of any table, unless another customer shares it."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loyalsync.sync.cli import run
from tests.faults.shops import AS_OF, PLATFORMS, SHOPS, config_for
from tests.faults.test_secrets import everything_stored

PERSONAL = (
    "email", "firstname", "lastname", "first_name", "last_name", "company", "street",
    "address1", "address2", "phone", "phonenumber", "mobile", "zipcode", "postcode", "city",
    "birthday", "title", "vatnumber", "vat_number", "name",
)  # fmt: skip


# what was bought, not who bought it: a line item's `Name` is a product's (kept in the order)
LINE_ITEMS = {"_lineitems", "lineitems", "orderrows"}


def leaves(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k).lower().replace("_", "") not in {n.replace("_", "") for n in LINE_ITEMS}:
                yield from leaves(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v, key)
    elif isinstance(value, str) and len(value.strip()) >= 4 and _personal(key):
        yield key, value.strip()


def whole(value: str) -> re.Pattern[str]:
    """`value` as a whole word or field (Kraus is not a part of Krause)."""
    return re.compile(rf"(?<![\w]){re.escape(value)}(?![\w])")


def _personal(key: str) -> bool:
    return key.lower().replace("-", "").replace("_", "") in {p.replace("_", "") for p in PERSONAL}


def personal_values(conn: sqlite3.Connection, customer_ids: list[str]) -> set[str]:
    """Personal values in the customers' rows, raw payloads and their orders' raw payloads."""
    marks = ", ".join("?" for _ in customer_ids)
    found: set[str] = set()
    columns = "email, first_name, last_name, company, city, postcode"
    for row in conn.execute(f"SELECT {columns} FROM customers WHERE id IN ({marks})", customer_ids):
        found.update(str(v) for v in row if v and len(str(v)) >= 4)
    raws = conn.execute(
        f"SELECT raw FROM customers WHERE id IN ({marks}) UNION ALL "
        f"SELECT raw FROM orders WHERE customer_id IN ({marks})",
        [*customer_ids, *customer_ids],
    )
    for (raw,) in raws:
        if raw:
            found.update(v for _, v in leaves(json.loads(raw)))
    return found


def delete_in_shop(harness: Any, ids: list[str]) -> None:
    sim = harness.sim
    if harness.platform == "prestashop":
        sim.delete_customers([int(i) for i in ids])
    elif harness.platform == "jtl":
        sim.store.delete_customers(ids)
    else:
        sim.delete_customers(ids)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_deleted_customers_personal_data_is_gone_from_every_table(
    platform: str, tmp_path: Path
) -> None:
    harness = SHOPS[platform](40)
    try:
        config = config_for(harness, tmp_path, push=True)
        base = ["--config", str(config), "-q"]
        assert run([*base, "backfill"]) == 0
        assert run([*base, "segment", "--as-of", AS_OF]) == 0
        assert run([*base, "push", "--as-of", AS_OF, "--force"]) == 0
        db = tmp_path / "m.db"
        with sqlite3.connect(db) as conn:
            coded = [r[0] for r in conn.execute("SELECT customer_id FROM codes ORDER BY 1")]
            buyers = [
                r[0]
                for r in conn.execute(
                    "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL "
                    "GROUP BY 1 ORDER BY 1 LIMIT 3"
                )
            ]
            gone = sorted(set(coded[:2] + buyers))
            everyone = [r[0] for r in conn.execute("SELECT id FROM customers")]
            theirs = personal_values(conn, gone)
            others = personal_values(conn, [c for c in everyone if c not in gone])
        assert coded or harness.platform == "jtl", "no code issued: the journal is not tested"
        delete_in_shop(harness, gone)
        assert run([*base, "pull", "--deletion-scan"]) == 0
    finally:
        harness.close()
    private = theirs - others
    assert len(private) >= len(gone), private  # at least an e-mail each
    stored = everything_stored(db)
    left = sorted(v for v in private if whole(v).search(stored))
    where = {v: [t[:40] for t in stored.splitlines() if whole(v).search(t)] for v in left}
    assert not left, where
    with sqlite3.connect(db) as conn:
        marks = ", ".join("?" for _ in gone)
        erased = conn.execute(
            f"SELECT COUNT(*) FROM customers WHERE id IN ({marks}) AND deleted_at IS NOT NULL",
            gone,
        ).fetchone()[0]
    assert erased == len(gone)
