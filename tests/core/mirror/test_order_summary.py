"""The kept per-customer order summary equals a fresh aggregate of the orders, after random
pulls (new and changed orders), cancellations, customers moved, deletions and anonymisation;
and segmentation reads the same figures from it as from the live aggregate."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from loyalsync.core.config import SegmentationConfig
from loyalsync.core.mirror import Mirror, load_summary
from loyalsync.core.mirror.order_summary import (
    forget_order_summary,
    read_signatures,
    refresh_order_summary,
    signatures_kept,
    summary_answers,
)
from loyalsync.core.records import Cursor, OrderRecord
from loyalsync.core.synth import SynthSpec, generate_shop

SHOP = "sum"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def fresh_aggregate(mirror: Mirror) -> pd.DataFrame:
    """Independent of the SQL under test: every valid order summed in pandas."""
    orders = mirror.frame(
        "SELECT customer_id, placed_at, is_valid, base_currency_total_gross AS g, "
        "base_currency_total_net AS n, base_currency_refunded AS r FROM orders "
        "WHERE shop = ? AND customer_id IS NOT NULL",
        (SHOP,),
    )
    valid = orders[orders["is_valid"] == 1].copy()
    valid["gross"] = (valid["g"] - valid["r"]).clip(lower=0)
    share = (1 - valid["r"] / valid["g"].where(valid["g"] > 0)).fillna(0)
    net = (valid["n"] * share).where(valid["g"] > 0, valid["n"] - valid["r"])
    valid["net"] = net.clip(lower=0)
    out = valid.groupby("customer_id").agg(
        orders=("placed_at", "size"),
        revenue_gross=("gross", "sum"),
        revenue_net=("net", "sum"),
        first_order_at=("placed_at", "min"),
        last_order_at=("placed_at", "max"),
    )
    return out.sort_index()


def kept(mirror: Mirror) -> pd.DataFrame:
    frame = mirror.frame(
        "SELECT customer_id, orders, revenue_gross, revenue_net, first_order_at, last_order_at "
        "FROM order_summary WHERE shop = ?",
        (SHOP,),
    )
    return frame.set_index("customer_id").sort_index()


def assert_equal(mirror: Mirror) -> None:
    pd.testing.assert_frame_equal(kept(mirror), fresh_aggregate(mirror), check_dtype=False)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    shop = generate_shop(SynthSpec(customers=150, seed=4, as_of=AS_OF))
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page(SHOP, "customers", shop.customers, Cursor())
        m.save_page(SHOP, "orders", shop.orders, Cursor())
        yield m


def mutate(mirror: Mirror, rng: random.Random, round_: int) -> None:
    """One pull's worth of changes, saved the way pulls save them."""
    orders = _orders(mirror)
    customers = sorted({o.customer_id for o in orders if o.customer_id})
    changed: list[OrderRecord] = []
    for order in rng.sample(orders, 12):
        kind = rng.choice(["cancel", "amount", "move", "refund", "reopen", "guest"])
        if kind == "cancel":
            changed.append(replace(order, is_valid=False, status="cancelled"))
        elif kind == "reopen":
            changed.append(replace(order, is_valid=True, status="open"))
        elif kind == "amount":
            total = round(rng.uniform(5, 400), 2)
            changed.append(replace(order, base_currency_total_gross=total,
                                   base_currency_total_net=round(total / 1.19, 2)))  # fmt: skip
        elif kind == "refund":
            changed.append(replace(order, base_currency_refunded=order.base_currency_total_gross))
        elif kind == "move":
            changed.append(replace(order, customer_id=rng.choice(customers)))
        else:
            changed.append(replace(order, customer_id=None))
    for n in range(4):  # new orders
        base = rng.choice(orders)
        placed = AS_OF - timedelta(days=rng.randint(0, 30))
        changed.append(replace(base, id=f"new-{round_}-{n}", placed_at=placed, is_valid=True))
    mirror.save_page(SHOP, "orders", changed, Cursor())


