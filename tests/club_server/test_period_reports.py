"""Reports for periods (docs/club_server.md "Reports for periods"): the same arithmetic as the
daily report, weeks and Jalali months, every grouping, the command line, and query plans that
search indexes instead of scanning the transactions."""

import csv
import datetime as dt
import json
import time

import pytest

from simulator.club_server import listing, queries, tehran
from simulator.club_server import period_reports as pr
from simulator.club_server.seed import seed_demo
from tests.club_server.activity import run_sales
from vafa.cli import main


@pytest.fixture(scope="module")
def club(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("club") / "club.db")
    seed_demo(path)
    return path, run_sales(path)


@pytest.fixture
def conn(club):
    c = queries.open_readonly(club[0])
    yield c
    c.close()


@pytest.fixture
def vafa(club, capsys):
    def run(*words):
        code = main(["club-server", *words, "--db", club[0]])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def today():
    return listing.today(time.time())


@pytest.mark.parametrize(
    "day, saturday",
    [
        ("2026-12-05", "2026-12-05"),  # a Saturday is its week's first day
        ("2026-12-04", "2026-11-28"),  # a Friday its last
        ("2026-12-09", "2026-12-05"),  # Wednesday
    ],
)
def test_iranian_week(day, saturday):
    first, last = pr.week_of(dt.date.fromisoformat(day))
    assert first.isoformat() == saturday and (last - first).days == 6
    assert first.weekday() == 5  # Saturday


@pytest.mark.parametrize(
    "month, first, last",
    [
        ("1405/09", "2026-11-22", "2026-12-21"),  # Azar: 30 days
        ("1405/01", "2026-03-21", "2026-04-20"),  # Farvardin: 31 days
        ("1403/12", "2025-02-19", "2025-03-20"),  # Esfand of a leap year: 30 days
    ],
)
def test_jalali_month(month, first, last):
    assert tuple(d.isoformat() for d in pr.jalali_month(month)) == (first, last)


@pytest.mark.parametrize("bad", ["1405/13", "1405", "x/y", "1405/09/01"])
def test_bad_jalali_month(bad):
    with pytest.raises(pr.PeriodError, match="expected a Jalali YYYY/MM"):
        pr.jalali_month(bad)


@pytest.mark.parametrize("by, side", [("store", "merchants"), ("terminal", "terminals")])
def test_one_day_is_the_daily_report(conn, by, side):
    day = today()
    daily = queries.daily_report(conn, day)[side]
    period = pr.period_report(conn, day, day, by)["groups"]
    assert set(period) == set(daily)
    for key, totals in daily.items():
        for column in ("purchases", "refunds", "top-ups", "voids", "discount", "fee", "points"):
            assert period[key][column] == totals[column], (key, column)
        if by == "store":
            assert period[key]["settlement"] == totals["settlement"]


def test_what_a_period_adds_up(conn, club):
    day = today()
    report = pr.period_report(conn, *pr.week_of(day), "store")["groups"]
    hyper = report["VAFA00000000001"]
    # cash 250,000 + bank card 1,200,000 + club credit 1,200,000 confirmed at the hypermarket
    assert hyper["purchases"] == [3, 2_650_000]
    # the club-credit purchase paid amount - discount + fee from club credit
    txn = conn.execute("SELECT payable FROM txns WHERE rrn = ?", (club[1]["club_a"],)).fetchone()
    assert hyper["club_credit_spent"] == txn["payable"] > 0
    converted = conn.execute(
        "SELECT -SUM(l.amount) AS p FROM ledger l JOIN accounts a ON a.id = l.account_id "
        "WHERE l.kind = 'convert' AND a.kind = 'points' AND a.merchant_id = 'VAFA00000000001'"
    ).fetchone()["p"]
    assert hyper["points_converted"] == converted > 0
    assert hyper["gift_credit_given"] > 0
    assert report["VAFA00000000002"]["purchases"] == [1, 400_000]


def test_a_period_before_the_sales_is_empty(conn):
    day = today() - dt.timedelta(days=400)
    assert pr.period_report(conn, day, day + dt.timedelta(days=30))["groups"] == {}


def test_by_program_and_chain(conn):
    day = today()
    programs = pr.period_report(conn, day, day, "program")["groups"]
    stores = pr.period_report(conn, day, day, "store")["groups"]
    assert sum(g["purchases"][1] for g in programs.values()) == sum(
        g["purchases"][1] for g in stores.values()
    )
    if pr.has_chains(conn):
        chains = pr.period_report(conn, day, day, "chain")["groups"]
        assert sum(g["purchases"][0] for g in chains.values()) == 4
    else:
        with pytest.raises(pr.PeriodError, match="no chains"):
            pr.period_report(conn, day, day, "chain")


@pytest.mark.parametrize("by", tuple(pr.GROUPS))
def test_report_queries_search_indexes(conn, by):
    """EXPLAIN QUERY PLAN: each query reads its window through an index, never a full scan of
    txns or settlements (a SCAN of a table without an index reads every row)."""
    wanted = {
        "confirmed": "txns_confirmed",
        "converted": "txns_confirmed",
        "voided": "txns_voided",
        "settled": "settlements_created",
    }
    for name, plan in pr.query_plans(conn, by).items():
        text = " | ".join(plan)
        assert f"INDEX {wanted[name]}" in text, (name, text)
        for line in plan:
            if line.startswith("SCAN"):
                assert "INDEX" in line, (name, text)  # a covering-index scan at most


def test_daily_report_queries_use_the_index_too(conn):
    reads = queries.ReadOnlyReports(conn)
    start, end = tehran.day_bounds(today())
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM txns WHERE confirmed_at >= ? AND confirmed_at < ? "
        "ORDER BY id",
        (start, end),
    ).fetchall()
    assert any("txns_confirmed" in r["detail"] for r in plan)
    assert reads.txns_confirmed_between(start, end)


def test_cli_month_json(vafa):
    jy, jm, _ = listing.jalali_date(today()).split("/")
    code, out, err = vafa("report", "--month", f"{jy}/{jm}", "--by", "terminal", "--json")
    assert code == 0 and err == ""
    body = json.loads(out)
    assert body["from_jalali"] == f"{jy}/{jm}/01" and body["by"] == "terminal"
    terminals = {r["id"]: r for r in body["rows"]}
    assert terminals["VT000001"]["purchases_count"] == 3
    assert terminals["VT000003"]["purchases_amount"] == 400_000


def test_cli_week_csv_and_text(vafa):
    code, out, _ = vafa("report", "--week", listing.jalali_date(today()), "--csv")
    assert code == 0
    table = list(csv.DictReader(out.splitlines()))
    assert {r["id"] for r in table} == {"VAFA00000000001", "VAFA00000000002"}
    code, out, _ = vafa("report", "--from", "1405/09/01", "--to", "1405/09/30")
    assert code == 0 and out.startswith("Report 1405/09/01 .. 1405/09/30 (2026-11-22 .. 2026-12-21")


@pytest.mark.parametrize(
    "words, expected",
    [
        (("report", "--from", "1405/09/01"), "--from and --to: give both"),
        (("report", "--from", "1405/09/10", "--to", "1405/09/01"), "is before --from"),
        (("report", "--month", "1405/13"), "--month '1405/13'"),
        (("report", "--week", "yesterday"), "--week 'yesterday'"),
    ],
)
def test_cli_bad_periods_are_one_line(vafa, words, expected):
    code, out, err = vafa(*words)
    assert code == 2 and out == "" and expected in err
    assert len(err.strip().splitlines()) == 1
