"""What the PrestaShop connector declares on its class, and its options checked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from loyalsync.connectors import connector_class, platform_options
from loyalsync.connectors.prestashop import spec
from loyalsync.core.config import ShopConfig, build_config
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
    assert {o.name for o in cls.options} == {"timezone", "change_default_group"}
    assert "${PRESTASHOP_API_KEY}" in cls.starter_config
    assert cls.parse_error is not None


def test_options_defaults_and_problems() -> None:
    assert spec.settings(shop()) == {
        "timezone": "",
        "change_default_group": False,
    }
    with pytest.raises(ConfigError, match="did you mean 'change_default_group'"):
        spec.settings(shop(change_default_grup=True))
    with pytest.raises(ConfigError, match="page_size"):
        spec.settings(replace(shop(), page_size=0))
    with pytest.raises(ConfigError, match="change_default_group"):
        spec.settings(shop(change_default_group="yes"))


def test_the_config_loader_reads_the_prestashop_section() -> None:
    data = {
        "shops": [
            {
                "name": "ps",
                "platform": "prestashop",
                "url": "http://x",
                "credentials": {"api_key": "K" * 32},
                "prestashop": {"change_default_group": True},
            }
        ]
    }
    [loaded] = build_config(data, env={}, platforms=platform_options()).shops
    assert spec.settings(loaded) == {"timezone": "", "change_default_group": True}
    data["shops"][0]["prestashop"] = {"change_defualt_group": True}
    with pytest.raises(ConfigError, match="change_default_group"):
        build_config(data, env={}, platforms=platform_options())
