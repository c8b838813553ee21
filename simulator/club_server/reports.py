"""Reports for the club's staff: daily totals per terminal and per store, a card's balances.

Card numbers are shown masked (************1234); the day is a Tehran calendar day.
"""

from simulator.club_server import split, tehran
from simulator.club_server.cards import mask

# the line of a report a confirmed transaction adds to (by the first 2 digits of field 3)
KINDS = {"00": "purchases", "20": "refunds", "21": "top-ups"}
COLUMNS = ("purchases", "refunds", "top-ups", "voids")
# What the confirmed purchases were paid with, per leg (docs/protocol.md 5.11): the field 54
# account of a leg -> its sum's name. A split sale adds its credit part to the credit's and its
# remainder to its tender's; any other purchase adds its payable to its own account's.
LEGS = {
    "60": "club_credit_spent",
    "70": "store_credit_spent",
    "40": "bank_card_paid",
    "00": "cash_paid",
}

LEG_TITLES = {
    "club_credit_spent": "club credit",
    "store_credit_spent": "store credit",
    "bank_card_paid": "bank card",
    "cash_paid": "cash",
}


def _empty():
    totals = {kind: [0, 0] for kind in COLUMNS}
    totals.update(discount=0, fee=0, points=0, settlement=0)
    totals.update({name: 0 for name in LEGS.values()})
    return totals


def daily_report(store, date):
    """{"date", "terminals": {id: totals}, "merchants": {id: totals}} for a Tehran date; a
    totals dict has [count, amount] per column, and discount, fee, points, settlement sums."""
    start, end = tehran.day_bounds(date)
    terminals = {}
    merchants = {}

    def add(txn, column, amount):
        for key, table in ((txn["terminal_id"], terminals), (txn["merchant_id"], merchants)):
            totals = table.setdefault(key, _empty())
            totals[column][0] += 1
            totals[column][1] += amount
            if column == "purchases":
                totals["discount"] += txn["discount"]
                totals["fee"] += txn["fee"]
                totals["points"] += txn["points"]
                for account, rials in split.legs(txn):
                    if account in LEGS:
                        totals[LEGS[account]] += rials

    for txn in store.txns_confirmed_between(start, end):
        kind = KINDS.get(txn["proc"][:2])
        if kind:
            add(txn, kind, txn["amount"])
    for txn in store.txns_voided_between(start, end):
        add(txn, "voids", txn["amount"])
    for s in store.settlements_between(start, end):
        merchants.setdefault(s["merchant_id"], _empty())["settlement"] += s["amount"]
    return {"date": date.isoformat(), "terminals": terminals, "merchants": merchants}


def format_daily_report(report):
    lines = [f"Daily report {report['date']} (Tehran)"]
    header = f"{'':16} " + " ".join(f"{c:>22}" for c in COLUMNS)
    for title, table in (("terminal", report["terminals"]), ("store", report["merchants"])):
        lines += ["", f"per {title}", header + f" {'discount':>12} {'fee':>10} {'points':>8}"]
        lines[-1] += "".join(f" {LEG_TITLES[n]:>14}" for n in LEGS.values())
        if title == "store":
            lines[-1] += f" {'settlement':>14}"
        for key in sorted(table):
            t = table[key]
            cells = " ".join(f"{t[c][0]:>5} x {t[c][1]:>14,}" for c in COLUMNS)
            line = f"{key:16} {cells} {t['discount']:>12,} {t['fee']:>10,} {t['points']:>8}"
            line += "".join(f" {t[n]:>14,}" for n in LEGS.values())
            if title == "store":
                line += f" {t['settlement']:>14,}"
            lines.append(line)
        if not table:
            lines.append("(nothing)")
    return "\n".join(lines)


def card_balances(store, card):
    """A card's status and accounts as stored (available = balance - held)."""
    rows = [
        {
            "kind": account["kind"],
            "merchant_id": account["merchant_id"],
            "balance": account["balance"],
            "held": account["held"],
            "available": account["balance"] - account["held"],
        }
        for account in store.accounts_of_card(card["id"])
    ]
    member = store.member(card["member_id"]) if card["member_id"] else None
    return {
        "card": mask(card["last4"]),
        "status": card["status"],
        "expiry": card["expiry"],
        "product": card["product"],
        "tier": member["tier"] if member else None,
        "accounts": rows,
    }


def format_balances(info):
    lines = [
        f"card {info['card']}  status {info['status']}  expiry {info['expiry'] or '-'}  "
        f"product {info['product']}  tier {info['tier'] or '-'}"
    ]
    for a in info["accounts"]:
        where = a["merchant_id"] or "(club)"
        lines.append(
            f"  {a['kind']:7} {where:16} balance {a['balance']:>14,}  held {a['held']:>12,}  "
            f"available {a['available']:>14,}"
        )
    if not info["accounts"]:
        lines.append("  (no accounts)")
    return "\n".join(lines)
