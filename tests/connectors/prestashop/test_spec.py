"""What the PrestaShop connector declares on its class, and its options checked."""

from __future__ import annotations

import pytest

from loyalsync.connectors import connector_class
from loyalsync.connectors.prestashop import spec
from loyalsync.core.config import ShopConfig
from loyalsync.core.errors import ConfigError


def shop(**options: object) -> ShopConfig:
    return ShopConfig(name="s", platform="prestashop", url="http://x", options=dict(options))


def test_the_class_contract() -> None:
    cls = connector_class("prestashop")
    [groups] = cls.slots
    assert (groups.name, groups.cardinality, groups.has_default) == ("groups", "many", True)
    assert cls.capabilities.multiple_groups and not cls.capabilities.tags
    assert cls.capabilities.personal_codes
    assert cls.credential_keys == ("api_key",)
    assert {o.name for o in cls.options} == {"timezone", "page_size", "change_default_group"}
    assert "platform: prestashop" in cls.starter_config
    assert cls.parse_error is not None


def test_options_defaults_and_problems() -> None:
    assert spec.settings(shop()) == {
        "timezone": "",
        "page_size": 1000,
        "change_default_group": False,
    }
    with pytest.raises(ConfigError, match="did you mean 'page_size'"):
        spec.settings(shop(pagesize=50))
    with pytest.raises(ConfigError, match="page_size"):
        spec.settings(shop(page_size=0))
    with pytest.raises(ConfigError, match="change_default_group"):
        spec.settings(shop(change_default_group="yes"))
