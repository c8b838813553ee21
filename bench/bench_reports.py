"""Report queries and the housekeeping sweep on a big club database (docs/performance.md
"Reports and the sweep at 200,000 transactions").

    python bench/bench_reports.py [--txns 213000] [--db /tmp/vafa-big.db]

Builds the database once (the demo club, a few real sales through the server, then copies of
those sales' rows spread over the last 60 days with SQL: transactions, their ledger rows,
settlements and request records, one member and card per 50 transactions), then times:
the daily report's queries (an empty day and a busy hour), a period report for a month, with
and without the report indexes; and a sweep pass (phase_two.sweep) on the server's storage.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from simulator.club_server import period_reports, queries, reports, tehran
from simulator.club_server.seed import seed_demo
from simulator.club_server.storage import Storage

DAY = 86400.0


def build(path, count):
    if os.path.exists(path):
        return
    from tests.club_server.activity import run_sales

    seed_demo(path)
    run_sales(path)
    store = Storage(path)
    conn = store._conn  # a benchmark's shortcut: bulk SQL, not the server's methods
    now = time.time()
    with store.transaction():
        base = conn.execute("SELECT * FROM txns WHERE state = 'confirmed'").fetchall()
        cards = conn.execute("SELECT id FROM cards WHERE status = 'active' LIMIT 1").fetchone()
        for n in range(count):
            src = base[n % len(base)]
            at = now - 60 * DAY * (count - n) / count  # spread evenly over 60 days
            if n % 50 == 0:
                member = conn.execute(
                    "INSERT INTO members (tier, created_at, tier_checked_at) VALUES ('C', ?, ?)",
                    (at, at),
                ).lastrowid
                card = conn.execute(
                    "INSERT INTO cards (pan_hash, last4, member_id, status, created_at) "
                    "VALUES (randomblob(32), '0000', ?, 'active', ?)",
                    (member, at),
                ).lastrowid
                account = conn.execute(
                    "INSERT INTO accounts (card_id, kind, merchant_id, balance) "
                    "VALUES (?, 'club', '', 0)",
                    (card,),
                ).lastrowid
                conn.execute(
                    "INSERT INTO lots (account_id, amount, remaining, expires_at, created_at) "
                    "VALUES (?, 1000, 0, ?, ?)",
                    (account, at + 365 * DAY, at),
                )
            tid = conn.execute(
                "INSERT INTO txns (terminal_id, merchant_id, card_id, proc, amount, discount, "
                "fee, payable, points, state, stan, f7, created_at, confirmed_at, closed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'confirmed', ?, '1204120000', ?, ?, ?)",
                (src["terminal_id"], src["merchant_id"], card or cards["id"], src["proc"],
                 src["amount"], src["discount"], src["fee"], src["payable"], src["points"],
                 f"{n % 999999:06d}", at, at + 1, at + 1),
            ).lastrowid  # fmt: skip
            conn.execute("UPDATE txns SET rrn = printf('%012d', id) WHERE id = ?", (tid,))
            conn.execute(
                "INSERT INTO ledger (account_id, amount, txn_id, kind, created_at) "
                "VALUES (?, ?, ?, 'earn', ?)",
                (account, src["points"], tid, at + 1),
            )
            if src["proc"] == "006000":
                conn.execute(
                    "INSERT INTO settlements (txn_id, merchant_id, kind, amount, created_at, "
                    "due_at) VALUES (?, ?, 'purchase', ?, ?, ?)",
                    (tid, src["merchant_id"], src["amount"], at + 1, at + DAY),
                )
            for cls in ("010", "022"):
                conn.execute(
                    "INSERT INTO requests (terminal_id, mti_class, stan, f7, response, txn_id, "
                    "created_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
                    (f"B{n // 999999:07d}", cls, f"{n % 999999:06d}", "1204120000", tid, at),
                )
    store.checkpoint()
    store.close()


def timed(fn, repeat=7):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), min(runs)


def report_times(path, label, period=True):
    conn = queries.open_readonly(path)
    reads = queries.ReadOnlyReports(conn)
    today = tehran.local_date(time.time())
    empty = today + __import__("datetime").timedelta(days=3)
    start = time.time() - 30 * DAY
    busy = (start, start + 3600)
    first, last = period_reports.jalali_month(
        "/".join(__import__("simulator.club_server.listing", fromlist=["x"]).jalali_date(today)
                 .split("/")[:2]))  # fmt: skip
    out = {
        "daily report, an empty day": timed(lambda: reports.daily_report(reads, empty)),
        "confirmed in one busy hour": timed(lambda: reads.txns_confirmed_between(*busy)),
        "daily report with sales per hour, a day 30 days ago": timed(
            lambda: queries.daily_report(conn, tehran.local_date(start))
        ),
    }
    if period:  # needs its indexes (INDEXED BY txns_voided)
        out["period report, this Jalali month by store"] = timed(
            lambda: period_reports.period_report(conn, first, last, "store"), 3
        )
    conn.close()
    for name, (median, best) in out.items():
        print(f"{label:24} {name:54} median {median:8.1f} ms  best {best:8.1f} ms")


def sweep_times(path):
    """Passes of the sweep on two copies of the database: as before (up to 500 of each kind
    and every old request record in one transaction) and in chunks (phase_two.SWEEP_CHUNK),
    until nothing is left; the longest and median time one call holds the loop."""
    import shutil

    from simulator.club_server import phase_two
    from simulator.club_server.program import DEFAULT_SETTINGS
    from simulator.club_server.server_storage import ServerStorage

    retention = 7 * DAY

    def before(store, now, settings):
        result = phase_two.sweep(store, now, settings, 1e12, 500)  # forgets nothing itself
        store.forget_requests(now - retention)  # every old record at once, as before
        return result

    def chunked(store, now, settings):
        return phase_two.sweep(store, now, settings, retention)

    for label, step in (("before (500, all at once)", before), ("in chunks", chunked)):
        copy = f"{path}.sweep"
        shutil.copy(path, copy)
        store = ServerStorage(copy, autocheckpoint=False)  # as the server: a thread does it
        settings = {**DEFAULT_SETTINGS, **store.settings()}
        runs = []
        for _ in range(200):
            began = time.perf_counter()
            with store.transaction():
                result = step(store, time.time(), settings)
            runs.append((time.perf_counter() - began) * 1000)
            if not result.get("more") and len(runs) > 3 and runs[-1] < 20:
                break
        store.close()
        os.remove(copy)
        print(f"sweep {label:26} calls {len(runs):4}  first {runs[0]:8.1f} ms  longest "
              f"{max(runs):8.1f} ms  median {statistics.median(runs):6.1f} ms  "
              f"steady {runs[-1]:6.1f} ms")  # fmt: skip


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--txns", type=int, default=213_000, help="transactions to add")
    p.add_argument("--db", default="/tmp/vafa-big.db", help="where to build it (kept)")
    args = p.parse_args()
    began = time.perf_counter()
    build(args.db, args.txns)
    print(f"database {args.db} ready in {time.perf_counter() - began:.0f} s")
    store = Storage(args.db)
    print("rows:", {k: v for k, v in store.table_counts().items() if v > 1000})
    store.close()
    report_times(args.db, "with report indexes")
    import sqlite3

    conn = sqlite3.connect(args.db)
    conn.execute("DROP INDEX txns_confirmed")
    conn.execute("DROP INDEX txns_voided")
    conn.close()
    report_times(args.db, "without (as before)", period=False)
    Storage(args.db).close()  # brings them back
    sweep_times(args.db)


if __name__ == "__main__":
    main()
