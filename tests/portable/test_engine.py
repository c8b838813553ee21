"""Engine flows against the in-test host (tests/portable/fakehost.py), with scripted faults."""

from tests.portable.fakehost import (
    PAN,
    PAN_BLOCKED,
    PAN_ENROLL,
    START_CREDIT,
    Terminal,
    card,
    leaks,
)

# The scripted club host (tests/portable/fakehost.py) shares this process with the engine,
# which a device never carries, and every module (engine, receipts, card routing) is compiled
# from source in the heap. What limits it is the interned-name (qstr) table: these tests intern
# ~1,266 names, past the 1,260 the first pools hold, so MicroPython adds a pool of 1,280
# entries, one ~14 KB block ("allocating 1280 bytes" counts entries). Since card routing no
# longer interns its ~80 prefixes and keys at import, that happens late (a receipt's Persian
# letters, test_bank_purchase_timeout_...), in a fragmented heap: the tests pass at every 8 KB
# step from 392 KB (336 KB before, when routing's import added the pool early), so 408 KB.
MICROPYTHON_HEAP = 417792


class ScriptedPrinter:
    """ready() answers from a list (then True); prints are recorded."""

    def __init__(self, ready):
        self.answers = list(ready)
        self.printed = []

    def ready(self):
        return self.answers.pop(0) if self.answers else True

    def print_lines(self, lines):
        self.printed.append(lines)


def mtis(t):
    return [e[0] for e in t.host.log]


def reasons(t):
    return [e[3] for e in t.host.log if e[0][:3] == "042"]


def test_bank_purchase_with_discount():
    t = Terminal()
    t.engine.recover()
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved" and res["confirmed"]
    assert (res["amount"], res["discount"], res["fee"], res["payable"]) == (
        1200000,
        120000,
        0,
        1080000,
    )
    assert res["points_earned"] == 120 and res["tier"] == "B"
    assert res["rrn"] == "000000000001" and res["card_last4"] == "7890"
    assert mtis(t) == ["0100", "0220"]
    assert len(t.bank.charges()) == 1 and t.bank.charged_total() == 1080000
    txn = next(iter(t.host.txns.values()))
    assert txn["state"] == "confirmed" and txn["bank_ref"] == res["bank_reference"]
    assert len(t.printer.printed) == 2
    assert "****7890" in "\n".join(t.printer.printed[1])
    assert t.display.screens() == ["working", "payable", "bank", "approved"]
    assert leaks(t) == []