def _orders(mirror: Mirror) -> list[OrderRecord]:
    frame = mirror.frame(
        "SELECT id, number, customer_id, email, placed_at, status, is_valid, total_gross, "
        "total_net, currency, base_currency_total_gross, base_currency_total_net, "
        "base_currency_refunded FROM orders WHERE shop = ? ORDER BY id",
        (SHOP,),
    )
    out = []
    for row in frame.itertuples(index=False):
        out.append(
            OrderRecord(
                id=row.id, number=row.number, customer_id=_text(row.customer_id),
                email=_text(row.email),
                placed_at=datetime.fromisoformat(row.placed_at.replace("Z", "+00:00")),
                status=row.status, is_valid=bool(row.is_valid), total_gross=row.total_gross,
                total_net=row.total_net, currency=row.currency,
                base_currency_total_gross=row.base_currency_total_gross,
                base_currency_total_net=row.base_currency_total_net,
                base_currency_refunded=row.base_currency_refunded,
            )
        )  # fmt: skip
    return out


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def test_kept_summary_equals_a_fresh_aggregate_through_random_changes(mirror: Mirror) -> None:
    assert not summary_answers(mirror, SHOP, AS_OF)  # never built: live aggregate
    assert refresh_order_summary(mirror, SHOP) == len(fresh_aggregate(mirror))
    assert_equal(mirror)
    assert summary_answers(mirror, SHOP, AS_OF)
    rng = random.Random(20261207)
    for round_ in range(6):
        mutate(mirror, rng, round_)
        assert not summary_answers(mirror, SHOP, AS_OF), "changes pending: not usable"
        if round_ == 3:  # deletions: the scan anonymises customers, their orders stay
            live = set(mirror.frame("SELECT id FROM customers", ())["id"])
            gone = set(rng.sample(sorted(live), 10))
            mirror.mark_deleted(SHOP, live - gone, AS_OF)
            with mirror.transaction() as conn:  # and a row removed outright
                first = "SELECT MIN(id) FROM orders WHERE customer_id IS NOT NULL"
                conn.execute(f"DELETE FROM orders WHERE shop = ? AND id = ({first})", (SHOP,))
        refreshed = refresh_order_summary(mirror, SHOP)
        assert 0 < refreshed < len(fresh_aggregate(mirror)) / 2, "only the changed customers"
        assert_equal(mirror)
        assert refresh_order_summary(mirror, SHOP) == 0


def test_segmentation_reads_the_same_figures_from_the_summary(mirror: Mirror) -> None:
    cfg = SegmentationConfig()
    live = load_summary(mirror, SHOP, AS_OF, cfg, contacts=False)
    from_kept = load_summary(mirror, SHOP, AS_OF, cfg, contacts=False, refresh=True)
    assert summary_answers(mirror, SHOP, AS_OF)
    columns = ["customer_id", "orders", "revenue", "first_order_at", "last_order_at"]
    pd.testing.assert_frame_equal(
        from_kept[columns].sort_values("customer_id").reset_index(drop=True),
        live[columns].sort_values("customer_id").reset_index(drop=True),
        check_dtype=False,
    )
    net = SegmentationConfig(revenue="net")
    pd.testing.assert_series_equal(
        load_summary(mirror, SHOP, AS_OF, net, contacts=False)["revenue"],
        (forget_order_summary(mirror, SHOP), load_summary(mirror, SHOP, AS_OF, net))[1]["revenue"],
    )


def test_an_earlier_as_of_is_aggregated_live(mirror: Mirror) -> None:
    refresh_order_summary(mirror, SHOP)
    earlier = AS_OF - timedelta(days=200)
    assert not summary_answers(mirror, SHOP, earlier)
    cfg = SegmentationConfig()
    then = load_summary(mirror, SHOP, earlier, cfg, contacts=False)
    now = load_summary(mirror, SHOP, AS_OF, cfg, contacts=False)
    assert then["orders"].sum() < now["orders"].sum()


def live_signatures(mirror: Mirror) -> pd.DataFrame:
    frame = mirror.frame(
        "SELECT customer_id, group_concat(segment, char(31)) AS signature FROM "
        "(SELECT customer_id, segment FROM segment_members WHERE shop = ? "
        "ORDER BY customer_id, segment) GROUP BY customer_id",
        (SHOP,),
    )
    return frame.sort_values("customer_id").reset_index(drop=True)


