"""The mirror's schema: explicit, versioned migrations (PRAGMA user_version holds the applied
version) and the column lists of the synced tables. Data only; `store.Mirror.migrate` applies it."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE customers (
            shop TEXT NOT NULL, id TEXT NOT NULL, number TEXT, email TEXT,
            first_name TEXT, last_name TEXT, company TEXT, group_id TEXT,
            tags TEXT NOT NULL DEFAULT '[]', is_guest INTEGER NOT NULL DEFAULT 0,
            country TEXT, city TEXT, postcode TEXT,
            created_at TEXT, updated_at TEXT, deleted_at TEXT,
            raw TEXT NOT NULL DEFAULT '{}', row_hash TEXT, synced_at TEXT,
            PRIMARY KEY (shop, id)
        );
        CREATE INDEX customers_email ON customers (shop, email);
        CREATE TABLE orders (
            shop TEXT NOT NULL, id TEXT NOT NULL, number TEXT, customer_id TEXT, email TEXT,
            placed_at TEXT NOT NULL, status TEXT, is_valid INTEGER NOT NULL,
            total_gross REAL, total_net REAL, currency TEXT,
            base_currency_total_gross REAL, base_currency_total_net REAL,
            base_currency_refunded REAL NOT NULL DEFAULT 0,
            codes TEXT NOT NULL DEFAULT '[]', updated_at TEXT,
            raw TEXT NOT NULL DEFAULT '{}', row_hash TEXT, synced_at TEXT,
            PRIMARY KEY (shop, id)
        );
        CREATE INDEX orders_customer ON orders (shop, customer_id);
        CREATE INDEX orders_email ON orders (shop, email);
        CREATE INDEX orders_placed ON orders (shop, placed_at);
        CREATE TABLE order_items (
            shop TEXT NOT NULL, order_id TEXT NOT NULL, line INTEGER NOT NULL,
            product_id TEXT, sku TEXT, name TEXT, quantity REAL, unit_price REAL, total REAL,
            kind TEXT NOT NULL DEFAULT 'product', code TEXT,
            PRIMARY KEY (shop, order_id, line)
        );
        CREATE TABLE groups (
            shop TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
            is_default INTEGER NOT NULL DEFAULT 0,
            raw TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (shop, id)
        );
        CREATE TABLE tags (
            shop TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (shop, id)
        );
        CREATE TABLE segment_members (
            shop TEXT NOT NULL, customer_id TEXT NOT NULL, segment TEXT NOT NULL,
            family TEXT NOT NULL, since TEXT NOT NULL, as_of TEXT NOT NULL,
            PRIMARY KEY (shop, customer_id, segment)
        );
        CREATE INDEX segment_members_segment ON segment_members (shop, segment);
        CREATE TABLE segment_history (
            shop TEXT NOT NULL, customer_id TEXT NOT NULL, segment TEXT NOT NULL,
            family TEXT NOT NULL, event TEXT NOT NULL CHECK (event IN ('enter', 'exit')),
            at TEXT NOT NULL, run_id INTEGER
        );
        CREATE INDEX segment_history_customer ON segment_history (shop, customer_id, at);
        CREATE TABLE codes (
            shop TEXT NOT NULL, campaign TEXT NOT NULL, customer_id TEXT NOT NULL,
            code TEXT NOT NULL, status TEXT NOT NULL, issued_at TEXT NOT NULL,
            valid_until TEXT, redeemed_order_id TEXT, redeemed_at TEXT, run_id INTEGER,
            PRIMARY KEY (shop, campaign, customer_id, code)
        );
        CREATE UNIQUE INDEX codes_code ON codes (shop, code);
        CREATE TABLE _sync_state (
            shop TEXT NOT NULL, entity TEXT NOT NULL, cursor TEXT NOT NULL,
            updated_at TEXT NOT NULL, PRIMARY KEY (shop, entity)
        );
        CREATE TABLE _runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, shop TEXT, kind TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT NOT NULL DEFAULT 'running',
            counts TEXT NOT NULL DEFAULT '{}', error TEXT, as_of TEXT
        );
        CREATE TABLE _quarantine (
            shop TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL, error TEXT NOT NULL,
            raw TEXT, run_id INTEGER, at TEXT NOT NULL, PRIMARY KEY (shop, entity, id)
        );
        CREATE TABLE _push_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER, shop TEXT NOT NULL,
            op_key TEXT NOT NULL, op TEXT NOT NULL, ok INTEGER NOT NULL, error TEXT,
            remote_id TEXT, at TEXT NOT NULL
        );
        CREATE INDEX _push_log_run ON _push_log (run_id);
        """,
    ),
    (
        2,
        # segmentation reads every order once per run, grouped per customer: covering the
        # columns it needs lets SQLite walk this index in customer order without touching the
        # table or sorting (half the time of the aggregate at a million customers)
        """
        CREATE INDEX orders_segment_summary ON orders (shop, customer_id, placed_at, is_valid,
            base_currency_total_gross, base_currency_total_net, base_currency_refunded);
        """,
    ),
    (
        3,
        # Membership and history sized for a million customers (bench/bench_segments.py): the
        # first run of a shop writes every membership at once. Membership becomes a WITHOUT
        # ROWID table keyed by (shop, customer, segment) with no second index (a query by
        # segment scans one shop's rows; the family is the part of the name before ':'), and
        # history becomes one row per customer and run listing the segments entered and
        # exited (JSON arrays), so the first run writes one row per customer instead of one
        # per membership. `segment_history` stays as a view with one row per event.
        """
        CREATE TABLE segment_members_v3 (
            shop TEXT NOT NULL, customer_id TEXT NOT NULL, segment TEXT NOT NULL,
            since TEXT NOT NULL, PRIMARY KEY (shop, customer_id, segment)
        ) WITHOUT ROWID;
        INSERT INTO segment_members_v3 (shop, customer_id, segment, since)
            SELECT shop, customer_id, segment, since FROM segment_members
            ORDER BY shop, customer_id, segment;
        DROP TABLE segment_members;
        ALTER TABLE segment_members_v3 RENAME TO segment_members;
        CREATE TABLE segment_changes (
            shop TEXT NOT NULL, customer_id TEXT NOT NULL, at TEXT NOT NULL, run_id INTEGER,
            entered TEXT NOT NULL DEFAULT '[]', exited TEXT NOT NULL DEFAULT '[]'
        );
        INSERT INTO segment_changes (shop, customer_id, at, run_id, entered, exited)
            SELECT shop, customer_id, at, run_id,
                json_group_array(segment) FILTER (WHERE event = 'enter'),
                json_group_array(segment) FILTER (WHERE event = 'exit')
            FROM (SELECT * FROM segment_history ORDER BY shop, customer_id, at, segment)
            GROUP BY shop, customer_id, at, run_id;
        DROP TABLE segment_history;
        CREATE INDEX segment_changes_customer ON segment_changes (shop, customer_id, at);
        CREATE INDEX segment_changes_at ON segment_changes (shop, at);
        CREATE VIEW segment_history (shop, customer_id, segment, family, event, at, run_id) AS
            SELECT c.shop, c.customer_id, j.value, substr(j.value, 1, instr(j.value, ':') - 1),
                'enter', c.at, c.run_id FROM segment_changes c, json_each(c.entered) j
            UNION ALL
            SELECT c.shop, c.customer_id, j.value, substr(j.value, 1, instr(j.value, ':') - 1),
                'exit', c.at, c.run_id FROM segment_changes c, json_each(c.exited) j;
        """,
    ),
    (
        4,
        # Memberships as sets, platform-neutral (issue 12 §1): one row per (customer, slot,
        # value) in one table, whatever slots the shop's connector declares; `is_default`
        # marks a slot's distinguished member (PrestaShop's id_default_group). The values a
        # slot has in the shop (groups, tags, categories) share one table too. Files written
        # before knew two slots, `groups` (customers.group_id, a set of one) and `tags`
        # (customers.tags, a JSON array): their rows move here and the old columns go.
        """
        CREATE TABLE memberships (
            shop TEXT NOT NULL, customer_id TEXT NOT NULL, slot TEXT NOT NULL,
            value TEXT NOT NULL, is_default INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (shop, customer_id, slot, value)
        ) WITHOUT ROWID;
        INSERT INTO memberships (shop, customer_id, slot, value)
            SELECT shop, id, 'groups', group_id FROM customers WHERE group_id IS NOT NULL
            UNION
            SELECT c.shop, c.id, 'tags', j.value FROM customers c, json_each(c.tags) j
            WHERE c.tags != '[]' AND j.value IS NOT NULL;
        CREATE TABLE slot_values (
            shop TEXT NOT NULL, slot TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
            is_default INTEGER NOT NULL DEFAULT 0, raw TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (shop, slot, id)
        );
        INSERT INTO slot_values (shop, slot, id, name, is_default, raw)
            SELECT shop, 'groups', id, name, is_default, raw FROM groups
            UNION ALL
            SELECT shop, 'tags', id, name, 0, '{}' FROM tags;
        DROP TABLE groups;
        DROP TABLE tags;
        ALTER TABLE customers DROP COLUMN group_id;
        ALTER TABLE customers DROP COLUMN tags;
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

CUSTOMER_COLUMNS = (
    "shop", "id", "number", "email", "first_name", "last_name", "company", "is_guest",
    "country", "city", "postcode", "created_at", "updated_at", "deleted_at", "raw", "row_hash",
    "synced_at",
)  # fmt: skip
ORDER_COLUMNS = (
    "shop", "id", "number", "customer_id", "email", "placed_at", "status", "is_valid",
    "total_gross", "total_net", "currency", "base_currency_total_gross",
    "base_currency_total_net", "base_currency_refunded", "codes", "updated_at", "raw",
    "row_hash", "synced_at",
)  # fmt: skip
ITEM_COLUMNS = (
    "shop", "order_id", "line", "product_id", "sku", "name", "quantity", "unit_price", "total",
    "kind", "code",
)  # fmt: skip
