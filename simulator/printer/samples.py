"""Named demo transactions for `vafa receipt preview --demo NAME`: what the terminal's flows
return (agent/steps.new_result's keys) for one sale of each kind at the demo club's store, with
the figures the demo club gives (a 10 % discount and points at the hypermarket, tier B).

    result = demo_result("bank")         # a fresh dict each time
    for name, (description, _) in DEMOS.items(): ...

The card is the demo club card 9879110000000014: only its last 4 digits are here, as on paper.
"""

from agent.steps import new_result

CARD_LAST4 = "0014"
# name -> (what it shows, the fields a flow sets on top of new_result(flow, amount))
DEMOS = {
    "bank": (
        "bank card purchase with a club discount, points earned",
        ("bank", 1_200_000, {
            "discount": 120_000, "fee": 5_000, "payable": 1_085_000, "stan": "000123",
            "rrn": "402512345678", "bank_reference": "BK998877", "points_earned": 120,
            "points_balance": 1_520, "tier": "B", "confirmed": True,
            "club_message": "با تشکر از خرید شما؛ ۱۲۰ امتیاز گرفتید",
        }),
    ),
    "club_credit": (
        "purchase paid from the card's club credit",
        ("club_credit", 450_000, {
            "discount": 45_000, "payable": 405_000, "stan": "000124", "rrn": "402512345679",
            "balance_after": 595_000, "points_earned": 45, "points_balance": 1_565,
            "tier": "B", "confirmed": True,
        }),
    ),
    "store_credit": (
        "purchase paid from the gift credit this store gave",
        ("store_credit", 80_000, {
            "payable": 80_000, "stan": "000125", "rrn": "402512345680",
            "balance_after": 20_000, "credit_validity": "1403/12/29", "confirmed": True,
        }),
    ),
    "cash": (
        "cash purchase by a club member: points only",
        ("cash", 300_000, {
            "stan": "000126", "rrn": "402512345681", "points_earned": 30,
            "points_balance": 1_595, "tier": "B", "confirmed": True,
        }),
    ),
    "top_up": (
        "club credit bought at the counter",
        ("top_up", 1_000_000, {
            "stan": "000127", "rrn": "402512345682", "balance_after": 1_595_000,
            "confirmed": True,
        }),
    ),
    "refund": (
        "goods brought back: the amount returned to the card",
        ("refund", 200_000, {
            "stan": "000128", "rrn": "402512345683", "balance_after": 1_795_000,
            "confirmed": True,
        }),
    ),
    "void": (
        "a sale voided the same day",
        ("void", 450_000, {
            "payable": 405_000, "stan": "000129", "rrn": "402512345679",
            "balance_after": 1_000_000, "confirmed": True,
        }),
    ),
    "coupon": (
        "bank card purchase with coupon NOWRUZ10: 10 % more after the tier discount",
        ("bank", 1_200_000, {
            "discount": 228_000, "fee": 5_000, "payable": 977_000, "stan": "000131",
            "rrn": "402512345685", "bank_reference": "BK998879", "points_earned": 97,
            "points_balance": 1_692, "tier": "B", "confirmed": True, "coupon": "NOWRUZ10",
            "coupon_discount": 108_000, "coupon_text": "تخفیف نوروزی ۱۰٪",
        }),
    ),
    "split": (
        "split sale: club credit pays what it holds, the rest by bank card",
        ("split", 1_200_000, {
            "discount": 120_000, "fee": 5_000, "payable": 1_085_000, "stan": "000132",
            "rrn": "402512345686", "bank_reference": "BK998880", "balance_after": 0,
            "points_earned": 108,
            "points_balance": 1_800, "tier": "B", "confirmed": True,
            "legs": [{"account": "60", "amount": 700_000},
                     {"account": "40", "amount": 385_000, "bank_reference": "BK998880"}],
        }),
    ),
    "split_cash": (
        "split sale: store credit first, the rest in cash",
        ("split", 300_000, {
            "payable": 300_000, "stan": "000133", "rrn": "402512345687", "balance_after": 0,
            "confirmed": True,
            "legs": [{"account": "70", "amount": 80_000}, {"account": "00", "amount": 220_000}],
        }),
    ),
    "pending": (
        "bank purchase whose confirmation has not come back from the club yet",
        ("bank", 250_000, {
            "discount": 25_000, "payable": 225_000, "stan": "000130",
            "rrn": "402512345684", "bank_reference": "BK998878", "confirmed": False,
        }),
    ),
}  # fmt: skip


def demo_result(name):
    """A fresh result dict of the named demo transaction; KeyError for an unknown name."""
    _, (flow, amount, fields) = DEMOS[name]
    res = new_result(flow, amount)
    res.update(fields, card_last4=CARD_LAST4, outcome="approved", response_code="00")
    if "legs" in fields:  # a fresh list too
        res["legs"] = [dict(leg) for leg in fields["legs"]]
    if flow == "split" and len(fields.get("legs", ())) > 1:
        res["response_code"] = "10"  # the club's partial approval (docs/protocol.md)
    return res
