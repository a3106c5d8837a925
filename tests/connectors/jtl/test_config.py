"""The config check for JTL shops, with what the registry hands the loader
(`connectors.platform_specs()`): push.slots for categories and the label are validated with a
did-you-mean, and discount codes configured for a JTL shop get a plain notice, not an error."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors import platform_specs
from loyalsync.core.config import ValueMapping, build_config
from loyalsync.core.errors import ConfigError
from loyalsync.sync.cli import run

WAWI = {
    "name": "wawi",
    "platform": "jtl",
    "url": "http://127.0.0.1:64110/api/eazybusiness",
    "credentials": {"api_key": "k-123456"},
    "jtl": {"label_field": "Segment"},
}
SHOPWARE = {
    "name": "sw",
    "platform": "shopware",
    "url": "https://shop.example.com",
    "credentials": {"client_id": "a", "client_secret": "b"},
}
WINBACK = {"name": "winback", "segment": "abc:A", "percent": 10, "code_prefix": "WB"}


def config(push: dict[str, Any], *shops: dict[str, Any]) -> Any:
    data = {"shops": list(shops or (WAWI,)), "push": push}
    return build_config(data, env={}, platforms=platform_specs())


def problems(push: dict[str, Any], *shops: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config(push, *shops)
    return list(caught.value.problems)


def test_push_slots_map_segments_to_categories_and_the_label() -> None:
    loaded = config(
        {
            "slots": {
                "categories": [{"segment": "abc:A", "value": "ls:champions"}],
                "label": [{"segment": "loyalty:vip", "value": "VIP"}],
            }
        }
    )
    assert loaded.push.slots == {
        "categories": (ValueMapping("abc:A", "ls:champions"),),
        "label": (ValueMapping("loyalty:vip", "VIP"),),
    }
    assert loaded.notices == ()


def test_a_mistyped_slot_gets_a_did_you_mean_and_the_slots_there_are() -> None:
    [problem] = problems({"slots": {"categoreis": [{"segment": "abc:A", "value": "x"}]}})
    assert "push.slots.categoreis" in problem
    assert "did you mean 'categories'" in problem
    assert "categories, groups, label" in problem


def test_groups_and_tags_are_pointed_at_their_own_keys() -> None:
    [problem] = problems({"slots": {"groups": [{"segment": "abc:A", "value": "VIP"}]}})
    assert "use push.groups" in problem


def test_a_slot_mapping_is_checked_like_any_other() -> None:
    found = problems(
        {"slots": {"label": [{"segment": "abc:Z", "valeu": "x"}]}},
    )
    assert any("push.slots.label[0].valeu" in p and "did you mean 'value'" in p for p in found)
    assert any("push.slots.label[0].value: required key is missing" in p for p in found)
    assert problems({"slots": {"label": [{"segment": "abc:Z", "value": "x"}]}})[0].startswith(
        "push.slots.label[0].segment"
    )


def test_a_slot_only_another_configured_platform_has_is_accepted() -> None:
    loaded = config({"slots": {"categories": [{"segment": "abc:A", "value": "c"}]}}, SHOPWARE, WAWI)
    assert set(loaded.push.slots) == {"categories"}
    [problem] = problems({"slots": {"categories": [{"segment": "abc:A", "value": "c"}]}}, SHOPWARE)
    assert "no configured shop's platform has a slot 'categories'" in problem


def test_discount_codes_on_a_jtl_shop_get_a_plain_notice_not_an_error() -> None:
    loaded = config({"discounts": [WINBACK]}, SHOPWARE, WAWI)
    [notice] = loaded.notices
    assert notice.startswith("shops[1] (wawi, jtl): push.discounts")
    assert "no API for personal discount codes" in notice
    assert "--with-codes CAMPAIGN" in notice
    assert config({"discounts": [WINBACK]}, SHOPWARE).notices == ()
    assert config({}, WAWI).notices == ()


def test_the_cli_says_it_when_it_loads_the_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "loyalsync.yaml"
    path.write_text(
        f"database: {tmp_path / 'm.db'}\nshops:\n  - name: wawi\n    platform: jtl\n"
        "    url: http://127.0.0.1:9/api/eazybusiness\n    credentials:\n      api_key: k-12345\n"
        "push:\n  discounts:\n"
        "    - {name: winback, segment: 'abc:A', percent: 10, code_prefix: WB}\n"
    )
    with caplog.at_level(logging.WARNING, logger="loyalsync.config"):
        run(["status", "--config", str(path)])
    assert any("no API for personal discount codes" in r.getMessage() for r in caplog.records)
