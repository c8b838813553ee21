"""Settlements owed to stores, reconciliation windows and the SMS outbox in the database.

Methods of storage.Storage, which composes this mixin: they rely on its _one, _all, _run,
_insert and _update helpers (the connection is Storage's).
"""


class SettlementRows:
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
