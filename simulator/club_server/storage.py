"""The club database: every SQL statement of the request path lives in this module and the
mixins it composes.

`Storage` is the one class the business logic talks to. Its methods speak the domain
(terminals, cards, accounts, holds, the ledger) and return plain dicts, so replacing SQLite by
another SQL database means rewriting these modules only. SQLite is the embedded default: one
file, WAL journal (readers never wait for the writer), created on first open with a
schema_version table for later migrations.

This module holds the connection, transactions, savepoints and the migration; the schema is in
schema.py (SCHEMA, SCHEMA_VERSION, re-exported here), and the row methods, by domain, in
mixins Storage composes: storage_club.py (settings, programs, merchants, terminals, products),
storage_cards.py (members and cards), storage_money.py (accounts, lots, ledger),
storage_txns.py (transactions, holds, request records), storage_settlement.py (settlement,
reconciliation, outbox) and storage_reports.py (reports and the ledger check).

Card numbers never reach the database: cards are stored by a keyed hash, the last 4 digits and
an AES-GCM blob (simulator.club_server.cards.CardVault).

The ledger is append-only: triggers refuse UPDATE and DELETE on it.
"""

import sqlite3
import time
from contextlib import contextmanager

from simulator.club_server import schema_additions
from simulator.club_server.schema import SCHEMA, SCHEMA_VERSION
from simulator.club_server.schema import statements as _statements
from simulator.club_server.storage_cards import CardRows
from simulator.club_server.storage_club import ClubRows
from simulator.club_server.storage_money import MoneyRows
from simulator.club_server.storage_reports import ReportRows
from simulator.club_server.storage_settlement import SettlementRows
from simulator.club_server.storage_txns import TxnRows

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Storage", "StorageError"]


class StorageError(RuntimeError):
    pass


def _dict_row(cursor, row):
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


class Storage(ClubRows, CardRows, MoneyRows, TxnRows, SettlementRows, ReportRows):
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
        # tables, columns and indexes added after version 1 (coupons, settlement, campaigns,
        # the register, the operator's lists)
        schema_additions.ensure(self._conn)

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
