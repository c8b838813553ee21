"""The ledger check, the SQLite file (no card number in it, ever), the SMS outbox, and the
admin commands of `vafa club-server`."""

import io
import re
import sqlite3

import pytest

from simulator.club_server.ledger import ledger_check
from simulator.club_server.seed import (
    BANK_CARD_A,
    CARD_A,
    CARD_B,
    CARD_C,
    CARD_EXPIRED,
    CARD_POOL,
    STOCK,
    all_card_numbers,
    behaviour_cards,
)
from simulator.club_server.server import ClubServer
from simulator.club_server.sms import fa_digits
from simulator.club_server.storage import SCHEMA_VERSION, Storage, StorageError
from tests.club_server.client import Terminal
from tests.club_server.support import outbox
from vafa import cli

ENROLL = {0x07: "09123334444", 0x08: "M", 0x09: "19851230", 0x0A: "5"}


def busy_day(server):
    """A bit of everything, on two terminals."""
    t = Terminal(server.port).connect()
    t.purchase("000000", 250_000, CARD_A)
    t.purchase("004000", 1_200_000, CARD_B, confirm_tags={0x05: "REF1"})
    t.purchase("004000", 800_000, BANK_CARD_A)
    club, _ = t.purchase("006000", 1_200_000, CARD_A)
    t.purchase("007000", 100_000, CARD_A)
    t.purchase("210060", 100_000, CARD_POOL)
    t.purchase("200060", 300_000, CARD_A, {0x06: club.rrn})
    msg, held = t.authorize("006000", 50_000, CARD_B)
    t.reverse(msg, CARD_B, held.rrn, "CN")
    t.purchase("000000", 90_000, STOCK[1], ENROLL)
    t.authorize("006000", 10_000, CARD_C)  # 51: no credit
    top_msg, top = t.authorize("210060", 500_000, CARD_C)
    t.confirm(top_msg, top, CARD_C)
    t.reverse(top_msg, CARD_C, top.rrn, "VD")
    t.authorize("310000", 0, CARD_A)
    t.close()
    other = Terminal(server.port, "VT000003", "VAFA00000000002", "5641464100000003").connect()
    other.purchase("004000", 2_000_000, CARD_A)
    other.purchase("006000", 400_000, CARD_POOL)
    other.reconcile({"76": 1})
    other.close()


def test_ledger_check_passes_after_a_busy_day(db_path):
    with ClubServer(db_path).run_in_thread() as server:
        busy_day(server)
    report = ledger_check(db_path)
    assert report.ok, str(report)
    assert report.checked["ledger rows"] > 20


def test_ledger_check_fails_when_a_balance_row_is_tampered_with(db_path):
    with ClubServer(db_path).run_in_thread() as server:
        busy_day(server)
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "UPDATE accounts SET balance = balance + 1000 WHERE kind = 'club' AND id = "
            "(SELECT MIN(id) FROM accounts WHERE kind = 'club')"
        )
    report = ledger_check(db_path)
    assert not report.ok
    assert any("ledger sum" in f and "************0014" in f for f in report.findings)
    assert cli.main(["club-server", "ledger-check", "--db", db_path]) == 1


def test_ledger_check_finds_held_amounts_and_double_debits(db_path):
    with ClubServer(db_path).run_in_thread() as server:
        t = Terminal(server.port).connect()
        first, _ = t.purchase("006000", 1_200_000, CARD_A)
        t.authorize("006000", 100_000, CARD_B)
        t.close()
    assert ledger_check(db_path).ok
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE accounts SET held = 0 WHERE held > 0")
        txn_id, account_id = raw.execute(
            "SELECT txn_id, account_id FROM ledger WHERE kind = 'purchase'"
        ).fetchone()
        raw.execute(
            "INSERT INTO ledger (account_id, amount, txn_id, kind, created_at) "
            "VALUES (?, -1025000, ?, 'purchase', 0)",
            (account_id, txn_id),
        )
    findings = "\n".join(ledger_check(db_path).findings)
    assert "open holds" in findings
    assert "confirmed twice" in findings
    assert f"purchase RRN {first.rrn}: debited 2050000" in findings


def test_the_ledger_is_append_only(db_path):
    with ClubServer(db_path).run_in_thread() as server:
        Terminal(server.port).connect().purchase("000000", 100_000, CARD_A)
    with sqlite3.connect(db_path) as raw:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("UPDATE ledger SET amount = 0")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("DELETE FROM ledger")


