"""Invariants of the segment families, checked with hypothesis on generated bases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalsync.core.config import LoyaltyConfig, RfmConfig, SegmentationConfig
from loyalsync.core.segments.abc import abc_classes, share_before
from loyalsync.core.segments.diff import (
    SEP,
    customer_changes,
    membership_changes_of,
    membership_of,
    signatures,
)
from loyalsync.core.segments.families import BUYER_FAMILIES, SINGLE_VALUED
from loyalsync.core.segments.loyalty import loyalty_thresholds, tier_levels
from loyalsync.core.segments.rfm import scores
from tests.core.segments.frames import build, customer, summary

revenues = st.lists(
    st.one_of(
        st.just(0.0), st.floats(0.01, 10_000, allow_nan=False), st.sampled_from([9.99, 50.0])
    ),
    min_size=1,
    max_size=60,
)


@st.composite
def bases(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    rows = []
    for i in range(n):
        orders = draw(st.integers(0, 12))
        revenue = draw(st.sampled_from([0.0, 10.0, 99.5])) if orders else 0.0
        revenue += draw(st.integers(0, 2000)) if orders else 0
        last = draw(st.integers(0, 700))
        first = last + draw(st.integers(0, 900)) * (orders > 1)
        city = draw(st.sampled_from([None, "Berlin", "Wien"]))
        rows.append(
            customer(
                f"c{i:02d}",
                orders,
                float(revenue),
                first=first,
                last=last,
                country=draw(st.sampled_from([None, "DE", "AT"])),
                city=city,
                postcode=draw(st.sampled_from([None, "10115", "1010", "9"])),
            )
        )
    return summary(*rows)


@settings(max_examples=60, deadline=None)
@given(bases(), st.sampled_from([3, 5]))
def test_every_customer_is_in_exactly_one_segment_of_each_single_valued_family(
    frame: pd.DataFrame, scale: int
) -> None:
    members = build(frame, SegmentationConfig(rfm=RfmConfig(scale=scale)))  # type: ignore[arg-type]
    counts = members.groupby(["customer_id", "family"], observed=True).size()
    buyers = set(frame.loc[frame["orders"] > 0, "customer_id"])
    for cid in frame["customer_id"]:
        mine = counts.loc[cid] if cid in counts.index.get_level_values(0) else pd.Series(dtype=int)
        assert mine.get("abc", 0) == 1
        for family in BUYER_FAMILIES:
            assert mine.get(family, 0) == (1 if cid in buyers else 0)
        for family in SINGLE_VALUED:
            assert mine.get(family, 0) <= 1
        assert mine.get("postcode", 0) <= 2  # one per configured prefix length


@given(revenues)
def test_abc_shares_and_classes_are_monotone_in_revenue(values: list[float]) -> None:
    shares = share_before(values)
    classes = abc_classes(values)
    rank = {"A": 0, "B": 1, "C": 2}
    for i in range(len(values)):
        for j in range(len(values)):
            if values[i] > values[j]:
                assert shares[i] <= shares[j]
                assert rank[classes[i]] <= rank[classes[j]]
            if values[i] == values[j]:
                assert shares[i] == shares[j] and classes[i] == classes[j]
    assert np.all((shares >= 0) & (shares <= 1))


@given(st.lists(st.integers(-5, 30), min_size=1, max_size=80), st.sampled_from([3, 5]))
def test_rfm_scores_are_monotone_and_ties_share_a_score(values: list[int], scale: int) -> None:
    got = scores(values, scale)
    assert got.min() >= 1 and got.max() <= scale
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(got[order]) >= 0)  # monotone in the input
    for v in set(values):
        assert len(set(got[np.asarray(values) == v])) == 1  # ties share a score


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 25), min_size=2, max_size=40),
    st.integers(0, 39),
    st.integers(1, 4),
    st.floats(0.0, 0.5),
)
def test_tiers_move_opposite_to_the_adaptive_thresholds(
    orders: list[int], probe: int, factor: int, share: float
) -> None:
    """When the rest of the base changes, a customer whose own orders did not change moves
    down if every threshold rose and up if every threshold fell."""
    cfg = LoyaltyConfig(vip_top_revenue_share=share)
    probe %= len(orders)
    before = np.array(orders)
    after = before * factor
    after[probe] = before[probe]
    t0 = loyalty_thresholds(before, before * 10.0, cfg)
    t1 = loyalty_thresholds(after, after * 10.0, cfg)
    level0 = tier_levels(before, before * 10.0, t0)[probe]
    level1 = tier_levels(after, after * 10.0, t1)[probe]
    rose = (
        t1.frequent_orders >= t0.frequent_orders
        and t1.vip_orders >= t0.vip_orders
        and t1.vip_revenue >= t0.vip_revenue
    )
    fell = (
        t1.frequent_orders <= t0.frequent_orders
        and t1.vip_orders <= t0.vip_orders
        and t1.vip_revenue <= t0.vip_revenue
    )
    if rose:
        assert level1 <= level0
    if fell:
        assert level1 >= level0


def test_a_busier_base_raises_the_bar() -> None:
    base = np.array([2, 2, 3, 3, 4, 5, 6])
    busier = np.array([2 * v for v in base[:-1]] + [6])
    t0 = loyalty_thresholds(base, base * 10.0, LoyaltyConfig())
    t1 = loyalty_thresholds(busier, busier * 10.0, LoyaltyConfig())
    assert t1.frequent_orders > t0.frequent_orders
    assert tier_levels(base, base * 10.0, t0)[-1] > tier_levels(busier, busier * 10.0, t1)[-1]


segments = st.sampled_from(["abc:A", "abc:B", "loyalty:vip", "rfm:333", "rule:x", "rule:y"])
memberships = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), segments), max_size=20)


def frame_of(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    unique = sorted(set(pairs))
    return pd.DataFrame(
        {
            "customer_id": [c for c, _ in unique],
            "segment": [s for _, s in unique],
            "family": [s.split(":")[0] for _, s in unique],
        }
    )


@settings(deadline=None)  # no timing in tests: a loaded machine is not a failure
@given(memberships, memberships)
def test_changes_per_customer_list_each_change_once(
    old: list[tuple[str, str]], new: list[tuple[str, str]]
) -> None:
    changes = customer_changes(signatures(frame_of(old)), frame_of(new))
    rows = changes.rows
    lists = list(zip(rows["customer_id"], rows["entered"], rows["exited"], strict=True))
    entered = {(c, s) for c, e, _ in lists for s in json.loads(e)}
    exited = {(c, s) for c, _, x in lists for s in json.loads(x)}
    assert (set(old) - exited) | entered == set(new)
    assert (changes.entered, changes.exited) == (len(entered), len(exited))
    assert entered.isdisjoint(old) and exited <= set(old)
    assert list(rows["customer_id"]) == sorted(set(rows["customer_id"]))  # key order, no repeats
    assert all(json.loads(e) == sorted(json.loads(e)) for e in rows["entered"])
    assert all(json.loads(e) or json.loads(x) for _, e, x in lists)  # only changed customers
    after = dict(zip(*signatures(frame_of(new)).to_dict("list").values(), strict=True))
    assert [after.get(c, "") for c in rows["customer_id"]] == list(rows["signature"])
    assert customer_changes(signatures(frame_of(new)), frame_of(new)).rows.empty


def membership_from(pairs: list[tuple[str, str]], extra: list[str]):  # type: ignore[no-untyped-def]
    """The same membership as frame_of(pairs), as encoded family columns (one per segment
    name) over the customers of `pairs` plus `extra` customers in no segment."""
    unique = sorted(set(pairs))
    ids = np.asarray(sorted({c for c, _ in unique} | set(extra)), dtype=object)
    columns = []
    for name in sorted({seg for _, seg in unique}):
        family, _, value = name.partition(":")
        inside = {c for c, seg in unique if seg == name}
        local = np.asarray([0 if c in inside else -1 for c in ids], dtype=np.int64)
        columns.append((family, local, np.asarray([value], dtype=object)))
    return membership_of(ids, columns)


@settings(deadline=None)  # no timing in tests: a loaded machine is not a failure
@given(memberships, memberships, st.lists(st.sampled_from(["a", "e", "f"]), max_size=3),
       st.sets(st.sampled_from(["a", "b", "c", "d"])))  # fmt: skip
def test_changes_from_combinations_equal_changes_from_rows(
    old: list[tuple[str, str]],
    new: list[tuple[str, str]],
    extra: list[str],
    reordered: set[str],
) -> None:
    """A membership built from the engine's family columns gives exactly the changes (rows,
    signatures, counts) of the same membership given as rows, also when a stored signature
    lists the same segments in another order (no change)."""
    stored = signatures(frame_of(old))
    flip = stored["customer_id"].isin(reordered)
    stored.loc[flip, "signature"] = [
        SEP.join(reversed(t.split(SEP))) for t in stored.loc[flip, "signature"]
    ]
    rows = customer_changes(stored, frame_of(new))
    combos = membership_changes_of(stored, membership_from(new, extra))
    pd.testing.assert_frame_equal(
        combos.rows.reset_index(drop=True).astype(object),
        rows.rows.reset_index(drop=True).astype(object),
    )
    assert (combos.entered, combos.exited) == (rows.entered, rows.exited)
    assert membership_from(new, extra).rows == len(set(new))
