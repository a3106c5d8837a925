"""Config loading: every error kind reported at once with its YAML path; env interpolation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from loyalsync.connectors import platform_options
from loyalsync.core.config import build_config, load_config, read_dotenv, resolve_path
from loyalsync.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ENV = {"ID": "abc", "SECRET": "s3cr3t-value"}

MINIMAL = {
    "shops": [
        {
            "name": "a",
            "platform": "shopware",
            "url": "https://a.example",
            "credentials": {"client_id": "${ID}", "client_secret": "${SECRET}"},
        }
    ]
}


def test_minimal_config_with_env_interpolation() -> None:
    config = build_config(
        MINIMAL, env={"ID": "abc", "SECRET": "s3cr3t-value"}, platforms=platform_options()
    )
    shop = config.shops[0]
    assert shop.credentials == {"client_id": "abc", "client_secret": "s3cr3t-value"}
    assert config.database == "loyalsync.db"
    assert config.push.enabled is False
    assert "s3cr3t" not in repr(shop) and "s3cr3t" not in repr(config)


def test_env_default_syntax() -> None:
    data = {**MINIMAL, "database": "${DB:-fallback.db}"}
    config = build_config(data, env={"ID": "x", "SECRET": "y"}, platforms=platform_options())
    assert config.database == "fallback.db"


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "databse": "x.db",  # unknown key with a did-you-mean
        "shops": [
            {
                "name": "a",
                "platform": "shopwre",
                "url": "ftp://x",
                "credentials": {"k": "${NOPE}"},
                "requests_per_second": "fast",
            },
            {"name": "a", "platform": "shopware"},  # duplicate name, url missing
        ],
        "push": {"batch_size": "many", "max_changes": 0},
        "schedule": {"cycle_at": "25:00"},
    }
    with pytest.raises(ConfigError) as info:
        build_config(data, env={}, platforms=platform_options())
    problems = info.value.problems
    text = "\n".join(problems)
    assert "databse: unknown key (did you mean 'database'?)" in text
    assert "shops[0].platform: unknown platform 'shopwre' (did you mean 'shopware'?)" in text
    assert "shops[0].url: must start with http:// or https://" in text
    assert "shops[0].credentials.k: environment variable ${NOPE} is not set" in text
    assert "shops[0].requests_per_second: expected a number, got 'fast'" in text
    assert "shops[1].name: duplicate shop name 'a'" in text
    assert "shops[1].url: required key is missing" in text
    assert "push.batch_size: expected an integer, got 'many'" in text
    assert "push.max_changes: must be greater than 0" in text
    assert "schedule.cycle_at: expected HH:MM" in text
    assert len(problems) >= 10
    # the message itself lists them all, one per line
    assert str(info.value).count("\n  - ") == len(problems)


def test_wrong_nested_types_and_missing_shops() -> None:
    with pytest.raises(ConfigError) as info:
        build_config(
            {"segmentation": {"abc": {"a": 0.99, "b": 0.5}, "rfm": {"scale": 4}}},
            env={},
            platforms=platform_options(),
        )
    text = "\n".join(info.value.problems)
    assert "shops: at least one shop is required" in text
    assert "segmentation.abc: need 0 < a < b <= 1" in text
    assert "segmentation.rfm.scale: expected 3 or 5, got 4" in text


def test_platform_section_is_checked_against_the_connectors_options() -> None:
    shop = dict(MINIMAL["shops"][0])
    config = build_config({"shops": [shop]}, env=ENV, platforms=platform_options())
    assert config.shops[0].options == {"recent_orders_days": 14, "sales_channels": ()}
    shop["shopware"] = {"sales_channels": ["Headless"], "recent_orders_days": "7"}
    config = build_config({"shops": [shop]}, env=ENV, platforms=platform_options())
    assert config.shops[0].options == {"recent_orders_days": 7, "sales_channels": ("Headless",)}
    shop["shopware"] = {"sales_chanels": [], "recent_orders_days": "soon"}
    with pytest.raises(ConfigError) as info:
        build_config({"shops": [shop]}, env=ENV, platforms=platform_options())
    text = "\n".join(info.value.problems)
    assert "shops[0].shopware.sales_chanels: unknown key (did you mean 'sales_channels'?" in text
    assert "shops[0].shopware.recent_orders_days: expected an integer" in text


def test_a_platform_option_at_the_old_place_points_at_its_section() -> None:
    shop = {**MINIMAL["shops"][0], "sales_channels": [], "recent_orders_days": 3}
    with pytest.raises(ConfigError) as info:
        build_config({"shops": [shop]}, env=ENV, platforms=platform_options())
    text = "\n".join(info.value.problems)
    assert (
        "shops[0].sales_channels: unknown key (did you mean 'shops[0].shopware.sales_channels'"
        in text
    )
    assert "did you mean 'shops[0].shopware.recent_orders_days'" in text


def test_plugin_platform_names_are_accepted() -> None:
    data = {"shops": [{"name": "p", "platform": "myshop", "url": "http://127.0.0.1:1"}]}
    with pytest.raises(ConfigError):
        build_config(data, env={}, platforms=platform_options())
    config = build_config(data, env={}, platforms=["shopware", "myshop"])
    assert config.shops[0].platform == "myshop"


def test_example_config_loads(tmp_path: Path) -> None:
    text = (ROOT / "config.example.yaml").read_text()
    names = set(re.findall(r"\$\{([A-Z_]+)", text))
    env = {name: f"value-{name.lower()}" for name in names}
    target = tmp_path / "loyalsync.yaml"
    target.write_text(text)
    config = load_config(target, env=env, platforms=platform_options)
    assert config.shops[0].credentials["client_secret"] == "value-shopware_client_secret"
    assert config.database == str(tmp_path / "loyalsync.db")  # relative to the config file
    assert config.push.groups and config.push.tags and config.push.discounts


def test_dotenv_next_to_config_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# comment\nID=from-dotenv\nexport SECRET='quoted'\n")
    assert read_dotenv(tmp_path / ".env") == {"ID": "from-dotenv", "SECRET": "quoted"}
    target = tmp_path / "c.yaml"
    import yaml

    target.write_text(yaml.safe_dump(MINIMAL))
    config = load_config(target, env={"ID": "from-env"}, platforms=platform_options)
    assert config.shops[0].credentials == {"client_id": "from-env", "client_secret": "quoted"}


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", env={}, platforms=platform_options)
    bad = tmp_path / "bad.yaml"
    bad.write_text("shops: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, env={}, platforms=platform_options)


def test_resolve_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALSYNC_CONFIG", "/from/env.yaml")
    assert resolve_path("given.yaml") == Path("given.yaml")
    assert resolve_path(None) == Path("/from/env.yaml")
    monkeypatch.delenv("LOYALSYNC_CONFIG")
    assert resolve_path(None) == Path("loyalsync.yaml")


# -- segment names in push mappings ------------------------------------------------------------

PUSH_SHOP = """
shops: [{name: a, platform: shopware, url: "https://a.example"}]
"""


def push_problems(text: str) -> list[str]:
    """The problems a config with these YAML lines (after the one shop) is rejected with."""
    with pytest.raises(ConfigError) as info:
        build_config(yaml.safe_load(PUSH_SHOP + text), env={}, platforms=platform_options())
    return info.value.problems


def test_push_mappings_naming_segments_that_cannot_exist_are_all_reported() -> None:
    problems = push_problems(
        """
