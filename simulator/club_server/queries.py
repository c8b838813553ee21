"""The club's read side: what an operator lists, searches and follows, over one read-only
SQLite connection (the console and the `vafa club-server` lists; docs/club_server.md
"Seeing the club").

storage.Storage holds every statement the server writes with; this module holds the
statements that only read, so a console never opens a connection that could write, migrate
or take the write lock (`open_readonly`: a `file:...?mode=ro` URI). Every function takes the
connection and returns plain dicts; times stay Unix seconds (the caller formats them: Jalali
and Tehran time for people, ISO 8601 in JSON). A card is only ever its last 4 digits: no
column read here holds more (cards.pan_hash and pan_enc are never selected).

A list is data: LISTS names its SELECT, the SQL of each filter it accepts, and its order. A
filter is one of FILTERS; `list_rows` refuses a filter the list does not have.
"""

import json
import sqlite3

from simulator.club_server import reports, split, tehran
from simulator.club_server.storage_reports import PeriodReads

# filter name -> what it means (the CLI options and the console's form fields use these names)
FILTERS = {
    "last4": "the card's last 4 digits",
    "terminal": "terminal id (VT000001)",
    "store": "merchant id (VAFA00000000001)",
    "status": "state of the row (a transaction: approved, confirmed, reversed, ...)",
    "since": "first Tehran day (inclusive)",
    "until": "last Tehran day (inclusive)",
}

# the cards with these last 4 digits (a card filter joins on this; index cards_last4)
_CARD_IDS = "SELECT id FROM cards WHERE last4 = ?"

# processing code (field 3) -> what the transaction is, for people and JSON alike
KINDS = {
    "000000": "cash purchase",
    "004000": "bank-card purchase",
    "006000": "club-credit purchase",
    "007000": "store-credit purchase",
    "008000": "points purchase",
    "200000": "refund (cash)",
    "200040": "refund (bank card)",
    "200060": "refund (club credit)",
    "200070": "refund (store credit)",
    "210060": "top-up",
    "310000": "balance inquiry",
}


class ListSpec:
    """One list: its SELECT (aliases fixed per list), its filters as SQL with one `?`, the
    condition its days filter on (`{op}` is >= or <), and its ORDER BY (newest first)."""

    def __init__(self, select, filters, when, order):
        self.select = select
        self.filters = filters
        self.when = when
        self.order = order

    def names(self):
        return (*self.filters, "since", "until")


# fmt: off
LISTS = {
    "members": ListSpec(
        "SELECT m.id, m.phone, m.gender, m.birth_date, m.education, m.tier, m.tier_floor, "
        "m.created_at, (SELECT group_concat(c.last4, ' ') FROM cards c "
        "WHERE c.member_id = m.id) AS cards FROM members m",
        {"last4": "m.id IN (SELECT member_id FROM cards WHERE last4 = ?)",
         "status": "m.tier = ?"},
        "m.created_at {op} ?", "m.created_at DESC, m.id DESC"),
    "cards": ListSpec(
        "SELECT c.id, c.last4, c.kind, c.status, c.product, c.expiry, c.member_id, "
        "m.phone, m.tier, c.created_at, c.issued_at FROM cards c "
        "LEFT JOIN members m ON m.id = c.member_id",
        {"last4": "c.last4 = ?", "status": "c.status = ?"},
        "c.created_at {op} ?", "c.created_at DESC, c.id DESC"),
    "txns": ListSpec(
        "SELECT t.id, t.rrn, t.terminal_id, t.merchant_id, c.last4, t.proc, t.amount, "
        "t.discount, t.fee, t.payable, t.credit, t.points, t.tier, t.state, t.stan, "
        "t.created_at, t.confirmed_at, t.closed_at, t.reason, t.bank_ref, "
        "t.remainder, t.remainder_tender, o.rrn AS original_rrn FROM txns t "
        "LEFT JOIN cards c ON c.id = t.card_id LEFT JOIN txns o ON o.id = t.original_id",
        {"last4": f"t.card_id IN ({_CARD_IDS})", "terminal": "t.terminal_id = ?",
         "store": "t.merchant_id = ?", "status": "t.state = ?"},
        "t.created_at {op} ?", "t.created_at DESC, t.id DESC"),
    "holds": ListSpec(
        "SELECT h.id, t.rrn, t.terminal_id, t.merchant_id, c.last4, a.kind AS account, "
        "a.merchant_id AS account_store, h.amount, h.state, h.created_at, h.expires_at, "
        "h.closed_at FROM holds h JOIN txns t ON t.id = h.txn_id "
        "JOIN accounts a ON a.id = h.account_id JOIN cards c ON c.id = a.card_id",
        {"last4": f"t.card_id IN ({_CARD_IDS})", "terminal": "t.terminal_id = ?",
         "store": "t.merchant_id = ?", "status": "h.state = ?"},
        "h.txn_id IN (SELECT id FROM txns WHERE created_at {op} ?)",
        "t.created_at DESC, h.id DESC"),
    "settlements": ListSpec(
        "SELECT s.id, t.rrn, t.terminal_id, s.merchant_id, c.last4, s.kind, s.amount, "
        "s.status, s.created_at, s.due_at FROM settlements s JOIN txns t ON t.id = s.txn_id "
        "LEFT JOIN cards c ON c.id = t.card_id",
        {"last4": f"t.card_id IN ({_CARD_IDS})", "terminal": "t.terminal_id = ?",
         "store": "s.merchant_id = ?", "status": "s.status = ?"},
        "s.created_at {op} ?", "s.created_at DESC, s.id DESC"),
    "outbox": ListSpec(
        "SELECT o.id, o.created_at, o.phone, o.status, t.rrn, t.terminal_id, t.merchant_id, "
        "c.last4, o.text FROM outbox o LEFT JOIN txns t ON t.id = o.txn_id "
        "LEFT JOIN cards c ON c.id = t.card_id",
        {"last4": f"o.txn_id IN (SELECT id FROM txns WHERE card_id IN ({_CARD_IDS}))",
         "terminal": "t.terminal_id = ?", "store": "t.merchant_id = ?",
         "status": "o.status = ?"},
        "o.created_at {op} ?", "o.created_at DESC, o.id DESC"),
}
# fmt: on

