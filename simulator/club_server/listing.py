"""How the operator's lists show their rows (the `vafa club-server` lists and the web console).

For people: dates in the Jalali calendar and times in Tehran time (`1405/09/13 21:20:05`);
the outbox shows UTC beside them. For machines (--json, --csv, the console's /api): every
`*_at` field as ISO 8601 Gregorian with Tehran's offset (`2026-12-04T21:20:05+03:30`). A card
is its last 4 digits (shown as ************1234); a value that looks like more of a card
number is never echoed back in an error.

Parsing the operator's inputs lives here too, so the CLI and the console accept the same
things: `parse_day` takes a Gregorian `2026-12-04` or a Jalali `1405/09/13` (also
`1405-09-13`: a year before 1700 is Jalali), `parse_last4` four digits.
"""

import datetime as dt

from agent import jalali
from simulator.club_server import reports, tehran
from simulator.club_server.cards import mask

JALALI_BEFORE = 1700  # a year below this is a Jalali year (1405), above a Gregorian one (2026)
DIGITS = "0123456789"


# -- times and dates ---------------------------------------------------------------------------


def iso(ts):
    """Unix seconds -> ISO 8601 in Tehran time with its offset; None stays None."""
    if ts is None:
        return None
    return tehran.local(ts).isoformat(timespec="seconds")


def jalali_time(ts):
    """Unix seconds -> '1405/09/13 21:20:05', Jalali date and Tehran time; None -> ''."""
    if ts is None:
        return ""
    jy, jm, jd, h, mi, s = jalali.from_epoch(ts)
    return f"{jy:04d}/{jm:02d}/{jd:02d} {h:02d}:{mi:02d}:{s:02d}"


def utc_time(ts):
    """Unix seconds -> '2026-12-04 17:50:05Z'; None -> ''."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def jalali_date(date):
    """datetime.date (Gregorian) -> '1405/09/13'."""
    jy, jm, jd = jalali.gregorian_to_jalali(date.year, date.month, date.day)
    return f"{jy:04d}/{jm:02d}/{jd:02d}"


def today(now):
    """The Tehran calendar day of Unix time `now`."""
    return tehran.local_date(now)


def parse_day(text):
    """'2026-12-04' (Gregorian) or '1405/09/13' / '1405-09-13' (Jalali) -> datetime.date.
    ValueError with the expected forms otherwise."""
    words = "not a date; expected YYYY-MM-DD (Gregorian) or YYYY/MM/DD (Jalali), e.g. " + (
        "2026-12-04 or 1405/09/13"
    )
    value = str(text).strip()
    parts = value.replace("/", "-").split("-")
    if len(parts) != 3 or not all(p and all(c in DIGITS for c in p) for p in parts):
        raise ValueError(words)
    year, month, day = (int(p) for p in parts)
    try:
        if year < JALALI_BEFORE:
            return dt.date(*jalali.jalali_to_gregorian(year, month, day))
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(words) from None


def parse_last4(text):
    """The last 4 digits of a card. A longer run of digits is refused without repeating it
    (it may be a whole card number)."""
    value = str(text).strip()
    if len(value) == 4 and all(c in DIGITS for c in value):
        return value
    if len(value) > 4:
        raise ValueError(f"expected a card's last 4 digits, not {len(value)} characters")
    raise ValueError(f"expected a card's last 4 digits, not {value!r}")


# -- rows for machines -------------------------------------------------------------------------


def for_json(value):
    """A row, a story or a report with every `*_at` time as ISO 8601 (recursively)."""
    if isinstance(value, dict):
        return {
            k: iso(v) if k.endswith("_at") and isinstance(v, (int, float)) else for_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [for_json(v) for v in value]
    return value


# -- rows for people ---------------------------------------------------------------------------


def _card(row):
    return mask(row["last4"]) if row.get("last4") else "-"


def _money(key):
    return lambda row: f"{row[key]:,}" if row.get(key) is not None else ""


def _time(key):
    return lambda row: jalali_time(row.get(key))


def _plain(key):
    return lambda row: "" if row.get(key) is None else str(row[key])


# list -> [(header, cell(row))]: what a person sees of each row (text output, console tables)
# fmt: off
COLUMNS = {
    "members": [("id", _plain("id")), ("phone", _plain("phone")), ("tier", _plain("tier")),
                ("granted", _plain("tier_floor")), ("gender", _plain("gender")),
                ("cards", lambda r: " ".join(mask(x) for x in (r["cards"] or "").split())),
                ("joined (Tehran)", _time("created_at"))],
    "cards": [("card", _card), ("kind", _plain("kind")), ("status", _plain("status")),
              ("product", _plain("product")), ("expiry", _plain("expiry")),
              ("member", _plain("member_id")), ("phone", _plain("phone")),
              ("tier", _plain("tier")), ("issued (Tehran)", _time("issued_at"))],
    "txns": [("rrn", _plain("rrn")), ("when (Tehran)", _time("created_at")),
             ("terminal", _plain("terminal_id")), ("store", _plain("merchant_id")),
             ("card", _card), ("kind", _plain("kind")), ("amount", _money("amount")),
             ("discount", _money("discount")), ("payable", _money("payable")),
             ("points", _plain("points")), ("state", _plain("state")),
             ("split", _plain("legs"))],
    "holds": [("id", _plain("id")), ("rrn", _plain("rrn")), ("card", _card),
              ("account", _plain("account")), ("amount", _money("amount")),
              ("state", _plain("state")), ("held (Tehran)", _time("created_at")),
              ("window ends", _time("expires_at")), ("closed", _time("closed_at"))],
    "settlements": [("id", _plain("id")), ("rrn", _plain("rrn")), ("store", _plain("merchant_id")),
                    ("card", _card), ("kind", _plain("kind")), ("amount", _money("amount")),
                    ("status", _plain("status")), ("recorded (Tehran)", _time("created_at")),
                    ("due (Tehran)", _time("due_at"))],
    "outbox": [("id", _plain("id")), ("Tehran", _time("created_at")),
               ("UTC", lambda r: utc_time(r["created_at"])), ("phone", _plain("phone")),
               ("card", _card), ("rrn", _plain("rrn")), ("status", _plain("status")),
               ("text", _plain("text"))],
}
# fmt: on


def cells(name, row):
    return [cell(row) for _, cell in COLUMNS[name]]


def headers(name):
    return [header for header, _ in COLUMNS[name]]


def text_table(name, rows):
    """Aligned columns, one line per row; the last column unpadded (the SMS text)."""
    table = [headers(name)] + [cells(name, r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = []
    for line in table:
        padded = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, line[-1]]).rstrip())
    return "\n".join(lines)


# the report's columns, as in reports.format_daily_report
REPORT_COLUMNS = ("purchases", "refunds", "top-ups", "voids")


def report_rows(report):
    """The daily report flattened: one dict per terminal and per store (CSV, console)."""
    out = []
    for scope, table in (("terminal", report["terminals"]), ("store", report["merchants"])):
        for key in sorted(table):
            totals = table[key]
            row = {"scope": scope, "id": key}
            for column in REPORT_COLUMNS:
                name = column.replace("-", "_")
                row[f"{name}_count"], row[f"{name}_amount"] = totals[column]
            row.update({k: totals[k] for k in ("discount", "fee", "points", "settlement")})
            row.update({k: totals[k] for k in reports.LEGS.values()})  # per leg (5.11)
            out.append(row)
    return out
