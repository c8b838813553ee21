"""`vafa club-server coupon add|list|disable|enable`: the operator's coupon and campaign codes
(docs/club_server.md "Coupons", docs/protocol.md 5.10).

    vafa club-server coupon add NOWRUZ10 --percent 10 --text "Nowruz 10% off" --uses 500 \\
        --until 1405/01/13 [--cap R] [--min R] [--card N|-] [--store ID | --chain ID]
    vafa club-server coupon add WELCOME50K --amount 50000 --text "Welcome gift"
    vafa club-server coupon list [CODE] [--json|--csv]
    vafa club-server coupon disable NOWRUZ10      (enable: back again)

A coupon bound to a card (--card) is for its member's cards; the number is read from stdin with
`--card -` and never shown. `list` shows each code's uses: held (by sales not yet confirmed),
consumed, released, and the discount its consumed uses gave.
"""

import argparse
import csv
import json
import sys
import time
from decimal import Decimal, InvalidOperation

from vafa import args as types
from vafa.errors import BadInput


def _code(text):
    from simulator.club_server.coupons import CODE_MAX, CODE_MIN, valid_code

    code = "".join(ch for ch in text if ch not in " -\t").upper()  # as the terminal sends it
    if not valid_code(code):
        raise argparse.ArgumentTypeError(
            f"code {text!r}: {CODE_MIN} to {CODE_MAX} letters A-Z and digits 0-9"
        )
    return code


