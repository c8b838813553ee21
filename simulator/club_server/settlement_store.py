"""SQL of settlement payouts, the working calendar and the period reports' indexes.

Tables and indexes added to the club schema (version 1) for docs/club_server.md "Settlement"
and "Reports for periods" (TABLES, INDEXES), brought into any database when it is opened, new
or old, idempotently, by schema_additions.py.

- `holidays`: the official holidays the operator loaded (Tehran days, Gregorian ISO and
  Jalali), mirrored into the settings row `calendar.holidays` that the request path reads
  (cached) to date each settlement it records (workcal.py);
- `store_bank_accounts`: a store's IBAN (sheba) for payouts;
- `payout_batches`, `payouts`: a payout run (its idempotency key) and one transfer per store;
- `settlement_payouts`: which payout paid each settlement row. Its primary key is the
  settlement's id: a row can be in one payout only, so nothing is paid twice, whatever runs.

Functions take a sqlite3 connection whose rows are dicts (storage.Storage's, or
queries.open_readonly's) and return plain dicts.
"""

# table -> statement, index -> statement: brought into any database at open by
# schema_additions.py (tables first, then indexes)
TABLES = {
    "holidays": (
        "CREATE TABLE IF NOT EXISTS holidays (day TEXT PRIMARY KEY, jalali TEXT NOT NULL, "
        "name_fa TEXT NOT NULL DEFAULT '', name_en TEXT NOT NULL DEFAULT '', "
        "note TEXT NOT NULL DEFAULT '', loaded_at REAL NOT NULL)"
    ),
    "store_bank_accounts": (
        "CREATE TABLE IF NOT EXISTS store_bank_accounts (merchant_id TEXT PRIMARY KEY "
        "REFERENCES merchants(merchant_id), sheba TEXT NOT NULL, holder TEXT NOT NULL "
        "DEFAULT '', updated_at REAL NOT NULL)"
    ),
    "payout_batches": (
        "CREATE TABLE IF NOT EXISTS payout_batches (id INTEGER PRIMARY KEY, "
        "batch_key TEXT NOT NULL UNIQUE, as_of REAL NOT NULL, created_at REAL NOT NULL, "
        "status TEXT NOT NULL, paid_at REAL, file TEXT)"
    ),
    "payouts": (
        "CREATE TABLE IF NOT EXISTS payouts (id INTEGER PRIMARY KEY, "
        "batch_id INTEGER NOT NULL REFERENCES payout_batches(id), merchant_id TEXT NOT NULL, "
        "amount INTEGER NOT NULL, items INTEGER NOT NULL, sheba TEXT, "
        "reference TEXT NOT NULL UNIQUE, status TEXT NOT NULL, paid_at REAL, "
        "UNIQUE (batch_id, merchant_id))"
    ),
    "settlement_payouts": (
        "CREATE TABLE IF NOT EXISTS settlement_payouts (settlement_id INTEGER PRIMARY KEY "
        "REFERENCES settlements(id), payout_id INTEGER NOT NULL REFERENCES payouts(id))"
    ),
}
INDEXES = {
    "settlement_payouts_payout": (
        "CREATE INDEX IF NOT EXISTS settlement_payouts_payout ON settlement_payouts(payout_id)"
    ),
    "payout_batches_open": (
        "CREATE INDEX IF NOT EXISTS payout_batches_open ON payout_batches(status)"
    ),
    # the payout job's selection (status = 'owed' AND due_at <= ?), and the settlement report
    "settlements_open": (
        "CREATE INDEX IF NOT EXISTS settlements_open ON settlements(status, due_at)"
    ),
    # period reports (period_reports.py): confirmed in a window, voided in a window
    "txns_confirmed": "CREATE INDEX IF NOT EXISTS txns_confirmed ON txns(confirmed_at)",
    "txns_voided": (
        "CREATE INDEX IF NOT EXISTS txns_voided ON txns(closed_at) WHERE state = 'voided'"
    ),
}


# -- the working calendar ----------------------------------------------------------------------


