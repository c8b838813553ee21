"""Split payment at the terminal (agent/split.py, docs/terminal.md "Split payment"): club
credit first, the remainder on the bank leg or in cash, against the in-test club with split
payment (tests/portable/splithost.py), under both interpreters.
"""

from agent.protocol import messages as m
from tests.portable.fakehost import PAN, START_CREDIT, Terminal, card, leaks
from tests.portable.splithost import SplitHost

# The scripted club host shares the process with the engine and every module is compiled from
# source in the heap, as for test_engine.py (see its note): the same heap.
MICROPYTHON_HEAP = 417792


def split_terminal():
    t = Terminal(host=SplitHost())
    t.engine.recover()
    return t


def mtis(t):
    return [e[0] for e in t.host.log]


def reasons(t):
    return [e[3] for e in t.host.log if e[0][:3] == "042"]


# -- 1. the money-safety trap: a 10 is an approval, never closed without a reversal ----------


def test_a_partial_approval_left_open_by_a_cut_is_reversed_not_closed():
    """A cut left a split sale's 0110 10 on flash with nothing after it (a torn "pay" record,
    or a cash split before the cashier confirmed): the club holds the credit part. Recovery
    must reverse it (0420 PF) like an approval, not close it like a decline."""
    t = split_terminal()
    ledger = t.engine.ledger
    txn = {"k": "txn", "s": "000001", "f7": "1205003000", "pc": m.PURCHASE_CLUB_CREDIT}
    txn.update({"amt": 6000000, "flow": "split", "card": "7890"})
    ledger.record(txn)
    ledger.record({"k": "rsp", "s": "000001", "rc": m.PARTIAL_APPROVAL, "rrn": "000000000001"})
    ledger.flush()
    t2 = t.restart()
    report = t2.engine.recover()
    assert report["actions"] == [("reversed", "000001")], report
    assert t.host.log[-1][0] == "0420" and t.host.log[-1][3] == "PF"
    assert t2.engine.ledger.open == [] and t2.engine.pending() == 0


# -- 2. the sale -------------------------------------------------------------------------------

SALE = START_CREDIT + 1085000  # the member's club credit (START_CREDIT) is short of it


def test_bank_remainder_approved():
    t = split_terminal()
    res = t.engine.purchase_split(SALE, "60", "40", card())
    assert (res["outcome"], res["flow"], res["response_code"]) == ("approved", "split", "10"), res
    assert res["confirmed"] and res["payable"] == SALE
    ref = t.bank.charges()[0]["reference"]
    assert res["legs"] == [
        {"account": "60", "amount": START_CREDIT},
        {"account": "40", "amount": 1085000, "bank_reference": ref},
    ]
    assert res["bank_reference"] == ref and res["balance_after"] == 0
    assert [c["amount"] for c in t.bank.charges()] == [1085000]  # the remainder only
    assert mtis(t) == ["0100", "0220"] and t.host.states() == ["confirmed"]
    assert t.host.credit[PAN] == 0
    assert t.keypad.asked == ["split"]
    split = [p for s, p in t.display.shown if s == "split"]
    assert t.display.screens()[-1] == "approved" and not split  # asked on the keypad
    text = "\n".join(t.printer.printed[-1])
    assert "SPLIT PURCHASE" in text and "Club credit" in text and "Bank card" in text, text
    assert "5,000,000" in text and "1,085,000" in text
    assert leaks(t) == []


def test_bank_remainder_declined_cancelled_or_lost_releases_the_credit():
    for script, reason, outcome in (
        ("decline", "BD", "reversed"),
        ("cancel", "CN", "cancelled"),
        ("timeout", "BT", "reversed"),
    ):
        t = split_terminal()
        t.bank.script = [script]
        res = t.engine.purchase_split(SALE, "60", "40", card())
        assert (res["outcome"], res["reason"]) == (outcome, reason), res
        assert res["legs"] == [] and not res["confirmed"]
        assert reasons(t) == [reason] and t.host.states() == ["reversed"]
        assert t.host.credit[PAN] == START_CREDIT  # the hold released, nothing debited
        assert t.bank.charges() == []


def test_a_refused_confirmation_after_the_bank_paid_keeps_the_legs():
    """The club answers the split's 0220 12 (it had let the hold go): not an approval, but the
    bank leg did charge the remainder: the result keeps the legs and says so; the day report
    lists the exception."""
    t = split_terminal()

    def refuse(response):
        if response["t"] == "0230":
            response["39"] = "12"

    t.host.edit = refuse
    res = t.engine.purchase_split(SALE, "60", "40", card())
    assert (res["outcome"], res["response_code"]) == ("declined", "12"), res
    assert res["message"] == "Paid at the bank; the club refused the confirmation"
    assert [leg["account"] for leg in res["legs"]] == ["60", "40"]
    assert res["legs"][1]["bank_reference"] == t.bank.charges()[0]["reference"]
    t.host.edit = None
    assert t.engine.close_day()["exceptions"][0]["amt"] == SALE


def test_cash_remainder():
    t = split_terminal()
    res = t.engine.purchase_split(SALE, "60", "00", card())
    assert (res["outcome"], res["response_code"]) == ("approved", "10") and res["confirmed"]
    assert res["legs"] == [
        {"account": "60", "amount": START_CREDIT},
        {"account": "00", "amount": 1085000},
    ]
    assert t.keypad.asked == ["split", "collect_cash"] and t.bank.charges() == []
    assert t.host.states() == ["confirmed"] and t.host.credit[PAN] == 0
    assert "Cash" in "\n".join(t.printer.printed[-1])


