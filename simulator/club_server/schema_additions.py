"""Tables and columns added to the club schema after version 1, brought into any database
when it is opened (storage.Storage calls `ensure`), new or old, idempotently.

Each addition is data: a table is created with IF NOT EXISTS, a column is added only when
PRAGMA table_info does not list it. The check reads only (no write lock) when everything is
there already, which is every open but the first; when something is missing the additions
run in one BEGIN IMMEDIATE transaction and are checked again inside it, so two processes
opening an old database at once add each thing once.

The additions of other features are their modules' TABLES and INDEXES (campaign_storage.py,
coupon_tables.py, settlement_store.py), gathered here so that one check and one transaction
bring a database up to date.

Chains (docs/club_server.md "Stores, chains and terminals"): a chain groups stores; a store
belongs to at most one (merchants.chain_id). Card replacements (docs/club_server.md
"Replacing a lost or damaged card"): one row per replacement, the history of which card
number a member's transactions were made with.
"""

import re

from simulator.club_server import campaign_storage, coupon_tables, schema, settlement_store

# table -> CREATE statement
TABLES = {
    "chains": (
        "CREATE TABLE IF NOT EXISTS chains (chain_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "name_fa TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'active', "
        "created_at REAL NOT NULL)"
    ),
    "card_replacements": (
        "CREATE TABLE IF NOT EXISTS card_replacements (id INTEGER PRIMARY KEY, "
        "old_card_id INTEGER NOT NULL REFERENCES cards(id), "
        "new_card_id INTEGER NOT NULL REFERENCES cards(id), member_id INTEGER, "
        "reason TEXT NOT NULL, txns_moved INTEGER NOT NULL, accounts_moved INTEGER NOT NULL, "
        "created_at REAL NOT NULL)"
    ),
}
# (table, column) -> its definition
COLUMNS = {
    ("merchants", "chain_id"): "TEXT REFERENCES chains(chain_id)",
    # the volume of the member's last full tier count (loyalty.current_tier adds to it)
    ("members", "tier_volume"): "INTEGER",
    # a split payment (docs/protocol.md 5.11): the part of the payable paid outside the club
    # credit and its tender ("40" bank card, "00" cash); NULL/0 for every other transaction.
    # A split refund: its share of the remainder leg, the tender of its original.
    ("txns", "remainder"): "INTEGER NOT NULL DEFAULT 0",
    ("txns", "remainder_tender"): "TEXT",
}
INDEXES = {
    "merchants_chain": "CREATE INDEX IF NOT EXISTS merchants_chain ON merchants(chain_id)",
}

# the other features' tables and indexes, each kept beside the SQL that uses them
for _feature in (campaign_storage, coupon_tables, settlement_store):
    TABLES.update(_feature.TABLES)
    INDEXES.update(_feature.INDEXES)
# the indexes schema.py gained after databases of version 1 were made (the operator's lists,
# queries.py): a database made before them gets them at its next open
INDEXES.update(
    (m.group(1), m.group(0))
    for m in re.finditer(r"CREATE INDEX IF NOT EXISTS (\w+) ON [^;]+", schema.SCHEMA)
)


def _missing(conn):
    tables = _names(conn, "table")
    todo = [sql for name, sql in TABLES.items() if name not in tables]
    for (table, column), definition in COLUMNS.items():
        have = {_first(r, "name", 1) for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            todo.append(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    indexes = _names(conn, "index")
    todo += [sql for name, sql in INDEXES.items() if name not in indexes]
    return todo


def _first(row, key, index):
    """A column of a row, whether the connection gives dicts (storage) or tuples."""
    return row[key] if isinstance(row, dict) else row[index]


def _names(conn, kind):
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = ?", (kind,))
    return {_first(r, "name", 0) for r in rows}


def ensure(conn):
    """Bring the additions into the database of `conn` (a sqlite3 connection in autocommit
    mode, outside a transaction); returns the statements it ran."""
    if not _missing(conn):
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        todo = _missing(conn)
        for sql in todo:
            conn.execute(sql)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return todo
