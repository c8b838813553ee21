"""Reports for periods: a week, a Jalali month or any range of Tehran days, per terminal, store,
chain or program (docs/club_server.md "Reports for periods").

The arithmetic is the daily report's (reports.py: the same columns, a transaction counted by
the first two digits of its processing code when it was confirmed, a void when it was
voided, settlements when they were recorded), done by SQL aggregates over the indexes
txns_confirmed, txns_voided and settlements_created (settlement_store.py), so a month costs
one pass over that month's rows, never a scan of the table (CROSS JOIN fixes the order of
the joins: from the window's rows to their ledger rows, as SQLite would not always choose).
A one-day period gives the daily report's totals (tests/club_server/test_period_reports.py).

Reads only: every function takes a connection (queries.open_readonly) and returns plain data.
"""

import datetime as dt

from agent import jalali
from simulator.club_server import listing, reports, tehran

# --by -> the SQL of a transaction's group (t is the transaction). The unary + keeps SQLite
# from reading a whole (terminal_id, ...) index in order to group without sorting: the window's
# index is the one to read, and the groups are few.
GROUPS = {
    "terminal": "+t.terminal_id",
    "store": "+t.merchant_id",
    "program": "(SELECT m.program_id FROM merchants m WHERE m.merchant_id = t.merchant_id)",
    "chain": "(SELECT m.chain_id FROM merchants m WHERE m.merchant_id = t.merchant_id)",
}
# sums of the purchases column beyond reports.py's discount, fee and points
# (the four legs of reports.LEGS, then what the points did)
EXTRA = (*reports.LEGS.values(), "points_converted", "gift_credit_given")


class PeriodError(ValueError):
    """A period or grouping the report cannot take; `option` is the option it names."""

    def __init__(self, option, message):
        super().__init__(f"{option} {message}")
        self.option = option


# -- periods -------------------------------------------------------------------------------------


def week_of(day):
    """(Saturday, Friday) of the Iranian week holding `day` (a datetime.date)."""
    start = day - dt.timedelta(days=(day.weekday() - 5) % 7)  # weekday(): Saturday is 5
    return start, start + dt.timedelta(days=6)


def jalali_month(text):
    """'1405/09' -> (first day, last day) as datetime.date; PeriodError otherwise."""
    try:
        year, month = (int(p) for p in str(text).strip().replace("-", "/").split("/"))
        first = dt.date(*jalali.jalali_to_gregorian(year, month, 1))
        last = dt.date(*jalali.jalali_to_gregorian(year, month, jalali.month_length(year, month)))
    except ValueError:
        raise PeriodError("--month", f"{text!r}: expected a Jalali YYYY/MM, e.g. 1405/09") from None
    return first, last


def bounds(first, last):
    """[start, end) Unix seconds from the first to the last Tehran day, inclusive."""
    if last < first:
        shown = [f"{listing.jalali_date(d)} ({d})" for d in (last, first)]
        raise PeriodError("--to", f"{shown[0]} is before --from {shown[1]}")
    return tehran.day_bounds(first)[0], tehran.day_bounds(last)[1]


# -- the report ----------------------------------------------------------------------------------


def empty_totals():
    totals = {kind: [0, 0] for kind in reports.COLUMNS}
    totals.update(discount=0, fee=0, points=0, settlement=0)
    totals.update({k: 0 for k in EXTRA})
    return totals


def has_chains(conn):
    return any(r["name"] == "chain_id" for r in conn.execute("PRAGMA table_info(merchants)"))