def holidays(conn, year=None):
    """The loaded holidays, in date order; year: one Jalali year only."""
    if year is None:
        return conn.execute("SELECT * FROM holidays ORDER BY day").fetchall()
    return conn.execute(
        "SELECT * FROM holidays WHERE jalali LIKE ? ORDER BY day", (f"{int(year):04d}/%",)
    ).fetchall()


def replace_holidays(conn, years, rows, now):
    """Replace the holidays of the Jalali `years` by `rows` ({day, jalali, name_fa, name_en,
    note}); inside the caller's transaction."""
    for year in years:
        conn.execute("DELETE FROM holidays WHERE jalali LIKE ?", (f"{int(year):04d}/%",))
    conn.executemany(
        "INSERT INTO holidays (day, jalali, name_fa, name_en, note, loaded_at) "
        "VALUES (:day, :jalali, :name_fa, :name_en, :note, :loaded_at)",
        [{**r, "loaded_at": now} for r in rows],
    )


def settings(conn):
    return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM settings")}


def put_setting(conn, key, value):
    conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, str(value)))


def owed_settlements(conn):
    """Every settlement row not yet in a payout (to date again after a calendar change)."""
    return conn.execute(
        "SELECT id, created_at, due_at FROM settlements WHERE status = 'owed'"
    ).fetchall()


def set_due(conn, changes):
    """changes: [(due_at, settlement id)]."""
    conn.executemany("UPDATE settlements SET due_at = ? WHERE id = ?", changes)


# -- stores' bank accounts -------------------------------------------------------------------


def put_bank_account(conn, merchant_id, sheba, holder, now):
    conn.execute(
        "INSERT OR REPLACE INTO store_bank_accounts (merchant_id, sheba, holder, updated_at) "
        "VALUES (?, ?, ?, ?)",
        (merchant_id, sheba, holder, now),
    )


def merchant(conn, merchant_id):
    return conn.execute(
        "SELECT merchant_id, name, name_fa FROM merchants WHERE merchant_id = ?", (merchant_id,)
    ).fetchone()


def merchant_ids(conn):
    return [r["merchant_id"] for r in conn.execute("SELECT merchant_id FROM merchants")]


# -- payouts ---------------------------------------------------------------------------------


def open_batch(conn):
    """The payout batch a run left unfinished (status 'paying'), if any."""
    return conn.execute(
        "SELECT * FROM payout_batches WHERE status = 'paying' ORDER BY id LIMIT 1"
    ).fetchone()


def batch_by_key(conn, key):
    return conn.execute("SELECT * FROM payout_batches WHERE batch_key = ?", (key,)).fetchone()


def batches_with_prefix(conn, prefix):
    row = conn.execute(
        "SELECT COUNT(*) AS n FROM payout_batches WHERE batch_key LIKE ?", (f"{prefix}%",)
    ).fetchone()
    return row["n"]


def due_settlements(conn, as_of):
    """Rows owed whose due time has come, by store then id (index settlements_open), of the
    stores that have a bank account: the others' rows wait (a transfer needs a sheba)."""
    return conn.execute(
        "SELECT id, merchant_id, amount FROM settlements WHERE status = 'owed' AND due_at <= ? "
        "AND merchant_id IN (SELECT merchant_id FROM store_bank_accounts) "
        "ORDER BY merchant_id, id",
        (as_of,),
    ).fetchall()


def add_batch(conn, key, as_of, now):
    cur = conn.execute(
        "INSERT INTO payout_batches (batch_key, as_of, created_at, status) "
        "VALUES (?, ?, ?, 'paying')",
        (key, as_of, now),
    )
    return cur.lastrowid


def add_payout(conn, batch_id, merchant_id, amount, items, reference):
    cur = conn.execute(
        "INSERT INTO payouts (batch_id, merchant_id, amount, items, sheba, reference, status) "
        "VALUES (?, ?, ?, ?, (SELECT sheba FROM store_bank_accounts WHERE merchant_id = ?), "
        "?, 'paying')",
        (batch_id, merchant_id, amount, items, merchant_id, reference),
    )
    return cur.lastrowid


