"""The config loader's check against each shop's platform (core/platform_spec.py, from the
specs the connector registry hands it): `push.groups_mode: all` only where the groups slot
is `many`, a mistyped mode gets a did-you-mean, and mappings a platform cannot carry out
are told in plain words (not an error: another shop may have the slot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loyalsync.connectors import connector_class, platform_names, platform_specs
from loyalsync.core.config import Config, build_config
from loyalsync.core.errors import ConfigError
from loyalsync.sync.cli import run


def config(platform: str, **push: Any) -> Config:
    shop = {"name": "s", "platform": platform, "url": "https://x.example", "credentials": {}}
    data = {"shops": [shop], "push": {"groups": [{"segment": "loyalty:vip", "group": "V"}]}}
    data["push"].update(push)
    return build_config(data, env={}, platforms=platform_specs())


def ignored(cfg: Config) -> list[str]:
    return [n for n in cfg.notices if " is ignored for shop " in n]


@pytest.mark.parametrize("platform", platform_names())
def test_groups_mode_all_only_on_a_many_groups_slot(platform: str) -> None:
    slots = {s.name: s.cardinality for s in connector_class(platform).slots}
    assert ignored(config(platform)) == []  # "first", the default, fits every slot
    if slots.get("groups") == "many":
        config(platform, groups_mode="all")
        return
    with pytest.raises(ConfigError) as caught:
        config(platform, groups_mode="all")
    [problem] = caught.value.problems
    assert problem.startswith("push.groups_mode: all") and f"({platform})" in problem
    assert "use first" in problem


def test_a_mistyped_groups_mode_is_named_with_a_did_you_mean() -> None:
    with pytest.raises(ConfigError, match=r"push.groups_mode: .*'al'.*did you mean 'all'"):
        config(platform_names()[0], groups_mode="al")


@pytest.mark.parametrize("platform", platform_names())
def test_mappings_for_a_slot_the_platform_lacks_are_told(platform: str) -> None:
    tags = [{"segment": "lifecycle:slipping", "tag": "t"}]
    notices = ignored(config(platform, tags=tags))
    if "tags" in {s.name for s in connector_class(platform).slots}:
        assert notices == []
    else:
        assert notices == [
            f"{platform} has no customer tags: push.tags (1 mapping) is ignored for shop 's'"
        ]


def test_the_cli_exits_3_before_touching_a_shop(tmp_path: Path) -> None:
    one = next(p for p in platform_names() if connector_class(p).slots[0].cardinality == "one")
    path = tmp_path / "c.yaml"
    path.write_text(
        f"shops:\n  - {{name: s, platform: {one}, url: 'http://127.0.0.1:9', credentials: {{}}}}\n"
        "push:\n  groups_mode: all\n  groups: [{segment: 'loyalty:vip', group: V}]\n",
        encoding="utf-8",
    )
    assert run(["--config", str(path), "check"]) == 3