def statements(by):
    """{name: SQL} of the report's four queries for grouping `by` (also for EXPLAIN)."""
    key = GROUPS[by]
    window = "t.confirmed_at >= :start AND t.confirmed_at < :end"
    return {
        "confirmed": (
            f"SELECT {key} AS k, substr(t.proc, 1, 2) AS kind, COUNT(*) AS n, "
            "SUM(t.amount) AS amount, SUM(t.discount) AS discount, SUM(t.fee) AS fee, "
            "SUM(t.points) AS points, "
            # per leg (reports.LEGS): a split's credit part and remainder (protocol.md 5.11)
            "SUM(CASE WHEN t.proc = '006000' THEN t.payable - t.remainder ELSE 0 END) "
            "AS club_credit_spent, "
            "SUM(CASE WHEN t.proc = '007000' THEN t.payable - t.remainder ELSE 0 END) "
            "AS store_credit_spent, "
            "SUM(CASE WHEN t.proc = '004000' THEN t.payable "
            "WHEN t.remainder_tender = '40' THEN t.remainder ELSE 0 END) AS bank_card_paid, "
            "SUM(CASE WHEN t.proc = '000000' THEN t.payable "
            "WHEN t.remainder_tender = '00' THEN t.remainder ELSE 0 END) AS cash_paid "
            f"FROM txns t WHERE {window} GROUP BY k, kind"
        ),
        "converted": (
            f"SELECT {key} AS k, "
            "SUM(CASE WHEN a.kind = 'points' THEN -l.amount ELSE 0 END) AS points_converted, "
            "SUM(CASE WHEN a.kind = 'store' THEN l.amount ELSE 0 END) AS gift_credit_given "
            "FROM txns t CROSS JOIN ledger l ON l.txn_id = t.id AND l.kind = 'convert' "
            f"CROSS JOIN accounts a ON a.id = l.account_id WHERE {window} GROUP BY k"
        ),
        "voided": (
            # INDEXED BY: without it SQLite reads every voided transaction (txns_open)
            f"SELECT {key} AS k, COUNT(*) AS n, SUM(t.amount) AS amount "
            "FROM txns t INDEXED BY txns_voided WHERE t.state = 'voided' "
            "AND t.closed_at >= :start AND t.closed_at < :end "
            "GROUP BY k"
        ),
        "settled": (
            f"SELECT {key} AS k, SUM(s.amount) AS amount FROM settlements s "
            "CROSS JOIN txns t ON t.id = s.txn_id "
            "WHERE s.created_at >= :start AND s.created_at < :end GROUP BY k"
        ),
    }


def period_report(conn, first, last, by="store"):
    """{"from", "to", "by", "groups": {key: totals}} for the Tehran days first..last; totals as
    reports.daily_report's, plus club/store credit spent, points converted and the gift
    credit they gave. A group key is a string ('' for a store in no chain)."""
    if by not in GROUPS:
        raise PeriodError("--by", f"{by!r}: one of {', '.join(GROUPS)}")
    if by == "chain" and not has_chains(conn):
        raise PeriodError("--by", "chain: this club has no chains yet")
    start, end = bounds(first, last)
    args = {"start": start, "end": end}
    sql = statements(by)
    groups = {}

    def totals(key):
        return groups.setdefault("" if key is None else str(key), empty_totals())

    for r in conn.execute(sql["confirmed"], args):
        column = reports.KINDS.get(r["kind"])
        if column is None:
            continue  # an inquiry
        t = totals(r["k"])
        t[column][0] += r["n"]
        t[column][1] += r["amount"]
        if column == "purchases":
            for name in ("discount", "fee", "points", *reports.LEGS.values()):
                t[name] += r[name]
    for r in conn.execute(sql["converted"], args):
        t = totals(r["k"])
        t["points_converted"] += r["points_converted"]
        t["gift_credit_given"] += r["gift_credit_given"]
    for r in conn.execute(sql["voided"], args):
        t = totals(r["k"])
        t["voids"][0] += r["n"]
        t["voids"][1] += r["amount"]
    for r in conn.execute(sql["settled"], args):
        totals(r["k"])["settlement"] += r["amount"]
    return {"from": first.isoformat(), "to": last.isoformat(), "by": by, "groups": groups}


def query_plans(conn, by="store"):
    """{name: [EXPLAIN QUERY PLAN detail lines]} of the report's queries."""
    args = {"start": 0.0, "end": 1.0}
    return {
        name: [r["detail"] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
        for name, sql in statements(by).items()
    }


# -- output ----------------------------------------------------------------------------------------

NUMBERS = ("discount", "fee", "points", *EXTRA, "settlement")


def rows(report):
    """One flat dict per group (CSV, JSON rows)."""
    out = []
    for key in sorted(report["groups"]):
        t = report["groups"][key]
        row = {"by": report["by"], "id": key}
        for column in reports.COLUMNS:
            name = column.replace("-", "_")
            row[f"{name}_count"], row[f"{name}_amount"] = t[column]
        row.update({k: t[k] for k in NUMBERS})
        out.append(row)
    return out


def format_report(report, title):
    lines = [title, ""]
    header = f"{report['by']:16} " + " ".join(f"{c:>22}" for c in reports.COLUMNS)
    lines.append(header + "".join(f" {n:>18}" for n in NUMBERS))
    for key in sorted(report["groups"]):
        t = report["groups"][key]
        cells = " ".join(f"{t[c][0]:>5} x {t[c][1]:>14,}" for c in reports.COLUMNS)
        lines.append(f"{key or '(none)':16} {cells}" + "".join(f" {t[n]:>18,}" for n in NUMBERS))
    if not report["groups"]:
        lines.append("(nothing in this period)")
    return "\n".join(lines)
