"""`vafa club-server members|cards|txns|holds|settlements|outbox|story|daily-report`, run
through the `vafa` command's own entry (vafa.cli.main) on a seeded club with real sales: what
an operator reads (Jalali, Tehran time, last 4 digits), --json / --csv, and that nothing in
the database changes."""

import csv
import hashlib
import io
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from simulator.club_server import listing, queries
from simulator.club_server.seed import all_card_numbers, seed_demo
from tests.club_server.activity import CARD_B, CASH, run_sales
from tests.club_server.client import Terminal
from vafa.cli import main


@pytest.fixture(scope="module")
def club(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("club") / "club.db")
    seed_demo(path)
    return path, run_sales(path)


@pytest.fixture
def vafa(club, capsys):
    """vafa(*words) -> (exit status, stdout, stderr) of `vafa club-server WORDS --db DB`."""

    def run(*words):
        code = main(["club-server", *words, "--db", club[0]])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_txns_text_shows_jalali_tehran_time_and_last4(vafa, club):
    code, out, err = vafa("txns", "--last4", "0014")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["rrn", "when", "(Tehran)"]
    assert len(lines) == 3 and all("************0014" in line for line in lines[1:])
    today = listing.jalali_date(listing.today(time.time()))
    assert all(today in line for line in lines[1:])
    assert {club[1]["cash_a"], club[1]["club_a"]} == {line.split()[0] for line in lines[1:]}


def test_txns_json_is_one_object_with_iso_times(vafa, club):
    code, out, _ = vafa("txns", "--terminal", "VT000003", "--json")
    body = json.loads(out)
    assert code == 0 and body["list"] == "txns" and body["count"] == 1
    assert body["filters"] == {"terminal": "VT000003"}
    row = body["rows"][0]
    assert row["rrn"] == club[1]["pool_cash"] and row["last4"] == "0071"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:30", row["created_at"])
    assert row["kind"] == "cash purchase" and row["state"] == "confirmed"


def test_a_jalali_day_is_a_tehran_day(vafa, club):
    today = listing.today(time.time())
    jalali_today = listing.jalali_date(today)
    _, out, _ = vafa("txns", "--date", jalali_today, "--json")
    assert json.loads(out)["count"] == len(club[1])
    assert json.loads(out)["filters"]["since"] == today.isoformat()  # ISO in JSON
    _, out, _ = vafa("txns", "--until", "1400/01/01")
    assert out.strip() == "(no txns matching the filters)"


