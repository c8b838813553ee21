"""Phase one (0100/0101): check the card, price the request, hold what must be held.

One handler per processing code (docs/protocol.md 2.2), in a registry. Nothing is final here:
a hold lowers the available balance, an approval is kept for the hold window, and the 0220
(phase_two.confirm) makes it final.
"""

import datetime as dt

from simulator.club_server import (
    accounts,
    campaign_hooks,
    coupons,
    credit_scope,
    loyalty,
    points_spend,
    referral,
    split,
    tehran,
)
from simulator.club_server.context import (
    TAG_BIRTH_DATE,
    TAG_CARD_EXPIRY,
    TAG_CREDIT_VALIDITY,
    TAG_EDUCATION,
    TAG_GENDER,
    TAG_ORIGINAL_RRN,
    TAG_PHONE,
    TAG_POINTS_BALANCE,
    TAG_POINTS_EARNED,
    TAG_TIER,
    Reply,
)
from simulator.club_server.program import (
    ACCOUNT_BANK,
    ACCOUNT_CLUB,
    ACCOUNT_STORE,
    top_up_multiplier,
)
from simulator.club_server.protection import SECRET_CARD

PURCHASE_CASH = "000000"
PURCHASE_BANK = "004000"
PURCHASE_CLUB = "006000"
PURCHASE_STORE = "007000"
REFUND_BANK = "200040"
REFUND_CLUB = "200060"
REFUND_STORE = "200070"
REFUND_CASH = "200000"
TOP_UP = "210060"
BALANCE = "310000"

PURCHASE_POINTS = points_spend.PURCHASE_POINTS  # paid with points (points_spend.py)
PURCHASES = (PURCHASE_CASH, PURCHASE_BANK, PURCHASE_CLUB, PURCHASE_STORE, PURCHASE_POINTS)
# refund code -> the purchase it may refund (money goes back where it came from)
REFUND_OF = {
    REFUND_BANK: PURCHASE_BANK,
    REFUND_CLUB: PURCHASE_CLUB,
    REFUND_STORE: PURCHASE_STORE,
    REFUND_CASH: PURCHASE_CASH,
}
# A linked bank card stands for its club card only where the bank card is what pays.
BANK_CARD_PROCS = (PURCHASE_BANK, REFUND_BANK)

ENROLLMENT_TAGS = (TAG_PHONE, TAG_GENDER, TAG_BIRTH_DATE, TAG_EDUCATION)
GENDERS = ("M", "F")
EDUCATION = ("1", "2", "3", "4", "5", "6")
# The holder's answers the club refuses (docs/protocol.md 2.3 tags 07 and 09): a phone that is
# not an Iranian mobile number, a birth date that is no date, in the future or absurdly old.
# A code of its own (ISO 8583:1987 keeps 76-89 for private use) so that a terminal can say
# what is wrong instead of "system error"; a tag set or a choice no keypad gives stays 30.
ENROLLMENT_REFUSED = "77"
ASCII_DIGITS = "0123456789"  # str.isdigit() is True for "²" and "۱": never used on the wire
OLDEST_BIRTH_YEARS = 120


class FormatProblem(Exception):
    """Request content a format check cannot see (field 48 or 62 items): answer 30."""


def handle(ctx):
    proc = ctx.message["3"]
    handler = HANDLERS.get(proc)
    if handler is None:
        return Reply("12")
    pan = ctx.secrets.get(SECRET_CARD)
    if not pan or pan.strip(ASCII_DIGITS) or not 12 <= len(pan) <= 19:  # docs/protocol.md 4.1
        return Reply("30")
    try:
        try:
            ctx.split_tender, code = split.requested_tender(ctx, proc)  # 48 tag 17 (5.11)
        except (ValueError, UnicodeError):
            raise FormatProblem("field 48") from None
        if code:
            return Reply(code)
        card, code = resolve_card(ctx, pan, proc)
        if code:
            return Reply(code)
        from simulator.club_server import pins  # (its own import line: a separate change)

        refusal = pins.check(ctx, card, pan, proc, int(ctx.message["4"]))  # protocol.md 4.5
        if refusal is not None:
            return refusal
        amount = int(ctx.message["4"])
        refusal = coupons.check(ctx, card, proc, amount)  # 48 tag 0F (docs/protocol.md 5.10)
        if refusal is not None:
            return refusal
        reply = coupons.hold(ctx, handler(ctx, card, amount))
        campaign_hooks.tell(ctx, reply)  # a campaign's line in tag 04
        return reply
    except FormatProblem:
        return Reply("30")


