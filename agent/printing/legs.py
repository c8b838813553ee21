"""The legs of a split sale on receipts and the day report (agent/split.py, docs/protocol.md
"Split payment"): imported by agent/receipt.py only for a result that has legs, so the words
stay off the heap of every other sale.

A sale prints "Paid by" and one row per leg in paying order (the credit part, then the bank
card or the cash); a void or a refund of one prints "Given back by" and, under the rows, where
each leg goes back: the credit by the club, the bank card's on the bank terminal (as a
004000's), the cash by the cashier.
"""

from agent.printing.digits import localize, money

WORDS = {
    "en": {
        "paid": "Paid by",
        "back": "Given back by",
        "60": "Club credit",
        "70": "Store credit",
        "40": "Bank card",
        "00": "Cash",
        "80": "Points",
        "ref": "Bank ref",
        "b60": "Club credit: back by the club",
        "b70": "Store credit: back by the club",
        "b40": "Bank card: back on bank terminal",
        "b00": "Cash: hand back to the customer",
    },
    "fa": {
        "paid": "پرداخت شده با",
        "back": "برگشت به",
        "60": "اعتبار باشگاه",
        "70": "اعتبار فروشگاه",
        "40": "کارت بانکی",
        "00": "نقد",
        "80": "امتیاز",
        "ref": "مرجع بانکی",
        "b60": "اعتبار باشگاه: باشگاه برمی‌گرداند",
        "b70": "اعتبار فروشگاه: باشگاه برمی‌گرداند",
        "b40": "کارت بانکی: در پایانه بانکی",
        "b00": "نقد: به مشتری پس داده شود",
    },
}


def rows(doc, res, kind, lang):
    """The legs' lines of a receipt (agent/printing/layout.py Receipt `doc`); one leg (a
    split sale the credit covered) prints none: the amounts above say it all."""
    legs = res.get("legs") or ()
    if len(legs) < 2:
        return
    words = WORDS[lang]
    back = kind == "void" or res["flow"] == "refund"
    doc.text(words["back" if back else "paid"])
    for leg in legs:
        doc.row("  " + words.get(leg["account"], leg["account"]), money(leg["amount"], lang))
    if back:  # where each goes back; the bank leg's reference for its reversal or refund
        for leg in legs:
            doc.text(words.get("b" + leg["account"], leg["account"]))
            if leg.get("bank_reference"):
                doc.row("  " + words["ref"], localize(leg["bank_reference"], lang))