def test_csv_has_a_header_and_every_row(vafa):
    code, out, _ = vafa("holds", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 3
    assert {r["state"] for r in rows} == {"open", "captured", "released"}
    assert all(r["created_at"].endswith("+03:30") for r in rows)


@pytest.mark.parametrize("name", list(queries.LISTS))
def test_every_list_in_every_form_without_a_card_number(vafa, name):
    outputs = [vafa(name, *form)[1] for form in ((), ("--json",), ("--csv",))]
    assert all(outputs)
    for pan in all_card_numbers():
        assert not any(pan in text for text in outputs), name


def test_outbox_shows_tehran_jalali_and_utc_beside_the_text(vafa, club):
    conn = queries.open_readonly(club[0])
    try:
        newest = queries.list_rows(conn, "outbox", limit=1)[0]
    finally:
        conn.close()
    _, out, _ = vafa("outbox", "--limit", "1")
    header, line = out.splitlines()
    assert header.split()[:3] == ["id", "Tehran", "UTC"]
    assert listing.jalali_time(newest["created_at"]) in line
    assert listing.utc_time(newest["created_at"]) in line
    assert line.endswith(newest["text"])


def test_status_filter_and_its_choices(vafa, club):
    _, out, _ = vafa("holds", "--status", "open")
    assert club[1]["open_low"] in out and len(out.splitlines()) == 2
    code, _, err = vafa("holds", "--status", "confirmed")
    assert code == 2 and "'open', 'captured', 'released'" in err


def test_last4_refuses_a_whole_card_number_without_echoing_it(vafa):
    code, out, err = vafa("txns", "--last4", "9879110000000014")
    assert code == 2 and out == ""
    assert err.startswith("vafa club-server txns: --last4: expected a card's last 4 digits")
    assert "9879110000000014" not in err


def test_story_tells_request_hold_ledger_settlement_and_sms(vafa, club):
    code, out, _ = vafa("story", club[1]["club_a"])
    assert code == 0
    assert "club-credit purchase at VT000001" in out and "************0014" in out
    assert "0100 STAN" in out and "-> 0230 code 00" in out
    assert "club 1,025,000 captured" in out
    assert "purchase club (club) -1,025,000" in out
    assert "purchase VAFA00000000001 +1,020,000 owed" in out
    assert "۱٬۰۲۵٬۰۰۰" in out
    _, out, _ = vafa("story", club[1]["reversed_b"], "--json")
    story = json.loads(out)
    assert story["txn"]["state"] == "reversed"
    assert [r["response"]["t"] for r in story["requests"]] == ["0110", "0430"]


def test_story_of_nothing_is_one_line(vafa):
    code, out, err = vafa("story", "000000009999")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "no such transaction" in err


def test_daily_report_in_jalali_with_the_busiest_hour(vafa):
    today = listing.today(time.time())
    code, out, _ = vafa("daily-report", "--date", listing.jalali_date(today))
    assert code == 0
    assert out.splitlines()[0] == (
        f"Daily report {listing.jalali_date(today)} ({today.isoformat()}) (Tehran)"
    )
    assert "VT000003" in out and "busiest hour (Tehran)" in out and "4 purchases" in out
    _, out, _ = vafa("daily-report", "--json")
    report = json.loads(out)
    assert report["date"] == today.isoformat()
    assert report["date_jalali"] == listing.jalali_date(today)
    assert sum(h["count"] for h in report["hours"]) == 4
    _, out, _ = vafa("daily-report", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {(r["scope"], r["id"]) for r in rows} >= {
        ("terminal", "VT000003"),
        ("store", "VAFA00000000002"),
    }
    pool = next(r for r in rows if r["id"] == "VT000003")
    assert (pool["purchases_count"], pool["purchases_amount"]) == ("1", "400000")


def test_the_database_is_not_changed(vafa, club):
    def digest():
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in Path(club[0]).parent.iterdir()
            if p.name in ("club.db", "club.db-wal")
        }

    before = digest()
    for words in (("txns",), ("members", "--json"), ("story", "1"), ("daily-report",)):
        assert vafa(*words)[0] == 0
    assert digest() == before


def _vafa_process(*words):
    return subprocess.Popen(
        [sys.executable, "-m", "vafa", "club-server", *words],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def own_club(tmp_path):
    """A seeded club of the test's own (the server tests add sales to it)."""
    path = str(tmp_path / "club.db")
    seed_demo(path)
    return path


def test_serve_with_console_shows_sales_as_they_are_made(own_club):
    server = _vafa_process("--db", own_club, "--port", "0", "--console", "0")
    try:
        club_line = server.stdout.readline()
        console_line = server.stdout.readline()
        club_port = int(re.search(r":(\d+) ", club_line).group(1))
        url = re.search(r"(http://\S+/)", console_line).group(1)
        terminal = Terminal(club_port, "VT000004", "VAFA00000000003", "5641464100000004")
        try:
            first, second = terminal.connect().purchase(CASH, 900_000, CARD_B)
        finally:
            terminal.close()
        assert second.code == "00"
        with urllib.request.urlopen(f"{url}api/txns?terminal=VT000004", timeout=5) as answer:
            body = json.loads(answer.read())
        assert [(r["rrn"], r["state"]) for r in body["rows"]] == [(first.rrn, "confirmed")]
        with urllib.request.urlopen(f"{url}txn/{first.rrn}", timeout=5) as answer:
            assert "Transaction " + first.rrn in answer.read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=15)
    assert server.returncode == 0, err
    assert "Traceback" not in err


def test_a_taken_console_port_is_one_line(own_club):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        server = _vafa_process("--db", own_club, "--port", "0", "--console", str(port))
        _, err = server.communicate(timeout=15)
    finally:
        taken.close()
    assert server.returncode == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("vafa club-server: --console 127.0.0.1:") and str(port) in lines[-1]
    assert "Traceback" not in err
