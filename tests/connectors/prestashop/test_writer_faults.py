"""PrestaShop writes that fail, against the simulator over 127.0.0.1 (issue 17, Faults): a 500
before or after the shop processed the write, a connection dropped before or after, an answer
after the read timeout. The writer reads the shop back (the customer's groups and default
group, the cart rule by its code, the group by its name) and writes again, in the same run,
only what did not take effect: one apply ends where a fault-free twin ends, with no second
cart rule or group. A 4xx refusal is never sent twice."""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loyalsync.connectors.prestashop.client import PrestaShopConnector
from loyalsync.connectors.prestashop.simulator import Faults, PrestaShopSimulator
from loyalsync.core.records import (
    AddValue,
    EnsureCampaign,
    EnsureValue,
    IssueCode,
    RemoveValue,
    WriteOp,
)
from tests.contract.harness import FAULT_READ_TIMEOUT, FAULT_STALL

Make = Callable[..., PrestaShopSimulator]
Connect = Callable[..., PrestaShopConnector]
START = datetime(2026, 11, 2, tzinfo=UTC)
CAMPAIGN = EnsureCampaign("winback", 10.0, None, START, START + timedelta(days=30), "WB")
VERSIONS = ("1.7.8", "8.1", "9.0")
WRITES = ("POST", "PUT", "PATCH")


def plain(sim: PrestaShopSimulator) -> list[str]:
    rows = [sim.table("customers")[i] for i in sim.store.live_customers()]
    return [
        str(r["id"]) for r in rows if r["is_guest"] == "0" and r["associations"]["groups"] == ["3"]
    ]


def write_ops(sim: PrestaShopSimulator, customers: int = 8) -> list[WriteOp]:
    ids = plain(sim)[:customers]
    b2b = [str(i) for i, r in sim.table("customers").items() if "4" in r["associations"]["groups"]]
    ops: list[WriteOp] = [
        EnsureValue("groups", "VIP (auto)"),
        EnsureValue("groups", "Winback (auto)"),
        EnsureValue("groups", "Frequent (auto)"),
        CAMPAIGN,
    ]
    for n, cid in enumerate(ids):
        ops.append(AddValue(cid, "groups", ("VIP (auto)", "Winback (auto)")[n % 2]))
        ops.append(IssueCode("winback", cid, f"WB-{n:04d}{cid:0>4}"))
    ops += [RemoveValue(cid, "groups", "Customer") for cid in b2b[:2]]
    return ops


def shop_state(sim: PrestaShopSimulator) -> dict[str, Any]:
    customers = {
        cid: (list(r["associations"].get("groups", [])), r["id_default_group"])
        for cid, r in sim.table("customers").items()
    }
    return {
        "customers": customers,
        "groups": copy.deepcopy(sim.table("groups")),
        "cart_rules": copy.deepcopy(sim.table("cart_rules")),
    }


def processed(sim: PrestaShopSimulator, method: str, resource: str) -> int:
    return sum(1 for w in sim.write_log if w["method"] == method and w["resource"] == resource)


def failed_writes(sim: PrestaShopSimulator) -> Counter[int]:
    return Counter(r.status for r in sim.request_log if r.method in WRITES and r.status >= 500)