segmentation:
  rules: [{name: big_spenders, when: "revenue > 500"}]
push:
  groups:
    - {segment: "loyality:vip", group: VIP}
    - {segment: "loyalty:VIP", group: VIP}
  tags:
    - {segment: "rule:big_spender", tag: big}
    - {segment: "abc:a", tag: a}
    - {segment: "lifecycle:slip", tag: s}
    - {segment: "inactive:2w", tag: i}
    - {segment: "rfm_segment:champion", tag: c}
    - {segment: "rfm:334", tag: r}
    - {segment: "rfm:33", tag: r}
    - {segment: "vip", tag: v}
  discounts:
    - {name: winback, segment: "lifecycle:Slipping", percent: 10}
"""
    )
    assert problems == [
        "push.groups[0].segment: unknown family 'loyality' (did you mean 'loyalty'?); known: "
        "abc, rfm, rfm_segment, loyalty, lifecycle, inactive, country, city, postcode, predict, "
        "rule",
        "push.groups[1].segment: unknown loyalty tier 'VIP' (did you mean 'vip'?); known: "
        "one_time, loyal, frequent, vip",
        "push.tags[0].segment: no rule named 'big_spender' in segmentation.rules "
        "(did you mean 'big_spenders'?)",
        "push.tags[1].segment: unknown ABC class 'a' (did you mean 'A'?); known: A, B, C",
        "push.tags[2].segment: unknown lifecycle stage 'slip' (did you mean 'slipping'?); "
        "known: new, active, slipping, lost",
        "push.tags[3].segment: unknown inactivity window '2w'; known: 4w, 3m, 6m",
        "push.tags[4].segment: unknown RFM segment 'champion' (did you mean 'champions'?); "
        "known: champions, loyal, new, promising, cant_lose, at_risk, needs_attention, "
        "hibernating, lost",
        "push.tags[5].segment: RFM code '334' has digits outside 1-3 (segmentation.rfm.scale is 3)",
        "push.tags[6].segment: expected an RFM code of three digits 1-3 such as '333'",
        "push.tags[7].segment: expected 'family:value' such as 'loyalty:vip', got 'vip'",
        "push.discounts[0].segment: unknown lifecycle stage 'Slipping' "
        "(did you mean 'slipping'?); known: new, active, slipping, lost",
    ]


def test_push_mappings_naming_impossible_address_segments_are_reported() -> None:
    problems = push_problems(
        """
