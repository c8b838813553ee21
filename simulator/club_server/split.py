"""Split payment (docs/protocol.md 5.11): club or store credit pays what it holds, the rest
("the remainder") is paid by bank card on the bank leg (tender "40") or in cash ("00").

A split sale is one transaction row: its proc is the credit's (006000 / 007000), `payable` the
whole payable, `remainder` the part paid outside the credit and `remainder_tender` its tender;
the credit part (payable - remainder) is what is held and then debited. The remainder leg
follows the row's state: offered while approved, paid when confirmed (with `bank_ref` for a
bank leg), not paid when reversed or released, voided with the sale. A refund of a split sale
is a row of the same kind: `remainder` is its share paid back outside the credit.
"""

from simulator.club_server.context import TAG_SPLIT_TENDER
from simulator.club_server.outcomes import PHASE_ONE, SHORT
from simulator.club_server.protection import SECRET_CARD

PARTIAL_APPROVAL = "10"  # ISO 8583:1987 "approved for partial amount"
APPROVALS = ("00", PARTIAL_APPROVAL)  # answers after which phase two follows
TENDER_BANK = "40"
TENDER_CASH = "00"
TENDERS = (TENDER_BANK, TENDER_CASH)
SPLIT_PURCHASES = ("006000", "007000")  # the purchases a tag 17 may come with
# the states in which a refund's share is taken from what is left to refund of its original
LIVE = ("approved", "confirmed")


def requested_tender(ctx, proc):
    """(tender, None) for a 0100 with tag 17, (None, None) without it, (None, code) when the
    tag is not allowed here (12) or names no tender (30). ValueError: field 48 malformed."""
    tender = ctx.request_tags().get(TAG_SPLIT_TENDER)
    if tender is None:
        return None, None
    if proc not in SPLIT_PURCHASES:
        return None, "12"
    if tender not in TENDERS:
        return None, "30"
    return tender, None


def seen_available(ctx, available):
    """`available` club credit, or less for the magic short-credit card of the outcome table
    (outcomes.SHORT: at most its rule's rials), so QA can make a split at will."""
    rule = ctx.outcomes.match(PHASE_ONE, card=ctx.secrets.get(SECRET_CARD))
    if rule is not None and rule.effect == SHORT:
        return min(available, int(rule.argument))
    return available


def credit_account(proc):
    """The field 54 account of a credit purchase (0060/0070 in positions 3-4) or refund code
    (2000 + 60/70): "60" or "70"."""
    return proc[4:6] if proc.startswith("20") else proc[2:4]


def credit_part(txn):
    """What the credit paid (or, for a refund, gets back) of a transaction row."""
    return txn["payable"] - (txn["remainder"] or 0)


def partial_amounts(txn, credit, priced_items=()):
    """Field 54 of a 10: the credit account's D1/F1 as for a credit purchase (priced_items),
    {acct}P1 the credit part, {tender}P1 the remainder, {acct}02 = 0 (all of it is held)."""
    acct = credit_account(txn["proc"])
    return [
        *priced_items,
        (acct, "P1", credit),
        (txn["remainder_tender"], "P1", txn["remainder"]),
        (acct, "02", 0),
    ]


def refund_shares(store, original, amount):
    """(credit share, remainder share) of a refund of `amount` of a split `original`: in
    proportion to what each leg paid, the credit's rounded down, each at most what is left to
    refund on its leg (the excess moves to the other), so refunds of the whole sale give each
    leg back exactly. What may be refunded of the sale (amount - discount, 5.4) is divided
    into the legs as: remainder leg = min(remainder, that), credit leg = the rest (a club fee,
    paid from the credit, is not refunded, as for a credit purchase)."""
    refundable = original["amount"] - original["discount"]
    remainder_cap = min(original["remainder"], refundable)
    credit_cap = refundable - remainder_cap
    row = store._one(
        "SELECT COALESCE(SUM(remainder), 0) AS r FROM txns WHERE original_id = ? "
        "AND state IN (?, ?)",
        (original["id"], *LIVE),
    )
    remainder_used = row["r"]
    credit_used = original["refunded"] + original["refund_held"] - remainder_used
    remainder_left = remainder_cap - remainder_used
    credit_left = credit_cap - credit_used
    paid = credit_part(original) + original["remainder"]
    credit = amount * credit_part(original) // paid if paid > 0 else 0
    remainder = amount - credit
    if credit > credit_left:
        credit, remainder = credit_left, remainder + credit - credit_left
    if remainder > remainder_left:
        credit, remainder = credit + remainder - remainder_left, remainder_left
    return credit, remainder


def legs(txn):
    """[(account, rials)] of a purchase or refund row, in paying order: the credit leg, then
    the remainder leg of a split (any other has one leg, its whole payable, on the account of
    its processing code: 00 cash, 40 bank card, 60 club credit, 70 store credit, 80 points)."""
    acct = credit_account(txn["proc"])
    if not txn["remainder_tender"]:
        return [(acct, txn["payable"])]
    return [(acct, credit_part(txn)), (txn["remainder_tender"], txn["remainder"])]


# a leg's account -> what people call it (lists, story, reports)
LEG_NAMES = {"60": "club credit", "70": "store credit", "40": "bank card", "00": "cash"}


def legs_text(txn):
    """'club credit 2,000,000 + bank card 705,000' for a split purchase or refund row; ''
    for any other transaction (its kind says what paid)."""
    if not txn.get("remainder_tender") or txn["proc"][:2] not in ("00", "20"):
        return ""
    return " + ".join(f"{LEG_NAMES.get(a, a)} {rials:,}" for a, rials in legs(txn))
