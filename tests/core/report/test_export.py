"""`loyalsync customers` as a consent-aware export: the newsletter flag where the stored payload
has it (Shopware 6.4 and PrestaShop send `newsletter`), `--consented-only` (refused without
consent data), the sort keys and `--columns`."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalsync.core.mirror import Mirror
from loyalsync.core.records import Cursor, CustomerRecord, OrderRecord
from loyalsync.sync.cli import run
from tests.core.report.conftest import shop_config
from tests.sync.conftest import AS_OF

PEOPLE = (  # id, consent in the payload (None: no field), country, city, postcode, gross, days ago
    ("c1", True, "DE", "Berlin", "10115", 300.0, 200),
    ("c2", False, "AT", "Wien", "1010", 50.0, 10),
    ("c3", None, "DE", "Aachen", "52062", 120.0, 90),
    ("c4", "1", "CH", "Zürich", "8001", 80.0, 30),
)


def customer(cid: str, consent: Any, country: str, city: str, postcode: str) -> CustomerRecord:
    raw = {"id": cid} if consent is None else {"id": cid, "newsletter": consent}
    return CustomerRecord(id=cid, email=f"{cid}@example.org", first_name="F", last_name=cid,
                          country=country, city=city, postcode=postcode, raw=raw,
                          created_at=AS_OF - timedelta(days=400))  # fmt: skip


def order(cid: str, gross: float, days: int) -> OrderRecord:
    return OrderRecord(id=f"o-{cid}", number=f"o-{cid}", customer_id=cid, email=None,
                       placed_at=AS_OF - timedelta(days=days), status="completed", is_valid=True,
                       total_gross=gross, total_net=gross, currency="EUR",
                       base_currency_total_gross=gross, base_currency_total_net=gross)  # fmt: skip


def mirror(tmp_path: Path, people: tuple[tuple[Any, ...], ...] = PEOPLE) -> Path:
    config = shop_config(tmp_path)
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page("main", "customers", [customer(*p[:5]) for p in people], Cursor())
        m.save_page("main", "orders", [order(p[0], p[5], p[6]) for p in people], Cursor())
    return config


def export(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--config", str(config), "customers", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_carries_the_newsletter_flag_where_the_payload_has_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = export(mirror(tmp_path), capsys, "--format", "csv", "--sort", "email")
    assert code == 0 and "no newsletter consent" not in err
    got = {r["customer_id"]: r["newsletter"] for r in rows(out)}
    assert got == {"c1": "True", "c2": "False", "c3": "", "c4": "True"}
    assert {"email", "first_name", "country", "city", "postcode", "revenue"} <= set(rows(out)[0])


def test_consented_only_keeps_the_consenting_customers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = mirror(tmp_path)
    code, out, _ = export(config, capsys, "--consented-only", "--format", "json")
    assert code == 0
    listed = json.loads(out)["main"]
    assert sorted(r["customer_id"] for r in listed) == ["c1", "c4"]
    assert all(r["newsletter"] is True for r in listed)


def test_without_consent_data_the_export_says_so_and_refuses_a_newsletter_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = mirror(tmp_path, tuple((p[0], None, *p[2:]) for p in PEOPLE))
    code, out, err = export(config, capsys, "--format", "csv")
    assert code == 0 and len(rows(out)) == 4
    assert "no newsletter consent data in the mirror for main" in err
    assert all(r["newsletter"] == "" for r in rows(out))
    code, out, err = export(config, capsys, "--consented-only", "--format", "csv")
    assert code == 2 and out == ""
    assert "refusing to make a newsletter list" in err


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("country", ["c2", "c4", "c1", "c3"]),  # AT, CH, DE, DE (stable: by revenue within)
        ("city", ["c3", "c1", "c2", "c4"]),
        ("postcode", ["c2", "c1", "c3", "c4"]),
        ("last_order", ["c2", "c4", "c3", "c1"]),  # most recent first
        ("revenue", ["c1", "c3", "c4", "c2"]),
        ("orders", ["c1", "c3", "c4", "c2"]),  # one order each: stays in revenue order
    ],
)
def test_sortable_by_place_last_order_and_revenue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sort: str, expected: list[str]
) -> None:
    code, out, _ = export(mirror(tmp_path), capsys, "--format", "csv", "--sort", sort)
    assert code == 0
    assert [r["customer_id"] for r in rows(out)] == expected


def test_columns_choose_and_order_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = mirror(tmp_path)
    args = ("--format", "csv", "--sort", "revenue", "--columns", "email,newsletter,city")
    code, out, _ = export(config, capsys, *args)
    assert code == 0
    assert out.splitlines() == [
        "email,newsletter,city",
        "c1@example.org,True,Berlin",
        "c3@example.org,,Aachen",
        "c4@example.org,True,Zürich",
        "c2@example.org,False,Wien",
    ]
    code, out, err = export(config, capsys, "--format", "csv", "--columns", "email,newsleter")
    assert code == 2 and out == ""
    assert "unknown column 'newsleter' (did you mean 'newsletter'?)" in err


def test_segment_export_as_json_with_consent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = mirror(tmp_path)
    assert run(["--config", str(config), "-q", "segment", "--as-of", AS_OF.isoformat()]) == 0
    code, out, _ = export(config, capsys, "--segment", "abc:A", "--format", "json",
                          "--columns", "customer_id,newsletter")  # fmt: skip
    assert code == 0
    listed = json.loads(out)["main"]
    assert listed and {"c1"} <= {r["customer_id"] for r in listed}
    assert all(set(r) == {"customer_id", "newsletter"} for r in listed)
