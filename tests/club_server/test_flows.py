"""Every transaction kind through both phases, with the balances, points, ledger rows,
settlement and SMS it leaves (seeded programs: docs/testing.md)."""

import datetime as dt

import pytest

from simulator.club_server import accounts
from simulator.club_server.seed import (
    BANK_CARD_A,
    CARD_A,
    CARD_B,
    CARD_BLOCKED,
    CARD_C,
    CARD_EXPIRED,
    CARD_LOW,
    CARD_OTHER_STORE,
    CARD_POOL,
    STOCK,
    UNKNOWN_BANK_CARD,
    UNKNOWN_CARD,
)
from tests.club_server.support import balance, card_row, ledger_of, outbox, settlements, txn

CASH, BANK, CLUB, STORE = "000000", "004000", "006000", "007000"
POINTS = accounts.POINTS
TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


def test_cash_purchase_earns_points_only_when_confirmed(server, terminal):
    msg, first = terminal.authorize(CASH, 250_000, CARD_C)
    assert first.code == "00" and first.tags == {1: "25", 3: "C"}
    assert len(first.rrn) == 12 and len(first.message["38"]) == 6
    assert balance(server, CARD_C, POINTS) == (0, 0)  # nothing before the confirmation
    second = terminal.confirm(msg, first, CARD_C)
    assert second.code == "00"
    assert second.tags[1] == "25" and second.tags[2] == "25" and second.tags[3] == "C"
    assert balance(server, CARD_C, POINTS) == (25, 0)
    assert ledger_of(server, first.rrn) == [("earn", "points", 25)]
    assert txn(server, first.rrn)["state"] == "confirmed"


def test_points_turn_into_store_credit_by_the_program(server, terminal):
    # CARD_A has 80 points; 250,000 rials earn 25; every 100 become 100,000 rials at once.
    first, second = terminal.purchase(CASH, 250_000, CARD_A)
    assert second.code == "00" and second.tags[2] == "5"
    assert "۱۰۰٬۰۰۰" in second.tags[4]  # the receipt line tells the conversion
    assert balance(server, CARD_A, POINTS) == (5, 0)
    assert balance(server, CARD_A, accounts.STORE) == (600_000, 0)
    assert ledger_of(server, first.rrn) == [
        ("convert", "points", -100),
        ("convert", "store", 100_000),
        ("earn", "points", 25),
    ]


def test_bank_card_discount_inquiry_then_confirmation_with_bank_reference(server, terminal):
    msg, first = terminal.authorize(BANK, 1_200_000, CARD_B)  # tier B: 10 %, fee 5,000
    assert first.code == "00"
    assert first.amounts == {"40D1": 120_000, "40F1": 5_000, "40P1": 1_085_000}
    assert first.tags == {1: "108", 3: "B"}
    second = terminal.confirm(msg, first, CARD_B, {0x05: "PSP-REF-778899"})
    assert second.code == "00" and second.tags[1] == "108"
    row = txn(server, first.rrn)
    assert row["bank_ref"] == "PSP-REF-778899" and row["payable"] == 1_085_000
    assert settlements(server, first.rrn) == [("fee", -5_000)]  # the store owes the club the fee
    assert balance(server, CARD_B, accounts.CLUB) == (2_000_000, 0)  # club credit untouched


def test_linked_bank_card_stands_for_its_club_card(server, terminal):
    msg, first = terminal.authorize(BANK, 1_200_000, BANK_CARD_A)  # member of tier A: 15 %
    assert first.amounts == {"40D1": 180_000, "40F1": 5_000, "40P1": 1_025_000}
    assert terminal.confirm(msg, first, BANK_CARD_A).code == "00"
    assert txn(server, first.rrn)["card_id"] == card_row(server, CARD_A)["id"]
    _, refused = terminal.authorize(CLUB, 100_000, BANK_CARD_A)
    assert refused.code == "57"  # a bank card does not pay from club credit


def test_club_credit_purchase_holds_then_debits_and_records_settlement(server, terminal):
    msg, first = terminal.authorize(CLUB, 1_200_000, CARD_A)
    assert first.code == "00"
    assert first.amounts == {"60D1": 180_000, "60F1": 5_000, "60P1": 1_025_000, "6002": 3_975_000}
    assert balance(server, CARD_A) == (5_000_000, 1_025_000)
    second = terminal.confirm(msg, first, CARD_A)
    assert second.code == "00" and second.amounts == {"6002": 3_975_000}
    assert balance(server, CARD_A) == (3_975_000, 0)
    assert ("purchase", "club", -1_025_000) in ledger_of(server, first.rrn)
    assert settlements(server, first.rrn) == [("purchase", 1_020_000)]  # amount - discount
    txn_id = txn(server, first.rrn)["id"]
    s = server.call(lambda store: store.settlements_of_txn(txn_id))[0]
    assert 0 < s["due_at"] - s["created_at"] <= 4 * 86400  # 24 working hours