def assign(conn, payout_id, settlement_ids):
    """Put settlement rows in a payout: the primary key refuses a row already in one."""
    conn.executemany(
        "INSERT INTO settlement_payouts (settlement_id, payout_id) VALUES (?, ?)",
        [(sid, payout_id) for sid in settlement_ids],
    )
    conn.execute(
        "UPDATE settlements SET status = 'paying' WHERE id IN "
        "(SELECT settlement_id FROM settlement_payouts WHERE payout_id = ?)",
        (payout_id,),
    )


def payouts_of_batch(conn, batch_id):
    return conn.execute(
        "SELECT p.*, m.name AS store_name, m.name_fa AS store_name_fa, b.holder "
        "FROM payouts p LEFT JOIN merchants m ON m.merchant_id = p.merchant_id "
        "LEFT JOIN store_bank_accounts b ON b.merchant_id = p.merchant_id "
        "WHERE p.batch_id = ? ORDER BY p.merchant_id",
        (batch_id,),
    ).fetchall()


def mark_payout_paid(conn, payout_id, now):
    conn.execute(
        "UPDATE payouts SET status = 'paid', paid_at = ? WHERE id = ? AND status = 'paying'",
        (now, payout_id),
    )
    conn.execute(
        "UPDATE settlements SET status = 'paid' WHERE id IN "
        "(SELECT settlement_id FROM settlement_payouts WHERE payout_id = ?)",
        (payout_id,),
    )


def finish_batch(conn, batch_id, file, now):
    conn.execute(
        "UPDATE payout_batches SET status = 'paid', paid_at = ?, file = ? WHERE id = ?",
        (now, file, batch_id),
    )


# -- the settlement report ---------------------------------------------------------------------

# a settlement's Tehran day number (days since 1970-01-01 in Tehran time) from its Unix time
_DAY = "CAST((s.created_at + 12600) / 86400 AS INTEGER)"


def settlement_totals(conn, as_of, start=None, end=None, store=None):
    """Per store and Tehran day recorded: counts and sums by state (owed, due, paying, paid).
    Without start/end: every row not yet paid (index settlements_open); with them: the rows
    recorded in [start, end) whatever their state (index settlements_created)."""
    where = []
    args = {"as_of": as_of, "start": start, "end": end, "store": store}
    if start is None:
        where.append("s.status IN ('owed', 'paying')")
    else:
        where.append("s.created_at >= :start AND s.created_at < :end")
    if store:
        where.append("s.merchant_id = :store")
    owed = "s.status = 'owed' AND s.due_at > :as_of"
    due = "s.status = 'owed' AND s.due_at <= :as_of"
    sums = ", ".join(
        f"SUM({cond}) AS {name}_count, SUM(CASE WHEN {cond} THEN s.amount ELSE 0 END) AS {name}"
        for name, cond in (
            ("owed", owed),
            ("due", due),
            ("paying", "s.status = 'paying'"),
            ("paid", "s.status = 'paid'"),
        )
    )
    sql = (
        f"SELECT s.merchant_id, {_DAY} AS day, {sums}, "
        "MIN(CASE WHEN s.status = 'owed' THEN s.due_at END) AS next_due_at "
        f"FROM settlements s WHERE {' AND '.join(where)} "
        "GROUP BY s.merchant_id, day ORDER BY s.merchant_id, day"
    )
    return conn.execute(sql, args).fetchall()


def settlement_report(conn, as_of, since=None, until=None, store=None):
    """settlement_totals for Tehran days since..until (datetime.date, either may be None),
    each row with its day as Gregorian `date` and Jalali `date_jalali`."""
    import datetime as dt

    from simulator.club_server import listing, tehran

    start = tehran.day_bounds(since)[0] if since else None
    end = tehran.day_bounds(until)[1] if until else None
    if start is not None and end is None:
        end = float("inf")
    if end is not None and start is None:
        start = 0.0
    rows = []
    for r in settlement_totals(conn, as_of, start, end, store):
        day = dt.date(1970, 1, 1) + dt.timedelta(days=r.pop("day"))
        merchant_id = r.pop("merchant_id")
        rows.append(
            {
                "merchant_id": merchant_id,
                "date": day.isoformat(),
                "date_jalali": listing.jalali_date(day),
                **r,
            }
        )
    return rows
