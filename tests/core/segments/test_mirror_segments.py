"""The segmentation section of the mirror: the SQL summary, identities, purchases, and
stored membership with its history; plus segment_shop and customer_table end to end."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from loyalsync.core.config import LoyaltyConfig, RuleConfig, SegmentationConfig, ShopConfig
from loyalsync.core.mirror import (
    Mirror,
    load_members,
    load_movements,
    load_purchases,
    load_summary,
    save_segments,
)
from loyalsync.core.records import (
    Cursor,
    CustomerRecord,
    OrderItemRecord,
    OrderRecord,
    SlotValue,
    memberships,
)
from loyalsync.core.segments.identity import bought_frame
from loyalsync.sync.segment import customer_table, segment_shop

SHOP = "s1"
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
T0 = AS_OF - timedelta(days=300)


def cust(
    cid: str, email: str | None, *, guest: bool = False, days: int = 0, **kw: object
) -> CustomerRecord:
    base: dict[str, object] = {
        "id": cid,
        "email": email,
        "is_guest": guest,
        "created_at": T0 + timedelta(days=days),
        "first_name": "F",
        "last_name": cid,
        "country": "DE",
        "city": "Berlin",
        "postcode": "10115",
    }
    if "group_id" in kw:
        kw["memberships"] = memberships(groups=str(kw.pop("group_id")))
    base.update(kw)
    return CustomerRecord(**base)  # type: ignore[arg-type]


def order(oid: str, cid: str | None, day: int, gross: float, **kw: object) -> OrderRecord:
    base: dict[str, object] = {
        "id": oid,
        "number": oid,
        "customer_id": cid,
        "email": kw.pop("email", None),
        "placed_at": T0 + timedelta(days=day),
        "status": "completed",
        "is_valid": True,
        "total_gross": gross,
        "total_net": gross / 1.19,
        "currency": "EUR",
        "base_currency_total_gross": gross,
        "base_currency_total_net": round(gross / 1.19, 2),
        "items": kw.pop(
            "items", (OrderItemRecord(1, f"p-{oid}", f"SKU-{oid}", "x", 1, gross, gross),)
        ),
    }
    base.update(kw)
    return OrderRecord(**base)  # type: ignore[arg-type]


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    with Mirror.open(tmp_path / "m.db") as m:
        m.replace_values(
            SHOP, [SlotValue("groups", "g1", "Standard"), SlotValue("groups", "g2", "B2B")]
        )
        customers = [
            cust("reg", "Anna@Example.com", days=10, group_id="g1"),
            cust("g-old", " anna@example.com", guest=True, days=1),
            cust("g-new", "ANNA@EXAMPLE.COM ", guest=True, days=50),
            cust("solo-g1", "bob@example.com", guest=True, days=5, city="Köln"),
            cust("solo-g2", "Bob@Example.com", guest=True, days=80, city="Hamburg"),
            cust("b2b", "shop@firma.de", days=3, group_id="g2", company="Firma GmbH"),
            cust("gone", "gone@example.com", days=4),
            cust("late", "late@example.com", days=299),
            cust("noemail", None, days=7, country="AT", city="Wien", postcode="1010"),
        ]
        orders = [
            order(
                "o1",
                "reg",
                20,
                100.0,
                items=(
                    OrderItemRecord(1, "pA", "A", "a", 1, 50, 50),
                    OrderItemRecord(2, "pB", "B", "b", 1, 50, 50),
                ),
            ),
            order("o2", "g-old", 5, 60.0, items=(OrderItemRecord(1, "pA", "A", "a", 1, 60, 60),)),
            order(
                "o3",
                "g-new",
                55,
                40.0,
                base_currency_refunded=10.0,
                items=(OrderItemRecord(1, "pC", "C", "c", 1, 40, 40),),
            ),
            order(
                "o4",
                None,
                90,
                30.0,
                email="anna@example.com",
                items=(OrderItemRecord(1, "pD", "D", "d", 1, 30, 30),),
            ),
            order("o5", "reg", 95, 500.0, is_valid=False, status="cancelled"),
            order("o6", "solo-g1", 6, 20.0),
            order(
                "o7",
                "solo-g2",
                81,
                25.0,
                currency="CHF",
                total_gross=23.5,
                base_currency_total_gross=25.0,
            ),
            order("o8", "b2b", 30, 1000.0),
            order("o9", "gone", 40, 70.0),
            order("o10", "reg", 400, 80.0),  # after as_of
            order("o11", "noemail", 100, 15.0),
        ]
        m.save_page(SHOP, "customers", customers, Cursor())
        m.save_page(SHOP, "orders", orders, Cursor())
        m.mark_deleted(SHOP, {c.id for c in customers} - {"gone"}, AS_OF)
        yield m


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("customer_id")


def test_summary_merges_guests_and_accounts_by_email(mirror: Mirror) -> None:
    raw = by_id(load_summary(mirror, SHOP, AS_OF, SegmentationConfig()))
    assert "gone" not in raw.index  # deleted customers are not segmented
    anna = raw.loc["reg"]  # the registered row represents the identity
    assert anna["identity"] == "e:anna@example.com"
    assert anna["identity_size"] == 3
    assert anna["orders"] == 4  # o1, o2, o3, o4; o5 was cancelled
    assert anna["revenue"] == pytest.approx(100 + 60 + 30 + 30)  # refund 10 off o3
    assert anna["first_order_at"] == T0 + timedelta(days=5)
    assert anna["last_order_at"] == T0 + timedelta(days=90)
    assert anna["created_at"] == T0 + timedelta(days=1)  # the earliest of the merged rows
    assert "g-old" not in raw.index and "g-new" not in raw.index
    bob = raw.loc["solo-g2"]  # only guests: the most recent guest row
    assert bob["identity_size"] == 2 and bob["orders"] == 2 and bob["city"] == "Hamburg"
    assert bob["revenue"] == 45.0  # the CHF order counts in the base currency
    assert raw.loc["b2b", "group_name"] == "B2B"
    assert raw.loc["late", "orders"] == 0
    assert raw.loc["noemail", "identity"] == "c:noemail"


def test_summary_without_merging_keeps_rows_apart(mirror: Mirror) -> None:
    raw = by_id(load_summary(mirror, SHOP, AS_OF, SegmentationConfig(merge_guests_by_email=False)))
    assert {"reg", "g-old", "g-new", "solo-g1", "solo-g2"} <= set(raw.index)
    assert raw.loc["reg", "orders"] == 1  # o4 has no customer row: nobody to give it to
    assert raw.loc["g-new", "revenue"] == 30.0


def test_net_revenue_loses_the_refunded_share(mirror: Mirror) -> None:
    raw = by_id(load_summary(mirror, SHOP, AS_OF, SegmentationConfig(revenue="net")))
    net = (
        round(100 / 1.19, 2)
        + round(60 / 1.19, 2)
        + round(40 / 1.19, 2) * 0.75
        + round(30 / 1.19, 2)
    )
    assert raw.loc["reg", "revenue"] == pytest.approx(net)


def test_as_of_cuts_orders_and_distinct_products_are_exact(mirror: Mirror) -> None:
    later = AS_OF + timedelta(days=200)
    raw = by_id(load_summary(mirror, SHOP, later, SegmentationConfig(), products=True))
    assert raw.loc["reg", "orders"] == 5  # o10 now counts
    assert raw.loc["reg", "distinct_products"] == 5  # A, B, C, D, p-o10 (A bought twice)
    early = by_id(load_summary(mirror, SHOP, T0 + timedelta(days=10), SegmentationConfig()))
    assert early.loc["reg", "orders"] == 1
    assert early.loc["reg", "distinct_products"] == 0  # not counted unless asked


def test_purchases_map_to_identities(mirror: Mirror) -> None:
    rows = load_purchases(mirror, SHOP, ["D", "pC", "SKU-o8"], AS_OF)
    bought = bought_frame(rows, ("D", "pC", "SKU-o8"), merge=True)
    assert sorted(map(tuple, bought.to_numpy())) == [
        ("e:anna@example.com", "D"),
        ("e:anna@example.com", "pC"),
        ("e:shop@firma.de", "SKU-o8"),
    ]


def test_save_segments_writes_changes_and_history(mirror: Mirror) -> None:
    day1, day2 = AS_OF, AS_OF + timedelta(days=1)
    first = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "segment": ["abc:A", "loyalty:vip", "abc:C"],
            "family": ["abc", "loyalty", "abc"],
        }
    )
    assert save_segments(mirror, SHOP, first, day1, run_id=7) == {
        "entered": 3,
        "exited": 0,
        "members": 3,
        "customers": 2,
    }
    unchanged = save_segments(mirror, SHOP, first, day2)
    assert unchanged == {"entered": 0, "exited": 0, "members": 3, "customers": 0}
    second = pd.DataFrame(
        {
            "customer_id": ["a", "a", "c"],
            "segment": ["abc:B", "loyalty:vip", "abc:A"],
            "family": ["abc", "loyalty", "abc"],
        }
    )
    assert save_segments(mirror, SHOP, second, day2, run_id=8) == {
        "entered": 2,
        "exited": 2,
        "members": 3,
        "customers": 3,
    }
    changes = mirror.frame(
        "SELECT customer_id, run_id, entered, exited FROM segment_changes ORDER BY rowid"
    )  # one row per customer and run, its segments in name order
    assert changes.values.tolist() == [
        ["a", 7, '["abc:A","loyalty:vip"]', "[]"],
        ["b", 7, '["abc:C"]', "[]"],
        ["a", 8, '["abc:B"]', '["abc:A"]'],
        ["b", 8, "[]", '["abc:C"]'],
        ["c", 8, '["abc:A"]', "[]"],
    ]
    history = mirror.frame(
        "SELECT customer_id, segment, event, at, run_id FROM segment_history "
        "ORDER BY at, event, customer_id, segment"
    )
    events = [(r.customer_id, r.segment, r.event, r.run_id) for r in history.itertuples()]
    assert events == [
        ("a", "abc:A", "enter", 7),
        ("a", "loyalty:vip", "enter", 7),
        ("b", "abc:C", "enter", 7),
        ("a", "abc:B", "enter", 8),
        ("c", "abc:A", "enter", 8),
        ("a", "abc:A", "exit", 8),
        ("b", "abc:C", "exit", 8),
    ]
    moves = load_movements(mirror, SHOP, day1)  # an exit and an entry of one family, one run
    assert moves.values.tolist() == [["abc:A", "abc:B", 1]]
    assert load_movements(mirror, SHOP, day2 + timedelta(seconds=1)).empty
    members = load_members(mirror, SHOP)
    assert members[["customer_id", "segment"]].values.tolist() == [
        ["a", "abc:B"],
        ["a", "loyalty:vip"],
        ["c", "abc:A"],
    ]
    vip = members.set_index("segment").loc["loyalty:vip"]
    assert vip["since"].startswith("2026-06-01")  # entered on day 1, unchanged since
    assert load_members(mirror, SHOP, family="loyalty")["segment"].tolist() == ["loyalty:vip"]
    assert load_members(mirror, SHOP, segment="abc:A")["customer_id"].tolist() == ["c"]
    assert save_segments(mirror, SHOP, second.iloc[:0], day2)["exited"] == 3


def test_a_failing_save_writes_nothing_and_the_next_one_succeeds(mirror: Mirror) -> None:
    """The database refuses the last write of a save (as a full disk would): membership and
    history stay as they were, and the same save succeeds once the database accepts it."""
    first = pd.DataFrame({"customer_id": ["a"], "segment": ["abc:A"], "family": ["abc"]})
    save_segments(mirror, SHOP, first, AS_OF, run_id=1)
    second = pd.DataFrame(
        {"customer_id": ["a", "b"], "segment": ["abc:B", "abc:C"], "family": ["abc", "abc"]}
    )
    mirror.conn.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON segment_changes "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    with pytest.raises(sqlite3.DatabaseError, match="disk is full"):
        save_segments(mirror, SHOP, second, AS_OF + timedelta(days=1), run_id=2)
    assert load_members(mirror, SHOP)[["customer_id", "segment"]].values.tolist() == [
        ["a", "abc:A"]
    ]
    assert mirror.frame("SELECT run_id FROM segment_changes")["run_id"].tolist() == [1]
    mirror.conn.execute("DROP TRIGGER refuse")
    counts = save_segments(mirror, SHOP, second, AS_OF + timedelta(days=1), run_id=2)
    assert (counts["entered"], counts["exited"]) == (2, 1)
    assert load_members(mirror, SHOP)["segment"].tolist() == ["abc:B", "abc:C"]


SHOP_CFG = ShopConfig(name=SHOP, platform="shopware", url="https://x", protected_groups=("B2B",))


def test_segment_shop_end_to_end(mirror: Mirror) -> None:
    cfg = SegmentationConfig(
        rules=(
            RuleConfig("bought_d", {"bought": ["D"]}),
            RuleConfig("many", "distinct_products >= 4"),
        )
    )
    result = segment_shop(mirror, SHOP_CFG, cfg, AS_OF, run_id=1)
    assert result.excluded_protected == 1
    assert result.customers == 4  # anna, bob, late, noemail
    assert "b2b" not in set(result.members["customer_id"])
    anna = set(result.members.loc[result.members["customer_id"] == "reg", "segment"].astype(str))
    assert {"rule:bought_d", "rule:many", "country:DE", "city:Berlin"} <= anna
    stored = load_members(mirror, SHOP)
    assert not stored["family"].isin(["country", "city", "postcode"]).any()
    assert result.entered == len(stored) and result.exited == 0
    assert set(result.timings) == {"load", "predict", "build", "save"}
    again = segment_shop(mirror, SHOP_CFG, cfg, AS_OF, run_id=2)
    assert (again.entered, again.exited) == (0, 0)
    assert json.loads(json.dumps(result.to_dict()))["customers"] == 4
    sizes = result.to_dict()["segments"]
    assert {"segment": "abc:A", "family": "abc"}.items() <= sizes[0].items()


def test_loyalty_hysteresis_reads_the_stored_tier(mirror: Mirror) -> None:
    cfg = SegmentationConfig(
        loyalty=LoyaltyConfig(vip_top_revenue_share=0.0, frequent_min_orders=3.5, hysteresis=0.2)
    )
    save_segments(
        mirror,
        SHOP,
        pd.DataFrame(
            {"customer_id": ["reg"], "segment": ["loyalty:frequent"], "family": ["loyalty"]}
        ),
        AS_OF,
    )
    result = segment_shop(mirror, SHOP_CFG, cfg, AS_OF)
    tier = result.members[
        (result.members["customer_id"] == "reg") & (result.members["family"] == "loyalty")
    ]
    assert tier["segment"].astype(str).tolist() == ["loyalty:frequent"]  # 4 > 3.5: frequent anyway
    cfg_hi = SegmentationConfig(
        loyalty=LoyaltyConfig(vip_top_revenue_share=0.0, frequent_min_orders=4.5, hysteresis=0.2)
    )
    held = segment_shop(mirror, SHOP_CFG, cfg_hi, AS_OF + timedelta(days=1))
    tier = held.members[
        (held.members["customer_id"] == "reg") & (held.members["family"] == "loyalty")
    ]
    assert tier["segment"].astype(str).tolist() == ["loyalty:frequent"]  # 4 > 4.5 * 0.8 holds
    dropped = segment_shop(
        mirror,
        SHOP_CFG,
        SegmentationConfig(
            loyalty=LoyaltyConfig(vip_top_revenue_share=0.0, frequent_min_orders=6, hysteresis=0.2)
        ),
        AS_OF + timedelta(days=2),
    )
    tier = dropped.members[
        (dropped.members["customer_id"] == "reg") & (dropped.members["family"] == "loyalty")
    ]
    assert tier["segment"].astype(str).tolist() == ["loyalty:loyal"]  # 4 <= 6 * 0.8: leaves


def test_customer_table_ranks_filters_and_sorts(mirror: Mirror) -> None:
    table = customer_table(mirror, SHOP_CFG, top=2, by="revenue", as_of=AS_OF)
    assert table["customer_id"].tolist() == ["reg", "solo-g2"]
    assert list(table.columns) == [
        "customer_id",
        "number",
        "email",
        "first_name",
        "last_name",
        "company",
        "country",
        "city",
        "postcode",
        "orders",
        "revenue",
        "last_order_at",
    ]
    by_orders = customer_table(mirror, SHOP_CFG, by="orders", sort="city", as_of=AS_OF)
    assert by_orders["city"].tolist() == ["Berlin", "Berlin", "Hamburg", "Wien"]
    wien = customer_table(mirror, SHOP_CFG, segment="city:Wien", as_of=AS_OF)
    assert wien["customer_id"].tolist() == ["noemail"]
    segment_shop(mirror, SHOP_CFG, SegmentationConfig(), AS_OF)
    ones = customer_table(mirror, SHOP_CFG, segment="loyalty:one_time", as_of=AS_OF)
    assert ones["customer_id"].tolist() == ["noemail"]
    with_b2b = customer_table(mirror, "s1", top=1, as_of=AS_OF)
    assert with_b2b["customer_id"].tolist() == ["b2b"]  # a bare shop name protects nobody
    with pytest.raises(ValueError, match="--by must be one of revenue, orders"):
        customer_table(mirror, SHOP_CFG, by="email")


def test_an_empty_shop_segments_to_nothing(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "empty.db") as m:
        result = segment_shop(m, SHOP_CFG, SegmentationConfig(), AS_OF)
        assert (result.customers, len(result.members), len(result.sizes)) == (0, 0, 0)
        assert customer_table(m, SHOP_CFG, top=5, as_of=AS_OF).empty


def test_top_n_breaks_ties_by_the_other_measure_then_id(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "ties.db") as m:
        m.save_page(SHOP, "customers", [cust(c, f"{c}@x.de") for c in ("z", "y", "x")], Cursor())
        orders = [order("o1", "z", 10, 50.0), order("o2", "y", 10, 25.0),
                  order("o3", "y", 20, 25.0), order("o4", "x", 10, 50.0)]  # fmt: skip
        m.save_page(SHOP, "orders", orders, Cursor())
        top = customer_table(m, SHOP_CFG, top=1, as_of=AS_OF)
        assert top["customer_id"].tolist() == ["y"]  # 50 like the others, but two orders
        top2 = customer_table(m, SHOP_CFG, top=2, as_of=AS_OF)
        assert top2["customer_id"].tolist() == ["y", "x"]  # x before z on the id
