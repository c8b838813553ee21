"""The read side (simulator/club_server/queries.py, listing.py) on a seeded club after real
sales through the server: filters select what they say, a story tells what happened, the
connection cannot write, no card number comes out, and filtered lists search an index."""

import datetime as dt
import json
import re
import sqlite3
import time

import pytest

from simulator.club_server import listing, queries, reports
from simulator.club_server.seed import all_card_numbers, seed_demo
from simulator.club_server.storage import Storage
from tests.club_server.activity import run_sales


@pytest.fixture(scope="module")
def club(tmp_path_factory):
    """(db path, {name: rrn}) of a seeded club with sales in it (made once for the module)."""
    path = str(tmp_path_factory.mktemp("club") / "club.db")
    seed_demo(path)
    return path, run_sales(path)


@pytest.fixture
def conn(club):
    c = queries.open_readonly(club[0])
    yield c
    c.close()


def rrns(rows):
    return sorted(r["rrn"] for r in rows)


def test_txns_filters_select_what_they_say(conn, club):
    _, made = club
    everything = queries.list_rows(conn, "txns")
    assert rrns(everything) == sorted(made.values())
    by = {
        "last4": ("0014", [made["cash_a"], made["club_a"]]),
        "terminal": ("VT000003", [made["pool_cash"]]),
        "store": ("VAFA00000000002", [made["pool_cash"]]),
        "status": ("reversed", [made["reversed_b"]]),
    }
    for key, (value, expected) in by.items():
        assert rrns(queries.list_rows(conn, "txns", {key: value})) == sorted(expected), key
    both = queries.list_rows(conn, "txns", {"last4": "0022", "status": "confirmed"})
    assert rrns(both) == [made["bank_b"]]
    assert [r["kind"] for r in queries.list_rows(conn, "txns", {"terminal": "VT000003"})] == [
        "cash purchase"
    ]


def test_days_are_tehran_days_inclusive(conn, club):
    today = listing.today(time.time())
    day = dt.timedelta(days=1)
    assert len(queries.list_rows(conn, "txns", {"since": today, "until": today})) == 6
    assert queries.list_rows(conn, "txns", {"until": today - day}) == []
    assert queries.list_rows(conn, "txns", {"since": today + day}) == []
    assert len(queries.list_rows(conn, "outbox", {"since": today - day})) >= 4


def test_holds_settlements_outbox_members_cards_filters(conn, club):
    _, made = club
    holds = queries.list_rows(conn, "holds")
    assert {(r["rrn"], r["state"]) for r in holds} == {
        (made["club_a"], "captured"),
        (made["reversed_b"], "released"),
        (made["open_low"], "open"),
    }
    assert rrns(queries.list_rows(conn, "holds", {"status": "open"})) == [made["open_low"]]
    assert rrns(queries.list_rows(conn, "holds", {"last4": "0022"})) == [made["reversed_b"]]
    settlements = queries.list_rows(conn, "settlements", {"store": "VAFA00000000001"})
    assert {(r["rrn"], r["kind"]) for r in settlements} == {
        (made["bank_b"], "fee"),
        (made["club_a"], "purchase"),
    }
    assert queries.list_rows(conn, "settlements", {"store": "VAFA00000000003"}) == []
    sms = queries.list_rows(conn, "outbox", {"last4": "0071"})
    assert [r["rrn"] for r in sms] == [made["pool_cash"]]
    assert "۰۰۷۱" in sms[0]["text"]  # the card named by its last 4, in Persian digits
    assert queries.list_rows(conn, "outbox", {"terminal": "VT000003"}) == sms
    members = queries.list_rows(conn, "members", {"last4": "0014"})
    assert [m["phone"] for m in members] == ["09120000001"]
    assert members[0]["cards"].split() == ["0014", "0014"]  # the club card and its bank card
    cards = queries.list_rows(conn, "cards", {"status": "blocked"})
    assert [c["last4"] for c in cards] == ["0055"]


def test_a_list_refuses_a_filter_it_does_not_have(conn):
    with pytest.raises(queries.QueryError, match="members cannot be filtered by terminal"):
        queries.list_rows(conn, "members", {"terminal": "VT000001"})
    with pytest.raises(queries.QueryError, match="no list 'ledger'"):
        queries.list_rows(conn, "ledger")
    with pytest.raises(queries.QueryError, match="limit"):
        queries.list_rows(conn, "txns", limit=0)


def test_limit_keeps_the_newest(conn, club):
    rows = queries.list_rows(conn, "txns", limit=2)
    assert rrns(rows) == sorted([club[1]["reversed_b"], club[1]["open_low"]])


def test_a_confirmed_purchase_tells_its_whole_story(conn, club):
    story = queries.txn_story(conn, club[1]["club_a"])
    t = story["txn"]
    assert (t["kind"], t["state"], t["amount"], t["payable"]) == (
        "club-credit purchase",
        "confirmed",
        1_200_000,
        1_025_000,
    )
    answers = [(r["mti_class"], r["response"]["t"], r["response"]["39"]) for r in story["requests"]]
    assert answers == [("010", "0110", "00"), ("022", "0230", "00")]
    for r in story["requests"]:
        assert not {"53", "62", "64", "128"} & set(r["response"])  # no keys, secrets or MAC
    assert [(h["account"], h["amount"], h["state"]) for h in story["holds"]] == [
        ("club", 1_025_000, "captured")
    ]
    assert ("purchase", "club", -1_025_000) in [
        (r["kind"], r["account"], r["amount"]) for r in story["ledger"]
    ]
    assert [(s["kind"], s["amount"]) for s in story["settlements"]] == [("purchase", 1_020_000)]
    assert [r["kind"] for r in story["recon_items"]] == ["debit"]
    assert any("۱٬۰۲۵٬۰۰۰" in s["text"] for s in story["sms"])
    assert story["refunds"] == []


