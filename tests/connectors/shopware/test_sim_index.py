"""The simulator's indexes never change an answer: every page served over HTTP equals a
brute-force scan of all rows, for random criteria, with random writes between the pages."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from loyalsync.connectors.shopware import sim_criteria as crit
from loyalsync.connectors.shopware.sim_index import IndexedTable, SortedIndex
from loyalsync.connectors.shopware.sim_render import HEADLESS_ID
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from tests.connectors.shopware.conftest import Api
from tests.contract.harness import FakeClock

UNIQUE = ("id", "autoIncrement")
SORTS: dict[str, list[list[tuple[str, str]]]] = {
    "customer": [
        [("createdAt", "ASC"), ("id", "ASC")],
        [("createdAt", "DESC"), ("id", "DESC")],
        [("createdAt", "ASC"), ("id", "DESC")],  # mixed directions: no index, a full sort
        [("id", "ASC")],
        [("id", "DESC")],
        [("autoIncrement", "ASC")],
        [("autoIncrement", "DESC")],
        [("updatedAt", "DESC")],  # ties (null until the first update)
        [("guest", "ASC")],  # ties
    ],
    "order": [
        [("createdAt", "ASC"), ("id", "ASC")],
        [("createdAt", "DESC"), ("id", "DESC")],
        [("id", "ASC")],
        [("autoIncrement", "ASC")],
        [("orderDateTime", "DESC"), ("id", "ASC")],
        [("stateMachineState.technicalName", "ASC")],  # ties
    ],
    "newsletter_recipient": [
        [("id", "ASC")],
        [("createdAt", "ASC"), ("id", "ASC")],
        [("status", "DESC")],  # ties
    ],
}


def _stamp(rows: list[Any], values: crit.Values, name: str, rng: random.Random) -> str | None:
    found = [v for r in rows for v in values(r, name) if v is not None]
    if not found:
        return None
    chosen = crit.to_time(rng.choice(found))
    return None if chosen is None else chosen.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _emails(sim: ShopwareSimulator, rng: random.Random) -> list[str]:
    known = sorted({r["email"] for r in sim.table("newsletter_recipient").values()})
    chosen = rng.sample(known, min(len(known), rng.randint(1, 12)))
    mixed = [e.upper() if rng.random() < 0.3 else e for e in chosen]  # MySQL's _ci collation
    return [*mixed, "nobody@example.invalid"]


def random_filter(sim: ShopwareSimulator, entity: str, rng: random.Random) -> dict[str, Any]:
    rows = list(table(sim, entity).values())
    values = sim.store.values(entity)
    created = _stamp(rows, values, "createdAt", rng)
    choices: list[dict[str, Any]] = [
        {"type": "range", "field": "createdAt", "parameters": {rng.choice(["gte", "lt"]): created}},
        {
            "type": "multi",
            "operator": "or",
            "queries": [
                {"type": "range", "field": "updatedAt", "parameters": {"gte": created}},
                {"type": "range", "field": "createdAt", "parameters": {"gte": created}},
            ],
        },
    ]
    if entity == "newsletter_recipient":
        emails = _emails(sim, rng)
        choices += [
            {"type": "equalsAny", "field": "email", "value": emails},
            {"type": "equalsAny", "field": "newsletter_recipient.email", "value": "|".join(emails)},
            {"type": "equals", "field": "email", "value": emails[0]},
            {"type": "equals", "field": "status", "value": rng.choice(["direct", "optOut"])},
        ]
    else:
        top = max((r.ai for r in rows), default=0)
        choices.append(
            {"type": "range", "field": "autoIncrement", "parameters": {"gt": rng.randint(0, top)}}
        )
    if entity == "customer":
        choices.append({"type": "equals", "field": "guest", "value": rng.random() < 0.5})
    if entity == "order":
        state = rng.choice(["open", "completed", "cancelled"])
        choices.append(
            {"type": "equals", "field": "stateMachineState.technicalName", "value": state}
        )
    return rng.choice(choices)


def random_criteria(sim: ShopwareSimulator, entity: str, rng: random.Random) -> dict[str, Any]:
    sort = rng.choice(SORTS[entity])
    filters = [random_filter(sim, entity, rng) for _ in range(rng.choice([0, 1, 1, 2]))]
    body: dict[str, Any] = {
        "limit": rng.choice([1, 3, 7, 25]),
        "total-count-mode": rng.choice([0, 1, 2]),
        "sort": [{"field": f, "order": o} for f, o in sort],
        "includes": {entity: ["id"]},
    }
    if filters:
        body["filter"] = filters
    return body


def table(sim: ShopwareSimulator, entity: str) -> dict[str, Any]:
    if entity == "customer":
        return sim.customers
    return sim.orders if entity == "order" else sim.table(entity)


def scan(sim: ShopwareSimulator, entity: str, body: dict[str, Any]) -> tuple[list[Any], int]:
    """The reference: every row tested against every filter, then a full sort and a slice."""
    values = sim.store.values(entity)
    tests = [crit.compile_filter(f, values, entity) for f in body.get("filter", [])]
    hits = [r for r in table(sim, entity).values() if all(t(r) for t in tests)]
    for srt in reversed(body["sort"]):
        name = srt["field"]
        hits.sort(key=lambda r: crit.sort_value(r, name, values), reverse=srt["order"] == "DESC")
    limit, mode = body["limit"], body["total-count-mode"]
    offset = (body["page"] - 1) * limit
    page = hits[offset : offset + limit]
    total = {0: len(page), 1: len(hits), 2: min(len(hits), offset + limit * 6 + 1)}[mode]
    return page, total


def random_write(sim: ShopwareSimulator, clock: FakeClock, rng: random.Random) -> None:
    clock.advance(minutes=rng.randint(1, 600))
    kind = rng.choice(["touch", "orders", "delete", "newsletter", "none"])
    customers = sorted(sim.customers)
    if kind == "touch":
        sim.touch_customers(0.05, seed=rng.randrange(1000))
    elif kind == "orders":
        sim.add_orders(rng.randint(1, 4), seed=rng.randrange(1000))
    elif kind == "delete" and len(customers) > 20:
        sim.delete_customers([rng.choice(customers)])
    elif kind == "newsletter":
        with_email = [c for c in customers if sim.customers[c].rec.email]
        status = rng.choice(["direct", "optIn", "optOut", "notSet"])
        sim.set_newsletter(rng.choice(with_email), status, rng.choice([None, None, HEADLESS_ID]))


def _key(sim: ShopwareSimulator, entity: str, body: dict[str, Any], row: Any) -> tuple[Any, ...]:
    values = sim.store.values(entity)
    return tuple(crit.sort_value(row, s["field"], values) for s in body["sort"])


@pytest.mark.parametrize("skew_days", [0, -300])  # a shop clock behind: new rows sort early
@pytest.mark.parametrize("seed", range(4))
def test_indexed_pages_equal_a_full_scan(
    make_sim: Callable[..., ShopwareSimulator], clock: FakeClock, seed: int, skew_days: int
) -> None:
    skew = timedelta(days=skew_days)
    sim = make_sim(customers=150, seed=seed, clock_offset=skew, token_ttl=10**9)
    api = Api(sim)
    rng = random.Random(seed)
    compared = 0
    for entity in ["customer", "order", "newsletter_recipient"] * 8:
        body = random_criteria(sim, entity, rng)
        for page in range(1, rng.randint(2, 5)):
            body["page"] = page
            answer = api.search(entity, body)
            assert answer.status_code == 200, answer.text
            got = [table(sim, entity)[r["id"]] for r in answer.json()["data"]]
            expected, total = scan(sim, entity, body)
            assert answer.json()["total"] == total, body
            if body["sort"][-1]["field"] in UNIQUE:
                assert [r.id if hasattr(r, "ai") else r["id"] for r in got] == [
                    r.id if hasattr(r, "ai") else r["id"] for r in expected
                ], body
            else:  # ties come back in an arbitrary order: the same keys, rows that match
                assert [_key(sim, entity, body, r) for r in got] == [
                    _key(sim, entity, body, r) for r in expected
                ], body
                matching, _ = scan(sim, entity, {**body, "page": 1, "limit": 10**6})
                assert {id(r) for r in got} <= {id(r) for r in matching}
            compared += 1
            random_write(sim, clock, rng)
    api.session.close()
    assert compared > 50


def test_indexed_table_follows_every_way_of_writing_a_dict() -> None:
    t = IndexedTable(["email"], crit.normalise)
    t["a"] = {"email": "A@x.example"}
    t.update({"b": {"email": "a@x.example"}}, c={"email": "c@x.example"})
    t.setdefault("d", {"email": "d@x.example"})
    t |= {"e": {"email": {"not": "text"}}}  # never equal to a filter value: not indexed
    assert [r["email"] for r in t.lookup("email", ["a@x.example"]) or []] == [
        "A@x.example",
        "a@x.example",
    ]
    t["a"] = {"email": "c@x.example"}  # replaced: its place in the table stays
    assert t.lookup("email", ["a@x.example"]) == [{"email": "a@x.example"}]
    assert t.lookup("email", ["c@x.example"]) == [{"email": "c@x.example"}] * 2
    del t["b"]
    assert t.pop("c") == {"email": "c@x.example"}
    assert t.pop("gone", None) is None
    assert t.lookup("email", ["a@x.example", "c@x.example"]) == [{"email": "c@x.example"}]
    assert t.lookup("name", ["x"]) is None  # not indexed: the caller scans
    assert t.lookup("email", [{"a": 1}]) is None
    t.clear()
    assert t.lookup("email", ["c@x.example", "d@x.example"]) == [] and dict(t) == {}


def test_sorted_index_keeps_order_as_rows_come_and_go() -> None:
    index = SortedIndex(("n",), lambda row: (row["n"],))
    rows = [{"n": n} for n in (5, 1, 4)]
    index.extend(rows)
    index.add({"n": 3})
    index.remove(rows[0])
    index.remove({"n": 4})  # an equal row that is not the stored one stays stored
    assert [r["n"] for r in index.walk(descending=False)] == [1, 3, 4]
    assert [r["n"] for r in index.walk(descending=True)] == [4, 3, 1]
    assert len(index) == 3


def test_a_recipient_written_later_is_found_by_email(
    make_sim: Callable[..., ShopwareSimulator],
) -> None:
    sim = make_sim(customers=30)
    api = Api(sim)
    customer = next(c for c in sim.customers.values() if c.rec.email)
    sim.set_newsletter(customer.id, "direct", HEADLESS_ID)
    body = {
        "limit": 10,
        "sort": [{"field": "id", "order": "ASC"}],
        "filter": [{"type": "equalsAny", "field": "email", "value": [customer.rec.email.upper()]}],
    }
    found = api.search("newsletter_recipient", body).json()["data"]
    assert HEADLESS_ID in {r["salesChannelId"] for r in found}
    assert all(r["email"].casefold() == customer.rec.email.casefold() for r in found)
    api.session.close()