def resolve_card(ctx, pan, proc):
    """(the club card row, None) or (None, response code)."""
    store = ctx.store
    card = store.card_by_hash(ctx.vault.lookup_hash(pan))
    if card is None:
        return None, "14"
    if card["kind"] == "bank":
        if proc not in BANK_CARD_PROCS:
            return None, "57"
        card = store.card(card["linked_card_id"])
        if card is None:
            return None, "14"
    status = card["status"]
    if status == "unissued":
        code = enroll(ctx, card)
        if code:
            return None, code
        card = store.card(card["id"])
    elif status == "blocked":
        return None, "62"
    elif status == "expired" or tehran.expired(card["expiry"], ctx.now):
        return None, "54"
    elif status != "active":
        return None, "14"
    return card, None


def enroll(ctx, card):
    """Issue a card from stock at its first purchase (docs/protocol.md 5.6): 64 without the
    holder's details, 30 with wrong ones, else the member is created and the card activated."""
    try:
        tags = ctx.request_tags()
    except (ValueError, UnicodeError):
        raise FormatProblem("field 48") from None
    given = [tag for tag in ENROLLMENT_TAGS if tag in tags]
    if not given:
        return "64"
    if (
        len(given) != len(ENROLLMENT_TAGS)
        or tags[TAG_GENDER] not in GENDERS
        or tags[TAG_EDUCATION] not in EDUCATION
    ):
        raise FormatProblem("enrollment details")
    today = tehran.local_date(ctx.now)
    if not valid_phone(tags[TAG_PHONE]) or not valid_birth_date(tags[TAG_BIRTH_DATE], today):
        return ENROLLMENT_REFUSED
    referrer_id, code = referral.check(ctx, tags, tags[TAG_PHONE])  # 48 tag 1D
    if code:
        return code
    store = ctx.store
    member_id = store.add_member(
        phone=tags[TAG_PHONE],
        gender=tags[TAG_GENDER],
        birth_date=tags[TAG_BIRTH_DATE],
        education=tags[TAG_EDUCATION],
        tier="C",
        tier_checked_at=ctx.now,
        created_at=ctx.now,
    )
    product = store.product(card["product"])
    store.update_card(
        card["id"],
        member_id=member_id,
        status="active",
        issued_at=ctx.now,
        expiry=tehran.add_months_yymm(ctx.now, product["card_validity_months"]),
    )
    referral.record(ctx, member_id, referrer_id)
    loyalty.notify(ctx, card["id"], "enroll", None)
    return None


def _ascii_digits(text):
    return bool(text) and all(ch in ASCII_DIGITS for ch in text)


def valid_phone(phone):
    """An Iranian mobile number as dialled at home: 09 and 9 more ASCII digits."""
    return len(phone) == 11 and phone.startswith("09") and _ascii_digits(phone)


def valid_birth_date(text, today):
    """YYYYMMDD (ASCII digits, Gregorian): a real day, not after `today` (a date, Tehran)
    and not more than OLDEST_BIRTH_YEARS before it."""
    if len(text) != 8 or not _ascii_digits(text):
        return False
    try:
        born = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:  # 1990-02-30, month 13, year 0
        return False
    oldest = (today.year - OLDEST_BIRTH_YEARS, today.month, today.day)
    return oldest <= (born.year, born.month, born.day) and born <= today


