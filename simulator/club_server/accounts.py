"""Balance movements: every change of a balance goes through here and leaves a ledger row.

Accounts of a club card: "club" (club credit, rials, spendable at any member store), "store"
(store credit of one merchant, rials, spendable only there) and "points" (per merchant: each
store's program counts its own points). Money accounts keep their credit in lots, each with
its own validity (a top-up valid one year, a gift valid 90 days): a debit takes from the lot
that expires first, and a lot past its validity is written off ("expire") unless a hold is open
on the account. Points have no lots.

balance = sum of the account's ledger rows = (money) sum of its lots' remaining;
held = sum of its open holds; available = balance - held.
"""

CLUB = "club"
STORE = "store"
POINTS = "points"
MONEY = (CLUB, STORE)


class InsufficientFunds(Exception):
    """A debit the account cannot cover (callers check `available` first; this guards)."""


def club_account(store, card_id):
    return store.open_account(card_id, CLUB, "")


def store_account(store, card_id, merchant_id):
    return store.open_account(card_id, STORE, merchant_id)


def points_account(store, card_id, merchant_id):
    return store.open_account(card_id, POINTS, merchant_id)


def expire_lots(store, account, now):
    """Write off the expired lots of an account without an open hold; the fresh account row."""
    if account["kind"] in MONEY and not account["held"]:
        total = 0
        for lot in store.expired_lots(account["id"], now):
            store.change_lot(lot["id"], -lot["remaining"])
            store.add_ledger(account["id"], -lot["remaining"], None, "expire", now)
            total += lot["remaining"]
        if total:
            store.change_account(account["id"], balance=-total)
            return store.account_by_id(account["id"])
    return account


def available(store, account, now):
    account = expire_lots(store, account, now)
    return account["balance"] - account["held"]


def credit(store, account, amount, txn_id, kind, now, expires_at=None):
    if amount <= 0:
        return
    if account["kind"] in MONEY:
        store.add_lot(account["id"], amount, expires_at, txn_id, now)
    store.add_ledger(account["id"], amount, txn_id, kind, now)
    store.change_account(account["id"], balance=amount)


def debit(store, account, amount, txn_id, kind, now, allow_negative=False):
    """Take `amount`; money comes from the lots that expire first (recorded per lot so a void
    can put it back where it was). Points may go negative only with allow_negative (a
    take-back of points already spent)."""
    if amount <= 0:
        return
    if account["kind"] in MONEY:
        left = amount
        for lot in store.open_lots(account["id"]):
            take = min(left, lot["remaining"])
            store.change_lot(lot["id"], -take)
            store.add_lot_move(txn_id, lot["id"], take)
            left -= take
            if not left:
                break
        if left:
            raise InsufficientFunds(f"account {account['id']} short of {left} rials")
    elif not allow_negative and store.account_by_id(account["id"])["balance"] < amount:
        raise InsufficientFunds(f"account {account['id']} short of points")
    store.add_ledger(account["id"], -amount, txn_id, kind, now)
    store.change_account(account["id"], balance=-amount)


def hold(store, account, amount, txn_id, now, expires_at):
    if amount <= 0:
        return
    store.add_hold(
        txn_id=txn_id,
        account_id=account["id"],
        amount=amount,
        created_at=now,
        expires_at=expires_at,
        state="open",
    )
    store.change_account(account["id"], held=amount)


def capture(store, txn_id, kind, now):
    """Turn the open holds of a transaction into debits; returns the amount debited. Held
    points are the sale's even when a take-back of points (a refund) left fewer meanwhile:
    the card owes them (as take_back_points), the approved sale's 0220 does not fail."""
    total = 0
    for h in store.holds_of_txn(txn_id):
        store.close_hold(h["id"], "captured", now)
        store.change_account(h["account_id"], held=-h["amount"])
        account = store.account_by_id(h["account_id"])
        debit(store, account, h["amount"], txn_id, kind, now, allow_negative=True)
        total += h["amount"]
    return total


def release(store, txn_id, now):
    """Let go of the open holds of a transaction."""
    for h in store.holds_of_txn(txn_id):
        store.close_hold(h["id"], "released", now)
        store.change_account(h["account_id"], held=-h["amount"])


def undo_debits(store, txn_id, now):
    """Put back every lot debit of a transaction (a void); returns {account_id: amount}."""
    back = {}
    lots = {}
    for move in store.lot_moves(txn_id):
        lots[move["lot_id"]] = lots.get(move["lot_id"], 0) + move["amount"]
    for lot_id, amount in lots.items():
        if amount <= 0:
            continue
        store.change_lot(lot_id, amount)
        store.add_lot_move(txn_id, lot_id, -amount)
        account_id = store.lot_account(lot_id)
        back[account_id] = back.get(account_id, 0) + amount
    for account_id, amount in back.items():
        store.add_ledger(account_id, amount, txn_id, "void", now)
        store.change_account(account_id, balance=amount)
    return back


def undo_credits(store, txn_id, now):
    """Take back the money a transaction credited (a void of a top-up or refund), from its own
    lot first. InsufficientFunds (nothing changed) when it was spent meanwhile."""
    plan = []
    for lot in store.lots_of_txn(txn_id):
        account = expire_lots(store, store.account_by_id(lot["account_id"]), now)
        if account["balance"] - account["held"] < lot["amount"]:
            raise InsufficientFunds(f"credit of transaction {txn_id} already spent")
        plan.append((lot, account))
    for lot, account in plan:
        own = min(lot["remaining"], lot["amount"])
        store.change_lot(lot["id"], -own)
        store.add_lot_move(txn_id, lot["id"], own)
        rest = lot["amount"] - own
        store.add_ledger(account["id"], -own, txn_id, "void", now)
        store.change_account(account["id"], balance=-own)
        if rest:
            debit(store, store.account_by_id(account["id"]), rest, txn_id, "void", now)
    return sum(lot["amount"] for lot, _ in plan)
