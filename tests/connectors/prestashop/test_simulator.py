"""The PrestaShop simulator behaves like the webservice the research notes describe, over real
sockets (research/prestashop.md §1-§4): auth, permissions, output formats, list quirks, PUT
replace semantics, PATCH per version, the 9.x secure_key rule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from loyalsync.connectors.prestashop.simulator import DEFAULT_KEY, Faults, PrestaShopSimulator
from loyalsync.core.synth import SynthSpec

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
AUTH = (DEFAULT_KEY, "")
JSON = {"Output-Format": "JSON"}


def _sim(version: str) -> PrestaShopSimulator:
    spec = SynthSpec(customers=40, seed=3, as_of=AS_OF)
    return PrestaShopSimulator.from_spec(spec, version=version, clock=lambda: AS_OF)


@pytest.fixture
def sim() -> Iterator[PrestaShopSimulator]:
    with _sim("8.1") as started:
        yield started


def test_auth_basic_and_ws_key_and_the_plain_401(sim: PrestaShopSimulator) -> None:
    bare = requests.get(timeout=10, url=f"{sim.url}/api/customers")
    assert bare.status_code == 401 and bare.text == "401 Unauthorized"
    assert "WWW-Authenticate" in bare.headers
    assert requests.get(timeout=10, url=f"{sim.url}/api/customers", auth=AUTH).status_code == 200
    by_param = requests.get(
        timeout=10, url=f"{sim.url}/api/customers", params={"ws_key": DEFAULT_KEY}
    )
    assert by_param.status_code == 200
    short = requests.get(
        timeout=10, url=f"{sim.url}/api/customers", auth=("short", ""), headers=JSON
    )
    assert short.status_code == 401 and short.json()["errors"][0]["code"] == 18


def test_a_resource_the_key_may_not_use_is_401_code_26(sim: PrestaShopSimulator) -> None:
    sim.set_permissions({"customers": {"GET", "HEAD"}})
    answer = requests.get(timeout=10, url=f"{sim.url}/api/orders", auth=AUTH, headers=JSON)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == 26
    put = requests.put(
        timeout=10, url=f"{sim.url}/api/customers/2", auth=AUTH, data=b"<prestashop/>"
    )
    assert put.status_code == 405


def test_list_shapes_empty_list_and_date_rule(sim: PrestaShopSimulator) -> None:
    ids = requests.get(timeout=10, url=f"{sim.url}/api/customers", auth=AUTH, headers=JSON).json()
    assert all(set(r) == {"id"} and isinstance(r["id"], int) for r in ids["customers"])
    none = requests.get(
        timeout=10,
        url=f"{sim.url}/api/customers",
        auth=AUTH,
        headers=JSON,
        params={"filter[id]": "[99999]"},
    )
    assert none.text == "[]"
    undated = {"filter[date_upd]": "[2020-01-01 00:00:00,2030-01-01 00:00:00]"}
    refused = requests.get(
        timeout=10, url=f"{sim.url}/api/customers", auth=AUTH, headers=JSON, params=undated
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == 32
    dated = requests.get(
        timeout=10,
        url=f"{sim.url}/api/customers",
        auth=AUTH,
        headers=JSON,
        params={**undated, "date": "1", "display": "[id,date_upd]", "sort": "[id_ASC]"},
    )
    rows = dated.json()["customers"]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    page = requests.get(
        timeout=10,
        url=f"{sim.url}/api/customers",
        auth=AUTH,
        headers=JSON,
        params={"sort": "[id_ASC]", "limit": "5,3"},
    ).json()["customers"]
    assert [r["id"] for r in page] == [r["id"] for r in rows[5:8]]


def test_single_record_json_shapes_and_404(sim: PrestaShopSimulator) -> None:
    single = requests.get(
        timeout=10, url=f"{sim.url}/api/customers/2", auth=AUTH, headers=JSON
    ).json()
    assert single["customer"]["id"] == 2 and isinstance(single["customer"]["id_lang"], str)
    listed = requests.get(
        timeout=10,
        url=f"{sim.url}/api/customers/2",
        auth=AUTH,
        headers=JSON,
        params={"display": "full"},
    ).json()
    assert listed["customers"][0]["id"] == 2  # the list wrapper quirk
    missing = requests.get(
        timeout=10, url=f"{sim.url}/api/customers/99999", auth=AUTH, headers=JSON
    )
    assert missing.status_code == 404 and missing.content == b""
    assert missing.headers["PSWS-Version"].startswith("8.1")


def _customer_xml(sim: PrestaShopSimulator, cid: int) -> str:
    return requests.get(timeout=10, url=f"{sim.url}/api/customers/{cid}", auth=AUTH).text


def test_put_replaces_the_whole_record(sim: PrestaShopSimulator) -> None:
    body = (
        "<prestashop><customer><id>2</id><passwd>x</passwd><lastname>L</lastname>"
        "<firstname>F</firstname><email>f@example.com</email></customer></prestashop>"
    )
    answer = requests.put(
        timeout=10, url=f"{sim.url}/api/customers/2", auth=AUTH, data=body.encode()
    )
    assert answer.status_code == 200
    row = sim.table("customers")[2]
    assert row["birthday"] == "" and row["secure_key"] == "", "omitted fields are wiped"
    assert row["passwd"] != "x", "a new password is hashed"
    missing = body.replace("<passwd>x</passwd>", "")
    refused = requests.put(
        timeout=10, url=f"{sim.url}/api/customers/2", auth=AUTH, data=missing.encode()
    )
    assert refused.status_code == 400 and "<![CDATA[41]]>" in refused.text


def test_patch_is_405_on_17_and_secure_key_is_not_writable_on_9() -> None:
    patch = b"<prestashop><customer><id>2</id><note>n</note></customer></prestashop>"
    with _sim("1.7.8") as old:
        answer = requests.patch(
            timeout=10, url=f"{old.url}/api/customers/2", auth=AUTH, data=patch, headers=JSON
        )
        assert answer.status_code == 405 and answer.json()["errors"][0]["code"] == 23
    with _sim("9.0") as new:
        assert requests.patch(
            timeout=10, url=f"{new.url}/api/customers/2", auth=AUTH, data=patch
        ).ok
        assert new.table("customers")[2]["note"] == "n"
        key = b"<prestashop><customer><id>2</id><secure_key>k</secure_key></customer></prestashop>"
        refused = requests.patch(timeout=10, url=f"{new.url}/api/customers/2", auth=AUTH, data=key)
        assert refused.status_code == 400 and "<![CDATA[93]]>" in refused.text
        assert [w["method"] for w in new.write_log] == ["PATCH"]


def test_cart_rule_validation_and_post_rules(sim: PrestaShopSimulator) -> None:
    def rule(percent: str, rid: str = "") -> bytes:
        return (
            f"<prestashop><cart_rule><id>{rid}</id><date_from>2026-01-01 00:00:00</date_from>"
            "<date_to>2026-02-01 00:00:00</date_to><code>AB-1</code>"
            f"<reduction_percent>{percent}</reduction_percent>"
            '<name><language id="1">x</language><language id="2">x</language></name>'
            "</cart_rule></prestashop>"
        ).encode()

    created = requests.post(
        timeout=10, url=f"{sim.url}/api/cart_rules", auth=AUTH, data=rule("10"), headers=JSON
    )
    assert created.status_code == 201 and created.json()["cart_rule"]["code"] == "AB-1"
    bad = requests.post(timeout=10, url=f"{sim.url}/api/cart_rules", auth=AUTH, data=rule("150"))
    assert bad.status_code == 400 and "<![CDATA[85]]>" in bad.text
    with_id = requests.post(
        timeout=10, url=f"{sim.url}/api/cart_rules", auth=AUTH, data=rule("10", "5")
    )
    assert with_id.status_code == 400 and "<![CDATA[91]]>" in with_id.text
    found = requests.get(
        timeout=10,
        url=f"{sim.url}/api/cart_rules",
        auth=AUTH,
        headers=JSON,
        params={"filter[code]": "[AB-1]", "display": "[id]"},
    )
    assert len(found.json()["cart_rules"]) == 1


def test_schema_blank_and_the_php_warning_prefix(sim: PrestaShopSimulator) -> None:
    blank = requests.get(
        timeout=10, url=f"{sim.url}/api/groups", auth=AUTH, params={"schema": "blank"}
    )
    assert '<name><language id="1"></language>' in blank.text
    wrong = requests.get(timeout=10, url=f"{sim.url}/api/groups", auth=AUTH, params={"schema": "x"})
    assert wrong.status_code == 400
    sim.php_warnings = True
    noisy = requests.get(timeout=10, url=f"{sim.url}/api/groups", auth=AUTH, headers=JSON)
    assert noisy.headers["Content-Type"] == "application/javascript"
    assert json.loads(noisy.text[noisy.text.index("{") :])["groups"]


def test_id_sorted_pages_match_the_table(sim: PrestaShopSimulator) -> None:
    params = {
        "filter[id]": "[10,2147483647]",
        "filter[is_guest]": "[0]",
        "sort": "[id_ASC]",
        "limit": "5,7",
        "display": "[id]",
    }
    got = requests.get(
        timeout=10, url=f"{sim.url}/api/customers", auth=AUTH, headers=JSON, params=params
    )
    rows = sim.table("customers")
    wanted = sorted(i for i, r in rows.items() if i >= 10 and r["is_guest"] == "0")[5:12]
    assert [r["id"] for r in got.json()["customers"]] == wanted


@pytest.mark.parametrize(
    ("resource", "params", "index"),
    [
        (
            "orders",
            {"display": "full", "sort": "[id_ASC]", "limit": "9", "filter[id]": "[5,99]"},
            "id",
        ),
        ("customers", {"display": "[id]", "sort": "[id_ASC]", "limit": "3,4"}, "id"),
        (
            "addresses",
            {"display": "[id,id_customer,city]", "filter[id_customer]": "[12,4]"},
            "id_customer",
        ),
        ("orders", {"display": "[id,id_customer]", "filter[id_customer]": "[7,9]"}, "id_customer"),
        (
            "order_cart_rules",
            {"display": "full", "filter[id_order]": "[3,999]", "sort": "[id_order_ASC,id_ASC]"},
            None,
        ),
        ("orders", {"display": "[id]", "date": "1", "sort": "[date_upd_DESC]", "limit": "2"}, None),
    ],
)
def test_the_benchmark_indexes_answer_like_a_scan(
    sim: PrestaShopSimulator, resource: str, params: dict[str, str], index: str | None
) -> None:
    """`cache_lists()` (benchmarks) answers from sorted indexes kept between requests: the
    same rows as scanning the table (in index order where the request has no sort)."""

    def ask() -> list[dict[str, str]]:
        answer = requests.get(
            f"{sim.url}/api/{resource}", auth=AUTH, headers=JSON, params=params, timeout=10
        )
        assert answer.status_code == 200
        rows = answer.json()[resource] if answer.json() else []
        return rows if "sort" in params else sorted(rows, key=lambda r: int(r["id"]))

    scanned = ask()
    sim.cache_lists()
    assert ask() == scanned and ask() == scanned and scanned
    used = {k[2] for k in sim.api.list_cache or {} if k[0] == "index"}
    assert used == ({index} if index else set())


def test_a_late_500_is_a_write_made_and_writes_only_spares_reads(
    sim: PrestaShopSimulator,
) -> None:
    """`late_server_error`: the shop saved, then PHP failed (a 500 page); `writes_only`:
    every read answers."""
    sim.set_faults(Faults(late_server_error=1.0, writes_only=True))
    group = (
        b"<prestashop><group><id></id><reduction>0</reduction><price_display_method>0"
        b"</price_display_method><show_prices>1</show_prices>"
        b'<name><language id="1">Late</language><language id="2">Late</language></name>'
        b"</group></prestashop>"
    )
    before = len(sim.table("groups"))
    answer = requests.post(timeout=10, url=f"{sim.url}/api/groups", auth=AUTH, data=group)
    assert answer.status_code == 500 and "text/html" in answer.headers["Content-Type"]
    assert len(sim.table("groups")) == before + 1  # made nonetheless
    read = requests.get(timeout=10, url=f"{sim.url}/api/groups", auth=AUTH, headers=JSON)
    assert read.status_code == 200


def test_bad_rows_are_served_once_where_asked(sim: PrestaShopSimulator) -> None:
    def page(display: str = "full") -> list[object]:
        params = {"display": display, "sort": "[id_ASC]", "limit": "5"}
        answer = requests.get(
            timeout=10, url=f"{sim.url}/api/customers", auth=AUTH, headers=JSON, params=params
        )
        return list(answer.json()["customers"])

    clean = page()
    sim.serve_bad_rows("customers", [None, "x"], at=1, copies=2, copy_of=3)
    sim.serve_bad_rows("customers", [7], display="[id]")
    assert page("[id,email]") == [{"id": r["id"], "email": r["email"]} for r in clean]  # type: ignore[index]
    served = page()
    assert served == [clean[0], None, "x", *clean[1:4], clean[3], clean[3], clean[4]]
    assert page() == clean  # once
    assert page("[id]") == [{"id": r["id"]} for r in clean] + [7]  # type: ignore[index]
