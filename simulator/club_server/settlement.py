"""Settlement to stores, the pure part: IBAN (sheba) checks, the holiday table's format, the
payout file's lines and the payout batch's idempotency key (docs/club_server.md "Settlement").

No I/O here: payout.py runs the payout job over the database and the file system.
"""

import csv
import io

from agent import jalali
from simulator.club_server import tehran

# a payout's direction by the sign of its net amount
PAY, COLLECT, NETTED = "pay", "collect", "netted"

# the payout file's columns (one line per store and batch; docs/club_server.md "Settlement")
PAYOUT_COLUMNS = (
    "batch_key", "reference", "merchant_id", "store", "sheba", "holder", "direction",
    "amount_rials", "items",
)  # fmt: skip

# the holiday table's columns; lines starting with # are comments
HOLIDAY_COLUMNS = ("jalali_date", "name_fa", "name_en", "note")


class SettlementError(ValueError):
    """An input the settlement cannot use (a sheba, a holiday table's line); names it."""


def check_sheba(text):
    """An Iranian IBAN (sheba): IR + 24 digits, ISO 13616 check digits (mod 97 = 1). Spaces
    are dropped; returns the canonical form. SettlementError otherwise.

    >>> check_sheba("IR06 2960 0000 0010 0324 2000 01")
    'IR062960000000100324200001'
    """
    value = str(text).replace(" ", "").upper()
    words = "expected a sheba: IR and 24 digits, e.g. IR062960000000100324200001"
    if len(value) != 26 or not value.startswith("IR") or not value[2:].isdigit():
        raise SettlementError(words)
    digits = value[4:] + "1827" + value[2:4]  # I=18, R=27
    if int(digits) % 97 != 1:
        raise SettlementError("sheba check digits do not match (a typo?); " + words)
    return value


def parse_holidays(text):
    """The rows of a holiday table (CSV: jalali_date,name_fa,name_en,note; # comments; the
    header line optional) -> [{day (Gregorian ISO), jalali, name_fa, name_en, note}].
    SettlementError naming the line for a date that is not a Jalali YYYY/MM/DD."""
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    rows, seen = [], set()
    for number, fields in zip(
        (n for n, _ in lines), csv.reader(line for _, line in lines), strict=True
    ):
        if fields and fields[0].strip() == HOLIDAY_COLUMNS[0]:
            continue  # the header
        fields = [f.strip() for f in fields] + [""] * (len(HOLIDAY_COLUMNS) - len(fields))
        when = fields[0].replace("-", "/")
        try:
            year, month, day = (int(p) for p in when.split("/"))
            if not 1300 <= year < 1700:
                raise ValueError
            gy, gm, gd = jalali.jalali_to_gregorian(year, month, day)
        except ValueError:
            raise SettlementError(
                f"line {number}: {fields[0]!r} is not a Jalali date YYYY/MM/DD (e.g. 1405/01/01)"
            ) from None
        iso = f"{gy:04d}-{gm:02d}-{gd:02d}"
        if iso in seen:
            raise SettlementError(f"line {number}: {fields[0]} is listed twice")
        seen.add(iso)
        rows.append(
            {
                "day": iso,
                "jalali": f"{year:04d}/{month:02d}/{day:02d}",
                "name_fa": fields[1],
                "name_en": fields[2],
                "note": fields[3],
            }
        )
    if not rows:
        raise SettlementError("no holidays in it (expected lines jalali_date,name_fa,name_en)")
    return rows


def batch_key(now, sequence):
    """The idempotency key of a payout batch: 'VAFA-PAY-' + the Tehran day it was formed
    (Gregorian, YYYYMMDD) + a 4-digit sequence within that day. A bank that receives a file
    with a key it has seen refuses it.

    >>> batch_key(1764880000.0, 2)
    'VAFA-PAY-20251204-0002'
    """
    return f"{batch_key_prefix(now)}{sequence:04d}"


def batch_key_prefix(now):
    return f"VAFA-PAY-{tehran.yyyymmdd(now)}-"


def direction(amount):
    return PAY if amount > 0 else COLLECT if amount < 0 else NETTED


def payout_lines(batch_key_value, payouts):
    """The payout file of one batch (CSV text, UTF-8, a header line): one line per store, the
    same bytes every time for the same batch (a re-run after a crash writes the same file)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYOUT_COLUMNS)
    for p in payouts:
        writer.writerow(
            (
                batch_key_value,
                p["reference"],
                p["merchant_id"],
                p.get("store_name") or "",
                p.get("sheba") or "",
                p.get("holder") or "",
                direction(p["amount"]),
                abs(p["amount"]),
                p["items"],
            )
        )
    return out.getvalue()
