"""Split sales in what the club's people read (docs/protocol.md 5.11, docs/club_server.md
"Split payment"): the daily and period reports' per-leg sums, the transaction list, a
transaction's story and the settlement owed to the store (the club-credit leg only)."""

import json
import time

import pytest

from simulator.club_server import listing, queries, reports
from simulator.club_server import period_reports as pr
from simulator.club_server.seed import CARD_A, CARD_B, CARD_LOW, seed_demo
from simulator.club_server.server import run_in_thread
from simulator.club_server.settlement_store import settlement_totals
from tests.club_server.client import Terminal
from vafa.cli import main

STORE = "VAFA00000000001"
TERMINAL = "VT000001"


@pytest.fixture(scope="module")
def club(tmp_path_factory):
    """A bank split (CARD_B: 2,000,000 credit + 705,000 bank card), a cash split (CARD_LOW:
    10,000 credit + 90,000 cash), a plain club-credit purchase (CARD_A: 1,025,000), a plain
    bank-card and a plain cash purchase (CARD_A, 1,025,000 / 100,000 paid)."""
    path = str(tmp_path_factory.mktemp("club") / "club.db")
    seed_demo(path)
    server = run_in_thread(path)
    t = Terminal(server.port).connect()
    rrns = {}
    try:
        for name, proc, amount, card, tags, confirm in (
            ("bank_split", "006000", 3_000_000, CARD_B, {0x17: "40"}, {0x05: "PSP-42"}),
            ("cash_split", "006000", 100_000, CARD_LOW, {0x17: "00"}, None),
            ("club", "006000", 1_200_000, CARD_A, None, None),
            ("bank", "004000", 1_200_000, CARD_A, None, {0x05: "PSP-43"}),
            ("cash", "000000", 100_000, CARD_A, None, None),
        ):
            first, second = t.purchase(proc, amount, card, tags, confirm)
            assert first.code in ("00", "10") and second.code == "00", name
            rrns[name] = first.rrn
        # a split refunded in part: 1,000,000 = 739,371 credit + 260,629 bank card
        msg, refund = t.authorize("200060", 1_000_000, CARD_B, {0x06: rrns["bank_split"]})
        assert t.confirm(msg, refund, CARD_B).code == "00"
        rrns["refund"] = refund.rrn
    finally:
        t.close()
        server.stop()
    return path, rrns


@pytest.fixture
def conn(club):
    c = queries.open_readonly(club[0])
    yield c
    c.close()


LEGS = {
    "club_credit_spent": 2_000_000 + 10_000 + 1_025_000,
    "bank_card_paid": 705_000 + 1_025_000,
    "cash_paid": 90_000 + 100_000,
    "store_credit_spent": 0,
}


def test_the_daily_report_sums_each_leg(conn):
    report = queries.daily_report(conn, listing.today(time.time()))
    for side, key in (("terminals", TERMINAL), ("merchants", STORE)):
        totals = report[side][key]
        assert {name: totals[name] for name in LEGS} == LEGS, side
        # the purchases column counts each sale once, at field 4
        assert totals["purchases"] == [5, 3_000_000 + 100_000 + 1_200_000 * 2 + 100_000]
    text = reports.format_daily_report(report)
    assert "club credit" in text and "bank card" in text and "3,035,000" in text
    row = next(r for r in listing.report_rows(report) if r["scope"] == "store")
    assert row["bank_card_paid"] == 1_730_000 and row["cash_paid"] == 190_000


def test_a_period_report_sums_each_leg_as_the_day_does(conn):
    day = listing.today(time.time())
    groups = pr.period_report(conn, day, day, "store")["groups"]
    assert {name: groups[STORE][name] for name in LEGS} == LEGS
    rows = pr.rows(pr.period_report(conn, day, day, "terminal"))
    assert {name: rows[0][name] for name in LEGS} == LEGS


def test_settlement_owes_the_store_only_the_club_credit_leg(conn, club):
    rows = {r["merchant_id"]: r for r in settlement_totals(conn, time.time() + 30 * 86400)}
    owed = rows[STORE]["due"] + rows[STORE]["owed"]
    # bank split: 3,000,000 - 300,000 discount - 705,000 bank leg; cash split 100,000 - 5,000
    # - 90,000; the plain club purchase 1,200,000 - 180,000; the bank purchase's fee -5,000;
    # the split refund gives back its credit share only
    assert owed == 1_995_000 + 5_000 + 1_020_000 - 5_000 - 739_371


def test_the_transaction_list_and_story_show_the_legs(conn, club, capsys):
    rrns = club[1]
    rows = {r["rrn"]: r for r in queries.list_rows(conn, "txns", {})}
    assert rows[rrns["bank_split"]]["legs"] == "club credit 2,000,000 + bank card 705,000"
    assert rows[rrns["cash_split"]]["legs"] == "club credit 10,000 + cash 90,000"
    assert rows[rrns["refund"]]["legs"] == "club credit 739,371 + bank card 260,629"
    assert rows[rrns["club"]]["legs"] == "" and rows[rrns["bank"]]["legs"] == ""
    table = listing.text_table("txns", list(rows.values()))
    assert "club credit 10,000 + cash 90,000" in table
    assert main(["club-server", "story", rrns["bank_split"], "--db", club[0]]) == 0
    out = capsys.readouterr().out
    assert "split: club credit 2,000,000 + bank card 705,000  bank reference PSP-42" in out
    assert "code 10" in out  # the recorded partial approval
    assert main(["club-server", "story", rrns["bank_split"], "--json", "--db", club[0]]) == 0
    story = json.loads(capsys.readouterr().out)
    assert story["txn"]["remainder"] == 705_000 and story["txn"]["remainder_tender"] == "40"
    assert [r["rrn"] for r in story["refunds"]] == [rrns["refund"]]


def test_the_console_shows_the_legs(club):
    import urllib.request

    from simulator.club_server.console.app import run_console_in_thread

    path, rrns = club
    with run_console_in_thread(path) as console:
        with urllib.request.urlopen(console.url + "/report", timeout=10) as answer:
            report = answer.read().decode()
        with urllib.request.urlopen(console.url + "/txn/" + rrns["cash_split"], timeout=10) as a:
            story = a.read().decode()
    assert "bank card" in report and "1,730,000" in report and "190,000" in report
    assert "club credit 10,000 + cash 90,000" in story
