"""`vafa club-server` commands for settlement to stores and the working calendar:

    settle --db PATH [--as-of DAY] [--out DIR] [--json]     pay the stores what is due
    settlement-report --db PATH [--since DAY --until DAY] [--store ID] [--json | --csv]
    holidays load [FILE] --db PATH   |   holidays list --db PATH [--year 1405] [--json | --csv]
    working-hours --db PATH [--set 08:00-16:00] [--settlement-hours 24]
    store-sheba --db PATH --store ID --sheba IR...           a store's account for payouts

A DAY is Gregorian (2026-12-04) or Jalali (1405/09/13), a Tehran calendar day.
docs/club_server.md "Settlement" says what each status means and what the payout file holds.
"""

import argparse
import csv
import json
import sqlite3
import sys
import time
from pathlib import Path

from vafa import args as types
from vafa.errors import BadInput


def _day(name):
    from simulator.club_server import listing

    return types.parsed(name, listing.parse_day, "date")


def _dict_row(cursor, row):
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def _open_write(db):
    """A writable autocommit connection with dict rows, after Storage has brought the schema
    (and its additions) into the file."""
    from simulator.club_server.storage import Storage

    Storage(db).close()
    conn = sqlite3.connect(db, timeout=10.0, isolation_level=None)
    conn.row_factory = _dict_row
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _open_read(db):
    from simulator.club_server.queries import open_readonly

    return open_readonly(db)


def _output(p, csv_too=True):
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="one JSON object (ISO 8601 times)")
    if csv_too:
        group.add_argument("--csv", action="store_true", help="CSV with a header row")


def _print_csv(rows):
    if rows:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _end_of(day):
    from simulator.club_server import tehran

    return tehran.day_bounds(day)[1]


# -- settle -------------------------------------------------------------------------------------


def settle_action(args):
    from simulator.club_server import listing, payout, settlement

    as_of = _end_of(args.as_of) if args.as_of else time.time()
    folder = args.out or payout.default_folder(args.db)
    conn = _open_write(args.db)
    try:
        result = payout.run(conn, folder, as_of=as_of)
        held = _held_back(conn, as_of)
    except OSError as e:
        raise BadInput(f"--out {folder}: cannot write the payout file ({e.strerror})",
                       "--out") from None  # fmt: skip
    finally:
        conn.close()
    if args.json:
        body = {**result, "as_of": as_of, "held_back": held}
        for p in body["payouts"]:
            p["direction"] = settlement.direction(p["amount"])
        print(json.dumps(listing.for_json(body), ensure_ascii=False))
        return
    if result["batch"] is None:
        print(f"nothing due by {listing.jalali_time(as_of)} (Tehran)")
    else:
        how = "finished (left unfinished by an earlier run)" if result["resumed"] else "paid"
        print(f"batch {result['batch']} {how}: {len(result['payouts'])} store(s), "
              f"file {result['file']}")  # fmt: skip
        for p in result["payouts"]:
            print(
                f"  {p['reference']}  {settlement.direction(p['amount']):7} "
                f"{abs(p['amount']):>14,} rials  {p['items']} item(s)  sheba {p['sheba']}"
            )
    for h in held:
        print(f"held back: {h['merchant_id']} has no sheba ({h['n']} item(s), {h['amount']:,} "
              f"rials due); set one with `vafa club-server store-sheba`")  # fmt: skip


def _held_back(conn, as_of):
    return conn.execute(
        "SELECT merchant_id, COUNT(*) AS n, SUM(amount) AS amount FROM settlements "
        "WHERE status = 'owed' AND due_at <= ? AND merchant_id NOT IN "
        "(SELECT merchant_id FROM store_bank_accounts) GROUP BY merchant_id ORDER BY merchant_id",
        (as_of,),
    ).fetchall()


def _configure_settle(p):
    p.add_argument("--as-of", type=_day("--as-of"),
                   help="pay what is due by the end of this Tehran day (default: now)")  # fmt: skip
    p.add_argument("--out", help="folder for payout files (default: DB.payouts beside the db)")
    _output(p, csv_too=False)


# -- the settlement report ------------------------------------------------------------------------

STATES = ("owed", "due", "paying", "paid")


