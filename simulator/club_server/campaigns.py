"""The campaigns job (`vafa club-server campaigns run [--date DAY]`): birthday gift credit and
"we miss you" SMS with a return offer, for one Tehran calendar day (docs/club_server.md
"Campaigns").

Which store: a member's campaigns come from the store of their last confirmed purchase, by
that store's program settings (campaign_settings.py); the gift goes on the member's newest
active card as store credit of that store (like converted points), the offer is honoured
there (return_offer.py).

- birthday: the day's Jalali month and day are those of the member's birth date (born on 30
  Esfand: on 29 Esfand in a common year); one gift per member per Jalali year.
- winback: the last purchase is at least winback_after_days before the day; one SMS and offer
  per absence (the period is the day of that last purchase: a member who comes back and stays
  away again is missed again).

Exactly once: each member's grant is one database transaction holding the campaign_grants row
(UNIQUE campaign, member, period; INSERT OR IGNORE), the credit, its ledger row and the SMS.
A re-run of the same day, or a run after a crash, finds the rows and gives nothing twice;
what the crash cut short is given by the next run.
"""

from agent import jalali
from simulator.club_server import accounts, loyalty, tehran
from simulator.club_server import campaign_storage as cs
from simulator.club_server import campaign_texts as texts
from simulator.club_server.campaign_settings import CampaignSettings
from simulator.club_server.sms import fa_date_yyyymmdd

BIRTHDAY = "birthday"
WINBACK = "winback"
PROGRESS_EVERY = 200


def birthday_today(birth_yyyymmdd, day):
    """Whether a Gregorian YYYYMMDD birth date has its birthday on `day` (a date), by the
    Jalali calendar: same month and day; 30 Esfand falls on 29 Esfand in a common year."""
    try:
        _, bm, bd = jalali.gregorian_to_jalali(
            int(birth_yyyymmdd[:4]), int(birth_yyyymmdd[4:6]), int(birth_yyyymmdd[6:8])
        )
    except (ValueError, TypeError):
        return False
    jy, jm, jd = jalali.gregorian_to_jalali(day.year, day.month, day.day)
    if (bm, bd) == (jm, jd):
        return True
    return (bm, bd) == (12, 30) and (jm, jd) == (12, 29) and not jalali.is_leap(jy)


def jalali_year(day):
    return str(jalali.gregorian_to_jalali(day.year, day.month, day.day)[0])


class Run:
    """One run of the job for one day: the day's bounds and the stores' settings."""

    def __init__(self, store, day, now):
        self.store = store
        self.day = day
        self.now = now  # when the rows are written
        self.start, self.end = tehran.day_bounds(day)
        self._stores = {}

    def store_of(self, merchant_id):
        """(the merchants row, its CampaignSettings)."""
        if merchant_id not in self._stores:
            merchant = self.store.merchant(merchant_id)
            settings = CampaignSettings(merchant["program_id"], self.store.settings())
            self._stores[merchant_id] = (merchant, settings)
        return self._stores[merchant_id]


def _birthday(run, visit):
    store = run.store
    merchant, cfg = run.store_of(visit["merchant_id"])
    amount = cfg.number("birthday_gift_rials")
    card = cs.active_card(store, visit["member_id"])
    if not amount or card is None:
        return False
    expires_at, validity = loyalty.credit_validity(cfg.number("birthday_gift_days"), run.start)
    granted = cs.add_grant(
        store,
        campaign=BIRTHDAY,
        member_id=visit["member_id"],
        period=jalali_year(run.day),
        card_id=card["id"],
        merchant_id=merchant["merchant_id"],
        amount=amount,
        valid_until=expires_at,
        created_at=run.now,
    )
    if not granted:
        return False
    account = accounts.store_account(store, card["id"], merchant["merchant_id"])
    accounts.credit(store, account, amount, None, BIRTHDAY, run.now, expires_at)
    _sms(
        run,
        visit["member_id"],
        BIRTHDAY,
        card,
        merchant,
        credit=amount,
        validity=fa_date_yyyymmdd(validity),
    )
    return True


def _winback(run, visit):
    store = run.store
    merchant, cfg = run.store_of(visit["merchant_id"])
    after = cfg.number("winback_after_days")
    last_day = tehran.local_date(visit["last_at"])
    if not after or (run.day - last_day).days < after:
        return False
    card = cs.active_card(store, visit["member_id"])
    if card is None:
        return False
    offer = cfg.number("winback_offer_bp")
    valid_until, validity = loyalty.credit_validity(cfg.number("winback_offer_days"), run.start)
    granted = cs.add_grant(
        store,
        campaign=WINBACK,
        member_id=visit["member_id"],
        period=last_day.isoformat(),
        card_id=card["id"],
        merchant_id=merchant["merchant_id"],
        offer_bp=offer,
        valid_until=valid_until,
        created_at=run.now,
    )
    if not granted:
        return False
    kind = "winback" if offer else "winback_plain"
    _sms(
        run,
        visit["member_id"],
        kind,
        card,
        merchant,
        percent=texts.percent(offer),
        validity=fa_date_yyyymmdd(validity),
    )
    return True


def _sms(run, member_id, kind, card, merchant, **values):
    member = run.store.member(member_id)
    if member is None or not member["phone"]:
        return
    text = texts.notice(
        kind, when=run.now, card_last4=card["last4"], store=merchant["name_fa"], **values
    )
    run.store.add_outbox(member["phone"], text, None, run.now)


CAMPAIGNS = {BIRTHDAY: _birthday, WINBACK: _winback}


def plan(store, day):
    """[(campaign, last visit row)] the day may concern, before any is checked for its
    settings or granted before (the handlers do that inside each member's transaction)."""
    _, end = tehran.day_bounds(day)
    visits = cs.last_visits(store, end)
    born = {
        m["id"] for m in cs.members_with_birth_date(store) if birthday_today(m["birth_date"], day)
    }
    todo = [(BIRTHDAY, v) for v in visits if v["member_id"] in born]
    todo += [(WINBACK, v) for v in visits]
    return todo


def run(store, day, now, progress=None):
    """Run the day's campaigns; {campaign: members given it now}. `progress(done, total)` is
    called every PROGRESS_EVERY members."""
    job = Run(store, day, now)
    todo = plan(store, day)
    given = dict.fromkeys(CAMPAIGNS, 0)
    for i, (campaign, visit) in enumerate(todo, 1):
        with store.transaction():
            if CAMPAIGNS[campaign](job, visit):
                given[campaign] += 1
        if progress is not None and i % PROGRESS_EVERY == 0:
            progress(i, len(todo))
    return given
