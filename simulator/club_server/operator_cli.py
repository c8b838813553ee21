"""`vafa club-server` commands that let the club's operator see the club (read only):

    members | cards | txns | holds | settlements | outbox  --db PATH [filters] [--json | --csv]
    story RRN --db PATH [--json]            a transaction's full story
    daily-report --db PATH [--date DAY] [--json | --csv]
    console --db PATH [--port 8080]         the web console (simulator/club_server/console)

Filters: --last4 1234, --terminal VT000001, --store VAFA00000000001, --status S, --since DAY,
--until DAY, --date DAY (one day), --limit N. A DAY is Gregorian (2026-12-04) or Jalali
(1405/09/13), a Tehran calendar day. Text shows Jalali dates and Tehran time (the outbox also
UTC); --json and --csv give ISO 8601 times. Every command opens the database read-only.
"""

import csv
import json
import sys
import time

from vafa import args as types
from vafa.errors import BadInput

LIST_HELP = {
    "members": "list and search the club's members (cards shown by their last 4)",
    "cards": "list and search club cards (last 4 digits only)",
    "txns": "list and search transactions (filters: card, terminal, store, days, state)",
    "holds": "list and search holds (amounts reserved by phase one)",
    "settlements": "list and search what the club owes each store (and is owed)",
    "outbox": "the SMS notices queued for members (Tehran time, Jalali, and UTC)",
}


def _output(p, csv_too=True):
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="one JSON object (ISO 8601 times)")
    if csv_too:
        group.add_argument("--csv", action="store_true", help="CSV with a header row")


def _list_configure(name):
    from simulator.club_server import listing, queries

    def configure(p):
        spec = queries.LISTS[name]
        if "last4" in spec.filters:
            last4 = types.parsed("--last4", listing.parse_last4, "last 4 digits", echo=False)
            p.add_argument("--last4", type=last4,
                           help="the card's last 4 digits")  # fmt: skip
        if "terminal" in spec.filters:
            p.add_argument("--terminal", help="terminal id, e.g. VT000001")
        if "store" in spec.filters:
            p.add_argument("--store", help="merchant id, e.g. VAFA00000000001")
        p.add_argument("--status", choices=queries.STATUSES[name],
                       help="tier" if name == "members" else "state")  # fmt: skip
        for option, words in (("--since", "first day"), ("--until", "last day"),
                              ("--date", "one day")):  # fmt: skip
            p.add_argument(option, type=types.parsed(option, listing.parse_day, "date"),
                           help=f"{words}: YYYY-MM-DD or Jalali YYYY/MM/DD (Tehran)")  # fmt: skip
        p.add_argument("--limit", type=types.whole("--limit", 1, queries.MAX_LIMIT),
                       default=queries.DEFAULT_LIMIT, help="newest N rows (100)")  # fmt: skip
        _output(p)

    return configure


def _filters(args):
    filters = {key: getattr(args, key, None) for key in ("last4", "terminal", "store", "status")}
    filters["since"] = args.date or args.since
    filters["until"] = args.date or args.until
    return {k: v for k, v in filters.items() if v is not None}


def _connect(args):
    from simulator.club_server.queries import open_readonly

    return open_readonly(args.db)


def _print_csv(rows):
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def _list_action(name):
    def action(args):
        from simulator.club_server import listing, queries

        filters = _filters(args)
        conn = _connect(args)
        try:
            rows = queries.list_rows(conn, name, filters, args.limit)
        finally:
            conn.close()
        if args.json:
            shown = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in filters.items()}
            body = {"list": name, "filters": shown, "count": len(rows), "rows": rows}
            print(json.dumps(listing.for_json(body), ensure_ascii=False))
        elif args.csv:
            _print_csv(listing.for_json(rows))
        elif rows:
            print(listing.text_table(name, rows))
        else:
            print(f"(no {name}{' matching the filters' if filters else ''})")

    return action


def story_action(args):
    from simulator.club_server import listing, queries

    conn = _connect(args)
    try:
        story = queries.txn_story(conn, args.rrn)
    finally:
        conn.close()
    if story is None:
        raise BadInput(f"rrn {args.rrn}: no such transaction in {args.db} "
                       f"(an RRN has 12 digits; a shorter number is a transaction id)",
                       "rrn")  # fmt: skip
    if args.json:
        print(json.dumps(listing.for_json(story), ensure_ascii=False))
        return
    print(format_story(story))


