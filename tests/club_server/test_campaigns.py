"""Campaigns the member feels at the till (docs/club_server.md "Campaigns"): birthday gift
credit and "we miss you" offers from the campaigns job, the return offer honoured by phase
one, referral at enrollment rewarded at the first confirmed purchase, the survey SMS and RFM."""

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.club_server import accounts, campaign_settings, campaign_storage, campaigns, rfm
from simulator.club_server import program as program_module
from simulator.club_server.program import program_key
from simulator.club_server.seed import CARD_A, CARD_C, STOCK, seed_demo
from simulator.club_server.storage import Storage
from tests.club_server.support import MERCHANT, balance, card_row, outbox, txn

CASH, BANK, CLUB = "000000", "004000", "006000"
STORE_CREDIT = accounts.STORE
MESSAGE, REFERRER = 0x04, 0x1D
DETAILS = {0x07: "09127777777", 0x08: "F", 0x09: "19900321", 0x0A: "4"}
REFERRER_PHONE = "09120000001"  # CARD_A's member (seed.py)
VAFA = str(Path(sys.executable).with_name("vafa"))


def _storage(server):
    return Storage(server.server.db_path)


def _set(server, key, value, program_id=1):
    store = _storage(server)
    with store.transaction():
        store.put_setting(program_key(program_id, key), value)
    store.close()


def _run_job(server, day):
    store = _storage(server)
    try:
        return campaigns.run(store, day, time.time())
    finally:
        store.close()


def _grants(server, campaign):
    store = _storage(server)
    try:
        return campaign_storage.grants(store, campaign)
    finally:
        store.close()


def _texts(server, phone):
    return [m["text"] for m in outbox(server) if m["phone"] == phone]


def _today():
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=3, minutes=30))).date()


# -- referral -------------------------------------------------------------------------------


def test_referral_rewards_both_once_at_the_first_confirmed_purchase(server, terminal):
    card = STOCK[0]
    msg, first = terminal.authorize(CASH, 100_000, card, {**DETAILS, REFERRER: REFERRER_PHONE})
    assert first.code == "00"
    before = balance(server, CARD_A, STORE_CREDIT)
    assert balance(server, card, STORE_CREDIT) == (0, 0)  # nothing before the 0220
    second = terminal.confirm(msg, first, card)
    assert second.code == "00"
    assert "هدیه معرفی" in second.tags[MESSAGE] and "۲۰۰٬۰۰۰" in second.tags[MESSAGE]
    assert balance(server, card, STORE_CREDIT) == (200_000, 0)
    assert balance(server, CARD_A, STORE_CREDIT) == (before[0] + 200_000, 0)
    assert any("معرفی" in t for t in _texts(server, "09127777777"))
    assert any("معرفی کردید" in t for t in _texts(server, REFERRER_PHONE))
    # the 0220 repeated, and a second purchase: no second reward
    assert terminal.confirm(msg, first, card).tags[MESSAGE] == second.tags[MESSAGE]
    _, again = terminal.purchase(CASH, 100_000, card)
    assert "معرفی" not in again.tags[MESSAGE]
    assert balance(server, card, STORE_CREDIT) == (200_000, 0)
    assert balance(server, CARD_A, STORE_CREDIT) == (before[0] + 200_000, 0)


def test_referral_rewarded_even_when_the_first_0110_was_reversed(server, terminal):
    card = STOCK[1]
    msg, first = terminal.authorize(CASH, 100_000, card, {**DETAILS, REFERRER: REFERRER_PHONE})
    assert terminal.reverse(msg, card, first.rrn).code == "00"
    assert balance(server, card, STORE_CREDIT) == (0, 0)
    _, confirmed = terminal.purchase(CASH, 100_000, card)  # the first confirmed purchase
    assert "هدیه معرفی" in confirmed.tags[MESSAGE]
    assert balance(server, card, STORE_CREDIT) == (200_000, 0)


