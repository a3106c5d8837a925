"""Line items of JTL-Wawi sales orders: which orders need the extra request, and fetching them.

v1 has no line items in `GET /salesOrders`: one `GET /salesOrders/{id}/lineitems` per order
(§8.9). An order's items are fetched only when the mirror does not hold the order with the same
header: the line items are kept in the order's stored raw payload under `ITEMS_KEY` (the rest of
that payload is the header exactly as the list returned it), and sync hands the connector a
look-up of the stored payloads (`use_known`, connectors/base.py). So a daily pull in a fresh
process (cron, a restarted daemon) re-reads the trailing window's headers without asking for
their line items again. The fetches a page needs run on a small thread pool (`workers`), each
through the shop's one HttpClient, so its token bucket and retry rules bound them.
Never touches SQLite: it only reads what the look-up returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from loyalsync.connectors.base import KnownPayloads
from loyalsync.connectors.jtl import mapping

ITEMS_KEY = "_LineItems"  # added by loyalsync: the answer of GET /salesOrders/{id}/lineitems

FetchItems = Callable[[str], list[Any]]


def header_of(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The order header inside a stored payload (the payload without its line items)."""
    return {k: v for k, v in stored.items() if k != ITEMS_KEY}


def known_items(rows: Sequence[Any], known: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Order id -> stored line items, for the rows whose header the mirror holds unchanged."""
    found: dict[str, list[Any]] = {}
    for raw in rows:
        oid = str(mapping.get(raw, "Id"))
        stored = known.get(oid)
        items = stored.get(ITEMS_KEY) if isinstance(stored, dict) else None
        if isinstance(items, list) and header_of(stored) == raw:
            found[oid] = items
    return found


def with_items(
    rows: Sequence[Any], known: KnownPayloads | None, fetch: FetchItems, workers: int
) -> list[Any]:
    """The page's order rows, each with its line items under ITEMS_KEY: taken from the mirror
    where the header is unchanged, fetched (at most `workers` at a time) for the rest. A row
    without an Id passes through untouched (mapping quarantines it)."""
    ids = [str(mapping.get(r, "Id")) for r in rows if isinstance(r, dict) and mapping.get(r, "Id")]
    stored = known_items(rows, known("orders", ids)) if known and ids else {}
    missing = [oid for oid in dict.fromkeys(ids) if oid not in stored]
    if workers > 1 and len(missing) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jtl-items") as pool:
            fetched = dict(zip(missing, pool.map(fetch, missing), strict=True))
    else:
        fetched = {oid: fetch(oid) for oid in missing}
    items = stored | fetched
    out = []
    for raw in rows:
        oid = str(mapping.get(raw, "Id")) if isinstance(raw, dict) else ""
        out.append({**raw, ITEMS_KEY: items[oid]} if oid in items else raw)
    return out
