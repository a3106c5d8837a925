"""Rule segments: parsing and validation messages, and evaluation on literal frames."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from loyalsync.connectors import platform_options
from loyalsync.core.config import RuleConfig, build_config
from loyalsync.core.errors import ConfigError
from loyalsync.core.segments.rule_eval import RuleContext, evaluate
from loyalsync.core.segments.rules import (
    All,
    Compare,
    Not,
    parse_condition,
    referenced_products,
    validate_rule,
    validate_rules,
)
from tests.segments.frames import AS_OF, customer, summary


def problems(when: object, name: str = "r") -> list[str]:
    return validate_rule(RuleConfig(name=name, when=when))


def parsed(when: object):  # type: ignore[no-untyped-def]
    found: list[str] = []
    cond = parse_condition(when, "when", found)
    assert found == []
    return cond


def test_text_and_mapping_forms_parse_alike() -> None:
    assert parsed("revenue > 500") == Compare("revenue", ">", 500.0)
    assert parsed({"field": "revenue", "op": ">", "value": 500}) == Compare("revenue", ">", 500.0)
    assert parsed("country in [DE, 'AT']") == Compare("country", "in", ("de", "at"))
    assert parsed("first_order_at within_days 30") == Compare("first_order_at", "within_days", 30.0)
    assert parsed({"not": "orders >= 3"}) == Not(Compare("orders", ">=", 3.0))
    assert parsed({"all": []}) == All(())


def test_validation_messages_name_path_field_and_operator() -> None:
    when = {
        "all": [
            {"field": "orders", "op": ">", "value": 3},
            {"field": "revnue", "op": ">", "value": 500},
        ]
    }
    assert problems(when) == ["when.all[1].field: unknown field 'revnue' (did you mean 'revenue'?)"]
    assert problems({"any": ["orders => 3"]}) == [
        "when.any[0]: cannot read 'orders => 3'; write 'field op value', e.g. 'revenue > 500'"
    ]
    got = problems({"field": "orders", "op": "=>", "value": 3})
    assert got[0].startswith("when.op: unknown operator '=>' (did you mean '>='?)")
    assert problems("country > 3") == [
        "when.op: operator '>' does not apply to text field 'country'; "
        "use one of == != in not_in starts_with"
    ]
    assert problems("revenue > lots") == ["when.value: expected a number, got 'lots'"]
    assert problems({"field": "orders", "op": ">"}) == ["when.value: required for operator '>'"]
    assert problems({"alll": []}) == [
        "when: expected exactly one of all, any, not, bought, segment or field/op/value, "
        "got keys ['alll'] (did you mean 'all'?)"
    ]
    assert problems({"segment": "abcd:A"}) == [
        "when.segment: unknown segment family 'abcd' (did you mean 'abc'?)"
    ]
    assert problems({"bought": []}) == [
        "when.bought: expected a product id or SKU, or a list of them, got []"
    ]
    assert problems("orders > 1", name="bad name") == [
        "name: 'bad name' is not a valid rule name (letters, digits, '_', '.', '-')"
    ]
    assert problems({"field": "last_order_at", "op": "before", "value": "soon"}) == [
        "when.value: expected a date such as 2024-01-31 or an ISO time, got 'soon'"
    ]
    assert problems({"field": "country", "op": "in", "value": "DE"}) == [
        "when.value: operator 'in' needs a non-empty list, got 'DE'"
    ]


def test_the_config_loader_prefixes_the_yaml_path() -> None:
    data = {
        "shops": [{"name": "s", "platform": "shopware", "url": "https://x"}],
        "segmentation": {"rules": [{"name": "big", "when": {"all": ["orders > 3", "revnue > 1"]}}]},
    }
    with pytest.raises(ConfigError) as err:
        build_config(data, env={}, platforms=platform_options())
    assert "segmentation.rules[0].when.all[1].field: unknown field 'revnue'" in str(err.value)


def test_rule_sets_check_names_and_order() -> None:
    rules = (
        RuleConfig("a", {"segment": "rule:b"}),
        RuleConfig("b", "orders > 1"),
        RuleConfig("b", "orders > 2"),
    )
    assert validate_rules(rules) == [
        "rules[0].when: refers to 'rule:b', which is not defined before rule 'a'",
        "rules[2].name: duplicate rule name 'b'",
    ]


def test_segment_conditions_name_segments_that_exist() -> None:
    """A condition on a segment the configuration never produces would always be false."""
    data = {
        "shops": [{"name": "s", "platform": "shopware", "url": "https://x"}],
        "segmentation": {
            "inactivity": {"4w": 28, "3m": 91},
            "rules": [
                {"name": "ok", "when": {"segment": ["loyalty:vip", "abc:A", "inactive:3m"]}},
                {"name": "tier", "when": {"segment": "loyalty:VIP"}},
                {"name": "window", "when": {"not": {"segment": "inactive:6m"}}},
                {"name": "code", "when": {"segment": "rfm:444"}},
            ],
        },
    }
    with pytest.raises(ConfigError) as err:
        build_config(data, env={}, platforms=platform_options())
    message = str(err.value)
    assert "rules[0]" not in message
    assert (
        "segmentation.rules[1].when: segment 'loyalty:VIP': unknown loyalty tier 'VIP' "
        "(did you mean 'vip'?)" in message
    )
    assert "segmentation.rules[2].when: segment 'inactive:6m': unknown inactivity window" in message
    assert "segmentation.rules[3].when: segment 'rfm:444': RFM code '444' has digits" in message


def evaluate_on(
    frame: pd.DataFrame,
    when: object,
    segments: dict[str, np.ndarray] | None = None,
    bought: set[str] | None = None,
) -> list[str]:
    n = len(frame)

    def in_segment(name: str) -> np.ndarray:
        return (segments or {}).get(name, np.zeros(n, dtype=bool))

    def bought_mask(refs: tuple[str, ...]) -> np.ndarray:
        return frame["customer_id"].isin(bought or set()).to_numpy()

    mask = evaluate(parsed(when), RuleContext(frame, AS_OF, in_segment, bought_mask))
    return list(frame.loc[mask, "customer_id"])


FRAME = summary(
    customer("big_de", 5, 900, first=400, last=10, country="DE", city="Berlin"),
    customer("new_at", 1, 40, first=5, country="at"),
    customer("old_ch", 2, 600, first=700, last=500, country="CH", city="Zürich"),
    customer("nobody", country="DE", is_guest=True),
)


def test_comparisons_and_combinators() -> None:
    assert evaluate_on(FRAME, "revenue > 500") == ["big_de", "old_ch"]
    assert evaluate_on(FRAME, {"all": ["revenue > 500", "orders > 3"]}) == ["big_de"]
    assert evaluate_on(FRAME, {"any": ["orders == 1", "country == ch"]}) == ["new_at", "old_ch"]
    assert evaluate_on(FRAME, {"not": "country in [DE, AT]"}) == ["old_ch"]
    assert evaluate_on(FRAME, "country not_in [de]") == ["new_at", "old_ch"]
    assert evaluate_on(FRAME, "city starts_with 'zü'") == ["old_ch"]
    assert evaluate_on(FRAME, "is_guest == true") == ["nobody"]
    assert evaluate_on(FRAME, {"all": []}) == list(FRAME["customer_id"])
    assert evaluate_on(FRAME, {"any": []}) == []


def test_missing_values_fail_every_test_and_not_includes_them() -> None:
    assert evaluate_on(FRAME, "mean_interval_days > 0") == ["big_de", "old_ch"]
    assert "nobody" in evaluate_on(FRAME, {"not": "last_order_at after 2000-01-01"})


def test_time_operators() -> None:
    assert evaluate_on(FRAME, "first_order_at within_days 30") == ["new_at"]
    assert evaluate_on(FRAME, "last_order_at older_than_days 365") == ["old_ch"]
    cutoff = (AS_OF - pd.Timedelta(days=100)).date()
    assert evaluate_on(FRAME, {"field": "last_order_at", "op": "before", "value": cutoff}) == [
        "old_ch"
    ]
    assert isinstance(cutoff, date)
    assert evaluate_on(FRAME, "last_order_at after '2026-05-01T00:00:00+02:00'") == [
        "big_de",
        "new_at",
    ]


def test_segments_and_purchases_come_from_the_caller() -> None:
    vip = np.array([True, False, False, False])
    assert evaluate_on(FRAME, {"segment": ["loyalty:vip", "abc:A"]}, {"loyalty:vip": vip}) == [
        "big_de"
    ]
    assert evaluate_on(FRAME, {"bought": ["SKU-1"]}, bought={"old_ch"}) == ["old_ch"]
    conds = [parsed({"any": [{"bought": ["b", "a"]}, {"not": {"bought": "c"}}]})]
    assert referenced_products(conds) == ("a", "b", "c")
