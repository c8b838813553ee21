"""Settlement to stores (docs/club_server.md "Settlement"): the working calendar, the holiday
table, stores' shebas, the payout job (also killed mid-run by SIGKILL and run again), and the
settlement report, through `vafa club-server` as the operator runs it."""

import csv
import datetime as dt
import doctest
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from simulator.club_server import payout, settlement, tehran, workcal
from simulator.club_server.seed import seed_demo
from simulator.club_server.server import run_in_thread
from simulator.club_server.storage import Storage
from tests.club_server.activity import CARD_A, CLUB, run_sales
from tests.club_server.client import Terminal
from vafa.cli import main

SHEBA_1 = "IR062960000000100324200001"
SHEBA_2 = "IR530120000000004271030004"
SHEBA_3 = "IR270170000000100324200001"
STORES = ("VAFA00000000001", "VAFA00000000002", "VAFA00000000003")


def tehran_ts(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=tehran.TEHRAN).timestamp()


def when(ts):
    return tehran.local(ts).strftime("%Y-%m-%dT%H:%M")


def test_doctests():
    assert doctest.testmod(workcal).failed == 0
    assert doctest.testmod(settlement).failed == 0


# -- the working calendar --------------------------------------------------------------------------

OFFICE = (8 * 3600, 16 * 3600)


@pytest.mark.parametrize(
    "start, hours, span, holidays, due",
    [
        # the default: whole working days (24 working hours = one working day)
        ("2026-12-02T10:00", 24, None, (), "2026-12-05T10:00"),  # Wed -> Sat
        ("2026-12-03T10:00", 24, None, (), "2026-12-06T00:00"),  # Thu -> end of Sat
        ("2026-12-05T10:00", 24, None, ("2026-12-06",), "2026-12-07T10:00"),  # Sun off
        # office hours 08:00-16:00: 24 working hours are three working days
        ("2026-12-05T10:00", 24, OFFICE, (), "2026-12-08T10:00"),  # Sat -> Tue
        ("2026-12-05T10:00", 8, OFFICE, (), "2026-12-06T10:00"),
        ("2026-12-05T07:00", 8, OFFICE, (), "2026-12-05T16:00"),  # before opening
        ("2026-12-05T17:00", 8, OFFICE, (), "2026-12-06T16:00"),  # after closing
        ("2026-12-02T15:00", 2, OFFICE, (), "2026-12-05T09:00"),  # Wed 1 h + Sat 1 h
        ("2026-12-02T15:00", 2, OFFICE, ("2026-12-05",), "2026-12-06T09:00"),
        ("2026-12-05T16:00", 1, OFFICE, (), "2026-12-06T09:00"),  # at closing: next day
    ],
)
def test_due_in_working_hours(start, hours, span, holidays, due):
    opens, closes = span or (workcal.DEFAULT_OPENS, workcal.DEFAULT_CLOSES)
    cal = workcal.WorkCalendar([dt.date.fromisoformat(d) for d in holidays], opens, closes)
    assert when(cal.due(tehran_ts(start), hours)) == due


def test_settings_rows_make_the_calendar():
    settings = {
        workcal.HOURS_KEY: "08:00-16:00",
        workcal.SETTLEMENT_HOURS_KEY: "8",
        workcal.HOLIDAYS_KEY: "2026-12-06",
    }
    assert when(workcal.settlement_due(tehran_ts("2026-12-05T10:00"), settings)) == (
        "2026-12-07T10:00"
    )


@pytest.mark.parametrize("text", ["8-16", "16:00-08:00", "08:00-25:00", "08:61-16:00", ""])
def test_bad_working_hours_are_refused(text):
    with pytest.raises(workcal.CalendarError, match="HH:MM-HH:MM"):
        workcal.parse_hours(text)


def test_a_calendar_without_working_days_is_an_error_not_a_hang():
    cal = workcal.WorkCalendar(weekend=range(7))
    with pytest.raises(workcal.CalendarError, match="no working hours"):
        cal.due(tehran_ts("2026-12-05T10:00"))


# -- shebas and the holiday table ------------------------------------------------------------------


@pytest.mark.parametrize("good", [SHEBA_1, "ir06 2960 0000 0010 0324 2000 01", SHEBA_2])
def test_good_shebas(good):
    assert settlement.check_sheba(good) == good.replace(" ", "").upper()


@pytest.mark.parametrize(
    "bad, words",
    [
        ("IR072960000000100324200001", "check digits"),
        ("IR06296000000010032420000", "IR and 24 digits"),
        ("DE89370400440532013000", "IR and 24 digits"),
        ("IR06296000000010032420000X", "IR and 24 digits"),
    ],
)
def test_bad_shebas(bad, words):
    with pytest.raises(settlement.SettlementError, match=words):
        settlement.check_sheba(bad)


