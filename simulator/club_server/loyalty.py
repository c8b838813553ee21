"""What happens around a confirmed transaction: points, gift credit, tiers and SMS notices."""

from simulator.club_server import accounts, sms, tehran
from simulator.club_server.program import tier_for

DAY = 86400.0
# A member's tier is recomputed at most this often in the request path (the volume query
# reads the member's transactions of the window); in between it is marked for the sweeper.
TIER_REFRESH = 60.0


def card_and_member(store, card_id):
    card = store.card(card_id)
    member = store.member(card["member_id"]) if card and card["member_id"] else None
    return card, member


def earn(ctx, card_id, points, txn_id):
    """Award points on the store's points account; returns the new points balance."""
    account = accounts.points_account(ctx.store, card_id, ctx.merchant_id)
    accounts.credit(ctx.store, account, points, txn_id, "earn", ctx.now)
    return ctx.store.account_by_id(account["id"])["balance"]


def take_back_points(ctx, card_id, points, txn_id, kind):
    """Take points back (a refund or void); the balance may go below zero when the points were
    already turned into gift credit: later purchases pay the debt first."""
    account = accounts.points_account(ctx.store, card_id, ctx.merchant_id)
    accounts.debit(ctx.store, account, points, txn_id, kind, ctx.now, allow_negative=True)
    return ctx.store.account_by_id(account["id"])["balance"]


def card_sold(store, card_id):
    """Whether the card's sale happened: a top-up of it was confirmed and not voided.

    A prepaid card is sold by loading it (its first top-up, usually with its enrollment); the
    product's sale multiplier applies to that one only (program.top_up_multiplier). Balances
    given at seeding are not a sale. Top-ups are rare: reading the card's club-credit ledger
    is cheap enough, and it is the truth (a voided top-up leaves a `void` row of its own)."""
    account = store.account(card_id, accounts.CLUB, "")
    if account is None:
        return False
    topups, voided = set(), set()
    for row in store.ledger_of_account(account["id"]):
        if row["kind"] == "topup":
            topups.add(row["txn_id"])
        elif row["kind"] == "void":
            voided.add(row["txn_id"])
    return bool(topups - voided)


def credit_validity(days, now):
    """(expires_at, YYYYMMDD shown to the member) of credit valid `days` from now (None: no
    expiry). Credit is valid through the last day, Tehran time."""
    if days is None:
        return None, None
    last_day = tehran.local_date(now + days * DAY)
    _, end = tehran.day_bounds(last_day)
    return end, last_day.strftime("%Y%m%d")


def convert(ctx, card_id, txn_id, points_balance):
    """Turn points into store credit by the program; (points used, credit given, validity).
    Nothing when the program lets members keep their points (keep_points)."""
    if ctx.program.keeps_points(ctx.settings):
        return 0, 0, None
    store = ctx.store
    points = accounts.points_account(store, card_id, ctx.merchant_id)
    # points a sale at the till holds (008000, points_spend.py) are its, not the conversion's
    used, credit = ctx.program.conversion(points_balance - points["held"])
    if not used:
        return 0, 0, None
    accounts.debit(store, points, used, txn_id, "convert", ctx.now)
    expires_at, validity = credit_validity(ctx.program.credit_validity_days, ctx.now)
    gift = accounts.store_account(store, card_id, ctx.merchant_id)
    accounts.credit(store, gift, credit, txn_id, "convert", ctx.now, expires_at)
    return used, credit, validity


def retier(store, member_id, now, settings, dirty=0):
    """Recompute a member's tier from the trailing window's volume, kept with it
    (members.tier_volume, for current_tier); returns the tier."""
    member = store.member(member_id)
    if member is None:
        return "C"
    window = int(settings["tier_window_days"]) * DAY
    volume = store.member_volume(member_id, now - window)
    tier = tier_for(volume, settings, member["tier_floor"])
    store.update_member(
        member_id, tier=tier, tier_checked_at=now, tier_dirty=dirty, tier_volume=volume
    )
    return tier


def touch_tier(store, member_id, now, settings):
    """After a member's volume changed (at a confirmation, refund or void): recompute the tier
    now, or, when it was recomputed within TIER_REFRESH, not (a burst of purchases costs one
    query). Either way the member is marked: the transaction being confirmed is not counted
    yet (it becomes `confirmed` after this), so the next request adds what was confirmed since
    the last count (current_tier) and the sweeper recomputes it in full."""
    member = store.member(member_id)
    if member is None:
        return "C"
    checked = member["tier_checked_at"]
    if checked is None or now - checked >= TIER_REFRESH:
        return retier(store, member_id, now, settings, dirty=1)
    if not member["tier_dirty"]:
        store.update_member(member_id, tier_dirty=1)
    return member["tier"]


def current_tier(store, member, now, settings):
    """The tier a member's request is priced at: a member marked by touch_tier gets the tier
    of the last full count plus what was confirmed since (an index range of the member's
    cards' transactions since tier_checked_at, not the whole window), so a new tier takes
    effect on the next sale. Without a count kept (a member of an older database) the count
    is made in full."""
    if not member["tier_dirty"]:
        return member["tier"]
    if member.get("tier_volume") is None or member["tier_checked_at"] is None:
        return retier(store, member["id"], now, settings, dirty=1)
    added = store.member_volume(member["id"], member["tier_checked_at"])
    tier = tier_for(member["tier_volume"] + added, settings, member["tier_floor"])
    if tier != member["tier"]:
        store.update_member(member["id"], tier=tier)
    return tier


def notify(ctx, card_id, kind, txn_id, **values):
    """Queue an SMS notice to the card's member (nothing when the card has no member phone)."""
    card, member = card_and_member(ctx.store, card_id)
    if member is None or not member["phone"]:
        return
    text = sms.notice(kind, when=ctx.now, card_last4=card["last4"], **values)
    ctx.store.add_outbox(member["phone"], text, txn_id, ctx.now)
