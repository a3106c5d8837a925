"""Membership slots, for every registered connector (issue 12): through the planner and the push
path (`sync.push.push_shop`) against the platform's simulator, nothing of loyalsync mocked.

Every connector runs: a `one` slot is set and returns to its default; a `many` slot gains and
loses managed values; values no mapping manages are kept, in every slot; a customer holding a
protected value is never modified, in any slot. The slots come from what the connector
declares (those the config can address: `groups` and `tags`), the customers from what the shop
holds, so a new platform joins by its entry in `platforms.py` alone. The in-memory test
connector (memory_connector.py) declares a `many` group slot next to Shopware's `one` group
slot and `many` tag slot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from loyalsync.connectors import (
    build_connector,
    connector_class,
    platform_names,
    platform_options,
    registered,
)
from loyalsync.core.config import (
    Config,
    GroupMapping,
    PushConfig,
    SegmentationConfig,
    TagMapping,
    build_config,
)
from loyalsync.core.errors import ConfigError
from loyalsync.core.mirror import Mirror, db_time
from loyalsync.core.plan import PROTECTED
from loyalsync.core.plan.protect import protection_slots
from loyalsync.core.records import GROUPS, TAGS, Cursor, Slot
from loyalsync.sync.pull import pull_entity, refresh_state
from loyalsync.sync.push import PushResult, push_shop
from tests.contract.harness import SlotHarness
from tests.contract.memory_connector import MemoryConnector, memory_harness
from tests.contract.platforms import SLOT_PLATFORMS

SEGMENT = "contract:chosen"
PREFIX = "ls:"
MANAGED = {GROUPS: "VIP (contract)", TAGS: PREFIX + "contract-vip"}  # the value each slot gets

Shop = dict[str, tuple[bool, dict[str, frozenset[str]]]]  # id -> (is guest, slot -> names)


@pytest.fixture(params=sorted(SLOT_PLATFORMS))
def slot_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SlotHarness]:
    with SLOT_PLATFORMS[request.param](tmp_path) as started:
        yield started


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    opened = Mirror.open(tmp_path / "slots.db")
    yield opened
    opened.close()


def read_shop(h: SlotHarness) -> Shop:
    """Every customer's memberships by value name as the shop has them now, read back through
    the connector (a fresh full pass) and, where the harness reads its simulator directly
    (`memberships`), checked against that truth."""
    connector = h.connector()
    names = {(v.slot, v.id): v.name for v in connector.current_state().values}
    found: Shop = {}
    for page in connector.iter_customers(Cursor()):
        for rec in page.records:
            values = {
                slot: frozenset(names.get((slot, v), v) for v in ids)
                for slot, ids in rec.memberships
                if ids
            }
            found[rec.id] = (rec.is_guest, values)
    truth = getattr(h, "memberships", None)
    if truth is not None:
        for cid, (_, values) in found.items():
            simulated = {s: frozenset(v) for s, v in truth(cid).items() if v}
            assert simulated == values, cid
    return found


def mappable(h: SlotHarness) -> list[Slot]:
    """The declared slots the config can address (push.groups, push.tags)."""
    return [s for s in h.connector().slots if s.name in MANAGED]


def default_names(h: SlotHarness) -> dict[str, str]:
    state = h.connector().current_state()
    names = {(v.slot, v.id): v.name for v in state.values}
    return {slot: names[(slot, vid)] for slot, vid in state.defaults}


def registered_ids(shop: Shop) -> list[str]:
    return sorted((cid for cid, (guest, _) in shop.items() if not guest), key=_id_key)


def _id_key(cid: str) -> tuple[int, str]:
    return (int(cid), "") if cid.isdigit() else (0, cid)


def held(shop: Shop, cid: str, slot: str) -> frozenset[str]:
    return shop[cid][1].get(slot, frozenset())


def push(
    h: SlotHarness, mirror: Mirror, chosen: set[str], protected: tuple[str, ...] = ()
) -> PushResult:
    """Pull, make `chosen` the members of SEGMENT, push with a mapping of SEGMENT to the
    managed value of every addressable slot; every write the shop got must be accepted."""
    shop = replace(h.shop, protected_groups=protected)
    connector = h.connector()
    refresh_state(connector, mirror, shop.name)
    for entity in ("customers", "orders"):
        pull_entity(connector, mirror, shop.name, entity)
    as_of = h.clock()
    with mirror.transaction() as conn:  # arranging the world: what segmentation would store
        conn.execute("DELETE FROM segment_members WHERE shop = ?", (shop.name,))
        conn.executemany(
            "INSERT INTO segment_members (shop, customer_id, segment, since) VALUES (?, ?, ?, ?)",
            [(shop.name, cid, SEGMENT, db_time(as_of)) for cid in sorted(chosen)],
        )
    slots = {s.name for s in connector.slots}
    push_config = PushConfig(
        enabled=True,
        max_changes=1000,
        tag_prefix=PREFIX,
        groups=(GroupMapping(SEGMENT, MANAGED[GROUPS]),) if GROUPS in slots else (),
        tags=(TagMapping(SEGMENT, MANAGED[TAGS].removeprefix(PREFIX)),) if TAGS in slots else (),
    )
    segmentation = replace(SegmentationConfig(), min_age_days=0)
    config = Config(shops=(shop,), push=push_config, segmentation=segmentation)
    result = push_shop(connector, mirror, shop, config, as_of=as_of)
    assert result.failed == 0, result.failures
    return result


def assert_only_changed(before: Shop, after: Shop, changed: set[str]) -> None:
    assert set(before) == set(after)
    assert {cid for cid in before if before[cid] != after[cid]} == changed


def test_a_one_slot_is_set_and_returned_to_its_default(
    slot_harness: SlotHarness, mirror: Mirror
) -> None:
    ones = [s.name for s in mappable(slot_harness) if s.cardinality == "one"]
    if not ones:
        pytest.skip(f"{slot_harness.platform} declares no addressable `one` slot")
    defaults = default_names(slot_harness)
    before = read_shop(slot_harness)
    a = next(
        cid
        for cid in registered_ids(before)
        if all(held(before, cid, s) <= {defaults.get(s)} for s in ones)
    )

    first = push(slot_harness, mirror, {a})
    after = read_shop(slot_harness)
    assert all(held(after, a, s) == {MANAGED[s]} for s in ones)
    assert_only_changed(before, after, {a})
    assert all(MANAGED[s] in first.plan.to_create(s) for s in ones)
    assert push(slot_harness, mirror, {a}).plan.is_empty  # applied: nothing left to do

    push(slot_harness, mirror, set())
    back = read_shop(slot_harness)
    assert all(held(back, a, s) == {defaults[s]} for s in ones)
    assert_only_changed(before, back, set())


def test_a_many_slot_gains_and_loses_managed_values(
    slot_harness: SlotHarness, mirror: Mirror
) -> None:
    manys = [s.name for s in mappable(slot_harness) if s.cardinality == "many"]
    if not manys:
        pytest.skip(f"{slot_harness.platform} declares no addressable `many` slot")
    before = read_shop(slot_harness)
    a, b = registered_ids(before)[:2]

    push(slot_harness, mirror, {a, b})
    both = read_shop(slot_harness)
    for cid in (a, b):
        assert all(held(both, cid, s) == held(before, cid, s) | {MANAGED[s]} for s in manys)
    assert_only_changed(before, both, {a, b})

    push(slot_harness, mirror, {a})
    one = read_shop(slot_harness)
    assert one[b] == before[b], "the managed value was not removed (or more was)"
    assert one[a] == both[a]
    assert push(slot_harness, mirror, {a}).plan.is_empty

    push(slot_harness, mirror, set())
    assert_only_changed(before, read_shop(slot_harness), set())


def test_values_no_mapping_manages_are_kept_in_every_slot(
    slot_harness: SlotHarness, mirror: Mirror
) -> None:
    """In a `many` slot a customer with a hand-made value gains and loses ours beside it; in a
    `one` slot a customer in a value we do not manage is not sent back to the default."""
    defaults = default_names(slot_harness)
    before = read_shop(slot_harness)
    ids = registered_ids(before)
    keepers: dict[str, str] = {}  # slot -> a customer holding an unmanaged, non-default value
    for slot in mappable(slot_harness):
        keepers[slot.name] = next(
            cid for cid in ids if held(before, cid, slot.name) - {defaults.get(slot.name)}
        )
    chosen = {keepers[s.name] for s in mappable(slot_harness) if s.cardinality == "many"}
    others = [c for c in ids if c not in keepers.values()]
    chosen.add(others[0])  # someone is always changed, so the push really ran

    push(slot_harness, mirror, chosen)
    after = read_shop(slot_harness)
    for slot in mappable(slot_harness):
        cid, name = keepers[slot.name], slot.name
        gained = {MANAGED[name]} if cid in chosen else set()
        assert held(after, cid, name) == held(before, cid, name) | gained, (name, cid)
    assert_only_changed(before, after, chosen)

    push(slot_harness, mirror, set())
    assert_only_changed(before, read_shop(slot_harness), set())


def _protected_value(h: SlotHarness, shop: Shop) -> tuple[str, set[str]]:
    """A non-default value of a slot that protected values live in, with its registered
    holders: the one the fewest hold (B2B in Shopware, the wholesale group in memory)."""
    defaults = default_names(h)
    holders: dict[str, set[str]] = {}
    for slot in protection_slots(h.connector().slots):
        for cid in registered_ids(shop):
            for name in held(shop, cid, slot.name) - {defaults.get(slot.name)}:
                holders.setdefault(name, set()).add(cid)
    name = min(holders, key=lambda n: (len(holders[n]), n))
    return name, holders[name]


def test_a_protected_customer_is_never_modified_in_any_slot(
    slot_harness: SlotHarness, mirror: Mirror
) -> None:
    before = read_shop(slot_harness)
    value, holders = _protected_value(slot_harness, before)
    p = min(holders, key=_id_key)
    other = next(c for c in registered_ids(before) if c not in holders)

    result = push(slot_harness, mirror, {p, other}, protected=(value,))
    after = read_shop(slot_harness)
    assert after[p] == before[p]
    assert_only_changed(before, after, {other})
    assert any(s.customer_id == p and s.reason == PROTECTED for s in result.plan.skipped)
    assert not any(getattr(op, "customer_id", None) == p for op in result.plan.ops)

    unprotected = push(slot_harness, mirror, {p, other})  # the same plan would change p
    assert any(getattr(op, "customer_id", None) == p for op in unprotected.plan.ops)


# ---------------------------------------------------------------------------------------------
# The registry's hook: a test-only connector is a platform like any other while registered


def test_a_registered_connector_is_a_platform_while_registered(tmp_path: Path) -> None:
    shop = {"name": "m", "platform": "memory", "url": "http://memory.test/memory-shop"}
    with memory_harness(tmp_path) as h:
        assert "memory" in platform_names() and connector_class("memory") is MemoryConnector
        specs = platform_options()  # what the CLI hands the config loader
        config = build_config(
            {"shops": [{**shop, "memory": {"page_size": 3}}]}, env={}, platforms=specs
        )
        assert config.shops[0].options == {"page_size": 3}
        connector = build_connector(config.shops[0], sleep=h.sleeps.append)
        assert [len(p.records) for p in connector.iter_customers(Cursor())] == [3, 3, 3, 3]
        with pytest.raises(ConfigError, match="did you mean 'page_size'"):
            build_config({"shops": [{**shop, "memory": {"page_sise": 3}}]}, env={}, platforms=specs)
        with pytest.raises(ConfigError, match="already registered"), registered("shopware", h):
            pass
    assert "memory" not in platform_names()
    with pytest.raises(ConfigError, match="unknown platform 'memory'"):
        connector_class("memory")