def test_the_shipped_1405_table():
    from simulator.club_server.settlement_cli import builtin_holidays

    text = builtin_holidays()
    assert "MUST CHECK" in text and "Source" in text
    rows = settlement.parse_holidays(text)
    assert all(r["jalali"].startswith("1405/") for r in rows)
    days = {r["jalali"]: r["day"] for r in rows}
    assert days["1405/01/01"] == "2026-03-21"  # Nowruz
    assert days["1405/11/22"] == "2027-02-11"  # Revolution Day
    assert days["1405/12/29"] == "2027-03-20"  # last day of 1405 (not leap)
    assert len(rows) == 26


@pytest.mark.parametrize(
    "text, words",
    [
        ("1405/13/01,x,y\n", "line 1: '1405/13/01' is not a Jalali date"),
        ("# c\n\n2026-03-21,x,y\n", "line 3: '2026-03-21' is not a Jalali date"),
        ("1405/01/01,a,b\n1405-01-01,a,b\n", "line 2: 1405-01-01 is listed twice"),
        ("# only a comment\n", "no holidays"),
    ],
)
def test_bad_holiday_tables(text, words):
    with pytest.raises(settlement.SettlementError, match=words):
        settlement.parse_holidays(text)


# -- through the command line ----------------------------------------------------------------------


@pytest.fixture
def club(tmp_path):
    path = str(tmp_path / "club.db")
    seed_demo(path)
    return path, run_sales(path)


@pytest.fixture
def vafa(club, capsys):
    def run(*words):
        code = main(["club-server", *words, "--db", club[0]])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def rows(db, sql, args=()):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def test_loading_holidays_moves_the_due_time_of_what_is_owed(club, vafa, tmp_path):
    db = club[0]
    owed = rows(db, "SELECT id, created_at, due_at FROM settlements WHERE status = 'owed'")
    assert owed
    # the day each row falls due becomes a holiday: every due time moves past it
    days = sorted({tehran.local_date(r["due_at"]) for r in owed})
    table = tmp_path / "h.csv"
    lines = ["jalali_date,name_fa,name_en,note"]
    lines += [f"{_jalali(d)},تعطیل,test holiday," for d in days]
    table.write_text("\n".join(lines) + "\n", "utf-8")
    code, out, err = vafa("holidays", "load", str(table))
    assert code == 0 and err == "" and f"{len(owed)} settlement(s)" in out
    after = {r["id"]: r for r in rows(db, "SELECT id, due_at FROM settlements")}
    for r in owed:
        cal = workcal.WorkCalendar(days)
        assert after[r["id"]]["due_at"] == cal.due(r["created_at"]) > r["due_at"]
        assert tehran.local_date(after[r["id"]]["due_at"]) not in days
    code, out, _ = vafa("holidays", "list", "--json")
    assert json.loads(out)["count"] == len(days)


def test_the_request_path_dates_settlements_by_the_loaded_calendar(club, vafa):
    db = club[0]
    code, _, _ = vafa("working-hours", "--set", "08:00-16:00", "--settlement-hours", "8")
    assert code == 0
    before = {r["id"] for r in rows(db, "SELECT id FROM settlements")}
    with run_in_thread(db) as server:  # a new sale, recorded under the office-hours calendar
        terminal = Terminal(server.port, counter=100).connect()
        terminal.stan = 500
        try:
            first, second = terminal.purchase(CLUB, 300_000, CARD_A)
            assert first.code == second.code == "00"
        finally:
            terminal.close()
    settings = {r["key"]: r["value"] for r in rows(db, "SELECT key, value FROM settings")}
    new = [r for r in rows(db, "SELECT * FROM settlements") if r["id"] not in before]
    assert new
    for r in new:
        assert r["due_at"] == workcal.settlement_due(r["created_at"], settings)
        assert 8 <= tehran.local(r["due_at"]).hour <= 16


def _jalali(date):
    from simulator.club_server import listing

    return listing.jalali_date(date)


def _add_settlements(db, per_store):
    """Settlement rows recorded a week ago at each store (amounts per_store[store]), on the
    sales' transactions: what settle pays."""
    store = Storage(db)
    txn_id = rows(db, "SELECT id FROM txns ORDER BY id LIMIT 1")[0]["id"]
    week_ago = time.time() - 7 * 86400
    with store.transaction():
        for merchant_id, amounts in per_store.items():
            for amount in amounts:
                store.add_settlement(
                    txn_id=txn_id,
                    merchant_id=merchant_id,
                    kind="purchase",
                    amount=amount,
                    created_at=week_ago,
                    due_at=week_ago + 86400,
                )
    store.close()