segmentation:
  geography: {postcode_prefix_lengths: [1], cities: false}
push:
  tags:
    - {segment: "country:at", tag: at}
    - {segment: "country:Austria", tag: at}
    - {segment: "postcode:80*", tag: munich}
    - {segment: "postcode:8", tag: munich}
    - {segment: "postcode:a*", tag: aberdeen}
    - {segment: "city:Wien", tag: vienna}
"""
    )
    assert problems == [
        "push.tags[0].segment: country codes are two upper-case letters (did you mean 'AT'?)",
        "push.tags[1].segment: expected a two-letter ISO country code such as 'DE', got 'Austria'",
        "push.tags[2].segment: postcode prefix '80' has 2 characters, but "
        "segmentation.geography.postcode_prefix_lengths is [1] (prefixes like '8*')",
        "push.tags[3].segment: expected a postcode prefix followed by '*', such as '8*'",
        "push.tags[4].segment: postcode prefixes are upper-case without blanks "
        "(did you mean 'A*'?)",
        "push.tags[5].segment: city segments are off (segmentation.geography.cities is false)",
    ]
    assert push_problems('push: {tags: [{segment: "city: Bad  Tölz", tag: t}]}') == [
        "push.tags[0].segment: city names are trimmed, with single blanks "
        "(did you mean 'Bad Tölz'?)"
    ]


def test_segment_values_follow_the_configured_scale_names_windows_and_rules() -> None:
    problems = push_problems(
        """
segmentation:
  rfm: {scale: 5, names: {"5**": top}}
  inactivity: {quiet: 60}
push:
  tags:
    - {segment: "rfm:555", tag: ok}
    - {segment: "rfm_segment:top", tag: ok}
    - {segment: "rfm_segment:other", tag: ok}
    - {segment: "inactive:quiet", tag: ok}
    - {segment: "rfm:666", tag: bad}
    - {segment: "rfm_segment:champions", tag: bad}
    - {segment: "inactive:6m", tag: bad}
    - {segment: "rule:vip", tag: bad}
"""
    )
    assert problems == [
        "push.tags[4].segment: RFM code '666' has digits outside 1-5 (segmentation.rfm.scale is 5)",
        "push.tags[5].segment: unknown RFM segment 'champions'; known: top, other",
        "push.tags[6].segment: unknown inactivity window '6m'; known: quiet",
        "push.tags[7].segment: no rule named 'vip': segmentation.rules defines none",
    ]


def test_push_mappings_naming_segments_segmentation_produces_load() -> None:
    text = """
segmentation:
  geography: {postcode_prefix_lengths: [1, 2]}
  rules: [{name: big_spenders, when: "revenue > 500"}]
push:
  groups:
    - {segment: "loyalty:vip", group: VIP}
    - {segment: "abc:A", group: A}
  tags:
    - {segment: "country:AT", tag: austria}
    - {segment: "city:Bad Tölz", tag: toelz}
    - {segment: "postcode:8*", tag: south}
    - {segment: "postcode:80*", tag: munich}
    - {segment: "rfm:312", tag: rfm}
    - {segment: "rfm_segment:cant_lose", tag: cant-lose}
    - {segment: "inactive:3m", tag: quiet}
    - {segment: "lifecycle:new", tag: new}
    - {segment: "loyalty:one_time", tag: once}
  discounts:
    - {name: big, segment: "rule:big_spenders", percent: 5}
"""
    config = build_config(yaml.safe_load(PUSH_SHOP + text), env={}, platforms=platform_options())
    assert [name for _, name in config.push.segment_references()][:3] == [
        "loyalty:vip",
        "abc:A",
        "country:AT",
    ]


def test_a_mapping_without_a_segment_is_reported_once() -> None:
    assert push_problems("push: {tags: [{tag: t}, 3]}") == [
        "push.tags[0].segment: required key is missing",
        "push.tags[1]: expected a mapping, got 3",
        "push.tags[1].segment: required key is missing",
        "push.tags[1].tag: required key is missing",
    ]