def format_story(story):
    from simulator.club_server import listing
    from simulator.club_server.cards import mask

    t = story["txn"]
    lines = [
        f"transaction {t['rrn'] or '-'} (id {t['id']}): {t['kind']} at {t['terminal_id']} "
        f"({t['merchant_id']}), card {mask(t['last4']) if t['last4'] else '-'}",
        f"  amount {t['amount']:,}  discount {t['discount']:,}  fee {t['fee']:,}  "
        f"payable {t['payable']:,}  points {t['points']}  state {t['state']}"
        + (f" ({t['reason']})" if t["reason"] else ""),
        f"  requested {listing.jalali_time(t['created_at'])}  confirmed "
        f"{listing.jalali_time(t['confirmed_at']) or '-'}  closed "
        f"{listing.jalali_time(t['closed_at']) or '-'}  (Tehran)",
    ]
    if t["legs"]:  # a split (docs/protocol.md 5.11): each leg, and the bank leg's reference
        ref = f"  bank reference {t['bank_ref']}" if t["bank_ref"] else ""
        lines.append(f"  split: {t['legs']}{ref}")
    if t["original_rrn"]:
        lines.append(f"  refund of {t['original_rrn']}")
    lines.append("requests")
    for r in story["requests"]:
        answer = r["response"]
        when = listing.jalali_time(r["created_at"])
        lines.append(
            f"  {when}  {r['mti_class']}0 STAN {r['stan']} -> {answer.get('t', '?')} "
            f"code {answer.get('39', '?')}"
        )
    for title, key, fmt in (
        ("holds", "holds", lambda h: f"{h['account']} {h['amount']:,} {h['state']}"),
        ("ledger", "ledger", lambda r: f"{r['kind']} {r['account']} "
                                       f"{r['account_store'] or '(club)'} {r['amount']:+,}"),
        ("settlements", "settlements", lambda s: f"{s['kind']} {s['merchant_id']} "
                                                 f"{s['amount']:+,} {s['status']}"),
        ("reconciliation", "recon_items", lambda r: f"{r['kind']} {r['amount']:,} batch "
                                                    f"{r['batch_id'] or 'open'}"),
        ("SMS", "sms", lambda s: f"{s['phone'] or '-'} {s['text']}"),
        ("refunds", "refunds", lambda r: f"{r['rrn']} {r['amount']:,} {r['state']}"),
    ):  # fmt: skip
        lines.append(title)
        lines += [f"  {listing.jalali_time(row['created_at'])}  {fmt(row)}" for row in story[key]]
        if not story[key]:
            lines.append("  (none)")
    return "\n".join(lines)


def daily_report_action(args):
    from simulator.club_server import listing, queries, reports

    date = args.date or listing.today(time.time())
    conn = _connect(args)
    try:
        report = queries.daily_report(conn, date)
    finally:
        conn.close()
    if args.json:
        report["date_jalali"] = listing.jalali_date(date)
        print(json.dumps(report, ensure_ascii=False))
    elif args.csv:
        _print_csv([{"date": report["date"], **row} for row in listing.report_rows(report)])
    else:
        text = reports.format_daily_report(report)
        print(text.replace(report["date"], f"{listing.jalali_date(date)} ({report['date']})", 1))
        peak = max(report["hours"], key=lambda h: h["amount"])
        if peak["amount"]:
            print(f"\nbusiest hour (Tehran) {peak['hour']:02d}:00-{peak['hour']:02d}:59: "
                  f"{peak['count']} purchases, {peak['amount']:,} rials")  # fmt: skip
        for c in report.get("coupons", ()):  # inside the discount column above
            print(f"coupon {c['code']}: {c['uses']} uses, {c['discount']:,} rials of discount")


def _configure_report(p):
    from simulator.club_server import listing

    p.add_argument("--date", type=types.parsed("--date", listing.parse_day, "date"),
                   help="YYYY-MM-DD or Jalali YYYY/MM/DD (default: today in Tehran)")  # fmt: skip
    _output(p)


def _configure_story(p):
    p.add_argument("rrn", help="the transaction's RRN (12 digits) or id")
    _output(p, csv_too=False)


def console_action(args):
    from simulator.club_server.console.app import serve_console

    return serve_console(args.db, args.host, args.port, refresh=args.refresh)


async def start_console(args):
    """`vafa club-server --console PORT`: the console beside the server, in its loop (its
    reads run in a thread of their own); the aiohttp runner, or None without --console."""
    if getattr(args, "console", None) is None:
        return None
    from simulator.club_server.console.app import ConsoleError, console_port
    from simulator.club_server.console.app import start_console as start

    try:
        runner = await start(args.db, args.host, args.console)
    except ConsoleError as e:
        raise BadInput(f"--console {e}", "--console") from None
    print(f"club console (read only) on http://{args.host}:{console_port(runner)}/", flush=True)
    return runner


def _configure_console(p):
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=types.tcp_port("--port", allow_zero=True), default=8080,
                   help="HTTP port (8080; 0: any free)")  # fmt: skip
    p.add_argument("--refresh", type=types.number("--refresh", above=0), default=3.0,
                   help="seconds between the pages' refreshes (3)")  # fmt: skip


# action -> (function, help, configure(subparser)), merged into cli.ACTIONS
ACTIONS = {
    **{name: (_list_action(name), LIST_HELP[name], _list_configure(name)) for name in LIST_HELP},
    "story": (story_action, "a transaction's full story, by RRN or id", _configure_story),
    "daily-report": (
        daily_report_action,
        "totals per terminal and store for a Tehran day, and sales per hour",
        _configure_report,
    ),
    "console": (console_action, "the read-only web console of the club", _configure_console),
}
