"""The CDNOW transactions (tests/fixtures/cdnow, copied from the shared data sets) as a mirror.

Each line of CDNOW_master.txt (customer, YYYYMMDD, CDs, dollars) becomes one valid order at
noon UTC of its day; each customer one registered customer row created with their first
purchase. Used by the CDNOW sanity test and by bench/bench_segments.py.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from loyalsync.core.mirror import Mirror
from loyalsync.core.records import Cursor, CustomerRecord, OrderRecord
from tests.paths import FIXTURES

CDNOW_FILE = FIXTURES / "cdnow" / "CDNOW_master.txt"
CDNOW_AS_OF = datetime(1998, 7, 1, tzinfo=UTC)
SHOP = "cdnow"


def cdnow_records() -> tuple[list[CustomerRecord], list[OrderRecord]]:
    orders: list[OrderRecord] = []
    first: dict[str, datetime] = {}
    seen: dict[str, int] = defaultdict(int)
    lines = CDNOW_FILE.read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        cid, day, _cds, dollars = line.split()
        placed = datetime.strptime(day, "%Y%m%d").replace(hour=12, tzinfo=UTC)
        first.setdefault(cid, placed)
        seen[cid] += 1
        value = float(dollars)
        orders.append(
            OrderRecord(
                id=f"{cid}-{seen[cid]}", number=None, customer_id=cid, email=None,
                placed_at=placed, status="completed", is_valid=True, total_gross=value,
                total_net=value, currency="USD", base_currency_total_gross=value,
                base_currency_total_net=value,
            )
        )  # fmt: skip
    customers = [
        CustomerRecord(id=cid, email=f"{cid}@cdnow.example", created_at=at, country="US")
        for cid, at in first.items()
    ]
    return customers, orders


def load_cdnow_mirror(path: Path | str) -> Mirror:
    """A mirror at `path` holding the CDNOW shop (call `.close()` or use `with`)."""
    customers, orders = cdnow_records()
    mirror = Mirror.open(path)
    for start in range(0, len(customers), 20_000):
        mirror.save_page(SHOP, "customers", customers[start : start + 20_000], Cursor())
    for start in range(0, len(orders), 20_000):
        mirror.save_page(SHOP, "orders", orders[start : start + 20_000], Cursor())
    return mirror
