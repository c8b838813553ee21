"""Read-only rows for the reports and the ledger check (simulator.club_server.ledger).

Methods of storage.Storage, which composes this mixin: they rely on its _one, _all, _run,
_insert and _update helpers (the connection is Storage's).
"""


class PeriodReads:
    """The reads of a report window (reports.daily_report): over Storage's connection
    (ReportRows) or a read-only one (queries.ReadOnlyReports); both give _all(sql, args)."""

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


class ReportRows(PeriodReads):
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
        """Confirmed or voided purchases paid from an account, with what the account paid
        (`payable`: a split's credit part, docs/protocol.md 5.11) and the sum of their
        'purchase' ledger rows."""
        return self._all(
            "SELECT t.id, t.rrn, t.state, t.payable - t.remainder AS payable, "
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

    def table_counts(self):
        names = [
            r["name"]
            for r in self._all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        return {n: self._one(f"SELECT COUNT(*) AS n FROM {n}")["n"] for n in names}
