"""`vafa club-server campaigns run` and `vafa club-server rfm` (docs/club_server.md
"Campaigns" and "RFM"):

    campaigns run --db PATH [--date DAY]        birthday gifts and "we miss you" SMS of a day
    rfm --db PATH [--date DAY] [--days N] [--json | --csv]

A DAY is Gregorian (2026-12-04) or Jalali (1405/09/13), a Tehran calendar day; the default
is today in Tehran. `campaigns run` may be run again for the same day, or after a kill: it
gives nothing twice.
"""

import argparse
import csv
import json
import sys
import time

from vafa import args as types


def _day_option(p, what):
    from simulator.club_server import listing

    def day(text):
        try:
            return listing.parse_day(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"--date {text!r}: {e}") from None

    day.__name__ = "date"
    p.add_argument(
        "--date",
        type=day,
        help=f"{what}: YYYY-MM-DD or Jalali YYYY/MM/DD (default: today in Tehran)",
    )


def campaigns_action(args):
    from simulator.club_server import campaigns, listing
    from simulator.club_server.storage import Storage

    now = time.time()
    day = args.date or listing.today(now)
    store = Storage(args.db)
    try:

        def progress(done, total):
            print(f"  {done} of {total} members checked", flush=True)

        given = campaigns.run(store, day, now, progress)
    finally:
        store.close()
    print(
        f"campaigns of {listing.jalali_date(day)} ({day.isoformat()}): "
        f"{given['birthday']} birthday gifts, {given['winback']} 'we miss you' SMS with "
        f"their return offers (already given ones are not given again)"
    )


def _configure_campaigns(p):
    sub = p.add_subparsers(dest="campaigns_command", metavar="COMMAND", required=True)
    run = sub.add_parser(
        "run",
        help="give the day's birthday gifts and 'we miss you' offers",
        description="give the day's birthday gifts and 'we miss you' offers "
        "(idempotent: a re-run gives nothing twice)",
    )
    run.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
    _day_option(run, "the day to run")


def rfm_action(args):
    from simulator.club_server import campaign_storage, listing, rfm, tehran
    from simulator.club_server.queries import open_readonly

    day = args.date or listing.today(time.time())
    _, end = tehran.day_bounds(day)
    conn = open_readonly(args.db)
    try:
        totals = campaign_storage.purchase_totals(_Reader(conn), end - args.days * rfm.DAY, end)
    finally:
        conn.close()
    rows = rfm.score(totals, end)
    if args.json:
        body = {
            "date": day.isoformat(),
            "date_jalali": listing.jalali_date(day),
            "days": args.days,
            "members": len(rows),
            "segments": rfm.summary(rows),
            "rows": rows,
        }
        print(json.dumps(listing.for_json(body), ensure_ascii=False))
    elif args.csv:
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(listing.for_json(rows))
    else:
        print(format_rfm(day, args.days, rows))


def format_rfm(day, days, rows):
    from simulator.club_server import listing, rfm

    lines = [
        f"RFM of {listing.jalali_date(day)} ({day.isoformat()}), purchases of the last "
        f"{days} days: {len(rows)} members"
    ]
    lines.append(f"{'segment':<12} {'members':>8} {'monetary':>16}")
    for name, row in rfm.summary(rows).items():
        lines.append(f"{name:<12} {row['members']:>8} {row['monetary']:>16,}")
    if rows:
        lines.append("")
        lines.append(
            f"{'member':>8} {'last purchase':<13} {'days':>5} {'count':>6} "
            f"{'monetary':>14} RFM segment"
        )
        lines.extend(
            f"{r['member_id']:>8} {listing.jalali_date(_date(r)):<13} "
            f"{r['recency_days']:>5} {r['frequency']:>6} {r['monetary']:>14,} "
            f"{r['rfm']} {r['segment']}"
            for r in sorted(rows, key=lambda r: (-int(r["rfm"]), r["member_id"]))
        )
    return "\n".join(lines)


def _date(row):
    from simulator.club_server import tehran

    return tehran.local_date(row["last_purchase"])


class _Reader:
    """campaign_storage's read calls over a read-only sqlite3 connection (queries.py's)."""

    def __init__(self, conn):
        self._conn = conn

    def _all(self, sql, args=()):
        return self._conn.execute(sql, args).fetchall()  # rows are dicts there


def _configure_rfm(p):
    _day_option(p, "the report day (recency counts to its end)")
    p.add_argument(
        "--days",
        type=types.whole("--days", 1, 3650),
        default=365,
        help="purchases of this many days up to the report day count (365)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="one JSON object (ISO 8601 times)")
    group.add_argument("--csv", action="store_true", help="CSV with a header row")


# merged into cli.ACTIONS
ACTIONS = {
    "campaigns": (
        campaigns_action,
        "campaigns: run the day's birthday gifts and 'we miss you' offers",
        _configure_campaigns,
    ),
    "rfm": (
        rfm_action,
        "members by recency, frequency and monetary value (quintiles)",
        _configure_rfm,
    ),
}
