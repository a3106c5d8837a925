"""ABC classes and RFM scores on literal values: ties, single customers, zero revenue."""

from __future__ import annotations

import numpy as np
import pytest

from loyalsync.core.segments.abc import abc_classes, share_before, share_of_customers_for
from loyalsync.core.segments.rfm import (
    DEFAULT_NAMES,
    code_strings,
    name_table,
    parse_pattern,
    rfm_scores,
    scores,
    segment_names,
    validate_names,
)
from tests.core.segments.frames import customer, summary


def test_abc_cumulative_share_before_the_customer() -> None:
    # shares before: 0, .5, .8, .9, .95 (of 100) -> A A B B C
    classes = abc_classes([50, 30, 10, 5, 5], a=0.8, b=0.95)
    assert list(classes) == ["A", "A", "B", "B", "B"]
    assert list(abc_classes([50, 30, 10, 6, 4])) == ["A", "A", "B", "B", "C"]


def test_abc_ties_share_a_class_and_zero_revenue_is_c() -> None:
    classes = abc_classes([40, 40, 20, 0, -5])
    assert classes[0] == classes[1] == "A"
    assert classes[2] == "B"  # 80% before it
    assert list(classes[3:]) == ["C", "C"]


def test_abc_edge_cases() -> None:
    assert list(abc_classes([])) == []
    assert list(abc_classes([123.0])) == ["A"]  # a single customer holds everything
    assert list(abc_classes([0.0, 0.0])) == ["C", "C"]
    assert list(abc_classes([np.nan, 10.0])) == ["C", "A"]
    np.testing.assert_allclose(share_before([10, 10, 10]), [0, 0, 0])


def test_share_of_customers_for_revenue() -> None:
    assert share_of_customers_for([80, 10, 5, 5], 0.8) == 0.25
    assert share_of_customers_for([25, 25, 25, 25], 0.8) == 1.0
    assert share_of_customers_for([], 0.8) == 0.0


def test_scores_use_min_ranks_so_ties_share_a_score() -> None:
    # n = 6; values 1,1,1,2,3,3 -> rank_min 1,1,1,4,5,5 -> 1 + floor(3 * (r - 1) / 6)
    assert list(scores([1, 1, 1, 2, 3, 3], 3)) == [1, 1, 1, 2, 3, 3]
    assert list(scores([5, 5, 5], 3)) == [1, 1, 1]  # nothing to rank
    assert list(scores([7], 5)) == [1]
    assert list(scores(range(10), 5)) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_rfm_scores_only_for_buyers_and_recent_is_better() -> None:
    frame = summary(
        customer("old", 1, 10, last=300),
        customer("mid", 2, 50, first=200, last=100),
        customer("new", 5, 500, first=300, last=1),
        customer("none"),
    )
    out = rfm_scores(frame, 3)
    assert list(out["code"]) == ["111", "222", "333", None]
    assert list(out["r"]) == [1, 2, 3, 0]


def test_recency_counts_whole_days() -> None:
    frame = summary(
        customer("a", 1, 10, last=3.2),
        customer("b", 1, 10, last=3.9),
        customer("c", 1, 10, last=40),
    )
    r = rfm_scores(frame, 3)["r"].tolist()
    assert r[0] == r[1] > r[2]


def test_code_strings() -> None:
    codes = code_strings(np.array([3, 0]), np.array([1, 2]), np.array([2, 2]))
    assert list(codes) == ["312", None]


@pytest.mark.parametrize("scale", [3, 5])
def test_default_names_cover_every_code_and_every_name_is_reachable(scale: int) -> None:
    names = DEFAULT_NAMES[scale]
    table = name_table(names, scale)
    assert len(table) == scale**3
    assert "other" not in table.values()
    assert set(table.values()) == set(names.values())
    assert validate_names(names, scale) == []
    expected = {
        "champions",
        "loyal",
        "promising",
        "new",
        "needs_attention",
        "at_risk",
        "cant_lose",
        "hibernating",
        "lost",
    }
    assert set(names.values()) == expected


def test_default_names_read_sensibly() -> None:
    table = name_table(DEFAULT_NAMES[3], 3)
    assert table["333"] == "champions"
    assert table["311"] == "new"
    assert table["133"] == "cant_lose"
    assert table["111"] == "lost"
    assert table["232"] == "loyal"


def test_patterns_and_their_problems() -> None:
    assert parse_pattern("3[12]*", 3) == [{3}, {1, 2}, {1, 2, 3}]
    assert parse_pattern("[2-4]5?", 5) == [{2, 3, 4}, {5}, {1, 2, 3, 4, 5}]
    assert isinstance(parse_pattern("34", 3), str)
    assert "outside 1..3" in str(parse_pattern("4**", 3))
    problems = validate_names({"3**": "recent", "33*": "best", "x": "Bad Name"}, 3)
    assert any("names['x']: expected three positions" in p for p in problems)
    assert any("'Bad Name' must be lower-case" in p for p in problems)
    shadowed = validate_names({"3**": "recent", "33*": "best"}, 3)
    assert shadowed == ["names: 'best' is unreachable (earlier patterns take all its codes)"]


def test_segment_names_fall_back_to_other() -> None:
    codes = np.array(["333", "111", None], dtype=object)
    assert list(segment_names(codes, {"333": "top"}, 3)) == ["top", "other", None]
    assert list(segment_names(codes, {}, 3)) == ["champions", "lost", None]