def tier_of(ctx, card):
    """The member's tier; recomputed first when a purchase since the last check may have
    changed it (loyalty.touch_tier), so a new tier takes effect on the next sale."""
    member = ctx.store.member(card["member_id"]) if card["member_id"] else None
    if member is None:
        return "C"
    return loyalty.current_tier(ctx.store, member, ctx.now, ctx.settings)


def amount_ok(ctx, amount):
    return 0 < amount <= ctx.program.max_amount


def new_txn(ctx, card, amount, **values):
    msg = ctx.message
    txn = ctx.store.add_txn(
        terminal_id=ctx.terminal_id,
        merchant_id=ctx.merchant_id,
        card_id=card["id"],
        proc=msg["3"],
        amount=amount,
        state=values.pop("state", "approved"),
        stan=msg["11"],
        f7=msg["7"],
        created_at=ctx.now,
        expires_at=ctx.now + ctx.config.hold_window,
        **values,
    )
    campaign_hooks.txn_made(ctx, txn)  # the return offer it priced is taken
    return txn


def purchase(ctx, card, amount, account_type=None):
    """Price a purchase: (discount, fee, payable, points, tier)."""
    tier = tier_of(ctx, card)
    if account_type is None:
        discount, fee, payable = 0, 0, amount
    else:
        discount, fee, payable = ctx.program.price(amount, tier, account_type)
        discount, payable = campaign_hooks.price(ctx, card, amount, discount, payable, account_type)
    coupon_off = coupons.discount(ctx, amount - discount)  # 0 without a coupon
    discount += coupon_off
    payable -= coupon_off
    points = ctx.program.points_for(amount - discount, tier, ctx.settings)
    return discount, fee, payable, points, tier


def cash_purchase(ctx, card, amount):
    if not amount_ok(ctx, amount):
        return Reply("13")
    discount, _, payable, points, tier = purchase(ctx, card, amount)
    txn = new_txn(ctx, card, amount, discount=discount, payable=payable, points=points, tier=tier)
    return Reply("00", {TAG_POINTS_EARNED: str(points), TAG_TIER: tier}, txn=txn)


def bank_purchase(ctx, card, amount):
    """The discount inquiry: what the bank leg will charge; nothing is held on the club side."""
    if not amount_ok(ctx, amount):
        return Reply("13")
    discount, fee, payable, points, tier = purchase(ctx, card, amount, ACCOUNT_BANK)
    txn = new_txn(
        ctx, card, amount, discount=discount, fee=fee, payable=payable, points=points, tier=tier
    )
    amounts = [
        (ACCOUNT_BANK, "D1", discount),
        (ACCOUNT_BANK, "F1", fee),
        (ACCOUNT_BANK, "P1", payable),
    ]
    return Reply("00", {TAG_POINTS_EARNED: str(points), TAG_TIER: tier}, amounts, txn)


def club_credit_purchase(ctx, card, amount):
    if not amount_ok(ctx, amount):
        return Reply("13")
    discount, fee, payable, points, tier = purchase(ctx, card, amount, ACCOUNT_CLUB)
    account = accounts.club_account(ctx.store, card["id"])
    left = split.seen_available(ctx, accounts.available(ctx.store, account, ctx.now))
    split_tender = _split_tender(ctx, left, payable)
    if left < payable and not split_tender:
        return Reply("51", amounts=[(ACCOUNT_CLUB, "02", left)])
    held = min(left, payable)  # a split (10) holds all the available credit
    txn = new_txn(
        ctx,
        card,
        amount,
        discount=discount,
        fee=fee,
        payable=payable,
        points=points,
        tier=tier,
        remainder=payable - held,
        remainder_tender=split_tender,
    )
    accounts.hold(ctx.store, account, held, txn["id"], ctx.now, txn["expires_at"])
    tags = {TAG_POINTS_EARNED: str(points), TAG_TIER: tier}
    priced = [(ACCOUNT_CLUB, "D1", discount), (ACCOUNT_CLUB, "F1", fee)]
    if split_tender:
        return Reply(split.PARTIAL_APPROVAL, tags, split.partial_amounts(txn, held, priced), txn)
    amounts = [*priced, (ACCOUNT_CLUB, "P1", payable), (ACCOUNT_CLUB, "02", left - payable)]
    return Reply("00", tags, amounts, txn)


