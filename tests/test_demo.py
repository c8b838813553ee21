"""`vafa demo`: the main job, run as a user runs it (a subprocess of the console entry point),
against its own club and against an outside club (a real club server on TCP, in this process)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.club_server.server import run_in_thread
from simulator.pos_emulator.terminal import start_demo_club
from tests.ports import closed_port

FLOWS = {"sign_on", "bank", "club_credit", "store_credit", "cash", "balance", "top_up",
         "refund", "void", "close", "pin", "coupon", "split"}  # fmt: skip
KEYS = {"flow", "response_code", "amount", "discount", "fee", "payable", "points_earned",
        "balance_after", "stan"}  # fmt: skip


def run_demo(data_dir, *args):
    cmd = [sys.executable, "-m", "vafa", "demo", "--data-dir", str(data_dir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_demo_json(tmp_path):
    done = run_demo(tmp_path / "demo", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ledger_ok"] is True and report["ledger_findings"] == []
    rows = report["transactions"]
    assert all(set(row) >= KEYS for row in rows)
    assert {row["flow"] for row in rows} == FLOWS
    by_title = {row["title"]: row for row in rows}
    bank = by_title["Bank-card purchase with club discount"]
    assert bank["response_code"] == "00" and bank["outcome"] == "approved"
    assert bank["payable"] == bank["amount"] - bank["discount"] + bank["fee"]
    assert bank["discount"] > 0 and bank["points_earned"] > 0
    declined = by_title["Bank leg declines: the club discount is reversed"]
    assert declined["outcome"] == "reversed" and declined["points_earned"] == 0
    assert by_title["Blocked card"]["response_code"] == "62"
    pin = by_title["Club credit with the cardholder's PIN (card keyed in)"]
    assert pin["flow"] == "pin" and pin["outcome"] == "approved", pin
    coupon = by_title["Club credit with coupon code NOWRUZ10"]
    assert coupon["flow"] == "coupon" and coupon["outcome"] == "approved", coupon
    assert coupon["coupon_discount"] > 0 and coupon["discount"] > coupon["coupon_discount"]
    split = by_title["Split: club credit first, the rest by bank card"]
    assert (split["flow"], split["outcome"], split["response_code"]) == ("split", "approved", "10")
    credit, rest = split["legs"]
    assert (credit["account"], rest["account"]) == ("60", "40") and rest["bank_reference"]
    assert credit["amount"] + rest["amount"] == split["payable"]
    assert by_title["End of day: reconciliation"]["response_code"] == "00"
    # Only the approved bank sale and the split's remainder were charged; the declined sale
    # left nothing at the bank.
    assert report["bank_charged_total"] == bank["payable"] + rest["amount"]


def test_demo_text_and_no_card_number_in_clear(tmp_path):
    data = tmp_path / "demo"
    done = run_demo(data)
    assert done.returncode == 0, done.stderr
    assert "ledger check: OK" in done.stdout
    assert "Summary" in done.stdout and "BANK CARD PURCHASE" in done.stdout
    files = [p for p in Path(data).rglob("*") if p.is_file()]
    assert any(p.name == "club.db" for p in files)
    for number in seed.all_card_numbers():
        assert number not in done.stdout
        for path in files:
            assert number.encode() not in path.read_bytes(), (number[-4:], path.name)


def club_accounts(club, pan):
    """{(kind, merchant id): balance} of a card, read from a club's database."""
    vault = seed.vault_for(club.server.db_path)

    def read(store):
        card = store.card_by_hash(vault.lookup_hash(pan))
        return {
            (a["kind"], a["merchant_id"]): a["balance"] for a in store.accounts_of_card(card["id"])
        }

    return club.call(read)


def test_demo_runs_against_an_outside_club(tmp_path):
    club = start_demo_club(tmp_path / "outside" / "club.db")  # seed-demo, as docs/testing.md asks
    try:
        address = f"127.0.0.1:{club.port}"
        reports = []
        for _ in range(2):  # the second run: the terminal's key counter was kept
            done = run_demo(tmp_path / "demo", "--club", address, "--json")
            assert done.returncode == 0, done.stderr + done.stdout[-2000:]
            reports.append(json.loads(done.stdout))
        messages = club.server.stats["messages"]
        points = club_accounts(club, seed.CARD_B)
        ledger = club.call(ledger_check)
    finally:
        club.stop()
    for report in reports:
        assert report["club"] == address and report["outside_club"] is True
        assert report["signed_on"] is True and report["unanswered"] == 0
        assert report["ledger_ok"] is None  # skipped: the outside club's database is not here
        assert {row["flow"] for row in report["transactions"]} == FLOWS
    # the flows reached the outside club: two runs of a dozen flows, and the cash purchase of
    # each run gave card B 45 points (40 + 90 = 130: 100 of them became 100,000 store credit)
    assert messages >= 2 * len(FLOWS)
    assert points[("points", seed.DEMO_MERCHANT)] == 30
    assert points[("store", seed.DEMO_MERCHANT)] == 100_000
    assert ledger.ok, ledger.findings
    assert not (tmp_path / "demo" / "club.db").exists()  # no club of its own


def test_demo_text_against_an_outside_club_says_the_ledger_check_is_skipped(tmp_path):
    club = start_demo_club(tmp_path / "outside" / "club.db")
    try:
        done = run_demo(tmp_path / "demo", "--club", f"127.0.0.1:{club.port}")
    finally:
        club.stop()
    assert done.returncode == 0, done.stderr
    assert f"club: 127.0.0.1:{club.port} (outside club" in done.stdout
    assert "ledger check: skipped" in done.stdout and "ledger-check --db" in done.stdout


def test_demo_against_a_club_without_the_demo_seed_says_why_and_fails(tmp_path):
    club = run_in_thread(str(tmp_path / "empty.db"))  # a club that never heard of VT000001
    try:
        done = run_demo(tmp_path / "demo", "--club", f"127.0.0.1:{club.port}")
    finally:
        club.stop()
    assert done.returncode == 1
    assert "the club closed the connection on the first message without answering" in done.stdout
    assert "initial key id 5641464100000001 of terminal VT000001" in done.stdout
    assert "nothing else was run" in done.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("clubhost", "--club 'clubhost': no port; expected HOST:PORT"),
        ("clubhost:http", "--club 'clubhost:http': port 'http' is not a number"),
        ("127.0.0.1:99999", "--club '127.0.0.1:99999': port 99999 is not in 1..65535"),
        ("CLOSED", "no club answers there"),
    ],
)
def test_demo_bad_club_is_one_line_and_exit_2(tmp_path, value, message):
    value = value.replace("CLOSED", f"127.0.0.1:{closed_port()}")
    done = run_demo(tmp_path / "demo", "--club", value)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("vafa demo: ") and done.stderr.count("\n") == 1
    assert message in done.stderr and "Traceback" not in done.stderr