def test_referrer_unknown_enrolls_without_referral_and_says_so(server, terminal):
    card = STOCK[2]
    msg, first = terminal.authorize(CASH, 100_000, card, {**DETAILS, REFERRER: "09350000000"})
    assert first.code == "00" and "معرف" in first.tags[MESSAGE]
    assert terminal.confirm(msg, first, card).code == "00"
    assert balance(server, card, STORE_CREDIT) == (0, 0)


@pytest.mark.parametrize("phone", ["0912", "9120000001", "0912000000x", "۰۹۱۲۰۰۰۰۰۰۱"])
def test_referrer_not_a_mobile_number_is_refused_and_nothing_is_made(server, terminal, phone):
    card = STOCK[3]
    _, answer = terminal.authorize(CASH, 100_000, card, {**DETAILS, REFERRER: phone})
    assert answer.code == "77"
    assert card_row(server, card)["status"] == "unissued"


# -- the campaigns job: birthday -----------------------------------------------------------


def _member_of(server, pan):
    return card_row(server, pan)["member_id"]


def _set_birth_date(server, pan, day):
    store = _storage(server)
    with store.transaction():
        store.update_member(_member_of(server, pan), birth_date=day.strftime("%Y%m%d"))
    store.close()


def test_birthday_gift_once_per_year_with_its_validity_and_sms(server, terminal):
    today = _today()
    terminal.purchase(CASH, 100_000, CARD_C)  # CARD_C's store: the last visit's
    _set_birth_date(server, CARD_C, today.replace(year=1990))
    before = balance(server, CARD_C, STORE_CREDIT)[0]
    assert _run_job(server, today)["birthday"] == 1
    assert _run_job(server, today)["birthday"] == 0  # a re-run gives nothing twice
    assert balance(server, CARD_C, STORE_CREDIT)[0] == before + 500_000
    (grant,) = _grants(server, "birthday")
    assert grant["merchant_id"] == MERCHANT and grant["amount"] == 500_000
    # valid 30 days: through the end of the 30th day after today (Tehran)
    last = dt.datetime.fromtimestamp(grant["valid_until"] - 1, dt.UTC).date()
    assert (last - today).days in (29, 30)
    phone = "09120000003"
    assert len([t for t in _texts(server, phone) if "تولد" in t]) == 1
    assert _run_job(server, today + dt.timedelta(days=1))["birthday"] == 0


def test_birthday_on_30_esfand_falls_on_29_esfand_in_a_common_year():
    # 1403 is leap (1403/12/30 = 2025-03-20); 1404 is common: 1404/12/29 = 2026-03-20
    assert campaigns.birthday_today("20250320", dt.date(2026, 3, 20))
    assert not campaigns.birthday_today("20250320", dt.date(2026, 3, 19))
    assert campaigns.birthday_today("19900321", dt.date(2026, 3, 21))  # 1 Farvardin
    assert not campaigns.birthday_today("19900230", dt.date(2026, 3, 21))  # no such day


# -- "we miss you" and the return offer ------------------------------------------------------


