"""Where a card's store credit may be spent: at the store that gave it, or, when the selling
store's program says `store_credit_scope chain`, at any store of the same chain
(merchants.chain_id). docs/club_server.md "Stores, chains and terminals".

A store-credit purchase takes from this store's own account first, then from the accounts of
the other stores of the chain (by merchant id), each with a hold of its own: the 0220 captures
each hold from its account, a void puts every lot back where it was. Store credit stays the
giving store's (the chain carries it): no settlement row, as for any store-credit purchase.
"""

from simulator.club_server import accounts


def _chain(ctx):
    """The chain whose stores' credit is spent here, or None."""
    chain = ctx.merchant.get("chain_id")
    if chain and ctx.program.chain_scope(ctx.settings):
        return chain
    return None


def spendable(ctx, card_id):
    """[(account, available)] of the store credit a purchase here may take from, this
    store's first; accounts with nothing available are left out."""
    store = ctx.store
    chain = _chain(ctx)
    here, others = [], []
    for account in store.accounts_of_card(card_id):
        if account["kind"] != accounts.STORE:
            continue
        if account["merchant_id"] == ctx.merchant_id:
            target = here
        elif chain is not None and _in_chain(store, account["merchant_id"], chain):
            target = others
        else:
            continue
        left = accounts.available(store, account, ctx.now)
        if left > 0:
            target.append((account, left))
    return here + others


def _in_chain(store, merchant_id, chain):
    merchant = store.merchant(merchant_id)  # cached in the server (server_storage.py)
    return merchant is not None and merchant.get("chain_id") == chain


def available_here(ctx, card_id):
    """Store credit a purchase here may spend (this store's, plus its chain's by scope)."""
    return sum(left for _, left in spendable(ctx, card_id))


def hold(ctx, spend, amount, txn):
    """Hold `amount` across `spend` (from spendable(), this store's first); the caller checked
    that it holds enough."""
    left = amount
    for account, available in spend:
        take = min(left, available)
        accounts.hold(ctx.store, account, take, txn["id"], ctx.now, txn["expires_at"])
        left -= take
        if not left:
            break
    if left:
        raise accounts.InsufficientFunds(f"store credit short of {left} rials")
