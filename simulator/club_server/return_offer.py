"""The "we miss you" return offer at the till (campaigns.py makes it): a percentage off the
member's next purchase at the store that made it, within its validity.

Phase one prices a bank-card (004000) or club-credit (006000) purchase, the two that carry a
discount (field 54 D1), and `price` adds the offer's extra discount: offer_bp of what the
purchase costs after the tier discount, at most what is left to pay. The transaction that
takes the offer is written on the offer (used_txn_id, and the
extra discount in amount) in the same database transaction; an
offer whose transaction was reversed, released or voided is open again, so nothing needs
undoing. The 0110's field 48 tag 04 tells the member, and so does the 0230's (the receipt
prints the confirmation's line).
"""

from simulator.club_server import campaign_storage as cs
from simulator.club_server import campaign_texts as texts
from simulator.club_server.program import ACCOUNT_BANK, ACCOUNT_CLUB

OFFER_ACCOUNTS = (ACCOUNT_BANK, ACCOUNT_CLUB)
BASIS = 10_000


class Taken:
    """The offer a request is taking: its campaign_grants row and the extra discount."""

    __slots__ = ("extra", "grant")

    def __init__(self, grant, extra):
        self.grant = grant
        self.extra = extra

    def line(self):
        return texts.receipt_line(
            "offer", percent=texts.percent(self.grant["offer_bp"]), discount=self.extra
        )


def extra_discount(offer_bp, amount, discount, payable):
    """Rials off for an offer of offer_bp basis points on a purchase priced (amount, discount,
    payable): of amount - discount, rounded down, at most payable.

    >>> extra_discount(1000, 500000, 50000, 450000)
    45000
    """
    return max(0, min((amount - discount) * offer_bp // BASIS, payable))


def price(ctx, card, amount, discount, payable, account_type):
    """(discount, payable, Taken or None) with the member's open offer here applied."""
    if account_type not in OFFER_ACCOUNTS or not card["member_id"]:
        return discount, payable, None
    grant = cs.open_offer(ctx.store, card["member_id"], ctx.merchant_id, ctx.now)
    if grant is None:
        return discount, payable, None
    extra = extra_discount(grant["offer_bp"], amount, discount, payable)
    if not extra:
        return discount, payable, None
    return discount + extra, payable - extra, Taken(grant, extra)


def take(ctx, taken, txn):
    cs.use_offer(ctx.store, taken.grant["id"], txn["id"], taken.extra)


def line_of_txn(ctx, txn):
    """The receipt line of the offer a confirmed transaction took, or None."""
    if not txn["discount"]:
        return None
    grant = cs.offer_of_txn(ctx.store, txn["id"])
    return Taken(grant, grant["amount"]).line() if grant is not None else None
