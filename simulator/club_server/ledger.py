"""The ledger check: recompute every balance from the append-only ledger and compare.

Findings, each a sentence naming the account by its card's last 4 digits:
- an account's balance differs from the sum of its ledger rows;
- a money account's balance differs from the sum of its credit lots;
- an account's held amount differs from the sum of its open holds, or money is overdrawn;
- a hold, or an approval, is still open past its window (plus a grace for the sweeper);
- a transaction was confirmed twice (two ledger rows of one kind for one transaction and
  account, or two reconciliation items of one kind);
- a purchase paid from an account was debited other than exactly its payable amount once (a
  split: its credit part, docs/protocol.md 5.11).
"""

import time

from simulator.club_server import accounts
from simulator.club_server.cards import mask
from simulator.club_server.storage import Storage

ONCE_PER_TXN = ("purchase", "earn", "topup", "refund", "clawback")


class LedgerReport:
    def __init__(self, findings, checked):
        self.findings = findings
        self.checked = checked
        self.ok = not findings

    def __str__(self):
        head = "ledger check: " + ("OK" if self.ok else f"{len(self.findings)} finding(s)")
        facts = ", ".join(f"{k} {v}" for k, v in self.checked.items())
        return "\n".join([head, "checked: " + facts, *("- " + f for f in self.findings)])


def ledger_check(db, now=None, grace=120.0):
    """Check a database (a path or a Storage); a LedgerReport with .ok and .findings."""
    store = db if isinstance(db, Storage) else Storage(db)
    try:
        with store.transaction(write=False):  # one consistent snapshot
            return _check(store, time.time() if now is None else now, grace)
    finally:
        if store is not db:
            store.close()


def _name(store, account_id):
    owner = store.account_owner(account_id)
    if owner is None:
        return f"account {account_id}"
    where = f" at {owner['merchant_id']}" if owner["merchant_id"] else ""
    return f"{owner['kind']} account {account_id} of card {mask(owner['last4'])}{where}"


def _check(store, now, grace):
    findings = []
    ledger = store.ledger_sums()
    lots = store.lot_sums()
    holds = store.open_hold_sums()
    all_accounts = store.all_accounts()
    for a in all_accounts:
        aid = a["id"]
        if a["balance"] != ledger.get(aid, 0):
            findings.append(
                f"{_name(store, aid)}: balance {a['balance']}, ledger sum {ledger.get(aid, 0)}"
            )
        if a["kind"] in accounts.MONEY and a["balance"] != lots.get(aid, 0):
            findings.append(
                f"{_name(store, aid)}: balance {a['balance']}, credit lots {lots.get(aid, 0)}"
            )
        if a["held"] != holds.get(aid, 0):
            findings.append(
                f"{_name(store, aid)}: held {a['held']}, open holds {holds.get(aid, 0)}"
            )
        if a["kind"] in accounts.MONEY and a["balance"] - a["held"] < 0:
            findings.append(f"{_name(store, aid)}: overdrawn ({a['balance'] - a['held']})")
    findings.extend(
        f"hold {h['id']} of RRN {h['rrn']} open past its window"
        for h in store.overdue_holds(now - grace)
    )
    findings.extend(
        f"approval RRN {t['rrn']} neither confirmed nor released past its window"
        for t in store.overdue_txns(now - grace)
    )
    findings.extend(
        f"transaction {row['txn_id']}: {row['n']} '{row['kind']}' rows on "
        f"{_name(store, row['account_id'])} (confirmed twice?)"
        for row in store.ledger_kind_counts(ONCE_PER_TXN)
    )
    findings.extend(
        f"transaction {row['txn_id']}: counted {row['n']} times as {row['kind']}"
        for row in store.duplicate_recon_items()
    )
    findings.extend(
        f"purchase RRN {row['rrn']}: debited {-row['debited']}, payable {row['payable']}"
        for row in store.purchase_debits()
        if -row["debited"] != row["payable"]
    )
    counts = store.table_counts()
    names = {
        "accounts": "accounts",
        "ledger rows": "ledger",
        "transactions": "txns",
        "holds": "holds",
    }
    checked = {name: counts[table] for name, table in names.items()}
    return LedgerReport(findings, checked)