def settlement_report_action(args):
    from simulator.club_server import listing
    from simulator.club_server import settlement_store as sql

    as_of = time.time()
    conn = _open_read(args.db)
    try:
        rows = sql.settlement_report(conn, as_of, args.since, args.until, args.store)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(listing.for_json({"as_of": as_of, "rows": rows}), ensure_ascii=False))
    elif args.csv:
        _print_csv(listing.for_json(rows))
    elif not rows:
        print("(nothing owed or due)" if not args.since else "(no settlements in those days)")
    else:
        print(
            f"settlements per store and day recorded (Tehran), as of "
            f"{listing.jalali_time(as_of)}; rials, + the club pays, - the store owes"
        )
        print(f"{'store':16} {'day':10} " + " ".join(f"{s:>20}" for s in STATES) + "  next due")
        for r in rows:
            cells = " ".join(f"{r[s + '_count']:>4} x {r[s]:>13,}" for s in STATES)
            print(f"{r['merchant_id']:16} {r['date_jalali']:10} {cells}  "
                  f"{listing.jalali_time(r['next_due_at']) or '-'}")  # fmt: skip


def _configure_settlement_report(p):
    p.add_argument("--since", type=_day("--since"),
                   help="first day recorded (default: every row not yet paid)")  # fmt: skip
    p.add_argument("--until", type=_day("--until"), help="last day recorded (inclusive)")
    p.add_argument("--store", help="one store's merchant id")
    _output(p)


# -- the working calendar ------------------------------------------------------------------------


def builtin_holidays():
    """The holiday table shipped with the club server (data/holidays_1405.csv)."""
    from importlib.resources import files

    return files("simulator.club_server").joinpath("data/holidays_1405.csv").read_text("utf-8")