def _split_tender(ctx, available, payable):
    """The remainder's tender when this sale is a split (docs/protocol.md 5.11): the 0100
    accepts a partial approval and 0 < available < payable; else None."""
    tender = getattr(ctx, "split_tender", None)
    return tender if tender and 0 < available < payable else None


def store_credit_purchase(ctx, card, amount):
    """Store credit is spendable only at the store that gave it, or at any store of its chain
    when this store's program says so (credit_scope): 57 when the card has store credit
    elsewhere and none spendable here, 51 when what is spendable here is not enough."""
    if not amount_ok(ctx, amount):
        return Reply("13")
    discount, _, payable, points, tier = purchase(ctx, card, amount)
    spend = credit_scope.spendable(ctx, card["id"])  # this store's, or its chain's by scope
    left = sum(available for _, available in spend)
    if left <= 0 and _has_store_credit_elsewhere(ctx, card):
        return Reply("57")
    split_tender = _split_tender(ctx, left, payable)
    if left < payable and not split_tender:
        return Reply("51", amounts=[(ACCOUNT_STORE, "02", max(left, 0))])
    held = min(left, payable)
    if not ctx.program.earns_on_redemption(ctx.settings):
        # gift credit spent is no new money (program.PROGRAM_DEFAULTS); a split's remainder,
        # paid by bank card or in cash, is new money and earns
        points = ctx.program.points_for(payable - held, tier, ctx.settings) if split_tender else 0
    txn = new_txn(
        ctx,
        card,
        amount,
        discount=discount,
        payable=payable,
        points=points,
        tier=tier,
        remainder=payable - held,
        remainder_tender=split_tender,
    )
    credit_scope.hold(ctx, spend, held, txn)
    tags = {TAG_POINTS_EARNED: str(points), TAG_TIER: tier}
    if split_tender:
        return Reply(split.PARTIAL_APPROVAL, tags, split.partial_amounts(txn, held), txn)
    amounts = [(ACCOUNT_STORE, "P1", payable), (ACCOUNT_STORE, "02", left - payable)]
    return Reply("00", tags, amounts, txn)


def _has_store_credit_elsewhere(ctx, card):
    return any(
        account["kind"] == accounts.STORE
        and account["merchant_id"] != ctx.merchant_id
        and accounts.available(ctx.store, account, ctx.now) > 0
        for account in ctx.store.accounts_of_card(card["id"])
    )


