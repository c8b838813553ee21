"""Replacing a lost card (card_replace.py): balances, points, tier and history move to the new
card in one transaction, the old card is refused; tiers and points by the program."""

import subprocess
import sys
import time

import pytest

from simulator.club_server import accounts, card_replace, registry
from simulator.club_server.admin import AdminError
from simulator.club_server.ledger import ledger_check
from simulator.club_server.seed import BANK_CARD_A, CARD_A, CARD_C, STOCK, vault_for
from simulator.club_server.storage import Storage
from tests.club_server.support import balance, card_row

NEW = "9879110000000501"  # Luhn-valid, new to the club
VAFA = [sys.executable, "-m", "vafa", "club-server"]


def luhn_ok(pan):
    from simulator.club_server.cards import luhn_valid

    return luhn_valid(pan)


def replace(db_path, *argv, stdin=None):
    done = subprocess.run([*VAFA, "replace-card", *argv, "--db", db_path], input=stdin,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert "Traceback" not in done.stderr
    return done


def test_the_new_card_carries_balances_points_tier_and_history(server, db_path, terminal):
    assert luhn_ok(NEW)
    first, second = terminal.purchase("006000", 1_000_000, CARD_A)  # tier A: 15 % off
    assert second.code == "00"
    before = {
        kind: balance(server, CARD_A, kind)
        for kind in (accounts.CLUB, accounts.STORE, accounts.POINTS)
    }
    done = replace(db_path, "--old", "0014", "--new", "-", "--reason", "damaged", stdin=NEW)
    assert done.returncode == 0, done.stderr
    assert NEW not in done.stdout and "************0501" in done.stdout
    assert "3 account(s) and 1 transaction(s) moved, 1 bank card(s) relinked" in done.stdout
    # the old card is refused, the new one (and the linked bank card) carry on
    assert terminal.authorize("006000", 100_000, CARD_A)[1].code == "62"
    for kind, was in before.items():
        assert balance(server, NEW, kind) == was
    _, inquiry = terminal.authorize("310000", 0, NEW)
    assert inquiry.code == "00" and inquiry.tags[0x03] == "A"
    assert inquiry.amounts["6002"] == before[accounts.CLUB][0]
    # history: a refund of the purchase made with the old card works with the new one
    _, refund = terminal.purchase("200060", 100_000, NEW, {0x06: first.rrn})
    assert refund.code == "00"
    assert terminal.purchase("004000", 100_000, BANK_CARD_A)[1].code == "00"
    assert card_row(server, CARD_A)["status"] == "blocked"
    assert ledger_check(db_path).ok
    again = replace(db_path, "--old", "0014", "--new", STOCK[0])
    assert again.returncode == 2 and "replaced already" in again.stderr


def test_a_card_from_stock_replaces_and_an_open_approval_waits(server, db_path, terminal):
    msg, approved = terminal.authorize("006000", 100_000, CARD_A)
    done = replace(db_path, "--old", "0014", "--new", STOCK[0])
    assert done.returncode == 2 and "waiting for confirmation" in done.stderr
    assert terminal.confirm(msg, approved, CARD_A).code == "00"
    done = replace(db_path, "--old", "0014", "--new", STOCK[0])
    assert done.returncode == 0, done.stderr
    assert card_row(server, STOCK[0])["status"] == "active"
    assert terminal.purchase("000000", 100_000, STOCK[0])[1].code == "00"  # no enrollment: 00


@pytest.mark.parametrize(
    ("new", "words"),
    [
        (CARD_C, "is active in the club"),  # a card in use
        ("9879110000000204", "is a pool card"),  # stock of another product
        ("9879110000000502", "Luhn"),
    ],
)
def test_refused_replacements_change_nothing(db_path, new, words):
    store = Storage(db_path)
    before = store.table_counts()
    with pytest.raises(AdminError, match=words):
        card_replace.replace_card(store, vault_for(db_path), new, old_last4="0014", now=0.0)
    assert store.table_counts() == before
    assert card_replace.find_old(store, "0014")["status"] == "active"


def test_a_tier_change_takes_effect_on_the_next_sale(server, db_path, terminal):
    # tier C card; two purchases within a minute push it past tier B's 10,000,000
    first, _ = terminal.purchase("000000", 6_000_000, CARD_C)
    assert first.tags[0x03] == "C"
    second, _ = terminal.purchase("000000", 6_000_000, CARD_C)
    assert second.tags[0x03] == "C"  # priced before its own confirmation
    _, third = terminal.authorize("004000", 1_000_000, CARD_C)
    assert third.tags[0x03] == "B" and third.amounts["40D1"] == 100_000  # the hyper's 10 %


def test_incentive_points_per_tier_and_points_kept_as_points(server, db_path, terminal):
    store = Storage(db_path)
    registry.set_program(store, 1, [("tier_points_a_pct", "150"), ("keep_points", "yes")])
    store.close()
    first, second = terminal.purchase("000000", 1_000_000, CARD_A)  # 100 points, x1.5
    assert first.tags[0x01] == "150"
    # 80 seeded + 150: past the 100-point conversion, but the program keeps points
    assert second.tags[0x02] == "230"
    assert balance(server, CARD_A, accounts.POINTS) == (230, 0)
    assert balance(server, CARD_A, accounts.STORE) == (500_000, 0)
    assert terminal.purchase("000000", 1_000_000, CARD_C)[0].tags[0x01] == "100"  # tier C


def test_points_are_spent_at_the_till_when_the_program_gives_them_a_value(server, db_path,
                                                                          terminal):  # fmt: skip
    # CARD_A holds 80 points at the hypermarket; the program gives points no value yet
    assert terminal.authorize("008000", 100_000, CARD_A)[1].code == "57"
    store = Storage(db_path)
    registry.set_program(store, 1, [("point_value_rials", "2000")])
    store.close()
    _, short = terminal.authorize("008000", 200_000, CARD_A)  # 100 points: more than 80
    assert short.code == "51" and short.tags[0x02] == "80"
    msg, first = terminal.authorize("008000", 100_001, CARD_A)  # 51 points (rounded up)
    assert first.code == "00" and first.tags[0x02] == "29" and first.tags[0x01] == "0"
    assert balance(server, CARD_A, accounts.POINTS) == (80, 51)
    assert terminal.confirm(msg, first, CARD_A).code == "00"
    assert balance(server, CARD_A, accounts.POINTS) == (29, 0)
    assert terminal.reverse(msg, CARD_A, first.rrn).code == "00"  # a void gives them back
    assert balance(server, CARD_A, accounts.POINTS) == (80, 0)
    msg, again = terminal.authorize("008000", 20_000, CARD_A)
    assert terminal.reverse(msg, CARD_A, again.rrn).code == "00"  # a reversal releases
    assert balance(server, CARD_A, accounts.POINTS) == (80, 0)
    assert ledger_check(db_path).ok


def test_one_purchase_past_a_threshold_prices_the_next_sale_at_the_new_tier(server, terminal):
    # the member's tier was counted minutes ago: the 0220 counts again (without itself)
    member = card_row(server, CARD_C)["member_id"]
    server.call(lambda store: store.update_member(member, tier_checked_at=time.time() - 300))
    _, second = terminal.purchase("000000", 12_000_000, CARD_C)
    assert second.code == "00"
    _, next_sale = terminal.authorize("004000", 1_000_000, CARD_C)
    assert next_sale.tags[0x03] == "B" and next_sale.amounts["40D1"] == 100_000
    server.sweep()  # the sweeper's full count agrees
    assert server.call(lambda store: store.member(member))["tier"] == "B"
