"""The naive approach a user would otherwise write, run as its own process for the scale table
so its time and peak RSS are measured like loyalsync's steps:

    NAIVE_CREDENTIALS="id secret" python -m bench.scale_naive pull PLATFORM URL
    python -m bench.scale_naive segment MIRROR SHOP

`pull`: offset pages of 50, the pattern of the common ELT connectors (PrestaShop: Airbyte's
`limit=<offset>,50` sorted by date_upd; Shopware: `page`/`limit` 50 on the search API; JTL:
`pageNumber`/`pageSize` 50). JSON is parsed, nothing else: no addresses or cart rules, no
mapping, no storage, so its figures are a lower bound (JTL's line items are read, one request
per order: v1 offers no other way, so every client pays them).
`segment`: every order loaded into pandas (the columns it needs, so memory stays bounded on a
shared machine: `SELECT *` with the raw JSON would cost more), grouped per customer, then RFM
(terciles) and ABC: two of loyalsync's families, again a lower bound. Prints one JSON line:
what was read.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from typing import Any

import requests

PAGE = 50


def pull_shopware(url: str, client_id: str, secret: str) -> dict[str, int]:
    session = requests.Session()
    session.headers["Accept"] = "application/json"
    grant = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}

    def login() -> None:  # tokens live 10 minutes: a script that runs longer logs in again
        token = session.post(f"{url}/api/oauth/token", json=grant, timeout=60).json()
        session.headers["Authorization"] = f"Bearer {token['access_token']}"

    login()
    seen = {}
    for entity in ("customer", "order"):
        page, rows = 1, 0
        while True:
            body = {"page": page, "limit": PAGE, "total-count-mode": 0}
            answer = session.post(f"{url}/api/search/{entity}", json=body, timeout=60)
            if answer.status_code == 401:
                login()
                continue
            answer.raise_for_status()
            data = answer.json()["data"]
            rows += len(data)
            page += 1
            if len(data) < PAGE:
                break
        seen[entity] = rows
    return seen


def pull_prestashop(url: str, key: str) -> dict[str, int]:
    session = requests.Session()
    session.auth = (key, "")
    session.headers["Output-Format"] = "JSON"
    seen = {}
    for entity in ("customers", "orders"):
        offset = 0
        while True:
            params = {
                "display": "full",
                "date": "1",
                "sort": "[date_upd_ASC,id_ASC]",
                "filter[date_upd]": "[2000-01-01 00:00:00,9999-12-31 23:59:59]",
                "limit": f"{offset},{PAGE}",
            }
            answer = session.get(f"{url}/api/{entity}", params=params, timeout=60)
            answer.raise_for_status()
            data = answer.json() if answer.content.strip() else {}
            rows = data.get(entity, []) if isinstance(data, dict) else []
            offset += len(rows)
            if len(rows) < PAGE:
                break
        seen[entity] = offset
    return seen


def pull_jtl(url: str, key: str) -> dict[str, int]:
    """JTL v1 lists orders without their items: any client, naive or not, asks for each
    order's line items once (so here too)."""
    session = requests.Session()
    # the app the key was registered for (a user's script registers its own the same way)
    session.headers.update(
        {"Authorization": f"Wawi {key}", "x-appid": "loyalsync/1", "x-appversion": "1.0.0",
         "api-version": "1.0"}
    )  # fmt: skip
    seen, orders = {}, []
    for entity in ("customers", "salesOrders"):
        number, rows = 1, 0
        while True:
            params = {"pageNumber": number, "pageSize": PAGE}
            answer = session.get(f"{url}/{entity}", params=params, timeout=60)
            answer.raise_for_status()
            data = answer.json()
            items = data.get("Items") or []
            rows += len(items)
            if entity == "salesOrders":
                orders += [item["Id"] for item in items]
            number += 1
            if not data.get("HasNextPage"):
                break
        seen[entity] = rows
    for order in orders:
        session.get(f"{url}/salesOrders/{order}/lineitems", timeout=60).raise_for_status()
    seen["lineitems"] = len(orders)
    return seen


def segment_with_pandas(mirror: str, shop: str) -> dict[str, int]:
    import pandas as pd

    with sqlite3.connect(mirror) as conn:
        orders = pd.read_sql_query(
            "SELECT id, customer_id, placed_at, is_valid, base_currency_total_gross"
            " FROM orders WHERE shop = ?",
            conn,
            params=(shop,),
        )
    orders["placed_at"] = pd.to_datetime(orders["placed_at"], utc=True, format="ISO8601")
    valid = orders[orders["is_valid"] == 1]
    as_of = orders["placed_at"].max()
    per = valid.groupby("customer_id").agg(
        last=("placed_at", "max"),
        frequency=("id", "count"),
        monetary=("base_currency_total_gross", "sum"),
    )
    per["recency"] = (as_of - per["last"]).dt.days
    for column, ascending in (("recency", False), ("frequency", True), ("monetary", True)):
        ranks = per[column].rank(method="first", ascending=ascending)
        per[column[0]] = pd.qcut(ranks, 3, labels=[1, 2, 3]).astype(int)
    per["rfm"] = per["r"].astype(str) + per["f"].astype(str) + per["m"].astype(str)
    per = per.sort_values("monetary", ascending=False)
    share = per["monetary"].cumsum() / per["monetary"].sum()
    per["abc"] = pd.cut(share, [-1, 0.8, 0.95, 2], labels=["A", "B", "C"])
    return {"orders": len(orders), "customers": len(per), "rfm_codes": per["rfm"].nunique()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    pull = sub.add_parser("pull")
    pull.add_argument("platform", choices=["shopware", "prestashop", "jtl"])
    pull.add_argument("url")
    segment = sub.add_parser("segment")
    segment.add_argument("mirror")
    segment.add_argument("shop")
    args = parser.parse_args(argv)
    result: Any
    if args.what == "segment":
        result = segment_with_pandas(args.mirror, args.shop)
    else:
        pull_fn = {"shopware": pull_shopware, "prestashop": pull_prestashop, "jtl": pull_jtl}
        credentials = os.environ["NAIVE_CREDENTIALS"].split()  # never on a command line
        result = pull_fn[args.platform](args.url, *credentials)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
