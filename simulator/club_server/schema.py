"""The club database's schema (version 1) and how to split it into statements.

Tables and columns added after version 1 are created by schema_additions.py, coupon_tables.py
and settlement_store.py when the database is opened (storage.Storage).
The ledger is append-only: triggers refuse UPDATE and DELETE on it.
"""

import sqlite3

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at REAL NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE programs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    rials_per_point INTEGER NOT NULL DEFAULT 10000,
    convert_points INTEGER NOT NULL DEFAULT 0,
    convert_credit INTEGER NOT NULL DEFAULT 0,
    convert_threshold INTEGER NOT NULL DEFAULT 0,
    discount_a_bp INTEGER NOT NULL DEFAULT 0,
    discount_b_bp INTEGER NOT NULL DEFAULT 0,
    discount_c_bp INTEGER NOT NULL DEFAULT 0,
    discount_accounts TEXT NOT NULL DEFAULT '40,60',
    fee_fixed INTEGER NOT NULL DEFAULT 0,
    fee_bp INTEGER NOT NULL DEFAULT 0,
    credit_validity_days INTEGER NOT NULL DEFAULT 90,
    max_amount INTEGER NOT NULL DEFAULT 10000000000
);
CREATE TABLE merchants (
    merchant_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_fa TEXT NOT NULL,
    program_id INTEGER NOT NULL REFERENCES programs(id),
    status TEXT NOT NULL DEFAULT 'active'
);
CREATE TABLE terminals (
    terminal_id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(merchant_id),
    ikid TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'active',
    last_counter INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE products (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    multiplier INTEGER NOT NULL DEFAULT 1,
    credit_validity_days INTEGER,
    card_validity_months INTEGER NOT NULL DEFAULT 36
);
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    phone TEXT,
    gender TEXT,
    birth_date TEXT,
    education TEXT,
    tier TEXT NOT NULL DEFAULT 'C',
    tier_floor TEXT,
    tier_checked_at REAL,
    tier_dirty INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE cards (
    id INTEGER PRIMARY KEY,
    pan_hash BLOB NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    pan_enc BLOB,
    kind TEXT NOT NULL DEFAULT 'club',
    linked_card_id INTEGER REFERENCES cards(id),
    member_id INTEGER REFERENCES members(id),
    product TEXT NOT NULL DEFAULT 'standard' REFERENCES products(code),
    status TEXT NOT NULL,
    expiry TEXT,
    created_at REAL NOT NULL,
    issued_at REAL
);
CREATE INDEX cards_member ON cards(member_id);
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    card_id INTEGER NOT NULL REFERENCES cards(id),
    kind TEXT NOT NULL,
    merchant_id TEXT NOT NULL DEFAULT '',
    balance INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    UNIQUE (card_id, kind, merchant_id)
);
CREATE TABLE lots (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    txn_id INTEGER,
    amount INTEGER NOT NULL,
    remaining INTEGER NOT NULL,
    expires_at REAL,
    created_at REAL NOT NULL
);
CREATE INDEX lots_account ON lots(account_id, remaining);
CREATE INDEX lots_txn ON lots(txn_id);
CREATE TABLE lot_moves (
    id INTEGER PRIMARY KEY,
    txn_id INTEGER NOT NULL,
    lot_id INTEGER NOT NULL REFERENCES lots(id),
    amount INTEGER NOT NULL
);
CREATE INDEX lot_moves_txn ON lot_moves(txn_id);
CREATE TABLE txns (
    id INTEGER PRIMARY KEY,
    rrn TEXT UNIQUE,
    auth_code TEXT,
    terminal_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    card_id INTEGER REFERENCES cards(id),
    proc TEXT NOT NULL,
    amount INTEGER NOT NULL,
    discount INTEGER NOT NULL DEFAULT 0,
    fee INTEGER NOT NULL DEFAULT 0,
    payable INTEGER NOT NULL DEFAULT 0,
    credit INTEGER NOT NULL DEFAULT 0,
    points INTEGER NOT NULL DEFAULT 0,
    tier TEXT,
    state TEXT NOT NULL,
    stan TEXT NOT NULL,
    f7 TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    confirmed_at REAL,
    closed_at REAL,
    original_id INTEGER REFERENCES txns(id),
    refunded INTEGER NOT NULL DEFAULT 0,
    refund_held INTEGER NOT NULL DEFAULT 0,
    bank_ref TEXT,
    reason TEXT,
    validity TEXT,
    confirm_response TEXT
);
CREATE INDEX txns_open ON txns(state, expires_at);
CREATE INDEX txns_terminal ON txns(terminal_id, confirmed_at);
CREATE INDEX txns_card ON txns(card_id, confirmed_at);
CREATE TABLE holds (
    id INTEGER PRIMARY KEY,
    txn_id INTEGER NOT NULL REFERENCES txns(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    state TEXT NOT NULL,
    closed_at REAL
);
CREATE INDEX holds_txn ON holds(txn_id);
CREATE INDEX holds_open ON holds(state, expires_at);
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL,
    txn_id INTEGER,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX ledger_account ON ledger(account_id);
CREATE INDEX ledger_txn ON ledger(txn_id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TABLE settlements (
    id INTEGER PRIMARY KEY,
    txn_id INTEGER NOT NULL REFERENCES txns(id),
    merchant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    created_at REAL NOT NULL,
    due_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'owed'
);
CREATE INDEX settlements_merchant ON settlements(merchant_id, created_at);
CREATE TABLE requests (
    terminal_id TEXT NOT NULL,
    mti_class TEXT NOT NULL,
    stan TEXT NOT NULL,
    f7 TEXT NOT NULL,
    content_hash BLOB,
    response TEXT,
    txn_id INTEGER,
    state TEXT NOT NULL DEFAULT 'answered',
    created_at REAL NOT NULL,
    PRIMARY KEY (terminal_id, mti_class, stan, f7)
) WITHOUT ROWID;
CREATE INDEX requests_age ON requests(created_at);
CREATE TABLE recon_items (
    id INTEGER PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    txn_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    created_at REAL NOT NULL,
    batch_id INTEGER
);
CREATE INDEX recon_open ON recon_items(terminal_id, batch_id);
CREATE TABLE recon_batches (
    id INTEGER PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    result TEXT NOT NULL,
    host_totals TEXT NOT NULL,
    terminal_totals TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    phone TEXT,
    text TEXT NOT NULL,
    txn_id INTEGER,
    status TEXT NOT NULL DEFAULT 'queued'
);
-- for the operator lists and a transaction story (queries.py, docs/club_server.md)
CREATE INDEX IF NOT EXISTS cards_last4 ON cards(last4);
CREATE INDEX IF NOT EXISTS txns_created ON txns(created_at);
CREATE INDEX IF NOT EXISTS txns_merchant ON txns(merchant_id, created_at);
CREATE INDEX IF NOT EXISTS txns_original ON txns(original_id) WHERE original_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS settlements_txn ON settlements(txn_id);
CREATE INDEX IF NOT EXISTS settlements_created ON settlements(created_at);
CREATE INDEX IF NOT EXISTS outbox_txn ON outbox(txn_id);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox(created_at);
"""


def statements(script):
    """Split the schema into statements (triggers contain ';' inside BEGIN ... END)."""
    out = []
    buf = []
    for line in script.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    return out
