"""Phase two (0220 confirm), reversals and voids (0420), and the release of stale holds.

Confirmation is where money and points move for good: holds become debits, credits are
written with their validity, points are earned (and turned into gift credit by the program),
settlement to the store is recorded, the member's tier is recomputed and an SMS is queued.
"""

from simulator.club_server import (
    accounts,
    campaign_hooks,
    coupons,
    credit_scope,
    loyalty,
    points_spend,
    split,
    tehran,
    wire,
    workcal,
)
from simulator.club_server.context import (
    TAG_BANK_REFERENCE,
    TAG_CREDIT_VALIDITY,
    TAG_MESSAGE,
    TAG_POINTS_BALANCE,
    TAG_POINTS_EARNED,
    TAG_REVERSAL_REASON,
    TAG_TIER,
    Reply,
)
from simulator.club_server.phase_one import (
    PURCHASE_BANK,
    PURCHASE_CLUB,
    PURCHASE_STORE,
    PURCHASES,
    REFUND_CLUB,
    REFUND_STORE,
)
from simulator.club_server.program import ACCOUNT_CLUB, ACCOUNT_STORE, top_up_multiplier
from simulator.club_server.protection import SECRET_CARD
from simulator.club_server.sms import fa_date_yyyymmdd, receipt_line

# Reconciliation buckets (docs/protocol.md 5.8).
DEBIT = "debit"
CREDIT = "credit"
DEBIT_REVERSAL = "debit_reversal"
CREDIT_REVERSAL = "credit_reversal"


def _same_card(ctx, txn):
    """The card of a phase-two message, when given, must be the transaction's (or a bank
    card linked to it)."""
    pan = ctx.secrets.get(SECRET_CARD)
    if not pan:
        return True
    card = ctx.store.card_by_hash(ctx.vault.lookup_hash(pan))
    if card is None:
        return False
    return txn["card_id"] in (card["id"], card["linked_card_id"])


def confirm(ctx):
    msg = ctx.message
    store = ctx.store
    txn = store.txn_by_rrn(msg["37"])
    if txn is None or txn["terminal_id"] != ctx.terminal_id:
        return Reply("25")
    _, stan, f7 = wire.parse_original(msg["90"])
    if (stan, f7) != (txn["stan"], txn["f7"]) or msg["3"] != txn["proc"]:
        return Reply("12", txn=txn)
    if int(msg["4"]) != txn["amount"]:
        return Reply("13", txn=txn)
    if not _same_card(ctx, txn):
        return Reply("12", txn=txn)
    if txn["state"] == "confirmed":
        # A second confirmation changes nothing and gets the first one's data.
        return Reply.from_data("00", txn["confirm_response"], txn)
    if txn["state"] != "approved":
        return Reply("12", txn=txn)  # reversed, released by the hold window, or single-phase
    try:
        bank_ref = ctx.request_tags().get(TAG_BANK_REFERENCE)
    except (ValueError, UnicodeError):
        return Reply("30", txn=txn)
    if txn["remainder_tender"] == split.TENDER_BANK and not bank_ref and txn["proc"][:2] == "00":
        return Reply("30", txn=txn)  # a split's bank leg is named by its reference (5.11)
    reply = CONFIRMS[txn["proc"][:2]](ctx, txn)
    coupons.consume(store, txn["id"], ctx.now)  # its coupon's use, if any, is spent
    store.update_txn(
        txn["id"],
        state="confirmed",
        confirmed_at=ctx.now,
        bank_ref=bank_ref,
        confirm_response=reply.data(),
    )
    return reply