def test_a_reversed_purchase_story_has_its_reversal_and_no_money_moved(conn, club):
    story = queries.txn_story(conn, club[1]["reversed_b"])
    assert story["txn"]["state"] == "reversed" and story["txn"]["reason"] == "CN"
    assert [r["mti_class"] for r in story["requests"]] == ["010", "042"]
    assert [h["state"] for h in story["holds"]] == ["released"]
    assert story["ledger"] == [] and story["settlements"] == [] and story["sms"] == []


def test_story_by_id_and_unknown(conn, club):
    by_rrn = queries.txn_story(conn, club[1]["cash_a"])
    assert queries.txn_story(conn, str(by_rrn["txn"]["id"])) == by_rrn
    assert queries.txn_story(conn, "999999999999") is None
    assert queries.txn_story(conn, "12; DROP TABLE txns") is None


def test_the_connection_cannot_write_nor_create(club, tmp_path):
    conn = queries.open_readonly(club[0])
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM outbox")
    conn.close()
    with pytest.raises(sqlite3.OperationalError):
        queries.open_readonly(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_no_card_number_in_any_list_or_story(conn, club):
    everything = {name: queries.list_rows(conn, name, limit=1000) for name in queries.LISTS}
    everything["stories"] = [queries.txn_story(conn, rrn) for rrn in club[1].values()]
    text = json.dumps(listing.for_json(everything), ensure_ascii=False)
    text += "\n".join(
        listing.text_table(name, everything[name]) for name in queries.LISTS if everything[name]
    )
    for pan in all_card_numbers():
        assert pan not in text
    assert not re.search(r"(987911|603799)\d{10}", text)  # nor any number of the demo's ranges


def test_daily_report_is_reports_arithmetic_with_hours(conn, club):
    today = listing.today(time.time())
    report = queries.daily_report(conn, today)
    store = Storage(club[0])
    try:
        expected = reports.daily_report(store, today)
    finally:
        store.close()
    hours = report.pop("hours")
    assert report.pop("coupons") == []  # no sale used a coupon (test_coupons.py)
    assert report == expected
    assert len(hours) == 24 and [h["hour"] for h in hours] == list(range(24))
    purchases = sum(t["purchases"][1] for t in expected["terminals"].values())
    assert sum(h["amount"] for h in hours) == purchases == 250_000 + 1_200_000 * 2 + 400_000
    now_hour = listing.tehran.local(time.time()).hour
    busy = [h["hour"] for h in hours if h["count"]]
    assert busy in ([now_hour], [now_hour - 1], [now_hour - 1, now_hour])  # made just now


# (list, filter, value): every filter of every list that must search an index, not scan
SEARCHES = [
    (name, key, value)
    for name, spec in queries.LISTS.items()
    for key, value in (
        ("last4", "0014"),
        ("terminal", "VT000001"),
        ("store", "VAFA00000000001"),
        ("since", dt.date(2026, 12, 4)),
    )
    if key in spec.names() and not (key == "since" and name in ("members", "cards"))
] + [("txns", "status", "confirmed"), ("holds", "status", "open")]


@pytest.mark.parametrize(("name", "key", "value"), SEARCHES)
def test_filtered_lists_search_an_index(conn, name, key, value):
    sql, args = queries.list_sql(name, {key: value})
    plan = [r["detail"] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
    # SCAN reads a whole table (or a whole index, which is no better); SEARCH seeks in one
    assert not [line for line in plan if line.startswith("SCAN")], (name, key, plan)
    assert plan[0].startswith("SEARCH"), plan


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-04", dt.date(2026, 12, 4)),
        ("1405/09/13", dt.date(2026, 12, 4)),
        ("1405-09-13", dt.date(2026, 12, 4)),
        ("1403/01/01", dt.date(2024, 3, 20)),
        ("1403/12/30", dt.date(2025, 3, 20)),  # 1403 is leap
        (" 2024/03/20 ", dt.date(2024, 3, 20)),
    ],
)
def test_parse_day(text, day):
    assert listing.parse_day(text) == day


@pytest.mark.parametrize(
    "text", ["2024-13-01", "1405/13/01", "1404/12/30", "tomorrow", "", "1405/9"]
)
def test_parse_day_refuses(text):
    with pytest.raises(ValueError, match=r"not a date; expected YYYY-MM-DD .* YYYY/MM/DD"):
        listing.parse_day(text)


def test_parse_last4_never_repeats_a_card_number():
    assert listing.parse_last4("0014") == "0014"
    with pytest.raises(ValueError) as e:
        listing.parse_last4("9879110000000014")
    assert "9879110000000014" not in str(e.value) and "16 characters" in str(e.value)
    with pytest.raises(ValueError, match="'12a4'"):
        listing.parse_last4("12a4")


def test_times_for_people_and_machines():
    ts = dt.datetime(2026, 12, 4, 17, 50, 5, tzinfo=dt.UTC).timestamp()
    assert listing.jalali_time(ts) == "1405/09/13 21:20:05"  # Tehran: UTC+03:30
    assert listing.utc_time(ts) == "2026-12-04 17:50:05Z"
    assert listing.iso(ts) == "2026-12-04T21:20:05+03:30"
    assert listing.jalali_date(dt.date(2026, 12, 4)) == "1405/09/13"
    assert listing.for_json({"a": [{"created_at": ts, "n": 1}], "x_at": None}) == {
        "a": [{"created_at": "2026-12-04T21:20:05+03:30", "n": 1}],
        "x_at": None,
    }
