"""The simulator behaves like Shopware where the connector relies on it (raw HTTP calls)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
import yaml

from loyalsync.connectors import build_connector, platform_options
from loyalsync.connectors.shopware.simulator import Faults, ShopwareSimulator, config_snippet, serve
from loyalsync.core.config import build_config
from loyalsync.core.synth import B2B_GROUP_ID, DEFAULT_GROUP_ID
from tests.contract.harness import FakeClock
from tests.shopware.conftest import Api, fixture


def shape(value: object) -> Any:
    """Keys and types of a JSON value, for comparing our bodies with the real samples."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def test_token_flow_errors_have_shopwares_format(sim: ShopwareSimulator, clock: FakeClock) -> None:
    url = sim.url + "/api/oauth/token"
    bad = requests.post(
        url,
        json={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": "nope",
        },
        timeout=5,
    )
    assert bad.status_code == 401
    assert (
        bad.json()["errors"][0].keys()
        == fixture("error-401-invalid-client.json")["errors"][0].keys()
    )
    api = Api(sim)
    assert api.search("tag", {"limit": 1}).status_code == 200
    clock.advance(seconds=601)
    expired = api.search("tag", {"limit": 1})
    assert expired.status_code == 401
    assert shape(expired.json()) == shape(fixture("error-401-access-token-not-verified.json"))
    assert expired.json()["errors"][0]["detail"] == "Access token is expired"


def test_failed_logins_are_throttled_even_for_good_credentials(
    make_sim: Callable[..., ShopwareSimulator],
) -> None:
    sim = make_sim(customers=5, throttle_after=2)
    url = sim.url + "/api/oauth/token"
    good = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    for _ in range(2):
        requests.post(url, json={**good, "client_secret": "wrong"}, timeout=5)
    throttled = requests.post(url, json=good, timeout=5)
    assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
    assert shape(throttled.json()) == shape(fixture("error-429-auth-throttled.json"))


def test_limit_is_capped_silently_and_refused_above_the_maximum(
    make_sim: Callable[..., ShopwareSimulator],
) -> None:
    sim = make_sim(customers=260)  # ~700 orders
    api = Api(sim)
    assert len(sim.orders) > 500
    capped = api.search("order", {"includes": {"order": ["id"]}}).json()
    assert len(capped["data"]) == 500 and capped["total"] == 500  # total lies in mode 0
    refused = api.search("order", {"limit": 501})
    assert refused.status_code == 400
    assert refused.json() == {
        **fixture("error-400-query-limit-exceeded.json"),
        "errors": [
            {
                **fixture("error-400-query-limit-exceeded.json")["errors"][0],
                "detail": "The limit must be lower than or equal to MAX_LIMIT(=500). Given: 501",
                "meta": {"parameters": {"maxLimit": 500, "limit": 501}},
            }
        ],
    }
    legacy = make_sim(customers=260, max_limit=None, version="6.5.8.0")
    everything = Api(legacy).search("order", {"includes": {"order": ["id"]}}).json()
    assert len(everything["data"]) == len(legacy.orders)


@pytest.mark.parametrize(
    ("body", "code", "pointer"),
    [
        ({"limit": 0}, "FRAMEWORK__INVALID_LIMIT_QUERY", "/limit"),
        ({"page": 0}, "FRAMEWORK__INVALID_PAGE_QUERY", "/page"),
        (
            {"filter": [{"type": "equalsAny", "field": "id", "value": []}]},
            "FRAMEWORK__INVALID_FILTER_QUERY",
            "/filter/0/value",
        ),
        (
            {"filter": [{"type": "equals", "field": "shoeSize", "value": 1}]},
            "FRAMEWORK__UNMAPPED_FIELD",
            "/filter/0",
        ),
        ({"sort": [{"field": "nope"}]}, "FRAMEWORK__UNMAPPED_FIELD", "/sort/0"),
    ],
)
def test_bad_criteria_are_400_with_pointers(
    api: Api, body: dict[str, object], code: str, pointer: str
) -> None:
    response = api.search("customer", body)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["source"]["pointer"], error["status"]) == (code, pointer, "400")