def _confirm_purchase(ctx, txn):
    store = ctx.store
    proc = txn["proc"]
    card_id = txn["card_id"]
    amounts = []
    if proc in (PURCHASE_CLUB, PURCHASE_STORE, points_spend.PURCHASE_POINTS):
        accounts.capture(store, txn["id"], "purchase", ctx.now)
    if proc == PURCHASE_CLUB:
        # The member's club credit paid the store: the club owes it amount - discount, less
        # a split's remainder, which the store took itself (bank leg or cash, 5.11).
        _settle(ctx, txn, "purchase", txn["amount"] - txn["discount"] - txn["remainder"])
    elif proc == PURCHASE_BANK and txn["fee"]:
        # The bank leg paid the store the fee too: the store owes it to the club.
        _settle(ctx, txn, "fee", -txn["fee"])
    points_balance = loyalty.earn(ctx, card_id, txn["points"], txn["id"])
    messages = [receipt_line("earn", points=txn["points"])]
    used, gift, validity = loyalty.convert(ctx, card_id, txn["id"], points_balance)
    if used:
        points_balance -= used
        messages = [receipt_line("convert", points=used, credit=gift)]
        loyalty.notify(
            ctx,
            card_id,
            "convert",
            txn["id"],
            points=used,
            credit=gift,
            store=ctx.merchant["name_fa"],
            validity=fa_date_yyyymmdd(validity),
        )
    line = campaign_hooks.after_purchase(ctx, txn, card_id)  # referral, survey, return offer
    if line:
        messages = [line]
    store.add_recon_item(ctx.terminal_id, txn["id"], DEBIT, txn["amount"], ctx.now)
    tier = _retier(ctx, card_id)
    if proc == PURCHASE_CLUB:
        balance = _available(ctx, card_id, accounts.CLUB)
        amounts.append((ACCOUNT_CLUB, "02", balance))
        loyalty.notify(
            ctx,
            card_id,
            "purchase_credit",
            txn["id"],
            amount=split.credit_part(txn),
            store=ctx.merchant["name_fa"],
            balance=balance,
            points=txn["points"],
        )
    else:
        if proc == PURCHASE_STORE:
            amounts.append((ACCOUNT_STORE, "02", credit_scope.available_here(ctx, card_id)))
        loyalty.notify(
            ctx,
            card_id,
            "purchase",
            txn["id"],
            amount=txn["payable"],
            store=ctx.merchant["name_fa"],
            points=txn["points"],
            points_balance=max(points_balance, 0),
        )
    tags = {
        TAG_POINTS_EARNED: str(txn["points"]),
        TAG_POINTS_BALANCE: str(max(points_balance, 0)),
        TAG_TIER: tier,
        TAG_MESSAGE: messages[0],
    }
    return Reply("00", tags, amounts, txn)


def _confirm_refund(ctx, txn):
    store = ctx.store
    card_id = txn["card_id"]
    proc = txn["proc"]
    amounts = []
    back = split.credit_part(txn)  # a split sale's refund: the credit share only (5.11)
    if proc == REFUND_CLUB:
        account = accounts.club_account(store, card_id)
        accounts.credit(store, account, back, txn["id"], "refund", ctx.now)
        _settle(ctx, txn, "refund", -back)
        amounts.append((ACCOUNT_CLUB, "02", _available(ctx, card_id, accounts.CLUB)))
    elif proc == REFUND_STORE:
        expires_at, _ = loyalty.credit_validity(ctx.program.credit_validity_days, ctx.now)
        account = accounts.store_account(store, card_id, ctx.merchant_id)
        accounts.credit(store, account, back, txn["id"], "refund", ctx.now, expires_at)
        amounts.append((ACCOUNT_STORE, "02", _available(ctx, card_id, accounts.STORE)))
    points_balance = loyalty.take_back_points(ctx, card_id, txn["points"], txn["id"], "clawback")
    store.change_refunds(txn["original_id"], refunded=txn["amount"], refund_held=-txn["amount"])
    store.add_recon_item(ctx.terminal_id, txn["id"], CREDIT, txn["amount"], ctx.now)
    tier = _retier(ctx, card_id)
    loyalty.notify(
        ctx,
        card_id,
        "refund",
        txn["id"],
        amount=txn["amount"],
        store=ctx.merchant["name_fa"],
        points=txn["points"],
    )
    tags = {
        TAG_POINTS_BALANCE: str(max(points_balance, 0)),
        TAG_TIER: tier,
        TAG_MESSAGE: receipt_line("refund", points=txn["points"]),
    }
    return Reply("00", tags, amounts, txn)


