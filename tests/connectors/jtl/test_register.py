"""`jtl-register`: the on-premise registration handshake against the simulator, end to end:
accept (key once, 410 afterwards, every scope asked for), deny, timeout with a countdown, the
dialog not open; and the CLI command, which prints the key once and never writes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loyalsync.connectors.http import HttpPolicy, make_session
from loyalsync.connectors.jtl import platform as declared
from loyalsync.connectors.jtl.register import register
from loyalsync.connectors.jtl.simulator import JtlSimulator
from loyalsync.core.errors import ConfigError
from loyalsync.core.synth import SynthSpec
from loyalsync.sync.cli import run
from tests.contract.harness import FakeClock


@pytest.fixture
def sim() -> Iterator[JtlSimulator]:
    with JtlSimulator.from_spec(SynthSpec(customers=5), scopes=()) as started:
        started.api.registration_open = True
        yield started


class Admin:
    """The human in Wawi: answers after `polls` polls; the clock moves by each sleep."""

    def __init__(self, sim: JtlSimulator, accept: bool | None, polls: int) -> None:
        self.sim, self.accept, self.polls = sim, accept, polls
        self.clock = FakeClock(datetime(2026, 11, 1, tzinfo=UTC))
        self.said: list[str] = []
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds=seconds)
        if len(self.slept) == self.polls and self.accept is not None:
            self.sim.api.answer(self.accept)

    def run(self, timeout: float = 30.0) -> object:
        http = make_session(HttpPolicy(shop="wawi", base_url=self.sim.url), sleep=lambda s: None)
        return register(http, timeout=timeout, poll_interval=5, now=self.clock,
                        sleep=self.sleep, say=self.said.append)  # fmt: skip


def test_accept_delivers_the_key_once_with_every_scope(sim: JtlSimulator) -> None:
    admin = Admin(sim, accept=True, polls=2)
    result = admin.run()
    assert result.api_key == sim.api.api_key  # type: ignore[attr-defined]
    assert set(result.scopes) == set(declared.SCOPES)  # type: ignore[attr-defined]
    assert admin.slept == [5, 5]
    assert any("0:30 left" in s for s in admin.said) and any("0:25 left" in s for s in admin.said)
    polls = sim.requests("", method="GET")
    assert all(r.status == 200 for r in polls)
    import requests

    rid = result.registration_id  # type: ignore[attr-defined]
    again = requests.get(
        f"{sim.url}/authentication/{rid}", headers={"x-challengecode": "x"}, timeout=10
    )
    assert again.status_code == 404  # another challenge code: unknown
    # the key was delivered: the app now reads with it
    headers = {"Authorization": f"Wawi {sim.api.api_key}", "x-appid": declared.APP_ID,
               "x-appversion": "1", "api-version": "1.0"}  # fmt: skip
    assert requests.get(f"{sim.url}/customers", headers=headers, timeout=10).status_code == 200


def test_the_answer_is_given_once_then_410(sim: JtlSimulator) -> None:
    import requests

    sim.api.auto_answer = True
    headers = {"x-challengecode": "abc", "api-version": "1.0"}
    made = requests.post(
        f"{sim.url}/authentication", headers=headers, json={"AppId": "a"}, timeout=10
    )
    rid = made.json()["RegistrationRequestId"]
    first = requests.get(f"{sim.url}/authentication/{rid}", headers=headers, timeout=10)
    assert first.status_code == 200 and first.json()["Token"]["ApiKey"]
    second = requests.get(f"{sim.url}/authentication/{rid}", headers=headers, timeout=10)
    assert second.status_code == 410 and second.content == b""


def test_deny_is_a_plain_error(sim: JtlSimulator) -> None:
    with pytest.raises(ConfigError, match="denied"):
        Admin(sim, accept=False, polls=1).run()


def test_no_answer_times_out_after_the_countdown(sim: JtlSimulator) -> None:
    admin = Admin(sim, accept=None, polls=0)
    with pytest.raises(ConfigError, match="no answer from JTL-Wawi within 12 s"):
        admin.run(timeout=12)
    assert admin.slept == [5, 5, 2]
    assert admin.clock() - datetime(2026, 11, 1, tzinfo=UTC) == timedelta(seconds=12)


def test_without_the_dialog_open_it_says_where_to_open_it(sim: JtlSimulator) -> None:
    sim.api.registration_open = False
    with pytest.raises(ConfigError, match="App-Registrierung"):
        Admin(sim, accept=True, polls=1).run()


def test_the_cli_prints_the_key_once_and_never_writes_it(
    sim: JtlSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    sim.api.auto_answer = True
    monkeypatch.delenv("JTL_API_KEY", raising=False)
    config = tmp_path / "loyalsync.yaml"
    text = (
        f"database: {tmp_path / 'm.db'}\nshops:\n  - name: wawi\n    platform: jtl\n"
        f"    url: {sim.url}\n    credentials:\n      api_key: ${{JTL_API_KEY}}\n"
    )
    config.write_text(text)
    code = run(["jtl-register", "--config", str(config), "--shop", "wawi", "--poll-interval", "0"])
    out = capsys.readouterr()
    assert code == 0, out.err
    key = sim.api.api_key
    assert (out.out + out.err).count(key) == 1
    assert f"JTL_API_KEY={key}" in out.out
    assert config.read_text() == text and not (tmp_path / ".env").exists()
    denied = run(["jtl-register", "--config", str(config), "--shop", "nope"])
    assert denied != 0 and "unknown shop 'nope'" in capsys.readouterr().err
