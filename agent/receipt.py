"""Receipt layout: a result dict -> lines of text for a 32-column receipt printer.

English text for now (the Persian layout, shaped for the printer's code page, comes later).
The card shows as its last 4 digits only (PCI DSS); the club message (field 48 tag 04) is
printed as received, wrapped to the width.
"""

from agent.timeutil import TEHRAN_OFFSET_S, local_stamp

WIDTH = 32
COPIES = ("merchant", "customer")

TITLES = {
    "bank": "BANK CARD PURCHASE",
    "club_credit": "CLUB CREDIT PURCHASE",
    "store_credit": "STORE CREDIT PURCHASE",
    "cash": "CASH PURCHASE",
    "top_up": "TOP-UP",
    "refund": "REFUND",
    "balance": "BALANCE",
    "void": "VOID",
    "close": "END OF DAY",
}

# (result key, label): printed when the value is set; amounts get thousands separators.
AMOUNT_ROWS = (
    ("amount", "Amount"),
    ("discount", "Discount"),
    ("fee", "Fee"),
    ("payable", "Payable"),
)
INFO_ROWS = (
    ("points_earned", "Points earned"),
    ("points_balance", "Points balance"),
    ("balance_after", "Credit balance"),
    ("credit_validity", "Credit valid until"),
    ("tier", "Tier"),
)
TOTAL_ROWS = (
    ("dn", "da", "Debits"),
    ("drn", "dra", "Debit reversals"),
    ("cn", "ca", "Credits"),
    ("crn", "cra", "Credit reversals"),
)


def money(value):
    return f"{value:,}"


def row(label, value, width=WIDTH):
    value = str(value)
    room = width - len(value) - 1
    if room < 1:
        return (label + " " + value)[:width]
    return label[:room] + " " * (room - len(label[:room]) + 1) + value


def center(text, width=WIDTH):
    text = text[:width]
    return " " * ((width - len(text)) // 2) + text


def wrap(text, width=WIDTH):
    lines = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = ""
            while len(word) > width:
                lines.append(word[:width])
                word = word[width:]
            line = line + " " + word if line else word
        lines.append(line)
    return lines


def head(header):
    lines = []
    if header.get("merchant_name"):
        lines.append(center(header["merchant_name"]))
    lines.append(row("Merchant", header.get("merchant_id", "").strip()))
    lines.append(row("Terminal", header.get("terminal_id", "")))
    stamp = local_stamp(header.get("time", 0), header.get("offset_s", TEHRAN_OFFSET_S))
    lines.append(row("Date", stamp))
    lines.append("-" * WIDTH)
    return lines


def layout(res, copy, header, kind="sale"):
    """The lines of one copy ("merchant" or "customer") of a flow's receipt."""
    lines = head(header)
    lines.append(TITLES.get(res["flow"], res["flow"].upper()))
    if res.get("card_last4"):
        lines.append(row("Card", "****" + res["card_last4"]))
    for key, label in AMOUNT_ROWS:
        value = res.get(key)
        if value is not None and (value or key in ("amount", "payable")):
            lines.append(row(label, money(value)))
    if res.get("bank_reference"):
        lines.append(row("Bank ref", res["bank_reference"]))
    lines.append(row("STAN", res.get("stan") or ""))
    if res.get("rrn"):
        lines.append(row("RRN", res["rrn"]))
    for key, label in INFO_ROWS:
        value = res.get(key)
        if value is not None:
            lines.append(row(label, money(value) if type(value) is int else value))
    if res.get("club_message"):
        lines.extend(wrap(res["club_message"]))
    status = "VOIDED" if kind == "void" else "APPROVED"
    if not res.get("confirmed"):
        status += " (confirmation pending)"
    lines.append(center(status))
    lines.append(center(f"-- {copy} copy --"))
    return lines


def day_report(res, header):
    """The end-of-day report: the terminal's totals and, when they differ, the club's."""
    lines = head(header)
    lines.append(TITLES["close"])
    sides = [("Terminal", res.get("totals") or {})]
    if res.get("response_code") != "00" and res.get("host_totals"):
        sides.append(("Club", res["host_totals"]))
    for title, totals in sides:
        lines.append(title + ":")
        for count_key, amount_key, label in TOTAL_ROWS:
            count = totals.get(count_key, 0)
            lines.append(row(f"  {label} ({count})", money(totals.get(amount_key, 0))))
    lines.append(center(res.get("message", "")))
    if res.get("parked"):
        lines.append(row("Items given up", res["parked"]))
    if res.get("conflicts"):
        lines.append(row("Confirmations refused (12)", res["conflicts"]))
    return lines


def screen_params(res):
    """What the "approved" screen shows."""
    return {
        "flow": res["flow"],
        "amount": res.get("amount"),
        "payable": res.get("payable"),
        "points": res.get("points_earned"),
        "balance": res.get("balance_after"),
        "confirmed": res.get("confirmed"),
    }