def test_no_card_number_is_anywhere_in_the_database_files(db_path, tmp_path):
    with ClubServer(db_path).run_in_thread() as server:
        busy_day(server)
        t = Terminal(server.port).connect()
        for card in set(all_card_numbers()) - set(behaviour_cards()):
            t.authorize("310000", 0, card)  # every card number travels through the server
        t.close()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("club.db") and p.suffix != ".key"]
    blob = b"".join(p.read_bytes() for p in files)
    assert len(blob) > 50_000
    for card in all_card_numbers():
        for form in (card, fa_digits(card)):
            assert form.encode() not in blob, card
            assert form.encode("utf-16-le") not in blob, card
        assert card[-4:].encode() in blob  # the last 4 are kept, by design


def test_sms_outbox_is_persian_with_the_last_4_digits_only(server, terminal):
    terminal.purchase("000000", 1_200_000, CARD_C)
    terminal.purchase("210060", 100_000, CARD_POOL)
    notices = outbox(server)
    assert len(notices) == 3  # purchase, points turned into gift credit, top-up
    assert any("تبدیل شد" in n["text"] for n in notices)
    purchase = next(n for n in notices if "خرید" in n["text"])
    assert purchase["phone"] == "09120000003"
    assert "خرید ۱٬۲۰۰٬۰۰۰ ریال در هایپرمارکت نمونه وفا" in purchase["text"]
    assert "امتیاز: +۱۲۰" in purchase["text"] and fa_digits("0030") in purchase["text"]
    topup = next(n for n in notices if n["phone"] == "09120000007")
    assert "۱٬۰۰۰٬۰۰۰ ریال" in topup["text"]
    for n in notices:
        assert re.search("[\u0600-\u06ff]", n["text"])
        digits = re.sub(r"\D", "", n["text"].translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")))
        for card in all_card_numbers():
            assert card not in digits


def test_schema_is_created_once_with_a_version(tmp_path):
    path = tmp_path / "new.db"
    Storage(path).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        raw.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StorageError, match="version 99"):
        Storage(path)


def run_cli(capsys, *argv):
    code = cli.main(["club-server", *argv])
    out = capsys.readouterr().out
    return code, out


def test_admin_commands(db_path, capsys, monkeypatch):
    with ClubServer(db_path).run_in_thread() as server:
        t = Terminal(server.port).connect()
        code, out = run_cli(capsys, "balances", "--db", db_path, "--card", CARD_A)
        assert code == 0 and "************0014" in out and "5,000,000" in out
        assert run_cli(capsys, "block-card", "--db", db_path, "--card", CARD_C)[0] == 0
        assert t.authorize("000000", 1_000, CARD_C)[1].code == "62"
        monkeypatch.setattr("sys.stdin", io.StringIO(CARD_EXPIRED + "\n"))
        code, out = run_cli(capsys, "renew-card", "--db", db_path, "--card", "-")
        assert code == 0 and "status active" in out
        assert t.authorize("000000", 1_000, CARD_EXPIRED)[1].code == "00"
        new_card = "9879110000000220"
        code, _ = run_cli(capsys, "add-card", "--db", db_path, "--card", new_card)
        assert code == 0
        assert t.authorize("000000", 1_000, new_card)[1].code == "64"
        code, _ = run_cli(capsys, "add-card", "--db", db_path, "--card", "9879110000000221")
        assert code == 2  # not Luhn-valid
        t.purchase("000000", 1_200_000, CARD_A)
        t.close()
    code, out = run_cli(capsys, "daily-report", "--db", db_path)
    assert code == 0 and "VT000001" in out and "VAFA00000000001" in out
    code, out = run_cli(capsys, "outbox", "--db", db_path)
    assert code == 0 and "ریال" in out
    code, out = run_cli(capsys, "ledger-check", "--db", db_path)
    assert code == 0 and "OK" in out
    code, out = run_cli(capsys, "add-terminals", "--db", db_path, "--count", "3")
    assert out.split() == [
        "VT001001",
        "5641464100001001",
        "VT001002",
        "5641464100001002",
        "VT001003",
        "5641464100001003",
    ]
    everything = capsys.readouterr().out + out
    for card in all_card_numbers():
        assert card not in everything


def test_seed_demo_command_prints_masked_numbers_only(tmp_path, capsys):
    db = str(tmp_path / "demo.db")
    code, out = run_cli(capsys, "seed-demo", "--db", db)
    assert code == 0 and "5641464100000001" in out and "************0014" in out
    for card in all_card_numbers():
        assert card not in out
    assert run_cli(capsys, "seed-demo", "--db", db)[0] == 0  # a second time changes nothing