def ids(response: requests.Response) -> set[str]:
    return {row["id"] for row in response.json()["data"]}


def test_filters(api: Api, sim: ShopwareSimulator) -> None:
    rows = sim.customers.values()
    b2b = {r.id for r in rows if r.group_id == B2B_GROUP_ID}
    guests = {r.id for r in rows if r.rec.is_guest}
    some = sorted(sim.customers)[:3]
    assert b2b and guests
    eq = {"type": "equals", "field": "groupId", "value": B2B_GROUP_ID}
    assert ids(api.search("customer", {"filter": [eq]})) == b2b
    assert ids(
        api.search(
            "customer",
            {"filter": [{"type": "equalsAny", "field": "customer.id", "value": "|".join(some)}]},
        )
    ) == set(some)
    either = {
        "type": "multi",
        "operator": "or",
        "queries": [eq, {"type": "equals", "field": "guest", "value": True}],
    }
    assert ids(api.search("customer", {"filter": [either]})) == b2b | guests
    neither = {"type": "not", "operator": "or", "queries": either["queries"]}
    assert ids(api.search("customer", {"filter": [neither]})) == set(sim.customers) - b2b - guests
    cut = sorted(r.created_at for r in rows)[50]
    newer = {r.id for r in rows if r.created_at >= cut}
    stamp = cut.strftime("%Y-%m-%d %H:%M:%S.") + f"{cut.microsecond // 1000:03d}"
    assert (
        ids(
            api.search(
                "customer",
                {"filter": [{"type": "range", "field": "createdAt", "parameters": {"gte": stamp}}]},
            )
        )
        == newer
    )
    never = {r.id for r in rows if r.updated_at is None}
    assert (
        ids(
            api.search(
                "customer", {"filter": [{"type": "equals", "field": "updatedAt", "value": None}]}
            )
        )
        == never
    )
    tagged = {
        "type": "equals",
        "field": "tags.name",
        "value": "NEWSLETTER",
    }  # to-many, case-insensitive
    assert ids(api.search("customer", {"filter": [tagged]})) == {
        r.id
        for r in rows
        if r.tag_ids and "newsletter" in [sim.table("tag")[t]["name"] for t in r.tag_ids]
    }


def test_sort_has_no_implicit_tie_breaker(api: Api, sim: ShopwareSimulator) -> None:
    loose = {"limit": 20, "sort": [{"field": "groupId"}], "includes": {"customer": ["id"]}}
    orders = {
        tuple(r["id"] for r in api.search("customer", loose).json()["data"]) for _ in range(6)
    }
    assert len(orders) > 1, "ties came back in a stable order: tie-breaking is implicit"
    strict = {**loose, "sort": [{"field": "groupId"}, {"field": "id"}]}
    assert (
        len(
            {
                tuple(r["id"] for r in api.search("customer", strict).json()["data"])
                for _ in range(4)
            }
        )
        == 1
    )
    paged = [api.search("customer", {**strict, "page": p}).json()["data"] for p in range(1, 8)]
    assert [r["id"] for page in paged for r in page] == sorted(
        sim.customers, key=lambda c: (sim.customers[c].group_id, c)
    )


def test_total_count_modes(api: Api, sim: ShopwareSimulator) -> None:
    body = {"limit": 10, "includes": {"customer": ["id"]}, "sort": [{"field": "autoIncrement"}]}
    assert api.search("customer", body).json()["total"] == 10
    assert api.search("customer", {**body, "total-count-mode": "exact"}).json()["total"] == len(
        sim.customers
    )
    assert api.search("customer", {**body, "total-count-mode": 2}).json()["total"] == 61


