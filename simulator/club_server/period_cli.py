"""`vafa club-server report`: totals for a period, per terminal, store, chain or program.

    report --db PATH [--from DAY --to DAY | --week DAY | --month 1405/09] [--by store]
           [--json | --csv]

A DAY is Gregorian (2026-12-04) or Jalali (1405/09/13), a Tehran calendar day; --week is the
Iranian week (Saturday to Friday) holding that day; --month a Jalali month. Without a period:
the current Jalali month to today. Opens the database read-only.
"""

import argparse
import json
import time

from vafa import args as types
from vafa.errors import BadInput


def _month(text):
    from simulator.club_server import period_reports as pr

    try:
        return pr.jalali_month(text)
    except pr.PeriodError as e:  # its message names --month already
        raise argparse.ArgumentTypeError(str(e)) from None


def period_of(args, now):
    """(first, last) Tehran days of the options' period."""
    from simulator.club_server import listing
    from simulator.club_server import period_reports as pr

    if args.week:
        return pr.week_of(args.week)
    if args.month:
        return args.month
    if args.since or args.until:
        if not (args.since and args.until):
            raise BadInput("--from and --to: give both (or --week, or --month)", "--from")
        return args.since, args.until
    today = listing.today(now)
    jy, jm, _ = (int(p) for p in listing.jalali_date(today).split("/"))
    return pr.jalali_month(f"{jy}/{jm}")[0], today


def report_action(args):
    from simulator.club_server import listing
    from simulator.club_server import period_reports as pr
    from simulator.club_server.queries import open_readonly

    first, last = period_of(args, time.time())
    conn = open_readonly(args.db)
    try:
        report = pr.period_report(conn, first, last, args.by)
    except pr.PeriodError as e:
        raise BadInput(str(e), e.option) from None
    finally:
        conn.close()
    jfrom, jto = listing.jalali_date(first), listing.jalali_date(last)
    if args.json:
        body = {**report, "from_jalali": jfrom, "to_jalali": jto, "rows": pr.rows(report)}
        del body["groups"]
        print(json.dumps(body, ensure_ascii=False))
    elif args.csv:
        rows = [{"from": report["from"], "to": report["to"], **r} for r in pr.rows(report)]
        if rows:
            import csv
            import sys

            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    else:
        title = f"Report {jfrom} .. {jto} ({report['from']} .. {report['to']}, Tehran) by {args.by}"
        print(pr.format_report(report, title))


def _configure_report(p):
    from simulator.club_server import listing
    from simulator.club_server import period_reports as pr

    day = types.parsed("DAY", listing.parse_day, "date")
    period = p.add_mutually_exclusive_group()
    week = types.parsed("--week", listing.parse_day, "date")
    period.add_argument("--week", type=week, metavar="DAY",
                        help="the week (Saturday to Friday) holding this day")  # fmt: skip
    period.add_argument("--month", type=_month, metavar="YYYY/MM",
                        help="a Jalali month, e.g. 1405/09")  # fmt: skip
    period.add_argument("--from", dest="since", type=day, metavar="DAY",
                        help="first day (with --to)")  # fmt: skip
    p.add_argument("--to", dest="until", type=day, metavar="DAY",
                   help="last day, inclusive (with --from)")  # fmt: skip
    p.add_argument("--by", choices=tuple(pr.GROUPS), default="store",
                   help="group per terminal, store (default), chain or program")  # fmt: skip
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object")
    out.add_argument("--csv", action="store_true", help="CSV with a header row")


ACTIONS = {
    "report": (report_action, "totals for a week, a Jalali month or any range of days",
               _configure_report),
}  # fmt: skip
