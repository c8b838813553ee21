"""Where the campaigns meet a request: the few calls phase_one and phase_two make, so those
stay about money and the campaigns stay here (return_offer.py, referral.py, survey.py).

A request's campaign state rides on its Ctx: `campaign_offer` (the return offer it takes,
return_offer.Taken) and `campaign_line` (a line for field 48 tag 04 of its answer).
"""

from simulator.club_server import referral, return_offer, survey
from simulator.club_server.context import TAG_MESSAGE
from simulator.club_server.split import APPROVALS


def price(ctx, card, amount, discount, payable, account_type):
    """Phase one pricing: (discount, payable) with the member's return offer applied."""
    discount, payable, taken = return_offer.price(
        ctx, card, amount, discount, payable, account_type
    )
    if taken is not None:
        ctx.campaign_offer = taken
        ctx.campaign_line = taken.line()
    return discount, payable


def txn_made(ctx, txn):
    """Phase one made the transaction: the offer it priced is taken by it."""
    taken = getattr(ctx, "campaign_offer", None)
    if taken is not None:
        return_offer.take(ctx, taken, txn)
        ctx.campaign_offer = None


def tell(ctx, reply):
    """An approved answer carries the campaign's line in tag 04 (unless it has one)."""
    line = getattr(ctx, "campaign_line", None)
    if line and reply.code in APPROVALS and TAG_MESSAGE not in reply.tags:
        reply.tags[TAG_MESSAGE] = line


def after_purchase(ctx, txn, card_id):
    """At the 0220 of a purchase: referral reward, survey SMS; the receipt line that should
    replace the earn line (the referral's, else the return offer's), or None."""
    store = ctx.store
    card = store.card(card_id)
    member = store.member(card["member_id"]) if card["member_id"] else None
    if member is None:
        return None
    line = referral.reward(ctx, txn, member["id"])
    survey.after_purchase(ctx, txn, card, member)
    return line or return_offer.line_of_txn(ctx, txn)