def test_includes_and_associations(api: Api) -> None:
    plain = api.search("customer", {"limit": 1}).json()["data"][0]
    assert plain["group"] is None and plain["tags"] is None  # not autoloaded
    assert plain["apiAlias"] == "customer" and len(plain["id"]) == 32
    body = {
        "limit": 1,
        "associations": {"group": {}, "defaultBillingAddress": {"associations": {"country": {}}}},
        "includes": {
            "customer": ["id", "group", "defaultBillingAddress"],
            "customer_group": ["name"],
            "country": ["iso"],
        },
    }
    row = api.search("customer", body).json()["data"][0]
    assert set(row) == {"id", "group", "defaultBillingAddress", "apiAlias"}
    assert set(row["group"]) == {"name", "apiAlias"}
    assert set(row["defaultBillingAddress"]["country"]) == {"iso", "apiAlias"}
    order = api.search("order", {"limit": 1}).json()["data"][0]
    assert order["orderCustomer"]["email"] and order["stateMachineState"] is None
    assert shape(api.search("product", {"limit": 1}).json()) == {
        "errors": [{"status": "str", "code": "str", "title": "str", "detail": "str"}]
    }


def test_json_api_without_accept_header(api: Api) -> None:
    response = api.call("POST", "/api/search/customer", {"limit": 2}, Accept="*/*")
    assert response.headers["Content-Type"] == "application/vnd.api+json"
    assert set(response.json()) == {"data", "included", "meta"}
    assert "attributes" in response.json()["data"][0]


def test_search_ids_pages_like_search(api: Api, sim: ShopwareSimulator) -> None:
    body = {"limit": 50, "page": 1, "sort": [{"field": "id"}]}
    first = api.call("POST", "/api/search-ids/customer", body).json()
    assert shape(first) == shape(fixture("search-ids-response.json"))
    seen = list(first["data"])
    seen += api.call("POST", "/api/search-ids/customer", {**body, "page": 2}).json()["data"]
    seen += api.call("POST", "/api/search-ids/customer", {**body, "page": 3}).json()["data"]
    assert sorted(seen) == sorted(sim.customers)


def test_sync_is_all_or_nothing_with_pointers(api: Api, sim: ShopwareSimulator) -> None:
    body: dict[str, Any] = {
        "write-tag": {
            "entity": "tag",
            "action": "upsert",
            "payload": [{"id": "a" * 32, "name": "fine"}],
        },
        "write-customer-group": {
            "entity": "customer_group",
            "action": "upsert",
            "payload": [{"id": "b" * 32, "name": None}],
        },
    }
    response = api.call("POST", "/api/_action/sync", body)
    assert response.status_code == 400
    assert shape(response.json()) == shape(fixture("error-400-sync-write-violation.json"))
    assert response.json()["errors"][0]["source"]["pointer"] == "/write-customer-group/0/name"
    assert "a" * 32 not in sim.table("tag") and not sim.write_log
    body["write-customer-group"]["payload"][0]["name"] = "Gold"
    ok = api.call("POST", "/api/_action/sync", body)
    assert ok.status_code == 200 and shape(ok.json())["data"] == {
        "tag": ["str"],
        "customer_group": ["str"],
    }
    assert [(w["entity"], w["changed"]) for w in sim.write_log] == [
        ("tag", True),
        ("customer_group", True),
    ]


def test_entity_routes(api: Api, sim: ShopwareSimulator) -> None:
    customer = sorted(sim.customers)[0]
    tag = "c" * 32
    assert api.call("POST", "/api/tag", {"id": tag, "name": "vip"}).status_code == 204
    assert api.call("POST", f"/api/customer/{customer}/tags", {"id": tag}).status_code == 204
    assert tag in sim.customers[customer].tag_ids
    assert api.call("DELETE", f"/api/customer/{customer}/tags/{tag}").status_code == 204
    assert tag not in sim.customers[customer].tag_ids
    assert (
        api.call("PATCH", f"/api/customer/{customer}", {"groupId": B2B_GROUP_ID}).status_code == 204
    )
    assert sim.customers[customer].group_id == B2B_GROUP_ID
    assert api.call("GET", f"/api/customer-group/{B2B_GROUP_ID}").json()["data"]["name"]
    refused = api.call("DELETE", f"/api/customer-group/{DEFAULT_GROUP_ID}")
    assert refused.status_code == 409
    assert shape(refused.json()) == shape(fixture("error-409-delete-restricted.json"))
    assert api.call("POST", "/api/tag", [{"name": "two"}]).status_code == 400


