"""PrestaShop writes against the simulator: memberships per version (1.7 GET + full PUT keeps
every field; 9.x never sees a PUT of a customer), hand-assigned groups kept, the default group,
managed groups, personal codes as cart rules, look-up before a re-create."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from loyalsync.connectors.prestashop.client import PrestaShopConnector
from loyalsync.connectors.prestashop.simulator import PrestaShopSimulator
from loyalsync.core.records import (
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    SetDefault,
    SetValue,
    WriteOp,
)

Make = Callable[..., PrestaShopSimulator]
Connect = Callable[..., PrestaShopConnector]
START = datetime(2026, 11, 2, tzinfo=UTC)
CAMPAIGN = EnsureCampaign("winback", 10.0, None, START, START + timedelta(days=30), "WB")


def plain(sim: PrestaShopSimulator, n: int = 0) -> str:
    rows = [sim.table("customers")[i] for i in sim.store.live_customers()]
    ids = [r["id"] for r in rows if r["is_guest"] == "0" and r["associations"]["groups"] == ["3"]]
    return str(ids[n])


def groups_of(sim: PrestaShopSimulator, cid: str) -> list[str]:
    return list(sim.table("customers")[int(cid)]["associations"]["groups"])


def group_id(sim: PrestaShopSimulator, name: str) -> str:
    return next(str(g) for g, r in sim.table("groups").items() if r["name"][1] == name)


def ok(connector: PrestaShopConnector, ops: list[WriteOp]) -> None:
    results = connector.apply(ops)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]


def test_a_17_group_change_keeps_every_other_field(make_sim: Make, connect: Connect) -> None:
    sim = make_sim(version="1.7.8")
    cid = plain(sim)
    row = sim.table("customers")[int(cid)]
    row.update(birthday="1980-02-03", newsletter="1", note="VIP by phone", website="https://x.de")
    before = copy.deepcopy(row)
    connector = connect(sim)
    ok(connector, [EnsureValue("groups", "VIP (auto)"), AddValue(cid, "groups", "VIP (auto)")])
    after = sim.table("customers")[int(cid)]
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed == {"associations", "date_upd"}
    assert groups_of(sim, cid) == ["3", group_id(sim, "VIP (auto)")]
    methods = [(r.method, r.path) for r in sim.request_log if r.path.startswith("/api/customers/")]
    assert methods == [("GET", f"/api/customers/{cid}"), ("PUT", f"/api/customers/{cid}")]


def test_no_put_of_a_customer_ever_reaches_9(make_sim: Make, connect: Connect) -> None:
    sim = make_sim(version="9.0")
    a, b = plain(sim, 0), plain(sim, 1)
    keys = {c: sim.table("customers")[int(c)]["secure_key"] for c in (a, b)}
    ok(connect(sim), [EnsureValue("groups", "VIP (auto)"), AddValue(a, "groups", "VIP (auto)")])
    defaults = connect(sim, options={"change_default_group": True})
    ok(defaults, [AddValue(b, "groups", "VIP (auto)"), SetDefault(b, "groups", "VIP (auto)")])
    ok(connect(sim), [RemoveValue(a, "groups", "VIP (auto)")])
    customer_writes = [w for w in sim.write_log if w["resource"] == "customers"]
    assert customer_writes and {w["method"] for w in customer_writes} == {"PATCH"}
    assert not sim.requests("/api/customers", method="PUT")
    assert {c: sim.table("customers")[int(c)]["secure_key"] for c in (a, b)} == keys
    assert sim.table("customers")[int(b)]["id_default_group"] == group_id(sim, "VIP (auto)")


def test_hand_assigned_groups_stay_and_defaults_move_only_when_asked(
    make_sim: Make, connect: Connect
) -> None:
    sim = make_sim(version="8.1")
    b2b = next(
        str(i) for i, r in sim.table("customers").items() if "4" in r["associations"]["groups"]
    )
    default = sim.table("customers")[int(b2b)]["id_default_group"]
    connector = connect(sim)
    ok(connector, [EnsureValue("groups", "Gold (auto)"), AddValue(b2b, "groups", "Gold (auto)")])
    gold = group_id(sim, "Gold (auto)")
    assert groups_of(sim, b2b) == ["4", "3", gold]
    assert sim.table("customers")[int(b2b)]["id_default_group"] == default
    ok(connector, [RemoveValue(b2b, "groups", "Gold (auto)")])
    assert groups_of(sim, b2b) == ["4", "3"]
    # with change_default_group the move makes the group the default, and leaving it hands
    # the customer back to the shop's customer group
    cid = plain(sim)
    moving = connect(sim, options={"change_default_group": True})
    ok(moving, [AddValue(cid, "groups", "Gold (auto)")])
    assert sim.table("customers")[int(cid)]["id_default_group"] == gold
    ok(moving, [RemoveValue(cid, "groups", "Gold (auto)")])
    assert sim.table("customers")[int(cid)]["id_default_group"] == "3"
    assert groups_of(sim, cid) == ["3"]


def test_the_default_group_is_not_removed_without_the_option(
    make_sim: Make, connect: Connect
) -> None:
    sim = make_sim(version="8.1")
    cid = plain(sim)
    connect(sim, options={"change_default_group": True}).apply(
        [EnsureValue("groups", "Gold (auto)"), AddValue(cid, "groups", "Gold (auto)")]
    )
    writes = len(sim.write_log)
    [result] = connect(sim).apply([RemoveValue(cid, "groups", "Gold (auto)")])
    assert not result.ok and "change_default_group" in (result.error or "")
    assert len(sim.write_log) == writes


def test_a_managed_group_is_made_once_in_every_language(make_sim: Make, connect: Connect) -> None:
    sim = make_sim()
    connector = connect(sim)
    [first] = connector.apply([EnsureValue("groups", "VIP (auto)")])
    [again] = connect(sim).apply([EnsureValue("groups", "VIP (auto)")])
    assert first.ok and again.ok and first.remote_id == again.remote_id
    row = sim.table("groups")[int(first.remote_id or 0)]
    assert row["name"] == {1: "VIP (auto)", 2: "VIP (auto)"}
    assert float(row["reduction"]) == 0
    assert row["price_display_method"] == sim.table("groups")[3]["price_display_method"]
    assert [w["method"] for w in sim.write_log] == ["POST"]
    [long] = connector.apply([EnsureValue("groups", "A group name longer than 32 chars")])
    assert not long.ok and "32" in (long.error or "")


def test_a_personal_code_is_a_cart_rule_bound_to_the_customer(
    make_sim: Make, connect: Connect
) -> None:
    sim = make_sim()
    cid = plain(sim)
    amount = EnsureCampaign("thanks", None, 5.0, START, START + timedelta(days=10), "TY")
    ok(connect(sim), [CAMPAIGN, amount, IssueCode("winback", cid, "WB-AAAA1111")])
    ok(connect(sim), [amount, IssueCode("thanks", cid, "TY-BBBB2222")])
    rules = {r["code"]: r for r in sim.table("cart_rules").values()}
    rule = rules["WB-AAAA1111"]
    assert rule["id_customer"] == cid
    assert (rule["quantity"], rule["quantity_per_user"], rule["active"]) == ("1", "1", "1")
    assert rule["date_from"] == "2026-11-02 01:00:00"  # shop-local (CET)
    assert rule["date_to"] == "2026-12-02 01:00:00"  # the campaign's validity window
    assert float(rule["reduction_percent"]) == 10 and float(rule["reduction_amount"]) == 0
    assert float(rules["TY-BBBB2222"]["reduction_amount"]) == 5
    assert rule["name"] == {1: "winback", 2: "winback"}
    posts = len(sim.write_log)
    ok(connect(sim), [CAMPAIGN, IssueCode("winback", cid, "WB-AAAA1111")])
    assert len(sim.write_log) == posts
    _, clash = connect(sim).apply([CAMPAIGN, IssueCode("winback", plain(sim, 1), "WB-AAAA1111")])
    assert not clash.ok and f"customer {cid}" in (clash.error or "")


def test_a_lost_answer_after_the_shop_made_the_code_never_makes_a_second(
    make_sim: Make, connect: Connect
) -> None:
    sim = make_sim()
    sim.drop_answers("POST")
    results = connect(sim).apply([CAMPAIGN, IssueCode("winback", plain(sim), "WB-CCCC3333")])
    assert all(r.ok for r in results), [r.error for r in results]
    assert [r["code"] for r in sim.table("cart_rules").values()].count("WB-CCCC3333") == 1
    # looked up by filter[code] before the create, and again after the lost answer
    calls = [(r.method, r.query.get("filter[code]")) for r in sim.requests("/api/cart_rules")]
    look = ("GET", "[WB-CCCC3333]")
    assert calls == [look, ("POST", None), look]
    sim.drop_answers("POST")
    [group] = connect(sim).apply([EnsureValue("groups", "Lost (auto)")])
    assert group.ok
    assert [r["name"][1] for r in sim.table("groups").values()].count("Lost (auto)") == 1


@pytest.mark.parametrize(
    "op",
    [
        SetValue("1", "groups", "VIP"),
        AddValue("1", "tags", "x"),
        AddValue("2", "groups", "No such group"),
        IssueCode("unknown", "2", "XX-1"),
    ],
)
def test_operations_it_cannot_do_fail_plainly(
    make_sim: Make, connect: Connect, op: WriteOp
) -> None:
    sim = make_sim()
    [result] = connect(sim).apply([op])
    assert not result.ok and result.error
    assert not sim.write_log


def test_set_default_only_with_change_default_group(make_sim: Make, connect: Connect) -> None:
    sim = make_sim(version="8.1")
    cid = plain(sim)
    ok(connect(sim), [EnsureValue("groups", "Gold (auto)")])
    writes = len(sim.write_log)
    [refused] = connect(sim).apply([SetDefault(cid, "groups", "Gold (auto)")])
    assert not refused.ok and "change_default_group" in (refused.error or "")
    assert len(sim.write_log) == writes and groups_of(sim, cid) == ["3"]
    allowed = connect(sim, options={"change_default_group": True})
    ok(allowed, [SetDefault(cid, "groups", "Gold (auto)")])
    gold = group_id(sim, "Gold (auto)")
    assert sim.table("customers")[int(cid)]["id_default_group"] == gold
    assert groups_of(sim, cid) == ["3", gold]


def test_a_customer_holding_a_protected_group_is_never_modified(
    make_sim: Make, connect: Connect
) -> None:
    sim = make_sim(version="8.1")
    b2b = next(
        str(i) for i, r in sim.table("customers").items() if "4" in r["associations"]["groups"]
    )
    protected_name = sim.table("groups")[4]["name"][1]
    connector = connect(sim, protected_groups=(protected_name,))
    ok(connector, [EnsureValue("groups", "Gold (auto)")])
    before, writes = groups_of(sim, b2b), len(sim.write_log)
    results = connector.apply(
        [AddValue(b2b, "groups", "Gold (auto)"), RemoveValue(b2b, "groups", "Customer")]
    )
    assert not any(r.ok for r in results)
    assert all("protected" in (r.error or "") for r in results)
    assert groups_of(sim, b2b) == before and len(sim.write_log) == writes
