"""The club database: every SQL statement of the club server lives in this module.

`Storage` is the one class the business logic talks to. Its methods speak the domain
(terminals, cards, accounts, holds, the ledger) and return plain dicts, so replacing SQLite by
another SQL database means rewriting this module only. SQLite is the embedded default: one
file, WAL journal (readers never wait for the writer), created on first open with a
schema_version table for later migrations.

Card numbers never reach this module: cards are stored by a keyed hash, the last 4 digits and
an AES-GCM blob (simulator.club_server.cards.CardVault).

The ledger is append-only: triggers refuse UPDATE and DELETE on it.
"""

import sqlite3
import time
from contextlib import contextmanager

from simulator.club_server import schema_additions

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


class StorageError(RuntimeError):
    pass


def _dict_row(cursor, row):
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


class Storage:
    """One connection to the club database. Not thread-safe: use it from one thread (the
    server's database thread, or an admin command's own)."""

    def __init__(self, path, synchronous="NORMAL", timeout=10.0):
        self.path = str(path)
        # timeout: how long a write waits for another writer (an admin command) to finish
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = _dict_row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process; the last commits
        # before a power cut may be lost (the terminal's repeats and reconciliation cover it).
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Temporary data in memory. A request's savepoint keeps the old page images in a
        # sub-journal, which otherwise spills to a new temporary file past 64 KiB: a file
        # created, unlinked and written for every purchase's 0220 (docs/performance.md).
        self._conn.execute("PRAGMA temp_store=MEMORY")
        self._in_txn = False
        self._migrate()
        from simulator.club_server import coupon_tables  # (no cycle: it imports nothing)

        coupon_tables.ensure(self._conn)  # tables added after version 1 (coupons.py)
        schema_additions.ensure(self._conn)  # tables and columns added after version 1
        from simulator.club_server import settlement_store  # (imports nothing)

        settlement_store.ensure(self._conn)  # payouts, holidays, report indexes

    # -- connection and transactions ------------------------------------------------------

    def close(self):
        self._conn.close()

    @contextmanager
    def transaction(self, write=True):
        """One database transaction; nested calls join the outer one."""
        if self._in_txn:
            yield self
            return
        self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        self._in_txn = True
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")
        finally:
            self._in_txn = False

    @contextmanager
    def savepoint(self):
        """Undo everything inside on an exception, keeping what the transaction did before."""
        self._conn.execute("SAVEPOINT work")
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK TO work")
            self._conn.execute("RELEASE work")
            raise
        else:
            self._conn.execute("RELEASE work")

    def checkpoint(self):
        """Fold the WAL into the main file (on shutdown)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _migrate(self):
        with self.transaction():  # BEGIN IMMEDIATE: two processes opening a new file agree
            exists = self._one("SELECT name FROM sqlite_master WHERE name = 'schema_version'")
            if exists is None:
                for statement in _statements(SCHEMA):
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO schema_version VALUES (?, ?)", (SCHEMA_VERSION, time.time())
                )
                return
            version = self._one("SELECT MAX(version) AS v FROM schema_version")["v"]
        if version != SCHEMA_VERSION:
            raise StorageError(
                f"database schema version {version}, this server knows {SCHEMA_VERSION}"
            )

    def _one(self, sql, args=()):
        return self._conn.execute(sql, args).fetchone()

    def _all(self, sql, args=()):
        return self._conn.execute(sql, args).fetchall()

    def _run(self, sql, args=()):
        return self._conn.execute(sql, args)

    def _insert(self, table, values):
        keys = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self._conn.execute(
            f"INSERT INTO {table} ({keys}) VALUES ({marks})", tuple(values.values())
        )
        return cur.lastrowid

    def _update(self, table, key, key_value, values):
        sets = ", ".join(f"{k} = ?" for k in values)
        self._conn.execute(
            f"UPDATE {table} SET {sets} WHERE {key} = ?", (*values.values(), key_value)
        )

    # -- settings, programs, merchants, terminals -----------------------------------------

    def settings(self):
        return {r["key"]: r["value"] for r in self._all("SELECT key, value FROM settings")}

    def put_setting(self, key, value):
        self._run("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, str(value)))

    def add_program(self, **values):
        return self._insert("programs", values)

    def program(self, program_id):
        return self._one("SELECT * FROM programs WHERE id = ?", (program_id,))

    def add_merchant(self, **values):
        self._insert("merchants", values)

    def merchant(self, merchant_id):
        return self._one("SELECT * FROM merchants WHERE merchant_id = ?", (merchant_id,))

    def merchants(self):
        return self._all("SELECT * FROM merchants ORDER BY merchant_id")

    def add_terminal(self, **values):
        self._insert("terminals", values)

    def terminal_by_ikid(self, ikid_hex):
        return self._one("SELECT * FROM terminals WHERE ikid = ?", (ikid_hex,))

    def terminals(self):
        return self._all("SELECT * FROM terminals ORDER BY terminal_id")

    def set_last_counter(self, terminal_id, counter):
        self._run(
            "UPDATE terminals SET last_counter = ? WHERE terminal_id = ?", (counter, terminal_id)
        )

    def add_product(self, **values):
        self._insert("products", values)

    def product(self, code):
        return self._one("SELECT * FROM products WHERE code = ?", (code,))

    # -- members and cards ------------------------------------------------------------------

    def add_member(self, **values):
        return self._insert("members", values)

    def member(self, member_id):
        return self._one("SELECT * FROM members WHERE id = ?", (member_id,))

    def update_member(self, member_id, **values):
        self._update("members", "id", member_id, values)

    def members_to_retier(self, before, limit):
        return self._all(
            "SELECT * FROM members WHERE tier_dirty = 1 OR tier_checked_at IS NULL "
            "OR tier_checked_at < ? ORDER BY id LIMIT ?",
            (before, limit),
        )

    def add_card(self, **values):
        return self._insert("cards", values)

    def card_by_hash(self, pan_hash):
        return self._one("SELECT * FROM cards WHERE pan_hash = ?", (pan_hash,))

    def card(self, card_id):
        return self._one("SELECT * FROM cards WHERE id = ?", (card_id,))

    def update_card(self, card_id, **values):
        self._update("cards", "id", card_id, values)

    def cards_by_status(self, status):
        return self._all("SELECT * FROM cards WHERE status = ? ORDER BY id", (status,))

    def member_volume(self, member_id, since):
        """Confirmed purchases (amount - discount) minus confirmed refunds of a member's cards
        since a time."""
        # CROSS JOIN: from the member's cards (cards_member), then each card's txns by
        # txns_card. With a plain JOIN SQLite picked txns_open (state = 'confirmed') and read
        # every confirmed transaction of the club per call (docs/performance.md).
        row = self._one(
            "SELECT COALESCE(SUM(CASE WHEN t.proc LIKE '00%' THEN t.amount - t.discount "
            "WHEN t.proc LIKE '20%' THEN -t.amount ELSE 0 END), 0) AS v "
            "FROM cards c CROSS JOIN txns t ON t.card_id = c.id "
            "WHERE c.member_id = ? AND t.state = 'confirmed' AND t.confirmed_at >= ?",
            (member_id, since),
        )
        return row["v"]

    # -- accounts, lots, ledger -------------------------------------------------------------

    def account(self, card_id, kind, merchant_id=""):
        return self._one(
            "SELECT * FROM accounts WHERE card_id = ? AND kind = ? AND merchant_id = ?",
            (card_id, kind, merchant_id),
        )

    def account_by_id(self, account_id):
        return self._one("SELECT * FROM accounts WHERE id = ?", (account_id,))

    def open_account(self, card_id, kind, merchant_id=""):
        self._run(
            "INSERT OR IGNORE INTO accounts (card_id, kind, merchant_id) VALUES (?, ?, ?)",
            (card_id, kind, merchant_id),
        )
        return self.account(card_id, kind, merchant_id)

    def accounts_of_card(self, card_id):
        return self._all(
            "SELECT * FROM accounts WHERE card_id = ? ORDER BY kind, merchant_id", (card_id,)
        )

    def change_account(self, account_id, balance=0, held=0):
        self._run(
            "UPDATE accounts SET balance = balance + ?, held = held + ? WHERE id = ?",
            (balance, held, account_id),
        )

    def add_ledger(self, account_id, amount, txn_id, kind, now):
        self._insert(
            "ledger",
            {
                "account_id": account_id,
                "amount": amount,
                "txn_id": txn_id,
                "kind": kind,
                "created_at": now,
            },
        )

    def ledger_of_account(self, account_id):
        return self._all("SELECT * FROM ledger WHERE account_id = ? ORDER BY id", (account_id,))

    def add_lot(self, account_id, amount, expires_at, txn_id, now):
        return self._insert(
            "lots",
            {
                "account_id": account_id,
                "txn_id": txn_id,
                "amount": amount,
                "remaining": amount,
                "expires_at": expires_at,
                "created_at": now,
            },
        )

    def open_lots(self, account_id):
        """Lots with something left, the first to expire first (no expiry last)."""
        return self._all(
            "SELECT * FROM lots WHERE account_id = ? AND remaining > 0 "
            "ORDER BY expires_at IS NULL, expires_at, id",
            (account_id,),
        )

    def lots_of_txn(self, txn_id):
        return self._all("SELECT * FROM lots WHERE txn_id = ? ORDER BY id", (txn_id,))

    def lot_account(self, lot_id):
        return self._one("SELECT account_id FROM lots WHERE id = ?", (lot_id,))["account_id"]

    def change_lot(self, lot_id, delta):
        self._run("UPDATE lots SET remaining = remaining + ? WHERE id = ?", (delta, lot_id))

    def add_lot_move(self, txn_id, lot_id, amount):
        self._insert("lot_moves", {"txn_id": txn_id, "lot_id": lot_id, "amount": amount})

    def lot_moves(self, txn_id):
        return self._all("SELECT * FROM lot_moves WHERE txn_id = ? ORDER BY id", (txn_id,))

    def accounts_with_expired_lots(self, now, limit):
        return self._all(
            "SELECT DISTINCT a.* FROM lots l JOIN accounts a ON a.id = l.account_id "
            "WHERE l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= ? "
            "AND a.held = 0 LIMIT ?",
            (now, limit),
        )

    def expired_lots(self, account_id, now):
        return self._all(
            "SELECT * FROM lots WHERE account_id = ? AND remaining > 0 "
            "AND expires_at IS NOT NULL AND expires_at <= ?",
            (account_id, now),
        )

    # -- transactions and holds --------------------------------------------------------------

    def add_txn(self, **values):
        txn_id = self._insert("txns", values)
        rrn = f"{txn_id:012d}"
        # the row as it is now, without a SELECT of its own (all rows fetched: the statement
        # is run to its end before the COMMIT)
        return self._all(
            "UPDATE txns SET rrn = ?, auth_code = ? WHERE id = ? RETURNING *",
            (rrn, f"{txn_id % 1000000:06d}", txn_id),
        )[0]

    def txn(self, txn_id):
        return self._one("SELECT * FROM txns WHERE id = ?", (txn_id,))

    def txn_by_rrn(self, rrn):
        return self._one("SELECT * FROM txns WHERE rrn = ?", (rrn,))

    def update_txn(self, txn_id, **values):
        self._update("txns", "id", txn_id, values)

    def change_refunds(self, txn_id, refunded=0, refund_held=0):
        self._run(
            "UPDATE txns SET refunded = refunded + ?, refund_held = refund_held + ? WHERE id = ?",
            (refunded, refund_held, txn_id),
        )

    def expired_txns(self, now, limit):
        return self._all(
            "SELECT * FROM txns WHERE state = 'approved' AND expires_at <= ? ORDER BY id LIMIT ?",
            (now, limit),
        )

    def last_confirmed_txn(self, terminal_id):
        """The transaction the terminal confirmed last, whatever it became since (a voided
        one stays the last: the one before it is not voidable, docs/protocol.md 5.5)."""
        return self._one(
            "SELECT * FROM txns WHERE terminal_id = ? AND confirmed_at IS NOT NULL "
            "ORDER BY confirmed_at DESC, id DESC LIMIT 1",
            (terminal_id,),
        )

    def reconciled(self, txn_id):
        """True when a reconciliation (0510) has closed the window the transaction counts in."""
        row = self._one(
            "SELECT 1 FROM recon_items WHERE txn_id = ? AND batch_id IS NOT NULL LIMIT 1",
            (txn_id,),
        )
        return row is not None

    def add_hold(self, **values):
        return self._insert("holds", values)

    def holds_of_txn(self, txn_id, state="open"):
        return self._all(
            "SELECT * FROM holds WHERE txn_id = ? AND state = ? ORDER BY id", (txn_id, state)
        )

    def close_hold(self, hold_id, state, now):
        self._run("UPDATE holds SET state = ?, closed_at = ? WHERE id = ?", (state, now, hold_id))

    # -- settlement, reconciliation, outbox ---------------------------------------------------

    def add_settlement(self, **values):
        self._insert("settlements", values)

    def settlements_of_txn(self, txn_id):
        return self._all("SELECT * FROM settlements WHERE txn_id = ? ORDER BY id", (txn_id,))

    def add_recon_item(self, terminal_id, txn_id, kind, amount, now):
        self._insert(
            "recon_items",
            {
                "terminal_id": terminal_id,
                "txn_id": txn_id,
                "kind": kind,
                "amount": amount,
                "created_at": now,
            },
        )

    def open_recon_items(self, terminal_id):
        return self._all(
            "SELECT * FROM recon_items WHERE terminal_id = ? AND batch_id IS NULL ORDER BY id",
            (terminal_id,),
        )

    def close_recon(self, terminal_id, result, host_totals, terminal_totals, now):
        batch = self._insert(
            "recon_batches",
            {
                "terminal_id": terminal_id,
                "created_at": now,
                "result": result,
                "host_totals": host_totals,
                "terminal_totals": terminal_totals,
            },
        )
        self._run(
            "UPDATE recon_items SET batch_id = ? WHERE terminal_id = ? AND batch_id IS NULL",
            (batch, terminal_id),
        )
        return batch

    def add_outbox(self, phone, text, txn_id, now):
        self._insert("outbox", {"created_at": now, "phone": phone, "text": text, "txn_id": txn_id})

    def outbox(self, limit=50):
        return self._all("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", (limit,))

    # -- requests (duplicates and repeats, docs/protocol.md section 6) -----------------------

    def request(self, terminal_id, mti_class, stan, f7):
        return self._one(
            "SELECT * FROM requests WHERE terminal_id = ? AND mti_class = ? AND stan = ? "
            "AND f7 = ?",
            (terminal_id, mti_class, stan, f7),
        )

    def save_request(
        self,
        terminal_id,
        mti_class,
        stan,
        f7,
        content_hash,
        response,
        txn_id,
        now,
        state="answered",
    ):
        self._run(
            "INSERT OR REPLACE INTO requests (terminal_id, mti_class, stan, f7, content_hash, "
            "response, txn_id, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (terminal_id, mti_class, stan, f7, content_hash, response, txn_id, state, now),
        )

    def forget_requests(self, before, limit=None):
        """Delete request records older than `before`, the oldest `limit` at most (the sweep's
        chunks); the number deleted."""
        if limit is None:
            return self._run("DELETE FROM requests WHERE created_at < ?", (before,)).rowcount
        return self._run(
            "DELETE FROM requests WHERE (terminal_id, mti_class, stan, f7) IN (SELECT "
            "terminal_id, mti_class, stan, f7 FROM requests WHERE created_at < ? "
            "ORDER BY created_at LIMIT ?)",
            (before, limit),
        ).rowcount

    # -- reports and the ledger check (read-only) ----------------------------------------------

    def all_accounts(self):
        return self._all("SELECT * FROM accounts ORDER BY id")

    def ledger_sums(self):
        return {
            r["account_id"]: r["s"]
            for r in self._all(
                "SELECT account_id, SUM(amount) AS s FROM ledger GROUP BY account_id"
            )
        }

    def lot_sums(self):
        return {
            r["account_id"]: r["s"]
            for r in self._all(
                "SELECT account_id, SUM(remaining) AS s FROM lots GROUP BY account_id"
            )
        }

    def open_hold_sums(self):
        return {
            r["account_id"]: r["s"]
            for r in self._all(
                "SELECT account_id, SUM(amount) AS s FROM holds WHERE state = 'open' "
                "GROUP BY account_id"
            )
        }

    def overdue_holds(self, before):
        return self._all(
            "SELECT h.*, t.rrn FROM holds h JOIN txns t ON t.id = h.txn_id "
            "WHERE h.state = 'open' AND h.expires_at < ?",
            (before,),
        )

    def overdue_txns(self, before):
        return self._all(
            "SELECT * FROM txns WHERE state = 'approved' AND expires_at < ?", (before,)
        )

    def ledger_kind_counts(self, kinds):
        """Per (txn, account, kind) the number of ledger rows, for rows of the given kinds,
        only where there is more than one."""
        marks = ", ".join("?" for _ in kinds)
        return self._all(
            f"SELECT txn_id, account_id, kind, COUNT(*) AS n, SUM(amount) AS s FROM ledger "
            f"WHERE kind IN ({marks}) AND txn_id IS NOT NULL "
            f"GROUP BY txn_id, account_id, kind HAVING COUNT(*) > 1",
            tuple(kinds),
        )

    def purchase_debits(self):
        """Confirmed or voided purchases paid from an account, with the sum of their
        'purchase' ledger rows."""
        return self._all(
            "SELECT t.id, t.rrn, t.state, t.payable, "
            "COALESCE((SELECT SUM(l.amount) FROM ledger l WHERE l.txn_id = t.id "
            "AND l.kind = 'purchase'), 0) AS debited "
            "FROM txns t WHERE t.proc IN ('006000', '007000') "
            "AND t.state IN ('confirmed', 'voided')"
        )

    def duplicate_recon_items(self):
        return self._all(
            "SELECT txn_id, kind, COUNT(*) AS n FROM recon_items GROUP BY txn_id, kind "
            "HAVING COUNT(*) > 1"
        )

    def account_owner(self, account_id):
        """The card (last 4, kind) of an account, for messages."""
        return self._one(
            "SELECT c.last4, c.id AS card_id, a.kind, a.merchant_id FROM accounts a "
            "JOIN cards c ON c.id = a.card_id WHERE a.id = ?",
            (account_id,),
        )

    def txns_confirmed_between(self, start, end):
        return self._all(
            "SELECT * FROM txns WHERE confirmed_at >= ? AND confirmed_at < ? ORDER BY id",
            (start, end),
        )

    def txns_voided_between(self, start, end):
        return self._all(
            "SELECT * FROM txns WHERE state = 'voided' AND closed_at >= ? AND closed_at < ? "
            "ORDER BY id",
            (start, end),
        )

    def settlements_between(self, start, end):
        return self._all(
            "SELECT * FROM settlements WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (start, end),
        )

    def table_counts(self):
        names = [
            r["name"]
            for r in self._all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        return {n: self._one(f"SELECT COUNT(*) AS n FROM {n}")["n"] for n in names}


def _statements(script):
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