# list -> the values its status filter takes (members: the tier)
STATUSES = {
    "members": ("A", "B", "C"),
    "cards": ("unissued", "active", "blocked", "expired"),
    "txns": ("approved", "confirmed", "reversed", "released", "voided", "done"),
    "holds": ("open", "captured", "released"),
    "settlements": ("owed", "paying", "paid"),
    "outbox": ("queued",),
}

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


class QueryError(ValueError):
    """A filter a list does not have, or a value it cannot take; names the filter."""


def _dict_row(cursor, row):
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def open_readonly(path):
    """A connection that cannot write: SQLite refuses every write on it (`mode=ro`), and a
    missing file is an error, never a new empty database. check_same_thread=False: the
    console opens it in its reader thread, and closes it from the loop's thread at the end."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = _dict_row
    conn.execute("PRAGMA query_only=ON")
    return conn


def list_sql(name, filters, limit=DEFAULT_LIMIT):
    """(sql, args) of list `name` with `filters` ({filter: value}, None values ignored);
    since/until are datetime.date (Tehran days, inclusive)."""
    spec = LISTS.get(name)
    if spec is None:
        raise QueryError(f"no list {name!r}; lists: {', '.join(LISTS)}")
    where, args = [], []
    for key, value in filters.items():
        if value is None or value == "":
            continue
        if key == "since":
            where.append(spec.when.format(op=">="))
            args.append(tehran.day_bounds(value)[0])
        elif key == "until":
            where.append(spec.when.format(op="<"))
            args.append(tehran.day_bounds(value)[1])
        elif key in spec.filters:
            where.append(spec.filters[key])
            args.append(value)
        else:
            raise QueryError(f"{name} cannot be filtered by {key}; by {', '.join(spec.names())}")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be from 1 to {MAX_LIMIT}, not {limit}")
    sql = spec.select
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {spec.order} LIMIT ?"
    return sql, (*args, limit)


def list_rows(conn, name, filters=None, limit=DEFAULT_LIMIT):
    """The rows of list `name`, newest first, at most `limit`."""
    sql, args = list_sql(name, filters or {}, limit)
    rows = conn.execute(sql, args).fetchall()
    if name == "txns":
        _describe(rows)
    return rows


def _describe(rows):
    """What each transaction row is, and what paid a split (docs/protocol.md 5.11)."""
    for row in rows:
        row["kind"] = KINDS.get(row["proc"], row["proc"])
        row["legs"] = split.legs_text(row)


def counts(conn):
    """How many rows each list has, and the transactions per state (the console's front page)."""
    out = {
        name: conn.execute(f"SELECT COUNT(*) AS n FROM {table}").fetchone()["n"]
        for name, table in (
            ("members", "members"),
            ("cards", "cards"),
            ("txns", "txns"),
            ("holds", "holds"),
            ("settlements", "settlements"),
            ("outbox", "outbox"),
        )
    }
    out["txn_states"] = {
        r["state"]: r["n"]
        for r in conn.execute("SELECT state, COUNT(*) AS n FROM txns GROUP BY state ORDER BY state")
    }
    return out


# -- one transaction's story -------------------------------------------------------------------

# response fields shown in a story: never 53 (KSN), 62 (secrets), 64/128 (MAC)
# The request records (host.py) keep the answer's own fields (39, and 37, 38, 48, 54 where it
# has them) without what it echoes from its request; the MTI, 7 and 11 come from the record's
# key, the rest the transaction shows.
STORY_FIELDS = ("t", "3", "4", "7", "11", "37", "38", "39", "42", "48", "54", "90")
# the response MTI of a message class (docs/protocol.md 6): "010" -> "0110"
RESPONSE_OF_CLASS = {
    c: c[:2] + str(int(c[2]) + 1) + "0" for c in ("010", "022", "042", "050", "080")
}


def find_txn(conn, key):
    """A transaction by RRN (12 digits) or by id; None when there is none."""
    key = str(key).strip()
    if not (key.isascii() and key.isdigit()):
        return None
    column = "rrn" if len(key) == 12 else "id"
    return conn.execute(f"SELECT id FROM txns WHERE {column} = ?", (key,)).fetchone()


def txn_story(conn, key):
    """Everything the club did for one transaction, in order: the transaction, its requests
    (the 0100, 0220, 0420 as answered, without keys or MAC), holds, ledger rows, settlements,
    reconciliation items, SMS, and the refunds of it. None when there is no such transaction."""
    found = find_txn(conn, key)
    if found is None:
        return None
    txn_id = found["id"]
    txn = list_rows_by(conn, "txns", "t.id = ?", txn_id)[0]
    requests = conn.execute(
        "SELECT mti_class, stan, f7, state, created_at, response FROM requests "
        "WHERE txn_id = ? ORDER BY created_at",
        (txn_id,),
    ).fetchall()
    for r in requests:
        text = r.pop("response")
        answer = json.loads(text or "{}")
        if text is not None and "t" not in answer:  # the record: what the request did not give
            answer = {
                "t": RESPONSE_OF_CLASS[r["mti_class"]],
                "7": r["f7"],
                "11": r["stan"],
                **answer,
            }
        r["response"] = {k: answer[k] for k in STORY_FIELDS if k in answer}
    ledger = conn.execute(
        "SELECT l.id, l.kind, a.kind AS account, a.merchant_id AS account_store, l.amount, "
        "l.created_at FROM ledger l JOIN accounts a ON a.id = l.account_id "
        "WHERE l.txn_id = ? ORDER BY l.id",
        (txn_id,),
    ).fetchall()
    recon = conn.execute(
        "SELECT id, kind, amount, created_at, batch_id FROM recon_items WHERE txn_id = ? "
        "ORDER BY id",
        (txn_id,),
    ).fetchall()
    refunds = list_rows_by(conn, "txns", "t.original_id = ?", txn_id)
    return {
        "txn": txn,
        "requests": requests,
        "holds": list_rows_by(conn, "holds", "h.txn_id = ?", txn_id),
        "ledger": ledger,
        "settlements": list_rows_by(conn, "settlements", "s.txn_id = ?", txn_id),
        "recon_items": recon,
        "sms": list_rows_by(conn, "outbox", "o.txn_id = ?", txn_id),
        "refunds": refunds,
    }


def list_rows_by(conn, name, condition, value):
    """The rows of list `name` matching one SQL condition (for a story), oldest first."""
    spec = LISTS[name]
    order = spec.order.replace(" DESC", "")
    rows = conn.execute(f"{spec.select} WHERE {condition} ORDER BY {order}", (value,)).fetchall()
    if name == "txns":
        _describe(rows)
    return rows


# -- the daily report and its hours ------------------------------------------------------------


class ReadOnlyReports(PeriodReads):
    """The three reads reports.daily_report makes of a Storage (storage_reports.PeriodReads),
    over a read-only connection: the report's arithmetic stays in one place (reports.py)."""

    def __init__(self, conn):
        self.conn = conn

    def _all(self, sql, args=()):
        return self.conn.execute(sql, args).fetchall()


def daily_report(conn, date):
    """reports.daily_report for a Tehran date, plus `hours`: the purchases confirmed in each
    hour of that day (Tehran time), [{"hour", "count", "amount"}] for hours 0..23, and
    `coupons`: the coupon uses those confirmations consumed, [{"code", "uses", "discount"}]."""
    report = reports.daily_report(ReadOnlyReports(conn), date)
    report["hours"] = hourly_sales(conn, date)
    from simulator.club_server import coupons  # its own statements (docs/protocol.md 5.10)

    report["coupons"] = coupons.day_uses(conn, *tehran.day_bounds(date))
    return report


def hourly_sales(conn, date):
    start, end = tehran.day_bounds(date)
    hours = [{"hour": h, "count": 0, "amount": 0} for h in range(24)]
    rows = conn.execute(
        "SELECT CAST((confirmed_at - ?) / 3600 AS INTEGER) AS hour, COUNT(*) AS n, "
        "SUM(amount) AS amount FROM txns WHERE confirmed_at >= ? AND confirmed_at < ? "
        "AND substr(proc, 1, 2) = '00' GROUP BY hour",
        (start, start, end),
    ).fetchall()
    for r in rows:
        hours[r["hour"]].update(count=r["n"], amount=r["amount"])
    return hours