def test_club_credit_insufficient(server, terminal):
    _, first = terminal.authorize(CLUB, 100_000, CARD_LOW)  # 10,000 rials of club credit
    assert first.code == "51" and first.amounts == {"6002": 10_000}
    assert first.rrn is None
    assert balance(server, CARD_LOW) == (10_000, 0)


def test_store_credit_purchase_only_at_the_store_that_gave_it(server, terminal, pool_terminal):
    first, second = terminal.purchase(STORE, 300_000, CARD_A)
    assert first.amounts == {"70P1": 300_000, "7002": 200_000}
    assert second.code == "00"
    assert ("purchase", "store", -300_000) in ledger_of(server, first.rrn)
    assert settlements(server, first.rrn) == []  # the store carries its own gift credit
    # CARD_OTHER_STORE has store credit at the pool only
    _, elsewhere = terminal.authorize(STORE, 100_000, CARD_OTHER_STORE)
    assert elsewhere.code == "57"
    first, second = pool_terminal.purchase(STORE, 100_000, CARD_OTHER_STORE)
    assert second.code == "00"
    assert balance(server, CARD_OTHER_STORE, accounts.STORE, "VAFA00000000002") == (200_000, 0)
    _, short = pool_terminal.authorize(STORE, 900_000, CARD_OTHER_STORE)
    assert short.code == "51"


def test_top_up_of_a_pool_card_multiplies_and_has_a_validity(server, terminal):
    msg, first = terminal.authorize("210060", 100_000, CARD_POOL)
    assert first.code == "00" and first.amounts == {"6002": 11_000_000}
    valid = (dt.datetime.now(TEHRAN) + dt.timedelta(days=365)).strftime("%Y%m%d")
    assert first.tags[0x0C] == valid
    assert balance(server, CARD_POOL) == (10_000_000, 0)  # nothing before the confirmation
    second = terminal.confirm(msg, first, CARD_POOL)
    assert second.code == "00" and second.amounts == {"6002": 11_000_000}
    assert second.tags[0x0C] == valid
    assert balance(server, CARD_POOL) == (11_000_000, 0)
    assert ledger_of(server, first.rrn) == [("topup", "club", 1_000_000)]
    assert settlements(server, first.rrn) == [("topup", -100_000)]  # the store took the cash


def test_refund_is_bounded_by_what_is_left_and_takes_back_points(server, terminal):
    first, second = terminal.purchase(CLUB, 1_200_000, CARD_A)  # payable 1,025,000; 102 points
    rrn = first.rrn
    assert balance(server, CARD_A) == (3_975_000, 0)
    msg, r1 = terminal.authorize("200060", 500_000, CARD_A, {0x06: rrn})
    assert r1.code == "00" and r1.amounts == {"6002": 4_475_000}
    assert terminal.confirm(msg, r1, CARD_A).code == "00"
    assert balance(server, CARD_A) == (4_475_000, 0)
    assert ledger_of(server, r1.rrn) == [("clawback", "points", -50), ("refund", "club", 500_000)]
    assert settlements(server, r1.rrn) == [("refund", -500_000)]
    # what is left to refund: amount - discount (1,020,000) - 500,000
    _, over = terminal.authorize("200060", 520_001, CARD_A, {0x06: rrn})
    assert over.code == "13"
    _, wrong_account = terminal.authorize("200070", 1_000, CARD_A, {0x06: rrn})
    assert wrong_account.code == "12"
    _, unknown = terminal.authorize("200060", 1_000, CARD_A, {0x06: "999999999999"})
    assert unknown.code == "25"
    _, other_card = terminal.authorize("200060", 1_000, CARD_B, {0x06: rrn})
    assert other_card.code == "12"
    first, second = terminal.purchase("200060", 520_000, CARD_A, {0x06: rrn})
    assert second.code == "00"
    assert txn(server, rrn)["refunded"] == 1_020_000


