"""Newsletter consent as every connector maps it (`CustomerRecord.newsletter`) is stored in the
`newsletter` column (migration 10) and is what the export reads, whatever the payload's field is
called; rows stored before the column existed are read from their payload as before; a deleted
customer's consent goes with the rest of their personal data."""

from __future__ import annotations

from pathlib import Path

from loyalsync.core.mirror import SCHEMA_VERSION, Mirror
from loyalsync.core.mirror.report import load_consent
from loyalsync.core.records import Cursor
from tests.core.mirror.test_mirror import T0, customer, mirror_at_version


def consent(m: Mirror) -> dict[str, bool]:
    frame = load_consent(m, "s")
    return dict(zip(frame["customer_id"], frame["newsletter"].astype(bool), strict=True))


def test_the_mapped_flag_is_stored_and_exported_whatever_the_payload_calls_it(
    tmp_path: Path,
) -> None:
    records = [
        customer(1, newsletter=True, raw={"HasNewsletter": True}),  # a field the core never names
        customer(2, newsletter=False, raw={"optin": "0"}),
        customer(3, raw={"id": "c0003"}),  # the platform says nothing: unknown, left out
    ]
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page("s", "customers", records, Cursor(after="3"))
        stored = dict(m.conn.execute("SELECT id, newsletter FROM customers").fetchall())
        assert stored == {"c0001": 1, "c0002": 0, "c0003": None}
        assert consent(m) == {"c0001": True, "c0002": False}


def test_a_change_of_consent_alone_is_an_update(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page("s", "customers", [customer(1, newsletter=True)], Cursor(after="1"))
        again = m.save_page("s", "customers", [customer(1, newsletter=True)], Cursor(after="1"))
        assert (again.new, again.updated) == (0, 0)
        changed = m.save_page("s", "customers", [customer(1, newsletter=False)], Cursor(after="1"))
        assert changed.updated == 1
        assert consent(m) == {"c0001": False}


def test_rows_from_before_the_column_keep_their_payload_consent(tmp_path: Path) -> None:
    path = tmp_path / "v9.db"
    conn = mirror_at_version(path, 9)
    conn.execute(
        "INSERT INTO customers (shop, id, email, raw) VALUES "
        "('s', 'a', 'a@example.com', '{\"newsletter\": true}'), "
        "('s', 'b', 'b@example.com', '{\"newsletterRecipient\": {\"status\": \"optOut\"}}')"
    )
    conn.commit()
    conn.close()
    with Mirror.open(path) as m:
        assert m.schema_version == SCHEMA_VERSION >= 10
        assert consent(m) == {"a": True, "b": False}


def test_a_deleted_customer_loses_the_stored_consent(tmp_path: Path) -> None:
    with Mirror.open(tmp_path / "m.db") as m:
        m.save_page(
            "s", "customers", [customer(1, newsletter=True), customer(2, newsletter=True)],
            Cursor(after="2"),
        )  # fmt: skip
        m.mark_deleted("s", {"c0001"}, T0)
        row = m.conn.execute("SELECT newsletter FROM customers WHERE id = 'c0002'").fetchone()
        assert row == (None,)
        assert consent(m) == {"c0001": True}
