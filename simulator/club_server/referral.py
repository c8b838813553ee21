"""Referral at enrollment: the enrollment 0100 may carry the referrer's mobile number (field 48
tag 1D, docs/protocol.md 2.3); once the new member's first purchase is confirmed (the 0220),
both get store credit of the store where it was made (referral_reward_rials, valid
referral_reward_days: campaign_settings.py).

- At enrollment (phase_one.enroll): `check` before the member is made: a number that is not an
  Iranian mobile number is refused like the holder's own (77); a number no member has, or the
  new member's own, enrolls without a referral and the 0110's tag 04 says so. `record` after.
- At the 0220 of a purchase (campaign_hooks.after_purchase): `reward` claims the referral with
  an UPDATE ... WHERE rewarded_txn_id IS NULL in the confirmation's own database transaction,
  so the reward is given once whatever is repeated. A later void of that purchase does not
  take it back (like points already converted).
"""

from simulator.club_server import accounts, loyalty
from simulator.club_server import campaign_storage as cs
from simulator.club_server import campaign_texts as texts
from simulator.club_server.campaign_settings import CampaignSettings
from simulator.club_server.sms import fa_date_yyyymmdd

TAG_REFERRER = 0x1D
REFUSED = "77"  # phase_one.ENROLLMENT_REFUSED
NOT_FOUND_LINE = "معرف با این شماره عضو باشگاه نیست"


def valid_phone(phone):
    return len(phone) == 11 and phone.startswith("09") and all(c in "0123456789" for c in phone)


def check(ctx, tags, own_phone):
    """(referrer member id or None, response code or None) for an enrollment's tags."""
    phone = tags.get(TAG_REFERRER)
    if not phone:
        return None, None
    if not valid_phone(phone):
        return None, REFUSED
    referrer = cs.member_by_phone(ctx.store, phone)
    if referrer is None or phone == own_phone:
        ctx.campaign_line = NOT_FOUND_LINE
        return None, None
    return referrer["id"], None


def record(ctx, member_id, referrer_id):
    if referrer_id is not None:
        cs.add_referral(ctx.store, member_id, referrer_id, ctx.merchant_id, ctx.now)


def reward(ctx, txn, member_id):
    """Reward both for the new member's first confirmed purchase; the receipt line or None."""
    store = ctx.store
    ref = cs.referral(store, member_id)
    if ref is None or ref["rewarded_txn_id"] is not None:
        return None
    if not cs.claim_referral(store, member_id, txn["id"], ctx.now):
        return None
    cfg = CampaignSettings(ctx.merchant["program_id"], ctx.settings)
    amount = cfg.number("referral_reward_rials")
    if not amount:
        return None
    expires_at, validity = loyalty.credit_validity(cfg.number("referral_reward_days"), ctx.now)
    shown = fa_date_yyyymmdd(validity)
    new_card = store.card(txn["card_id"])
    _give(ctx, txn, new_card, member_id, amount, expires_at, "referral_new", shown)
    referrer_card = cs.active_card(store, ref["referrer_id"])
    if referrer_card is not None:
        _give(
            ctx,
            txn,
            referrer_card,
            ref["referrer_id"],
            amount,
            expires_at,
            "referral_referrer",
            shown,
        )
    return texts.receipt_line("referral", credit=amount)


def _give(ctx, txn, card, member_id, amount, expires_at, kind, validity):
    account = accounts.store_account(ctx.store, card["id"], ctx.merchant_id)
    accounts.credit(ctx.store, account, amount, txn["id"], "referral", ctx.now, expires_at)
    member = ctx.store.member(member_id)
    if member is not None and member["phone"]:
        text = texts.notice(
            kind,
            when=ctx.now,
            card_last4=card["last4"],
            store=ctx.merchant["name_fa"],
            credit=amount,
            validity=validity,
        )
        ctx.store.add_outbox(member["phone"], text, txn["id"], ctx.now)