def test_kept_signatures_follow_every_membership_change(mirror: Mirror) -> None:
    from loyalsync.core.config import ShopConfig
    from loyalsync.core.mirror import load_signatures
    from loyalsync.sync.segment import segment_shop

    shop = ShopConfig(name=SHOP, platform="shopware", url="https://sum.example")
    cfg = SegmentationConfig()
    rng = random.Random(5)
    for day in range(4):
        segment_shop(mirror, shop, cfg, AS_OF + timedelta(days=30 * day))
        # the save wrote the changed customers' signatures itself: the table is exact
        pd.testing.assert_frame_equal(table_signatures(mirror), live_signatures(mirror))
        assert signatures_kept(mirror, SHOP)
        kept_now = load_signatures(mirror, SHOP).sort_values("customer_id")
        pd.testing.assert_frame_equal(kept_now.reset_index(drop=True), live_signatures(mirror))
        mutate(mirror, rng, day)
        with mirror.transaction() as conn:  # membership removed by another path (a deletion)
            conn.execute(
                "DELETE FROM segment_members WHERE shop = ? AND customer_id = "
                "(SELECT MIN(customer_id) FROM segment_members WHERE shop = ?)",
                (SHOP, SHOP),
            )
        # pending changes: read live until a writer refreshes
        stale = load_signatures(mirror, SHOP).sort_values("customer_id")
        pd.testing.assert_frame_equal(stale.reset_index(drop=True), live_signatures(mirror))
        fresh = load_signatures(mirror, SHOP, refresh=True).sort_values("customer_id")
        pd.testing.assert_frame_equal(fresh.reset_index(drop=True), live_signatures(mirror))
    segment_shop(mirror, shop, cfg, AS_OF + timedelta(days=90))  # takes in the last changes
    again = segment_shop(mirror, shop, cfg, AS_OF + timedelta(days=90))
    assert again.entered == 0 and again.exited == 0  # a rerun writes nothing
    pd.testing.assert_frame_equal(table_signatures(mirror), live_signatures(mirror))


def test_a_save_with_changes_of_other_paths_pending_leaves_exact_signatures(
    mirror: Mirror,
) -> None:
    """Membership deleted by another path (the triggers note it) and then a save that reads
    the signatures without refreshing: afterwards the kept signatures are exact."""
    from loyalsync.core.config import ShopConfig
    from loyalsync.core.mirror import save_segments
    from loyalsync.sync.segment import segment_shop

    shop = ShopConfig(name=SHOP, platform="shopware", url="https://sum.example")
    cfg = SegmentationConfig()
    first = segment_shop(mirror, shop, cfg, AS_OF)
    with mirror.transaction() as conn:
        conn.execute(
            "DELETE FROM segment_members WHERE shop = ? AND customer_id IN "
            "(SELECT DISTINCT customer_id FROM segment_members WHERE shop = ? LIMIT 3)",
            (SHOP, SHOP),
        )
    assert not signatures_kept(mirror, SHOP)
    later = segment_shop(mirror, shop, cfg, AS_OF + timedelta(days=40), save=False)
    from loyalsync.core.segments import engine

    save_segments(mirror, SHOP, engine.stored_members(later.members), AS_OF + timedelta(days=40))
    assert signatures_kept(mirror, SHOP)
    pd.testing.assert_frame_equal(table_signatures(mirror), live_signatures(mirror))
    assert first.entered > 0


def table_signatures(mirror: Mirror) -> pd.DataFrame:
    kept = read_signatures(mirror.conn, SHOP)
    assert kept is not None
    frame = pd.DataFrame({"customer_id": kept[0], "signature": kept[1]})
    frame = frame.astype({"customer_id": "str", "signature": "str"})
    return frame.sort_values("customer_id").reset_index(drop=True)


def test_refresh_splices_signatures_in_place_dropped_and_new(mirror: Mirror) -> None:
    """Other paths change three kinds of customer: one keeps a changed membership (replaced
    in place), one loses every segment (dropped), one never held a segment (appended)."""
    from loyalsync.core.config import ShopConfig
    from loyalsync.core.mirror.order_summary import refresh_signatures
    from loyalsync.sync.segment import segment_shop

    shop = ShopConfig(name=SHOP, platform="shopware", url="https://sum.example")
    segment_shop(mirror, shop, SegmentationConfig(), AS_OF)
    before = table_signatures(mirror)
    changed, emptied = before["customer_id"].iloc[1], before["customer_id"].iloc[2]
    with mirror.transaction() as conn:
        conn.execute(
            "INSERT INTO segment_members (shop, customer_id, segment, since) "
            "VALUES (?, ?, 'rule:zz', '2026-11-01T00:00:00Z'), "
            "(?, 'zz-new', 'abc:A', '2026-11-01T00:00:00Z')",
            (SHOP, changed, SHOP),
        )
        conn.execute(
            "DELETE FROM segment_members WHERE shop = ? AND customer_id = ?", (SHOP, emptied)
        )
    assert not signatures_kept(mirror, SHOP)
    assert refresh_signatures(mirror, SHOP) == 3
    after = table_signatures(mirror)
    pd.testing.assert_frame_equal(after, live_signatures(mirror))
    assert emptied not in set(after["customer_id"]) and "zz-new" in set(after["customer_id"])
    assert after.set_index("customer_id").loc[changed, "signature"].endswith("\x1frule:zz")
    assert len(after) == len(before)  # one dropped, one appended
