"""`vafa demo`: the main job, run as a user runs it (a subprocess of the console entry point)."""

import json
import subprocess
import sys
from pathlib import Path

from simulator.club_server import seed

FLOWS = {"sign_on", "bank", "club_credit", "store_credit", "cash", "balance", "top_up",
         "refund", "void", "close"}  # fmt: skip
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
    assert by_title["End of day: reconciliation"]["response_code"] == "00"
    # Only the approved bank sale was charged; the declined one left nothing at the bank.
    assert report["bank_charged_total"] == bank["payable"]


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