@pytest.mark.parametrize("version", VERSIONS)
def test_failed_writes_are_read_back_and_redone_in_the_same_run(
    make_sim: Make, connect: Connect, sleeps: list[float], version: str
) -> None:
    clean, faulty = make_sim(version=version), make_sim(version=version)
    ops = write_ops(clean)
    assert ops == write_ops(faulty)  # twins
    assert all(r.ok for r in connect(clean).apply(ops))
    faulty.set_faults(
        Faults(
            server_error=0.15,  # before the shop saw it
            late_server_error=0.15,  # after the shop processed it
            dropped=0.3,  # half before, half after processing
            timed_out=0.1,
            stall=FAULT_STALL,
            seed=11,
            writes_only=True,
        )
    )
    results = connect(faulty, timeout=FAULT_READ_TIMEOUT).apply(ops)  # ONE run
    faulty.set_faults(None)
    assert [r.error for r in results if not r.ok] == []
    assert shop_state(faulty) == shop_state(clean)
    codes = Counter(r["code"] for r in faulty.table("cart_rules").values())
    assert max(codes.values()) == 1, "a second cart rule with the same code"
    names = Counter(r["name"][1] for r in faulty.table("groups").values())
    assert max(names.values()) == 1, "a second group with the same name"
    # no POST was processed twice: the shop made exactly as many as the clean twin
    for resource in ("cart_rules", "groups"):
        assert processed(faulty, "POST", resource) == processed(clean, "POST", resource)
    lost = [r for r in faulty.request_log if r.method in WRITES and r.status == 0]
    assert failed_writes(faulty)[500] >= 3 and len(lost) >= 3, "the faults hardly hit writes"
    assert sleeps, "every redo waits the policy's backoff (injected: never really slept)"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_500_after_the_shop_wrote_is_read_back_and_not_written_again(
    make_sim: Make, connect: Connect, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="loyalsync")
    sim = make_sim(version=version)
    cid = plain(sim)[0]
    sim.set_faults(Faults(late_server_error=1.0, writes_only=True))
    ops = [
        EnsureValue("groups", "VIP (auto)"),
        AddValue(cid, "groups", "VIP (auto)"),
        CAMPAIGN,
        IssueCode("winback", cid, "WB-LATE0001"),
    ]
    results = connect(sim).apply(ops)
    sim.set_faults(None)
    assert [r.error for r in results if not r.ok] == []
    assert results[0].remote_id and results[3].remote_id  # the ids, found by the read-back
    method = "PUT" if version == "1.7.8" else "PATCH"
    sent = [(w["method"], w["resource"]) for w in sim.write_log]
    assert sent == [("POST", "groups"), (method, "customers"), ("POST", "cart_rules")]
    assert failed_writes(sim) == Counter({500: 3})  # each write once, each answered 500
    assert results[0].remote_id in sim.table("customers")[int(cid)]["associations"]["groups"]
    said = [r.getMessage() for r in caplog.records if "read back" in r.getMessage()]
    assert len(said) == 3 and all("server error" in m for m in said), said
    assert any(f"customer {cid} groups" in m and "read back: applied" in m for m in said)
    assert any("code WB-LATE0001" in m and "read back: created" in m for m in said)


def test_a_write_that_never_takes_effect_is_tried_a_bounded_number_of_times(
    make_sim: Make, connect: Connect, sleeps: list[float]
) -> None:
    sim = make_sim(version="8.1")
    cid = plain(sim)[0]
    sim.set_faults(Faults(server_error=1.0, writes_only=True))  # the shop never writes
    connector = connect(sim)
    results = connector.apply([CAMPAIGN, IssueCode("winback", cid, "WB-NEVER001")])
    sim.set_faults(None)
    assert not results[1].ok and "read back: not applied" in (results[1].error or "")
    attempts = connector.http.policy.max_attempts
    assert len(sim.requests("/api/cart_rules", method="POST")) == attempts
    assert len(sleeps) == attempts - 1 and not sim.table("cart_rules").get(0)
    assert all(r["code"] != "WB-NEVER001" for r in sim.table("cart_rules").values())


def test_a_refusal_is_not_sent_again(make_sim: Make, connect: Connect) -> None:
    sim = make_sim(version="8.1")
    cid = plain(sim)[0]
    perms = {r: set(m) for r, m in sim.api.keys[sim.key]["permissions"].items()}
    perms["cart_rules"] -= {"POST"}
    perms["customers"] -= {"PATCH"}
    sim.set_permissions(perms)
    ok_group = connect(sim).apply([EnsureValue("groups", "VIP (auto)")])
    assert ok_group[0].ok
    results = connect(sim).apply(
        [AddValue(cid, "groups", "VIP (auto)"), CAMPAIGN, IssueCode("winback", cid, "WB-NO00001")]
    )
    assert not results[0].ok and not results[2].ok
    assert "405" in (results[2].error or "") or "not allowed" in (results[2].error or "")
    assert len(sim.requests("/api/cart_rules", method="POST")) == 1
    assert len(sim.requests(f"/api/customers/{cid}", method="PATCH")) == 1


def test_a_write_the_shop_said_it_did_not_process_is_left_to_the_http_retries(
    make_sim: Make, connect: Connect
) -> None:
    """503 (and 429) say the shop did not act: the HTTP layer already retried the write, so
    after it gives up nothing is read back or redone (the next run re-plans)."""
    sim = make_sim(version="8.1")
    cid = plain(sim)[0]
    sim.set_faults(Faults(unavailable=1.0, writes_only=True))
    connector = connect(sim)
    results = connector.apply([CAMPAIGN, IssueCode("winback", cid, "WB-BUSY0001")])
    sim.set_faults(None)
    assert not results[1].ok and "503" in (results[1].error or "")
    calls = [r.method for r in sim.requests("/api/cart_rules")]
    assert calls == ["GET"] + ["POST"] * connector.http.policy.max_attempts
