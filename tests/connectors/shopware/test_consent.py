"""Newsletter consent from Shopware over real sockets (issue 16): 6.5+ keeps it in
`newsletter_recipient` (status direct / optIn / optOut / notSet per e-mail and sales channel),
6.4 on the customer (`newsletter`). The mirror's consent must equal the shop's, after a backfill
and after an incremental pull that only a recipient change (no customer change) should trigger;
the export then carries it (`customers --format csv|json`, `--consented-only`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from loyalsync.connectors.shopware.client import ShopwareConnector
from loyalsync.connectors.shopware.sim_newsletter import SUBSCRIBED
from loyalsync.connectors.shopware.sim_render import HEADLESS_ID, STOREFRONT_ID
from loyalsync.connectors.shopware.simulator import ShopwareSimulator
from loyalsync.core.mirror import Mirror
from loyalsync.core.mirror.report import load_consent
from loyalsync.sync.cli import run
from loyalsync.sync.pull import pull_shop
from tests.contract.harness import FakeClock
from tests.sync.conftest import write_config

PAGE = 100


def truth(sim: ShopwareSimulator) -> dict[str, bool]:
    """Each customer's consent as the shop has it: a recipient row of the customer's own sales
    channel (every simulated customer registered in the storefront) with a subscribed status."""
    subscribed = {
        r["email"].casefold()
        for r in sim.newsletter_recipients
        if r["salesChannelId"] == STOREFRONT_ID and r["status"] in SUBSCRIBED
    }
    return {
        cid: (row.rec.email or "").casefold() in subscribed
        for cid, row in sim.store.customers.items()
    }


def mirrored(mirror: Mirror) -> dict[str, bool]:
    consent = load_consent(mirror, "sw-test")
    return dict(zip(consent["customer_id"], consent["newsletter"].astype(bool), strict=True))


def recipient_calls(sim: ShopwareSimulator) -> int:
    return sum(r.path == "/api/search/newsletter-recipient" for r in sim.request_log)


def statuses(sim: ShopwareSimulator) -> dict[str, set[str]]:
    """Customer ids by the status of their storefront recipient row ('none': no row)."""
    rows = {
        r["email"].casefold(): r["status"]
        for r in sim.newsletter_recipients
        if r["salesChannelId"] == STOREFRONT_ID
    }
    out: dict[str, set[str]] = {}
    for cid, row in sim.store.customers.items():
        out.setdefault(rows.get((row.rec.email or "").casefold(), "none"), set()).add(cid)
    return out


def test_65_consent_comes_from_newsletter_recipients_one_lookup_per_page(
    make_sim: Callable[..., ShopwareSimulator],
    connect: Callable[..., ShopwareConnector],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    sim = make_sim(customers=300, seed=7)  # 6.6: customer.newsletter no longer exists
    by_status = statuses(sim)
    assert {"direct", "optIn", "optOut", "notSet", "none"} <= set(by_status)
    headless_only = {
        e for r in sim.newsletter_recipients if r["salesChannelId"] == HEADLESS_ID
        for e in [r["email"].casefold()]
    }  # fmt: skip
    assert headless_only, "some customers subscribed only in another sales channel"
    connector = connect(sim, page_size=PAGE)
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull_shop(connector, mirror, connector.shop, backfill=True, now=clock)
        got = mirrored(mirror)
        raw = json.loads(mirror.conn.execute("SELECT raw FROM customers LIMIT 1").fetchone()[0])
    assert got == truth(sim)  # every customer known: no recipient row means not subscribed
    assert sum(got.values()) == len(by_status["direct"] | by_status["optIn"])
    assert not any(got[c] for c in by_status["optOut"] | by_status["notSet"])
    assert "newsletter" not in raw and "newsletterRecipient" in raw
    pages = -(-len(sim.customers) // PAGE)
    assert recipient_calls(sim) == pages  # one look-up of each page's e-mails


def test_65_incremental_pull_sees_recipient_changes_without_customer_changes(
    make_sim: Callable[..., ShopwareSimulator],
    connect: Callable[..., ShopwareConnector],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    sim = make_sim(customers=300, seed=7)
    by_status = statuses(sim)
    connector = connect(sim, page_size=PAGE)
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull_shop(connector, mirror, connector.shop, backfill=True, now=clock)
        clock.advance(hours=2)
        leaving = sorted(by_status["direct"])[0]
        joining = sorted(by_status["none"])[0]
        confirming = sorted(by_status["notSet"])[0]
        elsewhere = sorted(by_status["optOut"])[0]
        before = {c: sim.store.customers[c].updated_at for c in (leaving, joining)}
        sim.set_newsletter(leaving, "optOut")
        sim.set_newsletter(joining, "direct")
        sim.set_newsletter(confirming, "optIn")
        sim.set_newsletter(elsewhere, "optIn", channel=HEADLESS_ID)  # not the customer's channel
        assert {c: sim.store.customers[c].updated_at for c in before} == before  # 6.5+: untouched
        sim.reset_logs()
        result = pull_shop(connector, mirror, connector.shop, now=clock)
        got = mirrored(mirror)
    assert got == truth(sim)
    assert (got[leaving], got[joining], got[confirming], got[elsewhere]) == (
        False, True, True, False,
    )  # fmt: skip
    assert result.entities["customers"].updated == 3  # the 4th's stored payload is unchanged
    # the recipients changed in the window, then one look-up for the one page of customers
    assert recipient_calls(sim) == 2


def test_64_consent_is_the_customer_flag_and_costs_no_request(
    make_sim: Callable[..., ShopwareSimulator],
    connect: Callable[..., ShopwareConnector],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    sim = make_sim(customers=300, seed=7, version="6.4.20.2")
    connector = connect(sim, page_size=PAGE)
    with Mirror.open(tmp_path / "m.db") as mirror:
        pull_shop(connector, mirror, connector.shop, backfill=True, now=clock)
        assert mirrored(mirror) == truth(sim)
        assert recipient_calls(sim) == 0
        clock.advance(hours=2)
        subscribed = sorted(c for c, v in truth(sim).items() if v)[0]
        sim.set_newsletter(subscribed, "optOut")  # 6.4 writes customer.newsletter too
        sim.reset_logs()
        pull_shop(connector, mirror, connector.shop, now=clock)
        got = mirrored(mirror)
    assert got == truth(sim) and got[subscribed] is False
    assert recipient_calls(sim) == 0  # the flag moves customer.updatedAt in 6.4


@pytest.mark.parametrize("version", ["6.4.20.2", "6.6.10.13"])
def test_export_carries_the_shops_consent(
    make_sim: Callable[..., ShopwareSimulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    version: str,
) -> None:
    sim = make_sim(customers=200, seed=7, version=version)
    config = str(write_config(tmp_path, [("main", sim, sim.client_secret)]))
    assert run(["--config", config, "-q", "backfill"]) == 0
    assert run(["--config", config, "-q", "segment"]) == 0
    capsys.readouterr()
    assert run(["--config", config, "customers", "--segment", "abc:A", "--format", "csv"]) == 0
    out = capsys.readouterr()
    listed = list(csv.DictReader(io.StringIO(out.out)))
    shop = truth(sim)
    assert listed and "no newsletter consent" not in out.err
    assert {r["customer_id"]: r["newsletter"] == "True" for r in listed} == {
        r["customer_id"]: shop[r["customer_id"]] for r in listed
    }
    args = ["customers", "--segment", "abc:A", "--consented-only", "--format", "json"]
    assert run(["--config", config, *args]) == 0
    consenting = json.loads(capsys.readouterr().out)["main"]
    wanted = sorted(r["customer_id"] for r in listed if shop[r["customer_id"]])
    assert sorted(r["customer_id"] for r in consenting) == wanted and wanted
