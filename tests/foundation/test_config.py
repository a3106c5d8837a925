"""Config loading: every error kind reported at once with its YAML path; env interpolation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import build_config, load_config, read_dotenv, resolve_path
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

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
    config = build_config(MINIMAL, env={"ID": "abc", "SECRET": "s3cr3t-value"})
    shop = config.shops[0]
    assert shop.credentials == {"client_id": "abc", "client_secret": "s3cr3t-value"}
    assert config.database == "loyalsync.db"
    assert config.push.enabled is False
    assert "s3cr3t" not in repr(shop) and "s3cr3t" not in repr(config)


def test_env_default_syntax() -> None:
    data = {**MINIMAL, "database": "${DB:-fallback.db}"}
    config = build_config(data, env={"ID": "x", "SECRET": "y"})
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
        build_config(data, env={})
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
        build_config({"segmentation": {"abc": {"a": 0.99, "b": 0.5}, "rfm": {"scale": 4}}}, env={})
    text = "\n".join(info.value.problems)
    assert "shops: at least one shop is required" in text
    assert "segmentation.abc: need 0 < a < b <= 1" in text
    assert "segmentation.rfm.scale: expected 3 or 5, got 4" in text


def test_plugin_platform_names_are_accepted() -> None:
    data = {"shops": [{"name": "p", "platform": "myshop", "url": "http://127.0.0.1:1"}]}
    with pytest.raises(ConfigError):
        build_config(data, env={})
    config = build_config(data, env={}, platforms=["shopware", "myshop"])
    assert config.shops[0].platform == "myshop"


def test_example_config_loads(tmp_path: Path) -> None:
    text = (ROOT / "config.example.yaml").read_text()
    names = set(re.findall(r"\$\{([A-Z_]+)", text))
    env = {name: f"value-{name.lower()}" for name in names}
    target = tmp_path / "loyalsync.yaml"
    target.write_text(text)
    config = load_config(target, env=env)
    assert config.shops[0].credentials["client_secret"] == "value-shopware_client_secret"
    assert config.database == str(tmp_path / "loyalsync.db")  # relative to the config file
    assert config.push.groups and config.push.tags and config.push.discounts


def test_dotenv_next_to_config_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# comment\nID=from-dotenv\nexport SECRET='quoted'\n")
    assert read_dotenv(tmp_path / ".env") == {"ID": "from-dotenv", "SECRET": "quoted"}
    target = tmp_path / "c.yaml"
    import yaml

    target.write_text(yaml.safe_dump(MINIMAL))
    config = load_config(target, env={"ID": "from-env"})
    assert config.shops[0].credentials == {"client_id": "from-env", "client_secret": "quoted"}


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", env={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("shops: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, env={})


def test_resolve_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALSYNC_CONFIG", "/from/env.yaml")
    assert resolve_path("given.yaml") == Path("given.yaml")
    assert resolve_path(None) == Path("/from/env.yaml")
    monkeypatch.delenv("LOYALSYNC_CONFIG")
    assert resolve_path(None) == Path("loyalsync.yaml")
