"""Reading the club database from the tests (through the server's own database thread)."""

from simulator.club_server import accounts
from simulator.club_server.seed import vault_for

MERCHANT = "VAFA00000000001"


def card_row(server, pan):
    vault = vault_for(server.server.db_path)
    return server.call(lambda store: store.card_by_hash(vault.lookup_hash(pan)))


def balance(server, pan, kind=accounts.CLUB, merchant_id=None):
    """(balance, held) of one account of a card ((0, 0) when it has none)."""
    card = card_row(server, pan)
    merchant = "" if kind == accounts.CLUB else (merchant_id or MERCHANT)
    account = server.call(lambda store: store.account(card["id"], kind, merchant))
    return (account["balance"], account["held"]) if account else (0, 0)


def txn(server, rrn):
    return server.call(lambda store: store.txn_by_rrn(rrn))


def ledger_of(server, rrn):
    """[(kind, account kind, amount)] of one transaction's ledger rows."""
    t = txn(server, rrn)

    def rows(store):
        return sorted(
            (row["kind"], account["kind"], row["amount"])
            for account in store.all_accounts()
            for row in store.ledger_of_account(account["id"])
            if row["txn_id"] == t["id"]
        )

    return server.call(rows)


def settlements(server, rrn):
    t = txn(server, rrn)
    return server.call(
        lambda store: [(s["kind"], s["amount"]) for s in store.settlements_of_txn(t["id"])]
    )


def outbox(server):
    return server.call(lambda store: store.outbox(1000))
