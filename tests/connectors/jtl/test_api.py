"""The JTL connector against its simulator over real sockets: what 401/402/403 tell the admin,
429 with Retry-After honoured, the error body in ApiError, pending orders, the label custom
field check, a create whose answer was lost, and that every field we write exists in the
OpenAPI file's request schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from loyalsync.connectors import build_connector
from loyalsync.connectors.jtl.simulator import Faults
from loyalsync.core.config import ShopConfig
from loyalsync.core.errors import ApiError, AuthError, ConfigError
from loyalsync.core.records import Cursor, EnsureValue, SetValue
from tests.contract.jtl_harness import JtlHarness
from tests.paths import FIXTURES

SPEC = FIXTURES / "jtl" / "wawi_api_cloud_1.0_openapi.json"


@pytest.fixture(params=["onprem", "cloud"])
def h(request: pytest.FixtureRequest) -> Iterator[JtlHarness]:
    harness = JtlHarness(flavour=request.param, customers=60)
    yield harness
    harness.close()


def connector(h: JtlHarness, shop: ShopConfig | None = None) -> Any:
    return build_connector(shop or h.shop, sleep=h.sleeps.append, now=h.clock)


def test_a_wrong_key_names_the_credential_to_check(h: JtlHarness) -> None:
    if h.sim.flavour == "cloud":
        creds = {**h.shop.credentials, "client_secret": "wrong"}
        needle = "client_secret"
    else:
        creds, needle = {"api_key": "00000000-0000-0000-0000-000000000000"}, "api_key"
    with pytest.raises(AuthError) as caught:
        connector(h, replace(h.shop, credentials=creds)).check()
    assert needle in caught.value.message and "wrong" not in str(caught.value)


def test_no_licence_and_a_missing_scope_are_config_errors_saying_which(h: JtlHarness) -> None:
    h.sim.api.licensed = False
    with pytest.raises(ConfigError, match="licence"):
        connector(h).check()
    h.sim.api.licensed = True
    h.sim.api.scopes = tuple(s for s in h.sim.api.scopes if s != "salesorder.querysalesorders")
    with pytest.raises(ConfigError, match=r"salesorder\.querysalesorders.*jtl-register"):
        connector(h).check()


def test_rate_limits_are_honoured_from_the_rate_limit_headers(h: JtlHarness) -> None:
    h.sim.set_faults(Faults(rate_limited=0.5, seed=3))
    pages = list(connector(h).iter_customers(Cursor()))
    assert sum(len(p.records) for p in pages) == 60
    assert h.sleeps and set(h.sleeps) == {45.0}  # no Retry-After: the window's length
    assert any(r.status == 429 for r in h.sim.request_log)


def test_the_error_body_reaches_the_api_error(h: JtlHarness) -> None:
    with pytest.raises(ApiError) as caught:
        connector(h).call("PATCH", "/customers/1", json={"CustomerGroupId": 999})
    assert caught.value.code == "ValidationError"
    assert "CustomerGroupId: does not exist" in caught.value.message


def test_pending_orders_are_invisible_until_released(h: JtlHarness) -> None:
    (pending,) = h.sim.store.add_orders(1, seed=1, pending=True)
    seen = {r.id for p in connector(h).iter_orders(Cursor()) for r in p.records}
    assert pending not in seen
    h.sim.store.release(pending)
    seen = {r.id for p in connector(h).iter_orders(Cursor()) for r in p.records}
    assert pending in seen


def test_a_cancellation_inside_the_trailing_window_is_seen(h: JtlHarness) -> None:
    newest = max(o.created for o in h.sim.store.visible_orders())
    recent = [o for o in h.sim.store.visible_orders() if (newest - o.created).days < 20]
    target = recent[0]
    h.sim.store.cancel(target.id)
    records = [r for p in connector(h).iter_orders(Cursor(since=newest)) for r in p.records]
    assert {r.id: r.is_valid for r in records}[target.id] is False


def test_check_verifies_the_label_field_and_its_type(h: JtlHarness) -> None:
    result = connector(h).check()
    assert any("'Segment' exists (type ShortText)" in m for m in result.messages)
    assert any("disableAutomaticWorkflows=true" in m for m in result.messages)
    missing = replace(h.shop, options={**h.shop.options, "label_field": "Segmnet"})
    with pytest.raises(ConfigError, match=r"'Segmnet' is not a customer custom field.*'Segment'"):
        connector(h, missing).check()
    wrong = replace(h.shop, options={**h.shop.options, "label_field": "VIP seit"})
    with pytest.raises(ConfigError, match="not a text type"):
        connector(h, wrong).check()


def test_a_group_created_but_its_answer_lost_is_found_not_duplicated(h: JtlHarness) -> None:
    h.sim.lose_next_writes = 1  # Wawi creates the group, the answer never arrives
    (result,) = connector(h).apply([EnsureValue("groups", "VIP")])
    assert result.ok, result.error
    assert [g["Name"] for g in h.sim.store.groups.values()].count("VIP") == 1
    assert [w["kind"] for w in h.sim.write_log] == ["group"]
    assert [r.status for r in h.sim.requests("/customerGroups", method="POST")] == [0]


def _schema_props(spec: dict[str, Any], ref: str) -> set[str]:
    return set(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"])


def test_every_field_we_write_exists_in_the_openapi_request_schemas(h: JtlHarness) -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    ops = [op for op in h.write_ops() if op.slot != "label" or isinstance(op, SetValue)]
    assert all(r.ok for r in connector(h).apply(ops))
    writes = [
        r for r in h.sim.request_log if r.method in ("POST", "PATCH") and "oauth2" not in r.path
    ]
    assert writes
    for r in writes:
        path = r.path.split("/erp", 1)[-1].split("/api/eazybusiness", 1)[-1]
        template = _template(spec, path)
        operation = spec["paths"][template][r.method.lower()]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert set(r.body) <= _schema_props(spec, ref), (template, r.body)
        params = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        assert {kv.split("=")[0] for kv in r.query.split("&") if kv} <= params
    orders = spec["paths"]["/salesOrders"]["get"]["parameters"]
    assert {"createdSince", "pageNumber", "pageSize"} <= {p["name"] for p in orders}


def _template(spec: dict[str, Any], path: str) -> str:
    parts = path.strip("/").split("/")
    for template in spec["paths"]:
        tparts = template.strip("/").split("/")
        if len(tparts) == len(parts) and all(
            t == p or t.startswith("{") for t, p in zip(tparts, parts, strict=True)
        ):
            return str(template)
    raise AssertionError(f"{path} is not in the OpenAPI file")