def test_refund_of_a_cash_purchase_only_takes_back_points(server, terminal):
    first, _ = terminal.purchase(CASH, 400_000, CARD_C)  # 40 points
    r1, r2 = terminal.purchase("200000", 100_000, CARD_C, {0x06: first.rrn})
    assert r2.code == "00"
    assert balance(server, CARD_C, POINTS) == (30, 0)
    assert r1.amounts == {}


def test_balance_inquiry_is_single_phase(server, terminal):
    msg, r = terminal.authorize("310000", 0, CARD_A)
    assert r.code == "00"
    assert r.amounts == {"6002": 5_000_000, "7002": 500_000}
    assert r.tags[2] == "80" and r.tags[3] == "A" and len(r.tags[0x0D]) == 4
    assert terminal.confirm(msg, r, CARD_A).code == "12"  # no phase two for an inquiry


def test_enrollment_at_the_first_purchase(server, terminal):
    card = STOCK[0]
    _, first = terminal.authorize(CASH, 100_000, card)
    assert first.code == "64"
    details = {0x07: "09121111111", 0x08: "F", 0x09: "19900321", 0x0A: "4"}
    _, bad = terminal.authorize(CASH, 100_000, card, {**details, 0x08: "X"})
    assert bad.code == "30"
    msg, ok = terminal.authorize(CASH, 100_000, card, details)
    assert ok.code == "00"
    row = card_row(server, card)
    assert row["status"] == "active" and row["expiry"]
    member = server.call(lambda store: store.member(row["member_id"]))
    assert (member["phone"], member["gender"], member["birth_date"], member["education"]) == (
        "09121111111",
        "F",
        "19900321",
        "4",
    )
    assert terminal.confirm(msg, ok, card).code == "00"
    texts = [m["text"] for m in outbox(server) if m["phone"] == "09121111111"]
    assert len(texts) == 2 and any("عضویت" in t for t in texts)
    _, again = terminal.authorize(CASH, 100_000, card)  # issued now: no more 64
    assert again.code == "00"


@pytest.mark.parametrize(
    "card, code",
    [
        (CARD_BLOCKED, "62"),
        (CARD_EXPIRED, "54"),
        (UNKNOWN_CARD, "14"),
        (UNKNOWN_BANK_CARD, "14"),
    ],
)
def test_card_status_answers(terminal, card, code):
    _, r = terminal.authorize(CASH, 100_000, card)
    assert r.code == code and r.rrn is None


@pytest.mark.parametrize("amount", [0, 10_000_000_001])
def test_invalid_amount(terminal, amount):
    _, r = terminal.authorize(CLUB, amount, CARD_A)
    assert r.code == "13"


def test_unknown_processing_code(terminal):
    _, r = terminal.authorize("990000", 1_000, CARD_A)
    assert r.code == "12"


def test_reversal_releases_a_hold(server, terminal):
    msg, first = terminal.authorize(CLUB, 1_200_000, CARD_A)
    assert balance(server, CARD_A) == (5_000_000, 1_025_000)
    r = terminal.reverse(msg, CARD_A, first.rrn, "BD")
    assert r.code == "00" and r.message["37"] == first.rrn
    assert balance(server, CARD_A) == (5_000_000, 0)
    row = txn(server, first.rrn)
    assert row["state"] == "reversed" and row["reason"] == "BD"
    assert ledger_of(server, first.rrn) == []


def test_reversal_without_rrn_is_matched_by_field_90(server, terminal):
    msg, first = terminal.authorize(CLUB, 100_000, CARD_A)
    r = terminal.reverse(msg, CARD_A, None, "TO")
    assert r.code == "00"
    assert txn(server, first.rrn)["state"] == "reversed"
    assert balance(server, CARD_A) == (5_000_000, 0)


def test_void_of_the_last_confirmed_transaction_undoes_it(server, terminal):
    msg, first = terminal.authorize(CLUB, 1_200_000, CARD_A)
    terminal.confirm(msg, first, CARD_A)
    assert balance(server, CARD_A) == (3_975_000, 0)
    assert balance(server, CARD_A, POINTS) == (82, 0)  # 80 + 102 - 100 converted
    r = terminal.reverse(msg, CARD_A, first.rrn, "VD")
    assert r.code == "00"
    assert balance(server, CARD_A) == (5_000_000, 0)
    # the points come back out; those already converted leave a debt (documented)
    assert balance(server, CARD_A, POINTS) == (-20, 0)
    assert txn(server, first.rrn)["state"] == "voided"
    assert settlements(server, first.rrn) == [("purchase", 1_020_000), ("void", -1_020_000)]
    assert any("لغو" in m["text"] for m in outbox(server))