def test_test_helpers_change_the_shop_like_shopware(
    sim: ShopwareSimulator, clock: FakeClock
) -> None:
    clock.advance(days=1)
    touched = sim.touch_customers(0.05, seed=1)
    assert len(touched) == 6 and all(sim.customers[c].updated_at == clock() for c in touched)
    order = sorted(sim.orders)[0]
    before = sim.orders[order].updated_at
    sim.set_payment_state(order, "refunded")
    assert sim.orders[order].updated_at == before  # payment changes do not touch the order
    sim.set_order_state(order, "cancelled")
    assert sim.orders[order].updated_at == clock()
    victim = next(o.customer_id for o in sim.orders.values() if o.customer_id)
    sim.delete_customers([victim])
    assert victim not in sim.customers
    assert all(o.customer_id != victim for o in sim.orders.values())
    new = sim.add_orders(2, seed=3)
    assert [sim.orders[o].ai for o in new] == [
        max(o.ai for o in sim.orders.values()) - 1,
        max(o.ai for o in sim.orders.values()),
    ]
    assert all(sim.orders[o].updated_at is None for o in new)


def test_faults_are_injected_and_logged(sim: ShopwareSimulator) -> None:
    api = Api(sim)
    sim.set_faults(Faults(unavailable=1.0))
    assert api.search("tag", {"limit": 1}).status_code == 503
    sim.set_faults(Faults(rate_limited=1.0))
    assert api.search("tag", {"limit": 1}).headers["Retry-After"] == "1"
    sim.set_faults(Faults(dropped=1.0))
    with pytest.raises(requests.ConnectionError):
        api.search("tag", {"limit": 1})
    sim.set_faults(None)
    assert api.search("tag", {"limit": 1}).status_code == 200
    assert [r.status for r in sim.requests("/api/search/tag")] == [503, 429, 0, 200]


def test_keyset_page_of_a_big_shop_reads_only_its_slice(
    make_sim: Callable[..., ShopwareSimulator],
) -> None:
    sim = make_sim(customers=3000)
    api = Api(sim)
    body = {
        "limit": 500,
        "sort": [{"field": "autoIncrement"}],
        "includes": {"customer": ["id", "autoIncrement"]},
        "filter": [{"type": "range", "field": "autoIncrement", "parameters": {"gt": 2000}}],
    }
    rows = api.search("customer", body).json()["data"]
    expected = sorted(r.ai for r in sim.customers.values() if r.ai > 2000)[:500]
    assert [r["autoIncrement"] for r in rows] == expected


def test_serve_and_config_snippet_give_a_working_shop(sleeps: list[float]) -> None:
    sim = serve(customers=30, seed=1)
    try:
        snippet = config_snippet(sim)
        env = dict(line[2:].split("=", 1) for line in snippet.splitlines() if line.startswith("# "))
        assert sim.client_secret not in snippet.replace(f"={sim.client_secret}", "")
        config = build_config(yaml.safe_load(snippet), env=env, platforms=platform_options())
        connector = build_connector(config.shops[0], sleep=sleeps.append)
        assert connector.check().customers == 30
        assert sim.base_url == sim.url
    finally:
        sim.stop()


def test_metric_aggregations_answer_raw_sql_times_over_the_filtered_rows(
    sim: ShopwareSimulator, api: Api
) -> None:
    newest = max(r.created_at for r in sim.customers.values())
    body = {
        "limit": 1,
        "aggregations": [
            {"name": "newest_created", "type": "max", "field": "createdAt"},
            {"name": "n", "type": "count", "field": "id"},
        ],
    }
    answer = api.search("customer", body).json()
    assert len(answer["data"]) == 1  # paging limits the rows, not the aggregation
    got = answer["aggregations"]["newest_created"]["max"]
    assert got == newest.strftime("%Y-%m-%d %H:%M:%S.") + f"{newest.microsecond // 1000:03d}"
    assert answer["aggregations"]["n"]["count"] == len(sim.customers)
    bad = api.search("customer", {"aggregations": [{"name": "x", "type": "terms", "field": "id"}]})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "FRAMEWORK__INVALID_AGGREGATION_QUERY"