def test_customer_refuses_the_split_or_the_cash_is_not_taken():
    for confirms, asked in (([False], ["split"]), ([True, False], ["split", "collect_cash"])):
        t = split_terminal()
        t.keypad.confirms = confirms
        res = t.engine.purchase_split(SALE, "60", "00", card())
        assert (res["outcome"], res["reason"], res["legs"]) == ("cancelled", "CN", []), res
        assert t.keypad.asked == asked and reasons(t) == ["CN"]
        assert t.host.states() == ["reversed"] and t.host.credit[PAN] == START_CREDIT


def test_credit_that_covers_the_sale_is_a_credit_purchase_with_one_leg():
    t = split_terminal()
    res = t.engine.purchase_split(300000, "60", "40", card())
    assert (res["outcome"], res["response_code"], res["confirmed"]) == ("approved", "00", True)
    assert res["legs"] == [{"account": "60", "amount": 300000}]
    assert t.keypad.asked == ["confirm"] and t.bank.charges() == []
    assert t.host.credit[PAN] == START_CREDIT - 300000


def test_no_credit_is_declined_51():
    t = split_terminal()
    t.host.credit[PAN] = 0
    res = t.engine.purchase_split(SALE, "60", "40", card())
    assert (res["outcome"], res["response_code"], res["legs"]) == ("declined", "51", [])
    assert mtis(t) == ["0100"]


def test_a_10_the_terminal_did_not_ask_for_is_reversed():
    """A club answering 10 to a 0100 without tag 17 holds credit nobody will pay the rest
    of: the terminal reverses it (ER), never confirms the whole sale on the credit part."""
    t = split_terminal()

    def partial(response):
        if response["t"] == "0110":
            response["39"] = m.PARTIAL_APPROVAL

    t.host.edit = partial
    res = t.engine.purchase_club_credit(300000, card())
    assert (res["outcome"], res["reason"]) == ("reversed", "ER"), res
    assert reasons(t) == ["ER"] and t.host.states() == ["reversed"]


def test_bad_account_or_tender_is_refused_before_anything_is_sent():
    t = split_terminal()
    for account, tender in (("40", "40"), ("60", "60"), ("60", "4")):
        try:
            t.engine.purchase_split(SALE, account, tender, card())
        except ValueError as e:
            assert "must be one of" in str(e)
        else:
            raise AssertionError((account, tender))
    assert t.host.log == []


# -- 3. void, refund, end of day ---------------------------------------------------------------


def test_void_of_a_split_sale_lists_the_legs():
    t = split_terminal()
    sale = t.engine.purchase_split(SALE, "60", "40", card())
    res = t.engine.void_last()
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert res["legs"] == sale["legs"] and res["payable"] == SALE
    assert t.host.credit[PAN] == START_CREDIT  # the club gave the credit part back
    screen, params = t.display.shown[-1]
    assert screen == "legs_bank" and params == {"credit": START_CREDIT, "remainder": 1085000}
    text = "\n".join(t.printer.printed[-1])
    assert "VOIDED" in text and "back on bank terminal" in text, text


def test_refund_of_a_split_sale_is_divided_between_the_legs():
    t = split_terminal()
    sale = t.engine.purchase_split(SALE, "60", "00", card())
    res = t.engine.refund(SALE, sale["rrn"], "60", card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert res["legs"] == [
        {"account": "60", "amount": START_CREDIT},
        {"account": "00", "amount": 1085000},
    ]
    assert t.host.credit[PAN] == START_CREDIT
    assert t.display.shown[-1][0] == "legs_cash"
    assert "Cash: hand back to the customer" in "\n".join(t.printer.printed[-1])


def test_end_of_day_counts_the_sale_once_and_each_leg_in_its_account():
    t = split_terminal()
    t.engine.purchase_split(SALE, "60", "40", card())
    t.engine.purchase_split(SALE, "60", "00", card())  # credit gone: declined 51
    t.host.credit[PAN] = 700000
    t.engine.purchase_split(1000000, "60", "00", card())
    t.engine.purchase_bank(100000, card())
    t.engine.void_last()
    res = t.engine.close_day()
    assert res["response_code"] == "00", res  # the club's totals agree
    totals = res["totals"]
    assert (totals["dn"], totals["da"]) == (3, SALE + 1000000 + 100000)
    assert (totals["drn"], totals["dra"]) == (1, 100000)
    assert res["leg_totals"] == {"60": START_CREDIT + 700000, "40": 1085000, "00": 300000}
    report = "\n".join(t.printer.printed[-1])
    assert "Sales by leg:" in report and "Club credit" in report and "Cash" in report


def test_a_result_has_no_card_number_in_clear():
    t = split_terminal()
    t.engine.purchase_split(SALE, "60", "40", card())
    t.engine.void_last()
    assert leaks(t) == []


def test_receipts_show_each_leg_in_both_languages_last_4_digits_only():
    from agent.receipt import layout

    t = split_terminal()
    res = t.engine.purchase_split(SALE, "60", "40", card())
    header = t.engine.receipt_header()
    fa = "\n".join(layout(res, "customer", header, lang="fa"))
    for words in ("خرید ترکیبی", "اعتبار باشگاه", "کارت بانکی", "پرداخت شده با"):
        assert words in fa, words
    assert "۵٬۰۰۰٬۰۰۰" in fa and "۱٬۰۸۵٬۰۰۰" in fa
    void = t.engine.void_last()
    en = "\n".join(layout(void, "merchant", header, "void"))
    assert "Given back by" in en and "Club credit: back by the club" in en, en
    assert "Bank card: back on bank terminal" in en and "Bank ref" in en
    fa = "\n".join(layout(void, "merchant", header, "void", "fa"))
    assert "کارت بانکی: در پایانه بانکی" in fa and "اعتبار باشگاه: باشگاه برمی‌گرداند" in fa
    for text in (en, fa):
        assert PAN not in text and PAN[:-4] not in text
