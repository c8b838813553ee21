"""The magic card numbers and amounts, listed for people: `vafa club-server magic [--json|--csv]`
and the emulator's Magic panel. Read from the club server's own rule table
(simulator/club_server/outcomes.py RULES), never copied, so the listing is what the server does.

The card numbers here are the published test cards of docs/testing.md (never issued to anyone),
shown in full so QA can key them in.

>>> rows()[0]["amount"], rows()[0]["response_code"], rows()[0]["what"]
(1000003, '03', 'terminal not registered')
"""

import csv
import io
import json
import sys

from simulator.club_server import outcomes

# the rule's message class -> (name in JSON, the messages it applies to)
PHASES = {
    outcomes.PHASE_ONE: ("phase-one", "0100/0101"),
    outcomes.PHASE_TWO: ("phase-two", "0220/0221"),
    outcomes.REVERSAL: ("reversal", "0420/0421"),
}
FIELDS = (
    "trigger",
    "amount",
    "card",
    "coupon",
    "phase",
    "messages",
    "effect",
    "response_code",
    "what",
)


def rows(rules=outcomes.RULES):
    """One dict per rule, names not codes: trigger ("amount", "card" or "coupon"), amount
    (rials), card (number) or coupon (code), phase, messages, effect, response_code (or
    None), what. A coupon rule answers 78 with its reason (docs/protocol.md 5.10)."""
    out = []
    for rule in rules:
        phase, messages = PHASES[rule.phase]
        out.append(
            {
                "trigger": rule.trigger,
                "amount": rule.value if rule.trigger == "amount" else None,
                "card": rule.value if rule.trigger == "card" else None,
                "coupon": rule.value if rule.trigger == "coupon" else None,
                "phase": phase,
                "messages": messages,
                "effect": rule.effect,
                "response_code": _code(rule),
                "what": rule.note,
            }
        )
    return out


def _code(rule):
    if rule.effect != outcomes.RESPOND:
        return None
    return "78" if rule.trigger == "coupon" else rule.argument


def cards():
    """The magic card rows."""
    return [row for row in rows() if row["trigger"] == "card"]


def amounts():
    """The magic amount rows."""
    return [row for row in rows() if row["trigger"] == "amount"]


def describe(row):
    """What the server does, one phrase."""
    if row["effect"] == outcomes.RESPOND:
        return f"answers {row['response_code']}: {row['what']}"
    return f"processes it, then {row['what']}"


def text_lines(listing=None):
    """The listing as aligned text lines (the command's plain output, the emulator's panel)."""
    listing = rows() if listing is None else listing
    amount_lines = [
        f"  {row['amount']:>11,}  {row['messages']:<9}  {describe(row)}"
        for row in listing
        if row["trigger"] == "amount"
    ]
    card_lines = [
        f"  {row['card']}  {row['messages']:<9}  {describe(row)}"
        for row in listing
        if row["trigger"] == "card"
    ]
    lines = ["Magic amounts (rials; once, when the request is first processed):", *amount_lines]
    lines.append("Magic cards (every request of the phase with the card):")
    lines.extend(card_lines)
    coupon_lines = [
        f"  {row['coupon']:<16}  {row['messages']:<9}  {describe(row)}"
        for row in listing
        if row["trigger"] == "coupon"
    ]
    if coupon_lines:
        lines.append("Magic coupon codes (every purchase with the code, 48 tag 0F):")
        lines.extend(coupon_lines)
    return lines


def add_parser(actions):
    """Register `magic` under `vafa club-server` (it needs no database: no --db)."""
    help_text = "list the magic card numbers and amounts (the table of test outcomes)"
    p = actions.add_parser("magic", help=help_text, description=help_text)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help='one JSON object: {"rules": [...]}')
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    p.set_defaults(without_db=run)


def run(args, out=None):
    out = out or sys.stdout
    listing = rows()
    if args.json:
        json.dump({"rules": listing}, out, ensure_ascii=False, indent=1)
        out.write("\n")
    elif args.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(listing)
        out.write(buffer.getvalue())
    else:
        out.write("\n".join(text_lines(listing)) + "\n")
    return 0
