"""Receipts: a flow's result dict -> a layout (agent/printing/layout.py) in English or Persian.

document(res, copy, header, kind, lang) builds the typed lines of one copy ("merchant" or
"customer"): store name (on a Persian receipt merchant_name_fa, when the header has it),
merchant and terminal ids, the Jalali date and time, the title, the card's last 4 digits only
(PCI DSS), amount, discount, fee and payable, bank reference, STAN and RRN, points earned,
balances, tier, the club's message (field 48 tag 04, as received), a QR code with the
transaction reference, the status and the copy, then a paper cut.
Amounts are rials with the language's digits and separator (agent/printing/digits.py).

print_copy(printer, ...) hands the layout to a printer that renders layouts (print_receipt,
e.g. agent/printing/printer.py on ESC/POS) and plain text lines to one that only has
print_lines. layout() is the plain text of the English layout (WIDTH columns).
"""

from agent import jalali
from agent.printing.digits import localize, money
from agent.printing.layout import BOLD, CENTER, DOUBLE, Receipt, text_lines
from agent.printing.layout import wrap as _wrap
from agent.timeutil import TEHRAN_OFFSET_S

WIDTH = 32
COPIES = ("merchant", "customer")
LANGUAGES = ("en", "fa")

TITLES = {
    "en": {
        "bank": "BANK CARD PURCHASE",
        "club_credit": "CLUB CREDIT PURCHASE",
        "store_credit": "STORE CREDIT PURCHASE",
        "points": "POINTS PURCHASE",
        "cash": "CASH PURCHASE",
        "split": "SPLIT PURCHASE",
        "top_up": "TOP-UP",
        "refund": "REFUND",
        "balance": "BALANCE",
        "void": "VOID",
        "close": "END OF DAY",
    },
}
LABELS = {
    "en": {
        "merchant": "Merchant",
        "terminal": "Terminal",
        "date": "Date",
        "card": "Card",
        "pin_verified": "Cardholder PIN verified",
        "amount": "Amount",
        "discount": "Discount",
        "coupon": "Coupon",
        "fee": "Fee",
        "payable": "Payable",
        "given_back": "Given back",
        "bank_reference": "Bank ref",
        "stan": "STAN",
        "rrn": "RRN",
        "points_earned": "Points earned",
        "points_balance": "Points balance",
        "balance_after": "Credit balance",
        "credit_validity": "Credit valid until",
        "tier": "Tier",
        "rials": "Amounts in rials",
        "approved": "APPROVED",
        "voided": "VOIDED",
        "pending": " (confirmation pending)",
        "merchant_copy": "-- merchant copy --",
        "customer_copy": "-- customer copy --",
    },
}
AMOUNT_KEYS = ("amount", "discount", "fee", "payable")
INFO_KEYS = ("points_earned", "points_balance", "balance_after", "credit_validity", "tier")


def words(lang):
    """(titles, labels) of a language; the Persian ones are imported when first needed."""
    if lang == "en":
        return TITLES["en"], LABELS["en"]
    if lang == "fa":
        from agent.printing import receipt_fa

        return receipt_fa.TITLES, receipt_fa.LABELS
    raise ValueError(f"receipt language must be one of {LANGUAGES}, not {lang!r}")


def date_text(header, lang="en"):
    stamp = jalali.stamp(header.get("time", 0), header.get("offset_s", TEHRAN_OFFSET_S))
    return localize(stamp, lang)


def reference(res, header):
    """What the QR code carries: enough for the club or the store to find the transaction."""
    parts = ["vafa:T=" + header.get("terminal_id", ""), "S=" + (res.get("stan") or "")]
    if res.get("rrn"):
        parts.append("R=" + res["rrn"])
    if res.get("payable") is not None:
        parts.append("A=" + str(res["payable"]))
    return ";".join(parts)


def store_name(header, lang):
    """The store's name in the receipt's language: a Persian receipt prints merchant_name_fa
    (the name the club registered in Persian) when the header has it, else merchant_name."""
    return (lang == "fa" and header.get("merchant_name_fa")) or header.get("merchant_name")


def head(doc, header, lang):
    labels = words(lang)[1]
    name = store_name(header, lang)
    if name:
        doc.text(name, CENTER, BOLD)
    doc.row(labels["merchant"], header.get("merchant_id", "").strip())
    doc.row(labels["terminal"], header.get("terminal_id", ""))
    doc.row(labels["date"], date_text(header, lang))
    doc.sep()


def document(res, copy, header, kind="sale", lang="en"):
    """The layout of one copy of a flow's receipt."""
    titles, labels = words(lang)
    doc = Receipt(rtl=lang == "fa")
    head(doc, header, lang)
    flow = res["flow"]
    doc.text(titles.get(flow, flow.upper()), CENTER, BOLD)
    doc.text(labels["rials"], CENTER)
    if res.get("card_last4"):
        doc.row(labels["card"], "****" + localize(res["card_last4"], lang))
    if res.get("pin_verified"):  # the club checked the cardholder's PIN (protocol.md 4.5)
        doc.text(labels["pin_verified"])
    for key in AMOUNT_KEYS:
        value = res.get(key)
        if value is not None and (value or key in ("amount", "payable")):
            label = labels["given_back" if kind == "void" and key == "payable" else key]
            doc.row(label, money(value, lang), BOLD if key == "payable" else 0)
            if key == "discount" and res.get("coupon_discount"):  # its part, its words
                doc.row(labels["coupon"] + " " + res["coupon"], money(res["coupon_discount"], lang))
                if res.get("coupon_text"):
                    doc.text(res["coupon_text"])
    if res.get("legs"):  # a split sale's (agent/split.py): its rows, imported only then
        from agent.printing import legs

        legs.rows(doc, res, kind, lang)
    if res.get("bank_reference"):
        doc.row(labels["bank_reference"], localize(res["bank_reference"], lang))
    doc.row(labels["stan"], localize(res.get("stan") or "", lang))
    if res.get("rrn"):
        doc.row(labels["rrn"], localize(res["rrn"], lang))
    for key in INFO_KEYS:
        value = res.get(key)
        if value is not None:
            text = money(value, lang) if type(value) is int else localize(value, lang)
            doc.row(labels[key], text)
    if res.get("club_message"):
        doc.text(res["club_message"])
    doc.qr(reference(res, header))
    status = labels["voided"] if kind == "void" else labels["approved"]
    if not res.get("confirmed"):
        status += labels["pending"]
    doc.text(status, CENTER, (BOLD | DOUBLE) if res.get("confirmed") else BOLD)
    doc.text(labels[copy + "_copy"], CENTER)
    doc.cut()
    return doc


def layout(res, copy, header, kind="sale", lang="en", width=WIDTH):
    """The lines of one copy as plain text (what a text-only printer prints)."""
    return text_lines(document(res, copy, header, kind, lang), width)


def print_copy(printer, res, copy, header, kind="sale"):
    """Print one copy in the printer's language; OSError when the print fails."""
    lang = header.get("language") or getattr(printer, "language", None) or "en"
    if hasattr(printer, "print_receipt"):
        printer.print_receipt(document(res, copy, header, kind, lang))
    else:
        printer.print_lines(layout(res, copy, header, kind, lang))


# -- plain text helpers (the end-of-day report, agent/closing.py) ---------------------------


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
    return _wrap(text, width)


def screen_params(res):
    """What the "approved" (and "voided") screen shows."""
    return {
        "flow": res["flow"],
        "amount": res.get("amount"),
        "payable": res.get("payable"),
        "points": res.get("points_earned"),
        "balance": res.get("balance_after"),
        "confirmed": res.get("confirmed"),
    }
