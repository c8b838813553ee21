"""Spending points at the till: a purchase paid with the points a card holds at this store
(processing code 008000, account type 80 "points"; docs/protocol.md 2.2).

The store's program says what a point is worth (`point_value_rials`, settings row; 0, the
default: points are not spent at this store, answered 57). A purchase of `amount` rials takes
ceil(amount / point_value_rials) points. Two phases like a store-credit purchase: phase one
holds the points on the card's points account at this store (51 when it holds too few), the
0220 debits them (ledger kind `purchase`), a reversal releases the hold, a void credits them
back (ledger kind `void`). The store carries what it gave away: no settlement row, no points
earned on it, no refund (a refund naming it is 12, as for any other processing code pair).
"""

from simulator.club_server import accounts
from simulator.club_server.context import TAG_POINTS_BALANCE, TAG_POINTS_EARNED, TAG_TIER, Reply

PURCHASE_POINTS = "008000"


def point_value(ctx):
    """Rials one point is worth when spent here (0: not spent here)."""
    return int(ctx.program.knob(ctx.settings, "point_value_rials"))


def points_for_amount(amount, value):
    """Points a purchase of `amount` rials takes at `value` rials a point (rounded up)."""
    return -(-amount // value)


def points_purchase(ctx, card, amount):
    from simulator.club_server import phase_one  # phase_one registers this handler

    if not phase_one.amount_ok(ctx, amount):
        return Reply("13")
    value = point_value(ctx)
    if value <= 0:
        return Reply("57")
    store = ctx.store
    needed = points_for_amount(amount, value)
    account = accounts.points_account(store, card["id"], ctx.merchant_id)
    left = account["balance"] - account["held"]
    tier = phase_one.tier_of(ctx, card)
    if left < needed:
        return Reply("51", {TAG_POINTS_BALANCE: str(max(left, 0))})
    txn = phase_one.new_txn(ctx, card, amount, payable=amount, points=0, tier=tier)
    accounts.hold(store, account, needed, txn["id"], ctx.now, txn["expires_at"])
    tags = {TAG_POINTS_EARNED: "0", TAG_POINTS_BALANCE: str(left - needed), TAG_TIER: tier}
    return Reply("00", tags, txn=txn)


def give_back(ctx, txn):
    """A void of a points purchase: the points its 0220 took go back to their account."""
    store = ctx.store
    for hold in store.holds_of_txn(txn["id"], state="captured"):
        account = store.account_by_id(hold["account_id"])
        accounts.credit(store, account, hold["amount"], txn["id"], "void", ctx.now)
