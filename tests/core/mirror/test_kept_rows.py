"""The kept customer rows (core/mirror/kept_rows.py): through random pulls, edits, group moves,
new customers, deletions and cancellations, what a segment run reads from the kept columns is
what the SQL path reads from the tables; only the changed customers are re-read; an erasure
leaves no personal datum in a BLOB; text of any shape survives the encoding."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalsync.core.config import SegmentationConfig
from loyalsync.core.mirror import Mirror, load_summary
from loyalsync.core.mirror.kept_rows import COMPACT_SHARE, _decode, _encode, kept_rows
from loyalsync.core.mirror.order_summary import forget_order_summary
from loyalsync.core.records import GROUPS, Cursor, CustomerRecord
from loyalsync.core.synth import SynthSpec, generate_shop
from tests.core.mirror.test_mirror import mirror_at_version
from tests.core.mirror.test_order_summary import mutate

SHOP = "sum"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
CONTACTS = ["number", "first_name", "last_name", "company"]


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    shop = generate_shop(SynthSpec(customers=150, seed=9, as_of=AS_OF))
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page(SHOP, "customers", shop.customers, Cursor())
        m.save_page(SHOP, "orders", shop.orders, Cursor())
        yield m


def customers_of(mirror: Mirror) -> list[CustomerRecord]:
    frame = mirror.frame(
        "SELECT id, email, is_guest, country, city, postcode, created_at FROM customers "
        "WHERE shop = ? AND deleted_at IS NULL ORDER BY id",
        (SHOP,),
    )
    groups = dict(
        mirror.conn.execute(
            "SELECT customer_id, value FROM memberships WHERE shop = ? AND slot = ?", (SHOP, GROUPS)
        ).fetchall()
    )
    return [
        CustomerRecord(
            id=r.id, email=r.email, is_guest=bool(r.is_guest), country=r.country, city=r.city,
            postcode=r.postcode,
            created_at=datetime.fromisoformat(r.created_at.replace("Z", "+00:00")),
            memberships=((GROUPS, (groups[r.id],)),) if r.id in groups else (),
        )
        for r in frame.itertuples(index=False)
    ]  # fmt: skip


def edit_customers(mirror: Mirror, rng: random.Random, round_: int) -> None:
    """A pull's worth of customer changes: e-mails (one now shared with another customer, so
    two rows merge into one identity), addresses, guest flags, groups, and new customers."""
    rows = customers_of(mirror)
    changed = []
    for c in rng.sample(rows, 8):
        kind = rng.choice(["email", "merge", "city", "guest", "group", "nogroup"])
        if kind == "email":
            changed.append(replace(c, email=f"  New.{round_}.{c.id}@Example.COM "))
        elif kind == "merge":
            changed.append(replace(c, email=rng.choice(rows).email))
        elif kind == "city":
            changed.append(replace(c, city=rng.choice(["Köln", "Berlin", None]), postcode="5"))
        elif kind == "guest":
            changed.append(replace(c, is_guest=not c.is_guest))
        elif kind == "group":
            changed.append(replace(c, memberships=((GROUPS, (f"g{round_}",)),)))
        else:
            changed.append(replace(c, memberships=((GROUPS, ()),)))
    for n in range(3):
        changed.append(
            CustomerRecord(
                id=f"new-c-{round_}-{n}", email=f"n{round_}{n}@example.com", city="Wien",
                created_at=AS_OF - timedelta(days=n),
            )
        )  # fmt: skip
    mirror.save_page(SHOP, "customers", changed, Cursor())


def assert_kept_equals_sql(mirror: Mirror, cfg: SegmentationConfig) -> None:
    """The segment run's read (kept columns) against the all-SQL read of the same mirror."""
    kept = load_summary(mirror, SHOP, AS_OF, cfg, contacts=False, refresh=True)
    assert kept_rows(mirror, SHOP, write=False) is not None
    by_sql = load_summary(mirror, SHOP, AS_OF, cfg, contacts=True).drop(columns=CONTACTS)
    pd.testing.assert_frame_equal(
        kept.drop(columns=CONTACTS), by_sql, check_dtype=False, check_like=True
    )


def dirty(mirror: Mirror) -> int:
    query = "SELECT COUNT(*) FROM segment_rows_dirty WHERE shop = ?"
    return int(mirror.conn.execute(query, (SHOP,)).fetchone()[0])


@pytest.mark.parametrize("merge", [True, False])
def test_kept_rows_read_what_sql_reads_through_random_changes(mirror: Mirror, merge: bool) -> None:
    cfg = SegmentationConfig(merge_guests_by_email=merge)
    assert kept_rows(mirror, SHOP, write=False) is None  # nothing kept yet: SQL answers
    assert_kept_equals_sql(mirror, cfg)
    rng = random.Random(20261207)
    total = len(customers_of(mirror))
    for round_ in range(6):
        mutate(mirror, rng, round_)  # orders: cancellations, amounts, moves, refunds, new ones
        edit_customers(mirror, rng, round_)
        if round_ == 2:  # the deletion scan: customers gone, their personal data erased
            live = {c.id for c in customers_of(mirror)}
            mirror.mark_deleted(SHOP, live - set(rng.sample(sorted(live), 5)), AS_OF)
        if round_ == 4:  # a customer row removed outright
            with mirror.transaction() as conn:
                conn.execute("DELETE FROM customers WHERE shop = ? AND id = 'new-c-0-0'", (SHOP,))
        noted = dirty(mirror)
        assert round_ == 2 or 0 < noted < total / 2, "only the changed customers are noted"
        assert_kept_equals_sql(mirror, cfg)
        assert dirty(mirror) in (0, noted), "stored back whole, or every note kept"
        # a read-only run (no write) splices in memory and leaves the notes for the writer
        edit_customers(mirror, rng, 100 + round_)
        assert dirty(mirror) > 0
        seen = kept_rows(mirror, SHOP, write=False)
        assert seen is not None and dirty(mirror) > 0
        assert set(seen.customers["id"]) == {c.id for c in customers_of(mirror)}


