"""A club database made before a feature existed gets the feature's tables and indexes the next
time it is opened (schema_additions.py gathers every feature's), once, whatever opens it."""

import sqlite3

from simulator.club_server import schema_additions, storage
from simulator.club_server.storage import Storage

# indexes that schema.py gained after version-1 databases were made (the operator's lists)
LATER_INDEXES = ("cards_last4", "txns_created", "txns_merchant", "outbox_created")
LATER_TABLES = ("coupons", "coupon_uses", "holidays", "payouts", "chains", "campaign_grants")


def names(path, kind):
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = ?", (kind,))
        return {name for (name,) in rows}
    finally:
        conn.close()


def old_database(path):
    """Version 1 as it was made before those indexes and tables: the schema without them."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in storage._statements(storage.SCHEMA):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (?, 0)", (storage.SCHEMA_VERSION,))
    for index in LATER_INDEXES:
        conn.execute(f"DROP INDEX {index}")
    conn.close()


def test_an_old_database_gets_every_features_tables_and_indexes_at_open(tmp_path):
    path = tmp_path / "old.db"
    old_database(path)
    assert not set(LATER_INDEXES) & names(path, "index")
    assert not set(LATER_TABLES) & names(path, "table")
    Storage(path).close()
    assert set(LATER_INDEXES) <= names(path, "index")
    assert set(LATER_TABLES) <= names(path, "table")
    assert set(schema_additions.INDEXES) <= names(path, "index")


def test_the_check_changes_nothing_once_everything_is_there(tmp_path):
    path = tmp_path / "club.db"
    Storage(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert schema_additions.ensure(conn) == []
    finally:
        conn.close()


def columns(path, table):
    conn = sqlite3.connect(path)
    try:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    finally:
        conn.close()


def test_an_old_database_gets_the_split_payment_columns_at_open(tmp_path):
    """docs/protocol.md 5.11: a split sale's remainder and its tender live on its txns row."""
    path = tmp_path / "old.db"
    old_database(path)
    assert not {"remainder", "remainder_tender"} & columns(path, "txns")
    Storage(path).close()
    assert {"remainder", "remainder_tender"} <= columns(path, "txns")
    conn = sqlite3.connect(path)
    try:
        conn.execute(
            "INSERT INTO txns (terminal_id, merchant_id, proc, amount, state, stan, f7, "
            "created_at) VALUES ('T', 'M', '006000', 1, 'approved', '000001', '0101000000', 0)"
        )
        # a row written without them (every transaction but a split) is no split
        assert conn.execute("SELECT remainder, remainder_tender FROM txns").fetchone() == (0, None)
    finally:
        conn.close()
