"""The coupon tables (docs/club_server.md "Coupons"), brought into any club database when
storage.Storage opens it, new or old: created with IF NOT EXISTS in one BEGIN IMMEDIATE
transaction when missing (two processes opening an old database at once create them once),
a read of sqlite_master only when they are there. The statements that use them are in
coupons.py.
"""

# the states of a coupon's use (coupon_uses.state)
HELD = "held"  # by an approved, unconfirmed sale
CONSUMED = "consumed"  # by its confirmed sale
RELEASED = "released"  # given back: reversed, released by the hold window, voided

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS coupons (code TEXT PRIMARY KEY, description TEXT NOT NULL, "
    "kind TEXT NOT NULL, value INTEGER NOT NULL, cap INTEGER NOT NULL DEFAULT 0, "
    "max_uses INTEGER NOT NULL, min_amount INTEGER NOT NULL DEFAULT 0, member_id INTEGER, "
    "merchant_id TEXT, chain_id TEXT, valid_until TEXT, "
    "status TEXT NOT NULL DEFAULT 'active', created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS coupon_uses (id INTEGER PRIMARY KEY, "
    "code TEXT NOT NULL REFERENCES coupons(code), txn_id INTEGER NOT NULL UNIQUE, "
    "terminal_id TEXT NOT NULL, merchant_id TEXT NOT NULL, card_id INTEGER, "
    "amount INTEGER NOT NULL, discount INTEGER NOT NULL, state TEXT NOT NULL, "
    "created_at REAL NOT NULL, closed_at REAL, reason TEXT)",
    "CREATE INDEX IF NOT EXISTS coupon_uses_code ON coupon_uses(code, state)",
)
TABLES = ("coupons", "coupon_uses")


def ensure(conn):
    """Create the coupon tables in the database of `conn` (autocommit, outside a
    transaction) when they are missing; True when it created them."""
    present = conn.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", TABLES
    ).fetchone()
    count = present["COUNT(*)"] if isinstance(present, dict) else present[0]
    if count == len(TABLES):
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql in SCHEMA:
            conn.execute(sql)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True