def test_an_unchanged_page_notes_nobody_and_a_name_change_only_its_customer(
    mirror: Mirror,
) -> None:
    load_summary(mirror, SHOP, AS_OF, SegmentationConfig(), contacts=False, refresh=True)
    shop = generate_shop(SynthSpec(customers=150, seed=9, as_of=AS_OF))  # the fixture's data
    mirror.save_page(SHOP, "customers", shop.customers, Cursor())
    mirror.save_page(SHOP, "orders", shop.orders, Cursor())
    assert dirty(mirror) == 0
    renamed = replace(shop.customers[0], last_name="Neu")
    mirror.save_page(SHOP, "customers", [renamed], Cursor())
    assert dirty(mirror) <= 1  # its memberships were rewritten with the row


def test_a_writer_stores_back_once_the_notes_pass_the_share(mirror: Mirror) -> None:
    cfg = SegmentationConfig()
    assert_kept_equals_sql(mirror, cfg)
    rows = customers_of(mirror)
    mirror.save_page(SHOP, "customers", [replace(rows[0], city="Graz")], Cursor())
    assert_kept_equals_sql(mirror, cfg)
    assert dirty(mirror) == 1, "one changed customer: re-read on each run, not stored back"
    many = [replace(c, city="Linz") for c in rows[: int(len(rows) * COMPACT_SHARE) + 2]]
    mirror.save_page(SHOP, "customers", many, Cursor())
    assert_kept_equals_sql(mirror, cfg)
    assert dirty(mirror) == 0, "past the share: the spliced columns are stored"
    assert_kept_equals_sql(mirror, cfg)


def test_erasure_leaves_no_personal_data_in_the_kept_columns(mirror: Mirror) -> None:
    cfg = SegmentationConfig()
    load_summary(mirror, SHOP, AS_OF, cfg, contacts=False, refresh=True)
    victim = customers_of(mirror)[0]
    assert victim.email and victim.city
    blobs = b"".join(r[0] for r in mirror.conn.execute("SELECT data FROM segment_rows"))
    assert victim.email.encode() in blobs  # the kept columns did hold it
    live = {c.id for c in customers_of(mirror)} - {victim.id}
    assert mirror.mark_deleted(SHOP, live, AS_OF) == 1
    rows = mirror.conn.execute("SELECT COUNT(*) FROM segment_rows WHERE shop = ?", (SHOP,))
    assert rows.fetchone()[0] == 0
    kept = load_summary(mirror, SHOP, AS_OF, cfg, contacts=False, refresh=True)  # rebuilt
    blobs = b"".join(r[0] for r in mirror.conn.execute("SELECT data FROM segment_rows"))
    assert blobs and victim.email.encode() not in blobs
    assert victim.id not in set(kept["customer_id"])


def test_columns_of_an_older_format_are_built_again(mirror: Mirror) -> None:
    cfg = SegmentationConfig()
    assert_kept_equals_sql(mirror, cfg)
    mirror.conn.execute("UPDATE segment_rows_state SET format = format - 1")
    mirror.conn.execute("UPDATE segment_rows SET data = x'00'")  # unreadable as this format
    assert kept_rows(mirror, SHOP, write=False) is None, "a reader falls back to SQL"
    assert_kept_equals_sql(mirror, cfg)  # a writer builds them again


def test_forgetting_the_summary_forgets_the_kept_rows(mirror: Mirror) -> None:
    load_summary(mirror, SHOP, AS_OF, SegmentationConfig(), contacts=False, refresh=True)
    forget_order_summary(mirror, SHOP)
    assert kept_rows(mirror, SHOP, write=False) is None


@pytest.mark.parametrize(
    "values",
    [
        ["a", None, "b", "a", ""],  # an empty text is not a missing one
        ["", ""],
        [None, None],
        [],
        ["nul\x00inside", "plain", None],  # a NUL in a value: the JSON form
        ["ünï©ødé", "😀", "x" * 5000],
        [7, "7", None],  # not text: kept as it was
    ],
)
def test_text_columns_survive_the_encoding(values: list[object]) -> None:
    series = pd.Series(values, dtype=object)
    for column in ("email", "city"):  # every value stored, and the distinct values only
        back = _decode(_encode(series, "customers", column), "customers", column)
        assert list(back) == values
        assert back.dtype == object


def test_times_and_numbers_survive_the_encoding() -> None:
    times = pd.Series(pd.to_datetime(["2026-01-01T10:00:00.123456Z", None], utc=True))
    back = _decode(_encode(times, "customers", "created_at"), "customers", "created_at")
    assert list(back[:1]) == list(times[:1]) and pd.isna(back[1])
    counts = pd.Series(np.array([1, 2**40], dtype=np.int64))
    assert list(_decode(_encode(counts, "orders", "orders"), "orders", "orders")) == [1, 2**40]


def test_a_version_10_file_gains_the_kept_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    mirror_at_version(path, 10).close()
    with Mirror.open(path) as mirror:
        tables = {r[0] for r in mirror.conn.execute("SELECT name FROM sqlite_master")}
        assert {"segment_rows", "segment_rows_dirty", "segment_rows_state"} <= tables
        assert "customers_rows_update" in tables