def test_winback_offer_is_honoured_once_by_phase_one(server, terminal):
    today = _today()
    terminal.purchase(CASH, 100_000, CARD_A)
    assert _run_job(server, today + dt.timedelta(days=59))["winback"] == 0
    assert _run_job(server, today + dt.timedelta(days=60))["winback"] >= 1
    assert _run_job(server, today + dt.timedelta(days=61))["winback"] == 0  # same absence
    assert any("دلمان" in t and "۱۰٪" in t for t in _texts(server, REFERRER_PHONE))
    # without the offer (for comparison): a bank purchase at another card's tier is not it;
    # with it: 10 % of (amount - tier discount) more
    msg, first = terminal.authorize(BANK, 1_000_000, CARD_A)
    plain = txn(server, first.rrn)
    assert "پیشنهاد بازگشت" in first.tags[MESSAGE]
    tier_discount = plain["discount"] - (1_000_000 - plain["discount"]) // 9
    assert plain["discount"] == tier_discount + (1_000_000 - tier_discount) // 10
    # reversed: the offer is open again
    assert terminal.reverse(msg, CARD_A, first.rrn).code == "00"
    msg, first = terminal.authorize(BANK, 1_000_000, CARD_A)
    assert "پیشنهاد بازگشت" in first.tags[MESSAGE]
    second = terminal.confirm(msg, first, CARD_A)
    assert "پیشنهاد بازگشت" in second.tags[MESSAGE]
    (grant,) = [
        g for g in _grants(server, "winback") if g["member_id"] == _member_of(server, CARD_A)
    ]
    assert grant["used_txn_id"] == txn(server, first.rrn)["id"] and grant["amount"] > 0
    _, later = terminal.authorize(BANK, 1_000_000, CARD_A)  # used: no more offer
    assert MESSAGE not in later.tags
    assert txn(server, later.rrn)["discount"] == tier_discount


# -- survey -----------------------------------------------------------------------------------


def test_survey_sms_at_most_once_per_member_in_its_days(server, terminal):
    phone = "09120000003"
    terminal.purchase(CASH, 100_000, CARD_C)
    assert not [t for t in _texts(server, phone) if "رضایت" in t]  # off by default
    _set(server, "survey_sms", "1")
    terminal.purchase(CASH, 100_000, CARD_C)
    terminal.purchase(CASH, 100_000, CARD_C)
    assert len([t for t in _texts(server, phone) if "رضایت" in t]) == 1


# -- RFM --------------------------------------------------------------------------------------


def test_rfm_scores_quintiles_and_segments():
    day_end = 100 * rfm.DAY
    totals = [
        {
            "member_id": i,
            "last_at": day_end - (i * 10 + 1) * rfm.DAY,
            "purchases": 11 - i,
            "spent": (11 - i) * 100_000,
        }
        for i in range(1, 11)
    ]
    rows = rfm.score(totals, day_end)
    assert [r["rfm"] for r in rows] == [
        "555",
        "555",
        "444",
        "444",
        "333",
        "333",
        "222",
        "222",
        "111",
        "111",
    ]
    assert [r["segment"] for r in rows[::2]] == [
        "champions",
        "champions",
        "potential",
        "hibernating",
        "hibernating",
    ]
    assert rows[0]["recency_days"] == 11
    assert rfm.summary(rows)["champions"] == {"members": 4, "monetary": 3_400_000}
    # every (R, F) pair has a segment
    assert all(rfm.segment(r, f) for r in range(1, 6) for f in range(1, 6))


# -- the job killed mid-run --------------------------------------------------------------------


def _club_of_birthdays(path, count, day):
    """The demo club plus `count` members born on `day`'s month and day, each with a
    confirmed purchase at the demo store a week before."""
    seed_demo(path)
    store = Storage(path)
    now = time.time()
    with store.transaction():
        for i in range(count):
            member = store.add_member(
                phone=f"0939{i:07d}",
                birth_date=day.replace(year=1990).strftime("%Y%m%d"),
                tier="C",
                created_at=now,
            )
            card = store.add_card(
                pan_hash=os.urandom(16),
                last4=f"{i % 10000:04d}",
                member_id=member,
                status="active",
                created_at=now,
            )
            store.add_txn(
                terminal_id="VT000001",
                merchant_id=MERCHANT,
                card_id=card,
                proc=CASH,
                amount=100_000,
                state="confirmed",
                stan=f"{i % 999999:06d}",
                f7="1204120000",
                created_at=now - 7 * 86400,
                confirmed_at=now - 7 * 86400,
            )
    store.close()


