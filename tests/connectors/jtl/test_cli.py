"""The CLI on a JTL shop: `check` prints the capability matrix and the workflow setting,
`init --platform jtl` writes a config that covers both flavours, and `plan` with discount codes
configured says in plain words that JTL cannot create them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from loyalsync.connectors.jtl.simulator import JtlSimulator
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.cli import run


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    with JtlSimulator.from_spec(SynthSpec(customers=60)) as sim:
        path = tmp_path / "loyalsync.yaml"
        path.write_text(
            f"database: {tmp_path / 'm.db'}\nshops:\n  - name: wawi\n    platform: jtl\n"
            f"    url: {sim.url}\n    credentials:\n      api_key: {sim.api.api_key}\n"
            "    requests_per_second: 1000\n    jtl:\n      label_field: Segment\n"
            "segmentation:\n  min_age_days: 0\npush:\n  enabled: true\n  discounts:\n"
            "    - {name: winback, segment: 'abc:A', percent: 10, code_prefix: WB}\n"
        )
        yield path


def test_check_prints_the_capability_matrix(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "ok wawi: jtl" in out
    matrix = next(line for line in out.splitlines() if "capabilities:" in line)
    for cell in (
        "customer groups yes (one per customer, drives prices)",
        "customer categories yes",
        "label custom field yes ('Segment')",
        "tags no",
        "personal discount codes no (export)",
        "deletion scan yes",
    ):
        assert cell in matrix, cell
    assert "label custom field 'Segment' exists (type ShortText)" in out
    assert "disableAutomaticWorkflows=true: no Wawi workflow fires" in out
    assert "this platform cannot: customer tags, personal discount codes" in out


def test_plan_says_codes_cannot_be_created_on_jtl(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["backfill", "--config", str(config)]) == 0
    assert run(["segment", "--config", str(config)]) == 0
    capsys.readouterr()
    assert run(["plan", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "personal discount codes" in out, out


def test_init_writes_a_jtl_config_covering_both_flavours(tmp_path: Path) -> None:
    target = tmp_path / "loyalsync.yaml"
    assert run(["init", "--path", str(target), "--platform", "jtl"]) == 0
    text = target.read_text(encoding="utf-8")
    shop = yaml.safe_load(text)["shops"][0]
    assert shop["platform"] == "jtl" and shop["url"].endswith("/api/eazybusiness")
    assert shop["credentials"] == {"api_key": "${JTL_API_KEY}"}
    assert shop["jtl"]["flavour"] == "onprem"
    assert "jtl-register" in text
    for cloud in ("cloud", "client_id", "client_secret", "tenant_id", "token_url"):
        assert cloud in text, cloud