def test_only_the_last_confirmed_transaction_may_be_voided(server, terminal):
    msg_a, a = terminal.authorize(CASH, 100_000, CARD_A)
    terminal.confirm(msg_a, a, CARD_A)
    terminal.purchase(CASH, 100_000, CARD_B)
    assert terminal.reverse(msg_a, CARD_A, a.rrn, "VD").code == "12"
    assert txn(server, a.rrn)["state"] == "confirmed"


def test_voiding_the_last_does_not_make_the_one_before_voidable(server, terminal):
    """docs/protocol.md 5.5: one void, of the last confirmed transaction; after it, the one
    before is not "the last" (it was confirmed earlier)."""
    msg_a, a = terminal.authorize(CASH, 100_000, CARD_A)
    terminal.confirm(msg_a, a, CARD_A)
    msg_b, b = terminal.authorize(CASH, 100_000, CARD_B)
    terminal.confirm(msg_b, b, CARD_B)
    assert terminal.reverse(msg_b, CARD_B, b.rrn, "VD").code == "00"
    assert terminal.reverse(msg_a, CARD_A, a.rrn, "VD").code == "12"
    assert txn(server, a.rrn)["state"] == "confirmed"


def test_no_void_after_the_reconciliation(server, terminal):
    msg, sale = terminal.authorize(CASH, 100_000, CARD_A)
    terminal.confirm(msg, sale, CARD_A)
    totals = {"76": 1, "88": 100_000, "97": "D" + f"{100_000:016d}"}
    assert terminal.reconcile(totals).code == "00"
    assert terminal.reverse(msg, CARD_A, sale.rrn, "VD").code == "12"
    assert txn(server, sale.rrn)["state"] == "confirmed"


def test_void_of_a_top_up_whose_credit_was_spent_is_refused(server, terminal):
    msg, first = terminal.authorize("210060", 100_000, CARD_C)
    terminal.confirm(msg, first, CARD_C)
    assert balance(server, CARD_C) == (100_000, 0)
    # spend it at another terminal of the store so the top-up stays this terminal's last
    other = type(terminal)(terminal.port, "VT000002", "VAFA00000000001", "5641464100000002")
    other.connect()
    other.purchase(STORE, 1, CARD_A)
    spend_msg, spend = other.authorize(CLUB, 100_000, CARD_C)  # tier C: 5 % + 5,000 fee
    assert spend.code == "00"
    other.confirm(spend_msg, spend, CARD_C)
    other.close()
    assert terminal.reverse(msg, CARD_C, first.rrn, "VD").code == "51"
    assert txn(server, first.rrn)["state"] == "confirmed"


def test_the_database_thread_variant_runs_the_same_flows(db_path):
    from simulator.club_server.server import ClubServer
    from tests.club_server.client import Terminal

    with ClubServer(db_path, db_thread=True).run_in_thread() as server:
        t = Terminal(server.port).connect()
        msg, first = t.authorize(CLUB, 1_200_000, CARD_A)
        assert balance(server, CARD_A) == (5_000_000, 1_025_000)
        assert t.confirm(msg, first, CARD_A).code == "00"
        assert t.reverse(msg, CARD_A, first.rrn, "VD").code == "00"
        assert balance(server, CARD_A) == (5_000_000, 0)
        t.close()


def test_follow_ups_resent_after_a_restart_carry_condition_06(server, terminal):
    """docs/protocol.md 2.1 C3: a 0220 / 0420 made while finishing work after a restart."""
    msg, first = terminal.authorize(CLUB, 100_000, CARD_A)
    confirm = terminal.follow_up("0220", msg, first.rrn)
    assert terminal.exchange(dict(confirm, **{"25": "99"}), terminal.secrets(CARD_A)).code == "30"
    confirm["25"] = "06"
    assert terminal.exchange(confirm, terminal.secrets(CARD_A)).code == "00"
    msg, first = terminal.authorize(CLUB, 100_000, CARD_A)
    reversal = terminal.follow_up("0420", msg, None, {0x0B: "PF"})
    reversal["25"] = "06"
    assert terminal.exchange(reversal, terminal.secrets(CARD_A)).code == "00"
    assert txn(server, first.rrn)["reason"] == "PF"
