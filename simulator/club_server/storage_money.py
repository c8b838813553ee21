"""Accounts, their credit lots and the append-only ledger in the database.

Methods of storage.Storage, which composes this mixin: they rely on its _one, _all, _run,
_insert and _update helpers (the connection is Storage's).
"""


class MoneyRows:
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
