"""Where each shop's mirror lives (core/databases.py through the config loader): the shared
file of existing configs, a `{shop}` template, a shop's own `database:`, and the checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loyalsync.core.config import build_config, load_config
from loyalsync.core.errors import ConfigError
from loyalsync.core.timetable import ScheduleConfig


def shop(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "platform": "shopware", "url": "http://127.0.0.1:9", **extra}


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        build_config(data, env={}, platforms=["shopware"])
    return list(info.value.problems)


def test_an_existing_config_keeps_one_shared_mirror() -> None:
    config = build_config(
        {"database": "loyalsync.db", "shops": [shop("a"), shop("b")]},
        env={},
        platforms=["shopware"],
    )
    assert config.databases() == {"loyalsync.db": ["a", "b"]}
    assert config.database_for("b") == "loyalsync.db"


def test_a_template_gives_every_shop_its_own_file_and_a_shop_may_name_its_own() -> None:
    config = build_config(
        {
            "database": "mirrors/{shop}.db",
            "shops": [shop("a"), shop("b-2"), shop("c", database="/srv/c/mirror.db")],
        },
        env={},
        platforms=["shopware"],
    )
    assert config.databases() == {
        "mirrors/a.db": ["a"],
        "mirrors/b-2.db": ["b-2"],
        "/srv/c/mirror.db": ["c"],
    }
    assert config.databases((config.shop("b-2"),)) == {"mirrors/b-2.db": ["b-2"]}


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "loyalsync.yaml"
    path.write_text(
        "database: mirrors/{shop}.db\n"
        "shops:\n"
        "  - {name: a, platform: shopware, url: 'http://127.0.0.1:9'}\n"
        "  - {name: b, platform: shopware, url: 'http://127.0.0.1:9', database: b/own.db}\n"
    )
    config = load_config(path, env={}, platforms=lambda: ["shopware"])
    assert config.database_for("a") == str(tmp_path / "mirrors" / "a.db")
    assert config.database_for("b") == str(tmp_path / "b" / "own.db")


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("mirrors/{shops}.db", "unknown placeholder '{shops}' in 'mirrors/{shops}.db' (did you "
         "mean '{shop}'?); the only placeholder is {shop}"),
        ("mirrors/{name}.db", "unknown placeholder '{name}'"),
        ("mirrors/{shop.db", "unknown placeholder '{'"),
    ],
)  # fmt: skip
def test_a_bad_template_is_named(database: str, expected: str) -> None:
    problems = problems_of({"database": database, "shops": [shop("a")]})
    assert len(problems) == 1 and problems[0].startswith("database: ")
    assert expected in problems[0]


def test_a_shop_name_that_cannot_be_a_file_name_and_colliding_files_are_refused() -> None:
    problems = problems_of(
        {
            "database": "m/{shop}.db",
            "shops": [shop("../etc"), shop("b", database="m/x.db"), shop("x")],
        }
    )
    assert problems == [
        "shops[0].name: '../etc' cannot stand for {shop} in the database path 'm/{shop}.db': "
        "use letters, digits, '.', '_' or '-' (no '/' or spaces)",
        "shops[2].database: 'm/x.db' is also the mirror of shops[1]; a shop's own database "
        "must be its own file",
    ]


def test_workers_default_from_the_core_count_and_are_checked() -> None:
    assert ScheduleConfig().worker_count(cpus=2) == 4
    assert ScheduleConfig().worker_count(cpus=64) == 16
    assert ScheduleConfig(workers=3).worker_count(cpus=64) == 3
    problems = problems_of({"schedule": {"workers": 0}, "shops": [shop("a")]})
    assert problems == ["schedule.workers: must be at least 1 (or left out: from the core count)"]