def test_settle_pays_what_is_due_once_and_writes_the_payout_file(club, vafa, tmp_path):
    db = club[0]
    _add_settlements(db, {STORES[1]: [500_000, -20_000], STORES[2]: [-70_000]})
    for store, sheba in zip(STORES, (SHEBA_1, SHEBA_2, SHEBA_3), strict=True):
        assert vafa("store-sheba", "--store", store, "--sheba", sheba)[0] == 0
    due = rows(db, "SELECT * FROM settlements WHERE due_at <= ?", (time.time(),))
    code, out, err = vafa("settle", "--out", str(tmp_path / "out"), "--json")
    assert code == 0 and err == ""
    body = json.loads(out)
    assert body["batch"].startswith("VAFA-PAY-") and not body["resumed"]
    by_store = {p["merchant_id"]: p for p in body["payouts"]}
    assert by_store[STORES[1]]["amount"] == 480_000
    assert by_store[STORES[1]]["direction"] == "pay"
    assert by_store[STORES[2]]["direction"] == "collect"
    with open(body["file"], encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert {line["reference"] for line in lines} == {f"{body['batch']}-{s}" for s in by_store}
    assert {line["merchant_id"]: line["sheba"] for line in lines}[STORES[2]] == SHEBA_3
    # every due row is paid, in exactly one payout, and the amounts add up
    paid = rows(db, "SELECT s.id, s.status, sp.payout_id FROM settlements s "
                    "LEFT JOIN settlement_payouts sp ON sp.settlement_id = s.id "
                    "WHERE s.due_at <= ?", (time.time(),))  # fmt: skip
    assert {r["id"] for r in paid} == {r["id"] for r in due}
    assert all(r["status"] == "paid" and r["payout_id"] for r in paid)
    # run again: nothing is due, nothing new is paid
    code, out, _ = vafa("settle", "--out", str(tmp_path / "out"))
    assert code == 0 and out.startswith("nothing due")
    assert len(rows(db, "SELECT * FROM payout_batches")) == 1


def test_a_store_without_sheba_is_held_back(club, vafa, tmp_path):
    db = club[0]
    _add_settlements(db, {STORES[1]: [300_000]})
    code, out, _ = vafa("settle", "--out", str(tmp_path / "out"))
    assert code == 0 and "held back: VAFA00000000002 has no sheba (1 item(s), 300,000" in out
    assert rows(db, "SELECT status FROM settlements WHERE merchant_id = ?", (STORES[1],)) == [
        {"status": "owed"}
    ]
    code, out, _ = vafa("settlement-report", "--json")
    report = json.loads(out)["rows"]
    mine = [r for r in report if r["merchant_id"] == STORES[1]]
    assert mine and mine[0]["due"] == 300_000 and mine[0]["due_count"] == 1


def test_settlement_report_per_store_and_day(club, vafa):
    db = club[0]
    code, out, err = vafa("settlement-report", "--csv")
    assert code == 0 and err == ""
    table = list(csv.DictReader(out.splitlines()))
    owed = rows(db, "SELECT merchant_id, SUM(amount) AS s FROM settlements GROUP BY merchant_id")
    assert {r["merchant_id"]: int(r["owed"]) + int(r["due"]) for r in table} == {
        r["merchant_id"]: r["s"] for r in owed
    }
    today = _jalali(tehran.local_date(time.time()))
    code, out, _ = vafa("settlement-report")
    assert today in out and "VAFA00000000001" in out


@pytest.mark.parametrize(
    "words, expected",
    [
        (("store-sheba", "--store", "VAFA00000000001", "--sheba", "IR00"), "--sheba 'IR00'"),
        (("store-sheba", "--store", "NOPE", "--sheba", SHEBA_1), "--store NOPE: no such store"),
        (("working-hours", "--set", "16-08"), "--set"),
        (("settle", "--as-of", "1405/13/01"), "--as-of '1405/13/01'"),
    ],
)
def test_bad_inputs_are_one_line(vafa, words, expected):
    code, out, err = vafa(*words)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and expected in err and "Traceback" not in err


def test_a_bad_holiday_file_is_one_line(vafa, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1405/01/32,x,y\n", "utf-8")
    code, _, err = vafa("holidays", "load", str(bad))
    assert code == 2 and "line 1: '1405/01/32' is not a Jalali date" in err
    assert len(err.strip().splitlines()) == 1


# -- killed mid-run ------------------------------------------------------------------------


def _settle_process(db, out, pause=None):
    env = {**os.environ, payout.PAUSE_ENV: pause or ""}
    return subprocess.Popen(
        [sys.executable, "-m", "vafa", "club-server", "settle", "--db", db, "--out", out, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip


@pytest.mark.parametrize("step", payout.PAUSE_STEPS)
def test_a_payout_killed_mid_run_pays_everything_exactly_once(club, vafa, tmp_path, step):
    db = club[0]
    _add_settlements(db, {STORES[0]: [100_000, 200_000], STORES[1]: [400_000],
                          STORES[2]: [-50_000, 75_000]})  # fmt: skip
    for store, sheba in zip(STORES, (SHEBA_1, SHEBA_2, SHEBA_3), strict=True):
        vafa("store-sheba", "--store", store, "--sheba", sheba)
    due = {r["id"]: r for r in rows(db, "SELECT * FROM settlements WHERE due_at <= ?",
                                    (time.time(),))}  # fmt: skip
    out = str(tmp_path / "payouts")
    proc = _settle_process(db, out, step)
    try:
        assert proc.stdout.readline().strip() == f"paused at {step}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    batch = rows(db, "SELECT * FROM payout_batches")
    assert len(batch) == 1 and batch[0]["status"] == "paying"  # killed: not finished
    key = batch[0]["batch_key"]
    if step != "batch":
        with open(os.path.join(out, f"{key}.csv"), "rb") as f:
            first_file = f.read()
    # new sales after the crash are not swept into the unfinished batch
    _add_settlements(db, {STORES[0]: [9_000]})
    rerun = _settle_process(db, out)
    stdout, stderr = rerun.communicate(timeout=30)
    assert rerun.returncode == 0, stderr
    body = json.loads(stdout)
    assert body["batch"] == key and body["resumed"]
    if step != "batch":
        with open(os.path.join(out, f"{key}.csv"), "rb") as f:
            assert f.read() == first_file  # the same file under the same key
    links = rows(db, "SELECT settlement_id, COUNT(*) AS n FROM settlement_payouts "
                     "GROUP BY settlement_id")  # fmt: skip
    assert {r["settlement_id"] for r in links} == set(due)
    assert all(r["n"] == 1 for r in links)
    statuses = {r["id"]: r["status"] for r in rows(db, "SELECT id, status FROM settlements")}
    assert all(statuses[i] == "paid" for i in due)
    payouts = rows(db, "SELECT * FROM payouts")
    assert all(p["status"] == "paid" for p in payouts)
    assert sum(p["amount"] for p in payouts) == sum(r["amount"] for r in due.values())
    assert len({p["reference"] for p in payouts}) == len(payouts) == 3
    with open(body["file"], encoding="utf-8") as f:
        assert sum(1 for _ in csv.DictReader(f)) == 3
    # the next run pays the row recorded after the crash, in a batch of its own
    third = _settle_process(db, out)
    stdout, _ = third.communicate(timeout=30)
    assert json.loads(stdout)["batch"] != key
    now_due = rows(db, "SELECT status FROM settlements WHERE due_at <= ?", (time.time(),))
    assert all(r["status"] == "paid" for r in now_due)


# -- the console's view --------------------------------------------------------------------------


def test_the_console_shows_what_is_due(club):
    import urllib.request

    from simulator.club_server.console.app import run_console_in_thread

    db = club[0]
    _add_settlements(db, {STORES[1]: [250_000]})
    with run_console_in_thread(db) as console:
        with urllib.request.urlopen(console.url + "/api/settlements-due", timeout=10) as answer:
            body = json.loads(answer.read())
        with urllib.request.urlopen(console.url + "/settlements-due", timeout=10) as answer:
            html = answer.read().decode()
    pool = [r for r in body["rows"] if r["merchant_id"] == STORES[1]]
    assert pool and pool[0]["due"] == 250_000 and pool[0]["due_count"] == 1
    assert 'id="settlements-due"' in html and "VAFA00000000002" in html
    assert "250,000" in html


def test_the_payout_and_the_report_search_their_index(club):
    """The payout job's selection and the report of what is not yet paid read the index
    settlements_open (status, due_at), never every settlement row."""
    from simulator.club_server import queries
    from simulator.club_server import settlement_store as sql

    conn = queries.open_readonly(club[0])
    try:
        for statement, args in (
            (
                "SELECT id, merchant_id, amount FROM settlements WHERE status = 'owed' "
                "AND due_at <= ? ORDER BY merchant_id, id",
                (time.time(),),
            ),
        ):
            plan = " | ".join(
                r["detail"] for r in conn.execute(f"EXPLAIN QUERY PLAN {statement}", args)
            )
            assert "INDEX settlements_open" in plan, plan
        calls = []
        conn.set_trace_callback(calls.append)
        sql.settlement_report(conn, time.time())
        sql.due_settlements(conn, time.time())
        conn.set_trace_callback(None)
        checked = [statement for statement in calls if "FROM settlements" in statement]
        assert len(checked) == 2
        for statement in checked:  # the statements as run, with their values
            plan = conn.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
            details = " | ".join(r["detail"] for r in plan)
            assert "settlements_open" in details, details
    finally:
        conn.close()