def _job(path, day):
    return subprocess.Popen(
        [VAFA, "club-server", "campaigns", "run", "--db", path, "--date", day.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _given(path):
    store = Storage(path)
    try:
        grants = campaign_storage.grants(store, "birthday")
        ledger = store._all(
            "SELECT COUNT(*) AS n, SUM(amount) AS s FROM ledger WHERE kind = 'birthday'"
        )[0]
        sms = store._all("SELECT COUNT(*) AS n FROM outbox WHERE text LIKE '%تولد%'")[0]["n"]
        return len(grants), ledger["n"], ledger["s"] or 0, sms
    finally:
        store.close()


def test_campaigns_job_killed_mid_run_gives_nothing_twice(tmp_path):
    path = str(tmp_path / "club.db")
    today = _today()
    count = 4000
    _club_of_birthdays(path, count, today)
    job = _job(path, today)
    first_line = job.stdout.readline()  # "200 of N members checked": it is under way
    job.kill()
    job.wait(10)
    assert "of" in first_line
    grants, rows, total, sms = _given(path)
    assert 200 <= grants < count  # cut short, each member's grant whole or absent
    assert rows == sms == grants and total == grants * 500_000
    done = _job(path, today)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert f"{count - grants} birthday gifts" in out
    assert _given(path) == (count, count, count * 500_000, count)
    again = _job(path, today)
    out, _ = again.communicate(timeout=120)
    assert "0 birthday gifts" in out and _given(path) == (count, count, count * 500_000, count)
    check = subprocess.run(
        [VAFA, "club-server", "ledger-check", "--db", path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_rfm_cli_json_and_csv(tmp_path):
    path = str(tmp_path / "club.db")
    today = _today()
    _club_of_birthdays(path, 10, today)
    out = subprocess.run(
        [VAFA, "club-server", "rfm", "--db", path, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    body = json.loads(out)
    assert body["members"] == 10 and body["date"] == today.isoformat()
    assert sum(s["members"] for s in body["segments"].values()) == 10
    assert {r["recency_days"] for r in body["rows"]} == {7}
    assert {r["rfm"] for r in body["rows"]} == {"111"}  # all equal: all in the first quintile
    csv_out = subprocess.run(
        [VAFA, "club-server", "rfm", "--db", path, "--csv"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert csv_out.splitlines()[0].startswith("member_id,last_purchase,recency_days")
    assert len(csv_out.splitlines()) == 11


def test_campaign_settings_are_program_knobs_with_the_programs_words():
    assert campaign_settings.TRUE_WORDS == program_module.TRUE_WORDS
    assert campaign_settings.program_key(7, "x") == program_key(7, "x")
    for key, default in campaign_settings.DEFAULTS.items():
        assert program_module.PROGRAM_DEFAULTS[key] == default
    cfg = campaign_settings.CampaignSettings(1, {program_key(1, "survey_sms"): "yes"})
    assert cfg.on("survey_sms") and cfg.number("winback_offer_bp") == 1000


def test_the_request_path_statements_use_their_indexes(tmp_path):
    """The return offer (phase one), the offer's line and the referral (0220) and the referrer
    by phone (enrollment) are index searches, never a scan, whatever the club's size."""
    path = str(tmp_path / "club.db")
    seed_demo(path)
    store = Storage(path)
    statements = {
        "campaign_grants_member": lambda: campaign_storage.open_offer(store, 1, MERCHANT, 0),
        "campaign_grants_used": lambda: campaign_storage.offer_of_txn(store, 1),
        "members_phone": lambda: campaign_storage.member_by_phone(store, REFERRER_PHONE),
    }
    plans = []
    original = store._conn

    class Explaining:
        def execute(self, sql, args=()):
            plans.append(
                " ".join(r["detail"] for r in original.execute("EXPLAIN QUERY PLAN " + sql, args))
            )
            return original.execute(sql, args)

    try:
        store._conn = Explaining()
        for index, call in statements.items():
            plans.clear()
            call()
            assert len(plans) == 1 and f"USING INDEX {index}" in plans[0], plans
            assert "SCAN" not in plans[0], plans
    finally:
        store._conn = original
        store.close()
