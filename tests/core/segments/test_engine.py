"""build_segments on literal summaries: structure, edge cases, rules, stored families."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalsync.core.config import RuleConfig, SegmentationConfig
from loyalsync.core.errors import ConfigError
from loyalsync.core.segments.engine import (
    build_columns,
    column_sizes,
    long_members,
    segment_sizes,
    stored_members,
)
from loyalsync.core.segments.families import BUYER_FAMILIES, SINGLE_VALUED, TRANSIENT_FAMILIES
from loyalsync.core.segments.summary import segmentable
from tests.core.segments.frames import AS_OF, build, customer, segments_of, summary


def per_family(members: pd.DataFrame) -> pd.DataFrame:
    single = members[members["family"].astype(str).isin(SINGLE_VALUED)]
    return single.groupby(["customer_id", "family"], observed=True).size().unstack(fill_value=0)


def test_every_buyer_has_one_segment_per_family_and_names_are_family_value() -> None:
    frame = summary(
        customer("a", 3, 300, first=200, last=5, country="DE", city="Berlin", postcode="10115"),
        customer("b", 1, 50, first=40, country="AT", city="Wien", postcode="1010"),
        customer("c", 2, 80, first=300, last=250),
        customer("d"),
    )
    members = build(frame)
    assert list(members.columns) == ["customer_id", "segment", "family"]
    for seg, fam in zip(members["segment"].astype(str), members["family"].astype(str), strict=True):
        assert seg.split(":", 1)[0] == fam
    counts = per_family(members)
    for family in BUYER_FAMILIES:
        assert counts.loc[["a", "b", "c"], family].tolist() == [1, 1, 1]
    assert segments_of(members, "d") == {"abc:C"}  # no orders: only ABC
    assert segments_of(members, "a", "postcode") == {"postcode:1*", "postcode:10*"}
    assert segments_of(members, "b", "inactive") == {"inactive:4w"}
    assert segments_of(members, "c", "inactive") == {"inactive:6m"}


def test_single_customer() -> None:
    members = build(summary(customer("solo", 1, 20, first=3)))
    assert segments_of(members, "solo") >= {
        "abc:A",
        "rfm:111",
        "rfm_segment:lost",
        "loyalty:one_time",
        "lifecycle:new",
    }


def test_all_customers_with_one_order() -> None:
    frame = summary(*(customer(f"c{i}", 1, 10.0 * (i + 1), first=10 + 30 * i) for i in range(6)))
    members = build(frame)
    loyalty = members[members["family"] == "loyalty"]["segment"].astype(str)
    assert set(loyalty) == {"loyalty:one_time"}
    rfm = members[members["family"] == "rfm"]["segment"].astype(str)
    assert {code[5] for code in rfm} == {"1"}  # F: everyone tied at one order


def test_zero_revenue_and_cancelled_only_customers() -> None:
    frame = summary(
        customer("free", 1, 0.0, first=20),
        customer("cancelled", 0, 0.0),  # only cancelled orders: none valid
        customer("paying", 2, 100.0, first=50, last=10),
    )
    members = build(frame)
    assert segments_of(members, "free", "abc") == {"abc:C"}
    assert segments_of(members, "cancelled") == {"abc:C"}
    assert segments_of(members, "paying", "abc") == {"abc:A"}
    assert segments_of(members, "free", "loyalty") == {"loyalty:one_time"}


def test_protected_customers_are_left_out_unless_configured() -> None:
    frame = summary(
        customer("b2b", 5, 5000, group_id="g-b2b", group_name="B2B"),
        customer("staff", 2, 20, group_id="g-staff", group_name="Staff"),
        customer("anna", 1, 10, group_id="g-default", group_name="Standard"),
        protected_groups=("B2B", "g-staff"),
    )
    assert frame["protected"].tolist() == [True, True, False]
    assert segmentable(frame)["customer_id"].tolist() == ["anna"]
    assert len(segmentable(frame, include_protected=True)) == 3


def test_eligibility_for_managed_groups_follows_customer_age() -> None:
    frame = summary(
        customer("young", 1, 10, first=3, created_at=None),
        customer("old", 1, 10, first=3, created_at=pd.Timestamp("2020-01-01", tz="UTC")),
        customer("unknown", created_at=None),
        min_age_days=14,
    )
    assert frame["eligible_for_groups"].tolist() == [False, True, False]
    assert frame["customer_age_days"].round(1).tolist()[:2] == [3.0, 2343.0]


def test_rules_become_rule_segments_and_may_use_earlier_segments() -> None:
    cfg = SegmentationConfig(
        rules=(
            RuleConfig("big", {"all": ["revenue > 500", "orders > 1"]}),
            RuleConfig("big_a", {"all": [{"segment": "rule:big"}, {"segment": "abc:A"}]}),
            RuleConfig("berlin", {"segment": "city:Berlin"}),
            RuleConfig("cd", {"bought": ["SKU-7"]}),
        )
    )
    frame = summary(
        customer("a", 4, 3000, first=300, last=3, city="Berlin"),
        customer("b", 2, 600, first=300, last=3),
        customer("c", 1, 10),
    )
    bought = pd.DataFrame({"identity": ["c:c"], "product": ["SKU-7"]})
    members = build(frame, cfg, bought=bought)
    assert segments_of(members, "a", "rule") == {"rule:big", "rule:big_a", "rule:berlin"}
    assert segments_of(members, "b", "rule") == {"rule:big"}  # 3000 of 3610 before it: B
    assert segments_of(members, "c", "rule") == {"rule:cd"}


def test_invalid_settings_fail_fast() -> None:
    cfg = SegmentationConfig(rules=(RuleConfig("x", "revnue > 1"),))
    with pytest.raises(ConfigError, match=r"rules\[0\]\.when\.field: unknown field 'revnue'"):
        build(summary(customer("a", 1, 1)), cfg)


def test_stored_members_leave_out_the_address_families() -> None:
    members = build(summary(customer("a", 1, 10, country="DE", city="Köln", postcode="50667")))
    kept = set(stored_members(members)["family"].astype(str))
    assert kept.isdisjoint(TRANSIENT_FAMILIES)
    assert {"abc", "rfm", "loyalty"} <= kept


def test_segment_sizes_and_revenue_shares() -> None:
    frame = summary(customer("a", 2, 85, first=50, last=5), customer("b", 1, 15, first=10))
    sizes = segment_sizes(build(frame), frame).set_index("segment")
    assert sizes.loc["abc:A", "customers"] == 1
    assert sizes.loc["abc:A", "revenue_share"] == 0.85
    assert sizes.loc["abc:B", "revenue_share"] == 0.15  # 85% of the revenue before it
    assert sizes.loc["abc:B", "customer_share"] == 0.5
    assert list(sizes.columns) == [
        "family",
        "customers",
        "customer_share",
        "revenue",
        "revenue_share",
    ]


def test_customers_created_after_as_of_do_not_exist_yet() -> None:
    later = pd.Timestamp("2026-07-01", tz="UTC")
    frame = summary(
        customer("future", created_at=later),
        customer("imported", 1, 10, first=30, created_at=later),  # account imported later
        customer("now", created_at=pd.Timestamp("2026-05-01", tz="UTC")),
    )
    assert frame["customer_id"].tolist() == ["imported", "now"]
    assert frame["customer_age_days"].tolist()[0] == 30.0


def test_column_sizes_match_segment_sizes() -> None:
    cfg = SegmentationConfig(rules=(RuleConfig("any", {"all": []}),))
    frame = summary(
        customer("a", 3, 300, first=200, last=5, country="DE", postcode="10115"),
        customer("b", 1, 50, first=40, country="AT", postcode="1010"),
        customer("c"),
    )
    columns = build_columns(frame, cfg, AS_OF)
    members = long_members(frame["customer_id"], columns)
    pd.testing.assert_frame_equal(column_sizes(frame, columns), segment_sizes(members, frame))