def _confirm_top_up(ctx, txn):
    store = ctx.store
    card_id = txn["card_id"]
    product = store.product(store.card(card_id)["product"])
    expires_at, validity = loyalty.credit_validity(product["credit_validity_days"], ctx.now)
    credit = txn["credit"]
    if loyalty.card_sold(store, card_id):
        # Two top-ups of a new card approved at once were both quoted as its sale: the one
        # confirmed first was, this one gets the later top-ups' multiplier (the 0230's 6002
        # says what the card holds).
        later = txn["amount"] * top_up_multiplier(product, ctx.settings, True)
        if later < credit:
            credit = later
            store.update_txn(txn["id"], credit=credit)
    account = accounts.club_account(store, card_id)
    accounts.credit(store, account, credit, txn["id"], "topup", ctx.now, expires_at)
    # The store took the member's cash for club credit: it owes that to the club.
    _settle(ctx, txn, "topup", -txn["amount"])
    store.add_recon_item(ctx.terminal_id, txn["id"], CREDIT, txn["amount"], ctx.now)
    balance = _available(ctx, card_id, accounts.CLUB)
    loyalty.notify(
        ctx,
        card_id,
        "topup",
        txn["id"],
        credit=credit,
        balance=balance,
        validity=fa_date_yyyymmdd(validity) if validity else "-",
    )
    tags = {TAG_TIER: _retier(ctx, card_id)}
    if validity:
        tags[TAG_CREDIT_VALIDITY] = validity
        tags[TAG_MESSAGE] = receipt_line("topup", validity=fa_date_yyyymmdd(validity))
    return Reply("00", tags, [(ACCOUNT_CLUB, "02", balance)], txn)


CONFIRMS = {"00": _confirm_purchase, "20": _confirm_refund, "21": _confirm_top_up}


def _available(ctx, card_id, kind):
    merchant = "" if kind == accounts.CLUB else ctx.merchant_id
    account = ctx.store.open_account(card_id, kind, merchant)
    return accounts.available(ctx.store, account, ctx.now)


def _retier(ctx, card_id):
    card = ctx.store.card(card_id)
    if not card["member_id"]:
        return "C"
    return loyalty.touch_tier(ctx.store, card["member_id"], ctx.now, ctx.settings)


def _settle(ctx, txn, kind, amount):
    ctx.store.add_settlement(
        txn_id=txn["id"],
        merchant_id=txn["merchant_id"],
        kind=kind,
        amount=amount,
        created_at=ctx.now,
        due_at=workcal.settlement_due(ctx.now, ctx.settings),  # the club's calendar
    )


# -- reversal and void ---------------------------------------------------------------------


def reverse(ctx):
    """0420: release an approval, or void a confirmed transaction. Unknown originals are
    acknowledged (00) and remembered, so a late 0100 of the same STAN is refused (12)."""
    msg = ctx.message
    store = ctx.store
    _, stan, f7 = wire.parse_original(msg["90"])
    txn = None
    if "37" in msg:
        txn = store.txn_by_rrn(msg["37"])
        if txn is not None and txn["terminal_id"] != ctx.terminal_id:
            txn = None
        if txn is not None and (txn["stan"], txn["f7"]) != (stan, f7):
            return Reply("12", txn=txn)
    if txn is None:
        seen = store.request(ctx.terminal_id, "010", stan, f7)
        if seen is None:
            store.save_request(
                ctx.terminal_id, "010", stan, f7, None, None, None, ctx.now, state="reversed"
            )
            return Reply("00")
        if not seen["txn_id"]:
            return Reply("00")  # the original was declined: nothing to undo
        txn = store.txn(seen["txn_id"])
    try:
        reason = ctx.request_tags().get(TAG_REVERSAL_REASON)
    except (ValueError, UnicodeError):
        return Reply("30", txn=txn)
    if txn["state"] == "approved":
        release(store, txn, ctx.now, "reversed", reason)
        return Reply("00", txn=txn)
    if txn["state"] == "confirmed":
        return void(ctx, txn, reason)
    return Reply("00", txn=txn)  # already reversed, released or voided: nothing changes