def refund(ctx, card, amount):
    """A refund of an earlier confirmed purchase at this store, named by its RRN (48 tag 06),
    back to where its money came from, at most what is left of it (amount - discount, less
    what was refunded or is being refunded)."""
    try:
        rrn = ctx.request_tags().get(TAG_ORIGINAL_RRN)
    except (ValueError, UnicodeError):
        raise FormatProblem("field 48") from None
    if not rrn:
        raise FormatProblem("refund without original RRN")
    store = ctx.store
    original = store.txn_by_rrn(rrn)
    if original is None:
        return Reply("25")
    proc = ctx.message["3"]
    if (
        original["proc"] != REFUND_OF[proc]
        or original["merchant_id"] != ctx.merchant_id
        or original["card_id"] != card["id"]
        or original["state"] != "confirmed"
    ):
        return Reply("12")
    refundable = original["amount"] - original["discount"]
    left = refundable - original["refunded"] - original["refund_held"]
    if amount <= 0 or amount > left:
        return Reply("13")
    points = original["points"] * amount // refundable if refundable else 0
    tier = tier_of(ctx, card)
    shares = None
    if original["remainder_tender"]:  # a split sale: each leg gets its share (5.11)
        shares = split.refund_shares(store, original, amount)
    txn = new_txn(
        ctx,
        card,
        amount,
        payable=amount,
        points=points,
        tier=tier,
        original_id=original["id"],
        remainder=shares[1] if shares else 0,
        remainder_tender=original["remainder_tender"],
    )
    store.change_refunds(original["id"], refund_held=amount)
    amounts = []
    if shares:
        amounts = [
            (split.credit_account(proc), "P1", shares[0]),
            (original["remainder_tender"], "P1", shares[1]),
        ]
    if proc in (REFUND_CLUB, REFUND_STORE):
        kind, account_type = (
            (accounts.CLUB, ACCOUNT_CLUB)
            if proc == REFUND_CLUB
            else (accounts.STORE, ACCOUNT_STORE)
        )
        merchant = "" if kind == accounts.CLUB else ctx.merchant_id
        account = store.open_account(card["id"], kind, merchant)
        back = split.credit_part(txn)  # the whole amount unless a split
        amounts.append((account_type, "02", accounts.available(store, account, ctx.now) + back))
    return Reply("00", {TAG_TIER: tier}, amounts, txn)


def top_up(ctx, card, amount):
    """Club credit bought at the store, with the card product's validity (a pool card: one
    year). The product's multiplier applies to the card's sale, its first top-up (a pool
    card: 10x); later top-ups get the product's topup_multiplier (default 1)."""
    if not amount_ok(ctx, amount):
        return Reply("13")
    store = ctx.store
    product = store.product(card["product"])
    sold = loyalty.card_sold(store, card["id"])
    credit = amount * top_up_multiplier(product, ctx.settings, sold)
    _, validity = loyalty.credit_validity(product["credit_validity_days"], ctx.now)
    account = accounts.club_account(store, card["id"])
    left = accounts.available(store, account, ctx.now)
    tier = tier_of(ctx, card)
    txn = new_txn(ctx, card, amount, payable=amount, credit=credit, tier=tier, validity=validity)
    tags = {TAG_TIER: tier}
    if validity:
        tags[TAG_CREDIT_VALIDITY] = validity
    return Reply("00", tags, [(ACCOUNT_CLUB, "02", left + credit)], txn)


def balance_inquiry(ctx, card, amount):
    """Single phase: club credit, store credit here, points here, tier and card expiry."""
    store = ctx.store
    club = accounts.available(store, accounts.club_account(store, card["id"]), ctx.now)
    gift = credit_scope.available_here(ctx, card["id"])
    points_account = store.account(card["id"], accounts.POINTS, ctx.merchant_id)
    points = points_account["balance"] if points_account else 0
    tier = tier_of(ctx, card)
    txn = new_txn(ctx, card, amount, state="done", tier=tier, closed_at=ctx.now)
    tags = {TAG_POINTS_BALANCE: str(max(points, 0)), TAG_TIER: tier}
    if card["expiry"]:
        tags[TAG_CARD_EXPIRY] = card["expiry"]
    return Reply("00", tags, [(ACCOUNT_CLUB, "02", club), (ACCOUNT_STORE, "02", gift)], txn)


def pin_change(ctx, card, amount):
    from simulator.club_server import pins  # (its own import line: a separate change)

    return pins.change(ctx, card, amount)


HANDLERS = {
    "920000": pin_change,  # docs/protocol.md 4.5
    PURCHASE_CASH: cash_purchase,
    PURCHASE_BANK: bank_purchase,
    PURCHASE_CLUB: club_credit_purchase,
    PURCHASE_STORE: store_credit_purchase,
    PURCHASE_POINTS: points_spend.points_purchase,
    REFUND_BANK: refund,
    REFUND_CLUB: refund,
    REFUND_STORE: refund,
    REFUND_CASH: refund,
    TOP_UP: top_up,
    BALANCE: balance_inquiry,
}
