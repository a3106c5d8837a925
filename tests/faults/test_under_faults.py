"""Backfill, incremental pull and push with 20% of all requests failing, for every connector
(issue 17, Faults): the final mirror and the final shop equal a fault-free run's, after ONE push.

Two twin shops (same seed, same clock) go through the same steps: a backfill, segmentation, a
push, changes in the shop, an incremental pull. One twin answers cleanly; the other fails 20%
of its requests across every fault kind its simulator has (429 with and without Retry-After,
500, 502, 503, connections dropped before and after the shop processed the request, answers
that come after the read timeout). The HTTP layer's sleep is injected (nothing waits but the
tiny read timeout). No push is run again: every connector settles a failed write within the
run (`HttpClient.redo_unsure`). PrestaShop and JTL read a create whose outcome is unknown back
and send it again only if it is missing; a naturally idempotent write (Shopware's sync upserts
with fixed ids, JTL's PATCHes that set a value) is sent again after a 500 without a read-back.
Faults may cost retries, never data, duplicates, a journal entry or a different end state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors import platform_options
from loyalsync.core.config import Config, load_config
from loyalsync.core.mirror import Mirror
from loyalsync.core.mirror.privacy import CODE_SECRET
from loyalsync.sync.pull import pull_entity, refresh_state
from loyalsync.sync.push import push_shop
from loyalsync.sync.segment import segment_shop
from tests.contract.harness import FAULT_READ_TIMEOUT, FAULT_STALL, mirror_dump
from tests.faults.shops import PLATFORMS, SHOPS, config_for

CUSTOMERS = 60
PAGE_SIZE = 10  # more pages: every fault kind gets its turn on every connector
AS_OF = "2026-11-01T00:00:00+00:00"
SEED = 19  # the simulators' faults are seeded: the same requests fail every run


def pull(harness: Any, mirror: Mirror) -> None:
    connector = harness.connector()
    refresh_state(connector, mirror, harness.shop.name)
    for entity in ("customers", "orders"):
        pull_entity(connector, mirror, harness.shop.name, entity)


def codes(mirror: Mirror) -> list[tuple[Any, ...]]:
    query = "SELECT campaign, customer_id, code, status FROM codes ORDER BY 1, 2, 3"
    return mirror.conn.execute(query).fetchall()


def lifecycle(harness: Any, tmp: Path, faults: float) -> dict[str, Any]:
    """Backfill, segment, push, change the shop, pull again; faults on from the start."""
    as_of = datetime.fromisoformat(AS_OF)
    harness.shop = replace(harness.shop, page_size=PAGE_SIZE)
    config: Config = load_config(config_for(harness, tmp, push=True), platforms=platform_options)
    harness.inject_faults(faults, seed=SEED)
    with Mirror.open(tmp / "m.db") as mirror:
        mirror.shop_secret(harness.shop.name, CODE_SECRET)
        mirror.conn.execute(
            "UPDATE _secrets SET value = ? WHERE name = ?", ("k" * 64, CODE_SECRET)
        )  # the same code key for both twins
        mirror.conn.commit()
        pull(harness, mirror)
        segment_shop(mirror, harness.shop, config.segmentation, as_of)
        result = push_shop(
            harness.connector(), mirror, harness.shop, config, as_of=as_of, force=True
        )
        assert result.failed == 0, result.failures[:3]
        journal = mirror.conn.execute(
            "SELECT op_key, ok, error, remote_id FROM _push_log WHERE run_id = ? ORDER BY id",
            (result.run_id,),
        ).fetchall()
        assert len(journal) == len(result.plan.ops), "not one journal entry per operation"
        harness.touch_customers(0.05, seed=3)
        harness.add_orders(9, seed=4)
        pull(harness, mirror)
        harness.inject_faults(0.0, seed=0)
        return {
            "mirror": mirror_dump(mirror),
            "codes": codes(mirror),
            "shop": harness.shop_state(),
            "journal": journal,
            "retries": len(harness.sleeps),
        }


@pytest.mark.parametrize("platform", PLATFORMS)
def test_backfill_pull_and_push_under_faults_end_like_a_fault_free_run(
    platform: str, tmp_path: Path
) -> None:
    clean_shop, faulty_shop = SHOPS[platform](CUSTOMERS), SHOPS[platform](CUSTOMERS)
    try:
        (tmp_path / "clean").mkdir()
        (tmp_path / "faulty").mkdir()
        clean = lifecycle(clean_shop, tmp_path / "clean", 0.0)
        faulty = lifecycle(faulty_shop, tmp_path / "faulty", 0.2)
        kinds = {r.status for r in faulty_shop.sim.request_log}
        requests = len(faulty_shop.sim.request_log)
    finally:
        clean_shop.close()
        faulty_shop.close()
    assert clean["retries"] == 0
    assert faulty["retries"] >= requests / 10, "hardly any fault was injected"
    assert {0, 429, 500, 502, 503} <= kinds, kinds
    assert faulty["mirror"] == clean["mirror"]
    assert faulty["codes"] == clean["codes"]
    assert faulty["shop"] == clean["shop"]
    assert faulty["journal"] == clean["journal"], "a redone write was journalled differently"
    assert len(faulty["codes"]) == len({(c[0], c[1]) for c in faulty["codes"]}), "two codes"


def ambiguous_faults(kind: Any, seed: int) -> Any:
    """30% of requests failing so that the client cannot tell whether the shop acted: the
    connection dropped (before or after the shop processed the request; JTL's `dropped` is
    before, `lost` after), the answer after the read timeout, a 500 (PrestaShop: half of them
    after the write was made). Not more: a read that fails six times in a row ends the run."""
    names = kind.__dataclass_fields__
    shares = {"timed_out": 0.1, "server_error": 0.05}
    shares |= {"dropped": 0.075, "lost": 0.075} if "lost" in names else {"dropped": 0.15}
    if "late_server_error" in names:
        shares |= {"server_error": 0.025, "late_server_error": 0.025}
    return kind(seed=seed, stall=FAULT_STALL, **shares)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_writes_whose_answers_are_lost_change_the_shop_once(platform: str) -> None:
    """Every write operation, applied once with 30% of all requests failing the ambiguous way
    (`ambiguous_faults`): the shop ends as a clean twin does, without a second group, tag or
    code, and every operation has the result the clean twin's has (the same remote ids)."""
    clean, lossy = SHOPS[platform](300), SHOPS[platform](300)
    try:
        ops = clean.write_ops()
        done = clean.connector().apply(ops)
        assert all(r.ok for r in done)
        lossy.sim.set_faults(ambiguous_faults(type(lossy.sim.faults), SEED))
        lossy.shop = replace(lossy.shop, timeout=FAULT_READ_TIMEOUT)
        results = lossy.connector().apply(ops)  # ONE run
        lossy.sim.set_faults(None)
        assert [r.error for r in results if not r.ok] == []
        assert [(r.op, r.remote_id) for r in results] == [(r.op, r.remote_id) for r in done]
        assert lossy.sleeps, "no answer was lost"
        assert lossy.shop_state() == clean.shop_state()
    finally:
        clean.close()
        lossy.close()