def load_holidays(conn, text, now):
    """Replace the holidays of every Jalali year in `text` (a holiday table), mirror them into
    the settings row the request path reads, and date every settlement not yet paid again.
    One transaction. Returns (rows, settlements dated again)."""
    from simulator.club_server import settlement, workcal
    from simulator.club_server import settlement_store as sql

    rows = settlement.parse_holidays(text)
    years = sorted({r["jalali"][:4] for r in rows})
    conn.execute("BEGIN IMMEDIATE")
    try:
        sql.replace_holidays(conn, years, rows, now)
        days = ",".join(r["day"] for r in sql.holidays(conn))
        sql.put_setting(conn, workcal.HOLIDAYS_KEY, days)
        moved = redate(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return rows, moved


def redate(conn):
    """Due times of the rows still owed, by the calendar now in the settings."""
    from simulator.club_server import settlement_store as sql
    from simulator.club_server import workcal

    settings = sql.settings(conn)
    changes = [
        (due, r["id"])
        for r in sql.owed_settlements(conn)
        if (due := workcal.settlement_due(r["created_at"], settings)) != r["due_at"]
    ]
    sql.set_due(conn, changes)
    return len(changes)


def holidays_load_action(args):
    from simulator.club_server import settlement

    if args.file is None:
        text, source = builtin_holidays(), "the table shipped for 1405 (check it: see its header)"
    else:
        try:
            text, source = Path(args.file).read_text("utf-8"), args.file
        except (OSError, UnicodeError) as e:
            why = getattr(e, "strerror", None) or "not UTF-8 text"
            raise BadInput(f"FILE {args.file}: cannot read it ({why})", "file") from None
    conn = _open_write(args.db)
    try:
        rows, moved = load_holidays(conn, text, time.time())
    except settlement.SettlementError as e:
        raise BadInput(f"FILE {args.file or '(built in)'}: {e}", "file") from None
    finally:
        conn.close()
    years = ", ".join(sorted({r["jalali"][:4] for r in rows}))
    print(f"{len(rows)} holidays of {years} loaded from {source}; {moved} settlement(s) not "
          f"yet paid have a new due time")  # fmt: skip


def holidays_list_action(args):
    from simulator.club_server import settlement_store as sql

    conn = _open_read(args.db)
    try:
        rows = sql.holidays(conn, args.year)
    except sqlite3.OperationalError:  # a database no command of this version opened yet
        rows = []
    finally:
        conn.close()
    rows = [{k: r[k] for k in ("jalali", "day", "name_fa", "name_en", "note")} for r in rows]
    if args.json:
        print(json.dumps({"count": len(rows), "holidays": rows}, ensure_ascii=False))
    elif args.csv:
        _print_csv(rows)
    elif not rows:
        print("(no holidays loaded: `vafa club-server holidays load [FILE]`)")
    else:
        for r in rows:
            print(f"{r['jalali']}  {r['day']}  {r['name_fa']}  ({r['name_en']})"
                  + (f"  [{r['note']}]" if r["note"] else ""))  # fmt: skip


def _configure_holidays(p):
    sub = p.add_subparsers(dest="holidays_action", metavar="ACTION", required=True)
    load = sub.add_parser("load", help="load a holiday table (Jalali dates; CSV)",
                          description="replace the holidays of the years in FILE")  # fmt: skip
    load.add_argument("file", nargs="?", metavar="FILE",
                      help="CSV: jalali_date,name_fa,name_en,note (default: the table "
                           "shipped for 1405, which the operator must check)")  # fmt: skip
    load.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
    load.set_defaults(holidays_run=holidays_load_action)
    show = sub.add_parser("list", help="the holidays loaded", description="the holidays loaded")
    show.add_argument("--year", type=types.whole("--year", 1300, 1699),
                      help="one Jalali year (1405)")  # fmt: skip
    show.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
    _output(show)
    show.set_defaults(holidays_run=holidays_list_action)


def holidays_action(args):
    return args.holidays_run(args)


def working_hours_action(args):
    from simulator.club_server import settlement_store as sql
    from simulator.club_server import workcal

    conn = _open_write(args.db)
    try:
        moved = 0
        if args.set is not None or args.settlement_hours is not None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if args.set is not None:
                    sql.put_setting(conn, workcal.HOURS_KEY, workcal.format_hours(*args.set))
                if args.settlement_hours is not None:
                    sql.put_setting(conn, workcal.SETTLEMENT_HOURS_KEY, args.settlement_hours)
                moved = redate(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        settings = sql.settings(conn)
    finally:
        conn.close()
    cal = workcal.from_settings(settings)
    moved_text = f"; {moved} settlement(s) not yet paid have a new due time" if moved else ""
    print(
        f"working days Saturday-Wednesday (less {len(cal.holidays)} holidays), hours "
        f"{workcal.format_hours(cal.opens, cal.closes)} Tehran; a settlement is due "
        f"{workcal.settlement_hours(settings)} working hours after it is recorded{moved_text}"
    )


def _configure_working_hours(p):
    from simulator.club_server import workcal

    def hours(text):
        try:
            return workcal.parse_hours(text)
        except workcal.CalendarError as e:
            raise argparse.ArgumentTypeError(f"--set: {e}") from None

    p.add_argument("--set", type=hours, metavar="HH:MM-HH:MM",
                   help="working hours of a working day, Tehran (default 00:00-24:00)")  # fmt: skip
    p.add_argument("--settlement-hours", type=types.whole("--settlement-hours", 1, 24 * 30),
                   help="working hours from a settlement to its due time (default 24)")  # fmt: skip


def store_sheba_action(args):
    from simulator.club_server import settlement
    from simulator.club_server import settlement_store as sql

    try:
        sheba = settlement.check_sheba(args.sheba)
    except settlement.SettlementError as e:
        raise BadInput(f"--sheba {args.sheba!r}: {e}", "--sheba") from None
    conn = _open_write(args.db)
    try:
        if sql.merchant(conn, args.store) is None:
            known = ", ".join(sorted(sql.merchant_ids(conn))) or "none yet"
            raise BadInput(f"--store {args.store}: no such store (stores: {known})", "--store")
        sql.put_bank_account(conn, args.store, sheba, args.holder or "", time.time())
    finally:
        conn.close()
    print(f"store {args.store}: payouts to {sheba}")


def _configure_store_sheba(p):
    p.add_argument("--store", required=True, help="the store's merchant id")
    p.add_argument("--sheba", required=True, help="IBAN: IR and 24 digits")
    p.add_argument("--holder", help="the account holder's name, as the bank has it")


# action -> (function, help, configure(subparser)), merged into cli.ACTIONS
ACTIONS = {
    "settle": (settle_action, "pay the stores what is due (idempotent; a payout file)",
               _configure_settle),
    "settlement-report": (settlement_report_action,
                          "what is owed, due, paying and paid, per store and day",
                          _configure_settlement_report),
    "holidays": (holidays_action, "the official holidays of the working calendar",
                 _configure_holidays),
    "working-hours": (working_hours_action,
                      "the working hours and the settlement delay (shown, or --set)",
                      _configure_working_hours),
    "store-sheba": (store_sheba_action, "a store's IBAN (sheba) for payouts",
                    _configure_store_sheba),
}  # fmt: skip