def test_bank_purchase_timeout_repeat_gets_the_original_answer():
    t = Terminal()
    t.link.script = ["drop"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved" and res["confirmed"]
    assert mtis(t) == ["0100", "0101", "0220"]
    assert t.host.log[0][1] == t.host.log[1][1]  # same STAN
    assert len(t.bank.charges()) == 1


def test_timeout_twice_reverses_and_never_charges():
    t = Terminal()
    t.link.script = ["drop", "drop"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "reversed" and res["reason"] == "TO"
    assert mtis(t) == ["0100", "0101", "0420"]
    assert reasons(t) == ["TO"]
    assert t.bank.payments == []
    assert t.host.states() == ["reversed"]
    assert t.engine.pending() == 0


def test_reversal_that_cannot_be_sent_waits_and_goes_before_the_next_sale():
    t = Terminal()
    t.link.script = ["drop", "drop", "down"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "reversed" and t.engine.pending() == 1
    res = t.engine.purchase_cash(50000, card())
    assert res["outcome"] == "approved"
    assert mtis(t) == ["0100", "0101", "0421", "0100", "0220"]
    assert t.host.states() == ["reversed", "confirmed"]


def test_sale_refused_while_the_queue_cannot_be_sent():
    t = Terminal()
    t.link.script = ["ok", "down", "down"]
    res = t.engine.purchase_cash(50000, card())
    assert res["outcome"] == "approved" and not res["confirmed"]
    res = t.engine.purchase_cash(60000, card())
    assert res["outcome"] == "failed" and t.display.last[0] == "busy"
    assert mtis(t) == ["0100"]
    assert t.engine.idle() == 1  # backoff: not due yet
    t.clock.advance(10000)
    assert t.engine.idle() == 0
    assert mtis(t) == ["0100", "0221"] and t.host.states() == ["confirmed"]


def test_bank_decline_cancel_and_timeout_reverse():
    for outcome, reason, result in (
        ("decline", "BD", "reversed"),
        ("cancel", "CN", "cancelled"),
        ("timeout", "BT", "reversed"),
    ):
        t = Terminal()
        t.bank.script = [outcome]
        res = t.engine.purchase_bank(1200000, card())
        assert (res["outcome"], res["reason"]) == (result, reason), outcome
        assert reasons(t) == [reason]
        assert t.host.states() == ["reversed"]
        assert t.bank.charges() == []


def test_bank_timeout_but_charged_is_confirmed_by_status_inquiry():
    t = Terminal()
    t.bank.script = ["timeout_charged"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved" and res["confirmed"]
    assert len(t.bank.charges()) == 1
    assert t.host.states() == ["confirmed"]
    assert next(iter(t.host.txns.values()))["bank_ref"] == t.bank.charges()[0]["reference"]


def test_mac_failure_is_no_response():
    t = Terminal()
    t.link.script = ["badmac"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved"
    assert mtis(t) == ["0100", "0101", "0220"]
    t = Terminal()
    t.link.script = ["badmac", "badmac"]
    res = t.engine.purchase_bank(1200000, card())
    assert (res["outcome"], res["reason"]) == ("reversed", "MC")
    assert reasons(t) == ["MC"]


def test_late_response_is_discarded():
    t = Terminal()
    t.link.script = ["late"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved"
    assert t.engine.club.stats["late"] == 1
    assert mtis(t) == ["0100", "0101", "0220"]


def test_club_unreachable_before_sending_needs_no_reversal():
    t = Terminal()
    t.link.script = ["down", "down"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "failed" and t.engine.pending() == 0
    assert t.host.log == []


def test_bank_sale_without_a_bank_leg_is_refused_before_any_message():
    t = Terminal()
    t.engine.bank = None
    res = t.engine.purchase_bank(1200000, card())
    assert (res["outcome"], res["message"]) == ("failed", "No bank terminal connected")
    assert t.host.log == [] and t.engine.pending() == 0
    assert t.display.shown[-1][0] == "no_bank"


def test_printer_out_of_paper():
    t = Terminal()
    t.printer.paper = False
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "failed" and t.host.log == []
    t = Terminal()
    t.engine.printer = ScriptedPrinter([True, False])  # paper runs out before paying
    res = t.engine.purchase_bank(1200000, card())
    assert (res["outcome"], res["reason"]) == ("reversed", "PR")
    assert t.bank.payments == [] and reasons(t) == ["PR"]


def test_club_credit_purchase_and_cancel():
    t = Terminal()
    res = t.engine.purchase_club_credit(300000, card())
    assert res["outcome"] == "approved" and res["confirmed"]
    assert res["payable"] == 300000 and res["balance_after"] == START_CREDIT - 300000
    assert t.host.credit[PAN] == START_CREDIT - 300000
    t.keypad.confirms = [False]
    res = t.engine.purchase_club_credit(200000, card())
    assert (res["outcome"], res["reason"]) == ("cancelled", "CN")
    assert t.host.credit[PAN] == START_CREDIT - 300000
    res = t.engine.purchase_club_credit(START_CREDIT, card())
    assert (res["outcome"], res["response_code"]) == ("declined", "51")
    assert mtis(t) == ["0100", "0220", "0100", "0420", "0100"]


def test_store_credit_and_cash_and_points():
    t = Terminal()
    res = t.engine.purchase_store_credit(100000, card())
    assert res["outcome"] == "approved" and res["flow"] == "store_credit"
    res = t.engine.purchase_cash(250000, card())
    assert res["outcome"] == "approved" and res["points_earned"] == 25
    assert res["points_balance"] == 35
    assert [e[0] for e in t.host.log] == ["0100", "0220", "0100", "0220"]


def test_balance_inquiry_is_single_phase():
    t = Terminal()
    t.printer.paper = False  # not needed for a balance
    res = t.engine.balance(card())
    assert res["outcome"] == "approved"
    assert res["club_credit"] == START_CREDIT and res["store_credit"] == 0
    assert res["card_expiry"] == "2812" and res["points_balance"] == 0
    assert mtis(t) == ["0100"] and t.engine.pending() == 0
    assert t.display.last[0] == "balance"


def test_top_up_and_refund():
    t = Terminal()
    res = t.engine.top_up(1000000, card())
    assert res["outcome"] == "approved" and res["credit_validity"] == "20261231"
    assert t.host.credit[PAN] == START_CREDIT + 1000000
    sale = t.engine.purchase_club_credit(400000, card())
    res = t.engine.refund(150000, sale["rrn"], "60", card())
    assert res["outcome"] == "approved"
    assert t.host.credit[PAN] == START_CREDIT + 1000000 - 400000 + 150000
    res = t.engine.refund(1000, "999999999999", "60", card())
    assert (res["outcome"], res["response_code"]) == ("declined", "25")


def test_void_of_the_last_transaction():
    t = Terminal()
    t.engine.purchase_club_credit(300000, card())
    res = t.engine.void_last()
    assert res["outcome"] == "approved" and res["confirmed"] and res["message"] == "Voided"
    assert reasons(t) == ["VD"] and t.host.states() == ["voided"]
    assert t.engine.void_last()["outcome"] == "failed"  # only once
    assert "VOIDED" in "\n".join(t.printer.printed[-1])


def test_close_day_balanced_and_out_of_balance():
    t = Terminal()
    t.engine.purchase_bank(1200000, card())
    t.engine.purchase_cash(100000, card())
    t.engine.void_last()
    t.engine.top_up(500000, card())
    t.bank.script = ["decline"]
    t.engine.purchase_bank(700000, card())  # reversed: not counted
    res = t.engine.close_day()
    assert res["outcome"] == "approved" and res["response_code"] == "00", res
    totals = res["totals"]
    assert (totals["dn"], totals["da"], totals["drn"], totals["dra"]) == (2, 1300000, 1, 100000)
    assert (totals["cn"], totals["ca"]) == (1, 500000)
    assert t.engine.ledger.totals["dn"] == 0  # a new window
    # the host has a confirmation the terminal does not know of: out of balance
    t.engine.purchase_cash(100000, card())
    next(iter(t.host.txns.values()))["state"] = "confirmed"
    res = t.engine.close_day()
    assert (res["outcome"], res["response_code"]) == ("declined", "95")
    report = "\n".join(t.printer.printed[-1])
    assert "Terminal:" in report and "Club:" in report


def test_enrollment_when_the_club_answers_64():
    t = Terminal()
    res = t.engine.purchase_cash(100000, card(PAN_ENROLL))
    assert res["outcome"] == "approved"
    assert t.keypad.asked[:4] == ["phone", "gender", "birth_date", "education"]
    assert t.keypad.asked[-1] == "pin_new"  # the PIN is offered last; none typed skips it
    assert mtis(t) == ["0100", "0100", "0220"]
    assert t.host.log[0][1] != t.host.log[1][1]  # a new STAN
    t = Terminal()
    t.keypad.answers = {}
    res = t.engine.purchase_cash(100000, card(PAN_ENROLL))
    assert (res["outcome"], res["response_code"]) == ("cancelled", "64")
    assert t.engine.pending() == 0 and mtis(t) == ["0100"]


def test_declined_card_stops_without_phase_two():
    t = Terminal()
    res = t.engine.purchase_bank(1200000, card(PAN_BLOCKED))
    assert (res["outcome"], res["response_code"]) == ("declined", "62")
    assert res["message"] == "Card blocked"
    assert mtis(t) == ["0100"] and t.bank.payments == []


def test_card_from_the_reader_and_no_card():
    t = Terminal(cards=[card()])
    assert t.engine.purchase_cash(100000)["outcome"] == "approved"
    res = t.engine.purchase_cash(100000)
    assert res["outcome"] == "failed" and res["message"] == "No card"


def test_sign_on_and_echo():
    t = Terminal()
    assert t.engine.sign_on() == "00"
    assert t.engine.echo() == "00"
    assert mtis(t) == ["0800", "0800"]


def test_card_number_never_in_clear():
    t = Terminal()
    t.engine.purchase_bank(1200000, card())
    t.link.script = ["drop", "drop", "down"]
    t.engine.purchase_club_credit(100000, card())
    t.engine.close_day()
    assert leaks(t) == []
    assert leaks(t, "7890")  # the last 4 digits are shown and kept
    assert t.host.pans and all(p == PAN for p in t.host.pans)  # the host did get it, in field 62


def test_compaction_keeps_totals_queue_and_last_transaction():
    t = Terminal(compact_bytes=1500)
    for _ in range(6):
        assert t.engine.purchase_cash(100000, card())["confirmed"]
    assert t.engine.ledger.journal.size < 3000  # compacted along the way
    t.link.script = ["ok", "down"]
    t.engine.purchase_cash(70000, card())  # its 0220 waits in the queue
    t.engine.ledger.compact()
    records = t.engine.ledger.journal.load()
    assert records[0]["k"] == "snap" and [r["k"] for r in records[1:]] == ["q"]
    t2 = t.restart(compact_bytes=1500)
    assert t2.engine.recover()["pending"] == 0  # the queued 0220 went after the restart
    assert t2.engine.void_last()["confirmed"]  # the last transaction survived compaction
    res = t2.engine.close_day()
    assert res["response_code"] == "00"
    assert (res["totals"]["dn"], res["totals"]["da"], res["totals"]["drn"]) == (7, 670000, 1)
