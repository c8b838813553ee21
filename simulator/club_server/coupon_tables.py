"""The coupon tables (docs/club_server.md "Coupons"), brought into any club database when
storage.Storage opens it, new or old, by schema_additions.py. The statements that use them
are in coupons.py.
"""

# the states of a coupon's use (coupon_uses.state)
HELD = "held"  # by an approved, unconfirmed sale
CONSUMED = "consumed"  # by its confirmed sale
RELEASED = "released"  # given back: reversed, released by the hold window, voided

TABLES = {
    "coupons": (
        "CREATE TABLE IF NOT EXISTS coupons (code TEXT PRIMARY KEY, description TEXT NOT NULL, "
        "kind TEXT NOT NULL, value INTEGER NOT NULL, cap INTEGER NOT NULL DEFAULT 0, "
        "max_uses INTEGER NOT NULL, min_amount INTEGER NOT NULL DEFAULT 0, member_id INTEGER, "
        "merchant_id TEXT, chain_id TEXT, valid_until TEXT, "
        "status TEXT NOT NULL DEFAULT 'active', created_at REAL NOT NULL)"
    ),
    "coupon_uses": (
        "CREATE TABLE IF NOT EXISTS coupon_uses (id INTEGER PRIMARY KEY, "
        "code TEXT NOT NULL REFERENCES coupons(code), txn_id INTEGER NOT NULL UNIQUE, "
        "terminal_id TEXT NOT NULL, merchant_id TEXT NOT NULL, card_id INTEGER, "
        "amount INTEGER NOT NULL, discount INTEGER NOT NULL, state TEXT NOT NULL, "
        "created_at REAL NOT NULL, closed_at REAL, reason TEXT)"
    ),
}
INDEXES = {
    "coupon_uses_code": "CREATE INDEX IF NOT EXISTS coupon_uses_code ON coupon_uses(code, state)",
}
