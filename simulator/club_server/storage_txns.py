"""Transactions, their holds, and the request records of duplicates and repeats in the
database.

Methods of storage.Storage, which composes this mixin: they rely on its _one, _all, _run,
_insert and _update helpers (the connection is Storage's).
"""


class TxnRows:
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