def release(store, txn, now, state, reason=None):
    accounts.release(store, txn["id"], now)
    coupons.release(store, txn["id"], now, reason)  # its coupon's use, if any, goes back
    if txn["original_id"] and txn["proc"].startswith("20"):
        store.change_refunds(txn["original_id"], refund_held=-txn["amount"])
    store.update_txn(txn["id"], state=state, closed_at=now, reason=reason)


def void(ctx, txn, reason):
    """Undo a confirmed transaction: only the terminal's last confirmed one of the day
    (docs/protocol.md 5.5), and not a purchase that was partly refunded."""
    store = ctx.store
    last = store.last_confirmed_txn(ctx.terminal_id)
    today = tehran.local_date(ctx.now)
    if (
        last is None
        or last["id"] != txn["id"]
        or tehran.local_date(txn["confirmed_at"]) != today
        or txn["refunded"]
        or txn["refund_held"]
        or store.reconciled(txn["id"])
    ):
        return Reply("12", txn=txn)
    card_id = txn["card_id"]
    proc = txn["proc"]
    if proc in PURCHASES:
        accounts.undo_debits(store, txn["id"], ctx.now)
        if proc == points_spend.PURCHASE_POINTS:
            points_spend.give_back(ctx, txn)  # points have no lots to undo
        loyalty.take_back_points(ctx, card_id, txn["points"], txn["id"], "void")
        bucket = DEBIT_REVERSAL
    else:
        try:
            accounts.undo_credits(store, txn["id"], ctx.now)
        except accounts.InsufficientFunds:
            return Reply("51", txn=txn)
        if proc.startswith("20"):
            points = accounts.points_account(store, card_id, ctx.merchant_id)
            accounts.credit(store, points, txn["points"], txn["id"], "void", ctx.now)
            store.change_refunds(txn["original_id"], refunded=-txn["amount"])
        bucket = CREDIT_REVERSAL
    for s in store.settlements_of_txn(txn["id"]):
        _settle(ctx, txn, "void", -s["amount"])
    store.add_recon_item(ctx.terminal_id, txn["id"], bucket, txn["amount"], ctx.now)
    store.update_txn(txn["id"], state="voided", closed_at=ctx.now, reason=reason)
    coupons.give_back(store, txn["id"], ctx.now, reason)
    _retier(ctx, card_id)
    loyalty.notify(
        ctx,
        card_id,
        "void",
        txn["id"],
        rrn=txn["rrn"],
        amount=txn["amount"],
        store=ctx.merchant["name_fa"],
    )
    return Reply("00", txn=txn)


# -- the sweeper -----------------------------------------------------------------------------


# rows of each kind one sweep call touches at most: a call holds the server's loop ~10 ms at
# 200,000 transactions, and the server calls again until nothing is left (docs/performance.md)
SWEEP_CHUNK = 100


def sweep(store, now, settings, retention, batch=SWEEP_CHUNK):
    """Release approvals past the hold window, write off expired credit, forget old request
    records and refresh tiers that are a day old, at most `batch` of each. Returns counts, and
    `more`: some kind had `batch` to do (call again for the rest)."""
    released = 0
    txns = store.expired_txns(now, batch)
    for txn in txns:
        release(store, txn, now, "released", "HW")
        released += 1
    expired = 0
    expiring = store.accounts_with_expired_lots(now, batch)
    for account in expiring:
        before = account["balance"]
        expired += before - accounts.expire_lots(store, account, now)["balance"]
    forgotten = store.forget_requests(now - retention, batch)
    members = store.members_to_retier(now - loyalty.DAY, batch)
    for member in members:
        loyalty.retier(store, member["id"], now, settings)
    more = batch in (len(txns), len(expiring), forgotten, len(members))
    return {"released": released, "expired": expired, "more": more}
