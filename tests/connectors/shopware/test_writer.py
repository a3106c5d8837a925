"""Write operations: the pure sync plan, and batches against the simulator's Sync API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from loyalsync.connectors.shopware.client import ShopwareConnector
from loyalsync.connectors.shopware.simulator import Logged, ShopwareSimulator
from loyalsync.connectors.shopware.sync_plan import (
    CustomerState,
    ShopView,
    campaign_id,
    code_id,
    group_id,
    plan_rows,
    tag_id,
)
from loyalsync.connectors.shopware.writer import Row, rejected_rows, sync_body
from loyalsync.core.records import (
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    SetValue,
    WriteOp,
)
from loyalsync.core.synth import B2B_GROUP_ID, DEFAULT_GROUP_ID
from tests.connectors.shopware.conftest import fixture

Connect = Callable[..., ShopwareConnector]
START = datetime(2026, 11, 2, tzinfo=UTC)
C1, C2 = "1" * 32, "2" * 32


def view(**kw: object) -> ShopView:
    base = ShopView(
        groups={"Standard": "d" * 32, "Händler": "e" * 32},
        display_gross={"d" * 32: False, "e" * 32: False},
        default_group_id="d" * 32,
        tags={"newsletter": "f" * 32},
        sales_channels=("a" * 32,),
        customers={C1: CustomerState("d" * 32, set()), C2: CustomerState("e" * 32, {"f" * 32})},
    )
    for key, value in kw.items():
        setattr(base, key, value)
    return base


def test_plan_skips_what_the_shop_already_has_and_orders_by_dependency() -> None:
    ops: list[WriteOp] = [
        AddValue(C1, "tags", "vip"),  # needs the tag ensured later in the list: refused
        EnsureValue("tags", "vip"),
        AddValue(C1, "tags", "vip"),
        AddValue(C2, "tags", "newsletter"),  # already there
        RemoveValue(C1, "tags", "newsletter"),  # not there
        RemoveValue(C2, "tags", "newsletter"),
        EnsureValue("groups", "Standard"),  # exists by name
        EnsureValue("groups", "Gold"),
        SetValue(C1, "groups", "Gold"),
        SetValue(C2, "groups", None),
    ]
    plan = plan_rows(ops, view())
    assert plan.done[0].ok is False and "ensure it first" in (plan.done[0].error or "")
    assert {i for i, r in plan.done.items() if r.ok} == {3, 4, 6}
    assert plan.done[6].remote_id == "d" * 32
    assert [(r.entity, r.action) for r in plan.rows] == [
        ("customer_group", "upsert"),
        ("tag", "upsert"),
        ("customer", "upsert"),
        ("customer", "upsert"),
        ("customer_tag", "upsert"),
        ("customer_tag", "delete"),
    ]
    gold = plan.rows[0].payload
    assert gold == {"id": group_id("Gold"), "name": "Gold", "displayGross": False}  # copied
    assert plan.rows[3].payload == {"id": C2, "groupId": "d" * 32}  # None: the default group


def test_plan_refuses_protected_groups_and_unknown_customers() -> None:
    promotion = {campaign_id("spring"): {"id": campaign_id("spring")}}
    codes = {code_id("spring", C1, "SP-1"): {"code": "SP-1", "promotionId": campaign_id("spring")}}
    shop = view(protected=frozenset({"Händler"}), promotions=promotion, codes=codes)
    plan = plan_rows(
        [
            SetValue(C2, "groups", None),
            SetValue("9" * 32, "groups", None),
            IssueCode("spring", C1, "SP-1"),
            IssueCode("autumn", C1, "AU-1"),
            EnsureCampaign("both", 10.0, 5.0, START, START, "X"),
        ],
        shop,
    )
    assert not plan.rows
    assert [r.ok for r in plan.done.values()] == [False, False, True, False, False]
    assert "protected" in (plan.done[0].error or "")


def test_a_later_code_for_the_same_customer_is_a_new_row() -> None:
    promotion = {campaign_id("spring"): {"id": campaign_id("spring")}}
    codes = {code_id("spring", C1, "SP-1"): {"code": "SP-1", "promotionId": campaign_id("spring")}}
    plan = plan_rows([IssueCode("spring", C1, "SP-2")], view(promotions=promotion, codes=codes))
    code, persona = (r.payload for r in plan.rows)
    assert code["id"] == code_id("spring", C1, "SP-2") != code_id("spring", C1, "SP-1")
    assert code["code"] == "SP-2" and persona["customerId"] == C1


def test_campaign_payload_sets_every_flag() -> None:
    op = EnsureCampaign("winback", None, 5.0, START, START + timedelta(days=30), "WB")
    plan = plan_rows([op, IssueCode("winback", C1, "WB-1")], view())
    promo, code, persona = (r.payload for r in plan.rows)
    assert promo["active"] and promo["useCodes"] and promo["useIndividualCodes"]
    assert promo["customerRestriction"] and promo["maxRedemptionsPerCustomer"] == 1
    assert promo["discounts"][0]["type"] == "absolute" and promo["discounts"][0]["value"] == 5.0
    assert [c["salesChannelId"] for c in promo["salesChannels"]] == ["a" * 32]
    assert promo["validUntil"] == "2026-12-02T00:00:00+00:00"
    assert code == {
        "id": code_id("winback", C1, "WB-1"),
        "promotionId": campaign_id("winback"),
        "code": "WB-1",
    }
    assert persona == {"promotionId": campaign_id("winback"), "customerId": C1}


def test_error_pointers_map_back_to_rows() -> None:
    rows = [
        Row(0, "customer_group", "upsert", {"name": None}),
        Row(1, "tag", "upsert", {"name": "x"}),
    ]
    body, where = sync_body(rows)
    assert list(body) == ["customer_group-upsert", "tag-upsert"]
    payload = fixture("error-400-sync-write-violation.json")
    payload["errors"][0]["source"]["pointer"] = "/customer_group-upsert/0/name"
    assert rejected_rows(payload, where, list(body)) == {
        rows[0]: "customer_group name: This value should not be blank."
    }
    legacy = fixture("sync-error-response-6.4.json")  # data is a list: operations in order
    rollback = (
        "Transaction commit failed because the transaction has been marked for rollback only."
    )
    assert rejected_rows(legacy, where, list(body)) == {rows[0]: f"customer_group: {rollback}"}
    assert rejected_rows(fixture("error-400-write-validation.json"), where, list(body)) == {}


def customers(sim: ShopwareSimulator, n: int) -> list[str]:
    return sorted(
        c for c, r in sim.customers.items() if r.group_id == DEFAULT_GROUP_ID and not r.tag_ids
    )[:n]


def sync_calls(sim: ShopwareSimulator) -> list[Logged]:
    return sim.requests("/api/_action/sync")


def test_a_bad_row_fails_alone_and_the_rest_is_resent(
    sim: ShopwareSimulator, connect: Connect
) -> None:
    a, b = customers(sim, 2)
    ops: list[WriteOp] = [
        EnsureValue("groups", "x" * 300),
        EnsureValue("tags", "ok"),
        AddValue(a, "tags", "ok"),
        AddValue(b, "tags", "ok"),
    ]
    results = connect(sim).apply(ops)
    assert [r.ok for r in results] == [False, True, True, True]
    assert "name: This value is too long" in (results[0].error or "")
    assert [r.status for r in sync_calls(sim)] == [400, 200]
    assert tag_id("ok") in sim.customers[a].tag_ids and tag_id("ok") in sim.customers[b].tag_ids
    assert group_id("x" * 300) not in sim.table("customer_group")


def test_an_error_without_pointer_is_isolated_by_halving(
    sim: ShopwareSimulator, connect: Connect, sleeps: list[float]
) -> None:
    a, b, c = customers(sim, 3)
    start = [EnsureCampaign("spring", 10.0, None, START, START + timedelta(days=9), "SP")]
    connector = connect(sim)
    assert all(r.ok for r in connector.apply([*start, IssueCode("spring", a, "SP-TAKEN")]))
    sim.reset_logs()
    results = connector.apply(
        [*start, IssueCode("spring", b, "SP-TAKEN"), IssueCode("spring", c, "SP-FREE")]
    )
    assert [r.ok for r in results] == [True, False, True]
    assert "1062 Duplicate entry" in (results[1].error or "")
    assert sleeps == [], "an integrity violation (our rows' fault) was sent again as it was"
    assert (campaign_id("spring"), c) in sim.persona and (
        campaign_id("spring"),
        b,
    ) not in sim.persona


def test_batches_hold_at_most_batch_size_rows(sim: ShopwareSimulator, connect: Connect) -> None:
    people = customers(sim, 9)
    ops: list[WriteOp] = [EnsureValue("tags", "t"), *(AddValue(c, "tags", "t") for c in people)]
    results = connect(sim).apply(ops, batch_size=4)
    assert all(r.ok for r in results)
    sizes = [sum(len(op["payload"]) for op in r.body.values()) for r in sync_calls(sim)]
    assert sizes == [4, 4, 2]


def test_campaign_lands_in_the_storefront_channel_and_updates_in_place(
    sim: ShopwareSimulator, connect: Connect
) -> None:
    a = customers(sim, 1)[0]
    connector = connect(sim)
    ten = EnsureCampaign("vip", 10.0, None, START, START + timedelta(days=9), "VIP")
    assert all(r.ok for r in connector.apply([ten, IssueCode("vip", a, "VIP-1")]))
    promotion = sim.table("promotion")[campaign_id("vip")]
    assert promotion["active"] and promotion["customerRestriction"]
    channels = {c["salesChannelId"] for c in sim.table("promotion_sales_channel").values()}
    assert channels == {
        next(c["id"] for c in sim.table("sales_channel").values() if c["name"] == "Storefront")
    }
    assert (campaign_id("vip"), a) in sim.persona
    fifteen = EnsureCampaign("vip", 15.0, None, START, START + timedelta(days=9), "VIP")
    writes = len(sim.write_log)
    assert connector.apply([fifteen])[0].ok
    assert [d["value"] for d in sim.table("promotion_discount").values()] == [15.0]
    assert len(sim.write_log) == writes + 1


def test_configured_sales_channels_by_name(sim: ShopwareSimulator, connect: Connect) -> None:
    connector = connect(sim, options={"sales_channels": ("Headless",)})
    assert connector.apply([EnsureCampaign("app", 5.0, None, START, START, "APP")])[0].ok
    headless = next(c["id"] for c in sim.table("sales_channel").values() if c["name"] == "Headless")
    assert [c["salesChannelId"] for c in sim.table("promotion_sales_channel").values()] == [
        headless
    ]


@pytest.mark.parametrize("version", ["6.4.20.2", "6.6.10.13"])
def test_protected_groups_and_legacy_sync_answers(
    make_sim: Callable[..., ShopwareSimulator], connect: Connect, version: str
) -> None:
    sim = make_sim(customers=80, version=version)
    b2b = next(c for c, r in sim.customers.items() if r.group_id == B2B_GROUP_ID)
    a = customers(sim, 1)[0]
    connector = connect(sim, protected_groups=("B2B / Händler",))
    results = connector.apply(
        [
            SetValue(b2b, "groups", None),
            EnsureValue("groups", "y" * 256),
            EnsureValue("groups", "Gold"),
            SetValue(a, "groups", "Gold"),
        ]
    )
    assert [r.ok for r in results] == [False, False, True, True]
    assert (
        sim.customers[a].group_id == group_id("Gold")
        and sim.customers[b2b].group_id == B2B_GROUP_ID
    )


def test_a_customer_moved_since_the_plan_is_left_alone() -> None:
    shop = view()
    plan = plan_rows([SetValue(C1, "groups", "Händler", from_value="e" * 32)], shop)
    assert not plan.rows and "re-plan" in (plan.done[0].error or "")
    plan = plan_rows([SetValue(C1, "groups", "Händler", from_value="Standard")], view())
    assert plan.rows[0].payload == {"id": C1, "groupId": "e" * 32}