def _percent(text):
    """--percent 12.5 -> 1250 basis points (0 < p <= 100, at most 2 decimals)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = None
    if value is None or not 0 < value <= 100 or (value * 100) % 1:
        raise argparse.ArgumentTypeError(
            f"--percent {text!r}: a percentage above 0, at most 100, e.g. 10 or 12.5"
        )
    return int(value * 100)


def _day(text):
    from simulator.club_server import listing

    try:
        return listing.parse_day(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--until {text!r}: {e}") from None


def _configure(p):
    commands = p.add_subparsers(dest="coupon_command", metavar="COMMAND", required=True)
    add = commands.add_parser("add", help="create a coupon code", description="create a coupon")
    add.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
    add.add_argument("code", type=_code, help="4 to 16 letters A-Z and digits (uppercased)")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--amount", type=types.whole("--amount", low=1, unit="rials"),
                      help="a fixed discount, rials")  # fmt: skip
    kind.add_argument("--percent", type=_percent, help="a percentage off, e.g. 10 or 12.5")
    add.add_argument("--text", required=True, type=types.text("--text", 1, 40),
                     help="the receipt's words, up to 40 characters (Persian too)")  # fmt: skip
    add.add_argument("--uses", type=types.whole("--uses", low=1), default=1,
                     help="how many sales may use it (default 1: single use)")  # fmt: skip
    add.add_argument("--cap", type=types.whole("--cap", low=1, unit="rials"),
                     help="at most this discount, rials (a percentage)")  # fmt: skip
    add.add_argument("--min", type=types.whole("--min", low=0, unit="rials"), default=0,
                     help="the smallest purchase (field 4) it applies to, rials")  # fmt: skip
    add.add_argument("--until", type=_day,
                     help="last day: YYYY-MM-DD or Jalali YYYY/MM/DD (Tehran)")  # fmt: skip
    add.add_argument("--card", help="only for this card's member (- reads it from stdin)")
    where = add.add_mutually_exclusive_group()
    where.add_argument("--store", help="only at this store (merchant id)")
    where.add_argument("--chain", help="only at the stores of this chain (chain id)")
    add.add_argument("--json", action="store_true", help="the coupon as one JSON object")
    listing = commands.add_parser("list", help="the coupons and their uses",
                                  description="the coupons and their uses")  # fmt: skip
    listing.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
    listing.add_argument("code", nargs="?", type=_code, help="one code (default: all)")
    out = listing.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help='one JSON object: {"coupons": [...]}')
    out.add_argument("--csv", action="store_true", help="CSV with a header row")
    for name, words in (("disable", "stop a code (sales already holding it finish)"),
                        ("enable", "allow a disabled code again")):  # fmt: skip
        c = commands.add_parser(name, help=words, description=words)
        c.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
        c.add_argument("code", type=_code, help="the code")


def _member_of(store, vault, number):
    from simulator.club_server.cli import _card_number

    try:
        pan = _card_number(number)
    except ValueError as e:
        raise BadInput(f"--card: {e}", "--card") from None
    card = store.card_by_hash(vault.lookup_hash(pan))
    if card is None or not card["member_id"]:
        raise BadInput("--card: no issued club card with that number", "--card")
    return card["member_id"]


def add_action(args):
    from simulator.club_server import coupons
    from simulator.club_server.cli import _open

    store, vault = _open(args)
    with store.transaction():
        member = _member_of(store, vault, args.card) if args.card else None
        if args.store and store.merchant(args.store) is None:
            raise BadInput(f"--store {args.store}: no such store", "--store")
        kind, value = ("percent", args.percent) if args.percent else ("fixed", args.amount)
        try:
            row = coupons.add(
                store,
                args.code,
                args.text,
                kind,
                value,
                max_uses=args.uses,
                cap=args.cap or 0,
                min_amount=args.min,
                member_id=member,
                merchant_id=args.store,
                chain_id=args.chain,
                valid_until=args.until.isoformat() if args.until else None,
                now=time.time(),
            )
        except ValueError as e:
            raise BadInput(str(e), "code") from None
    if args.json:
        print(json.dumps(_public(row), ensure_ascii=False))
    else:
        print(f"coupon {row['code']} added: {_describe(row)}")


def _public(row):
    """A coupon for people and JSON: names, no member id (it says only that there is one)."""
    out = {k: v for k, v in row.items() if k not in ("member_id", "created_at", "value")}
    out["percent"] = row["value"] / 100 if row["kind"] == "percent" else None
    out["amount"] = row["value"] if row["kind"] == "fixed" else None
    out["one_member"] = bool(row["member_id"])
    return out


def _describe(row):
    off = f"{row['value'] / 100:g}%" if row["kind"] == "percent" else f"{row['value']:,} rials"
    words = [off + " off", f"{row['max_uses']} use{'s' if row['max_uses'] != 1 else ''}"]
    if row["cap"]:
        words.append(f"at most {row['cap']:,}")
    if row["min_amount"]:
        words.append(f"from {row['min_amount']:,}")
    if row["valid_until"]:
        words.append(f"until {row['valid_until']}")
    if row["member_id"]:
        words.append("one member")
    if row["merchant_id"]:
        words.append(f"store {row['merchant_id']}")
    if row["chain_id"]:
        words.append(f"chain {row['chain_id']}")
    return ", ".join(words) + f'; "{row["description"]}"'


def list_action(args):
    from simulator.club_server import coupons
    from simulator.club_server.cli import _open

    store, _ = _open(args)
    rows = [_public(r) for r in coupons.listing(store, args.code)]
    if args.code and not rows:
        raise BadInput(f"code {args.code}: no such coupon", "code")
    if args.json:
        print(json.dumps({"coupons": rows}, ensure_ascii=False))
    elif args.csv:
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    else:
        for row in coupons.listing(store, args.code):
            print(
                f"{row['code']:16} {row['status']:8} held {row['held']:>4}  consumed "
                f"{row['consumed']:>5}  released {row['released']:>4}  given "
                f"{row['discount_given']:>12,}  {_describe(row)}"
            )
        if not rows:
            print("(no coupons)")


def status_action(args, status):
    from simulator.club_server import coupons
    from simulator.club_server.cli import _open

    store, _ = _open(args)
    with store.transaction():
        if not coupons.set_status(store, args.code, status):
            raise BadInput(f"code {args.code}: no such coupon", "code")
    print(f"coupon {args.code} {'disabled' if status == 'disabled' else 'enabled'}")


COMMANDS = {
    "add": add_action,
    "list": list_action,
    "disable": lambda args: status_action(args, "disabled"),
    "enable": lambda args: status_action(args, "active"),
}


def coupon_action(args):
    return COMMANDS[args.coupon_command](args)


# merged into cli.ACTIONS
ACTIONS = {"coupon": (coupon_action, "coupon and campaign codes: add, list, disable", _configure)}
