"""Money safety at the edges (issue 10, docs/protocol.md 6.2, docs/terminal.md "Deadlines" and
"Errors inside a flow"): an answer that is not this request's final outcome never closes it, an
error inside a flow leaves no hold, a refused confirmation is not an approval, a void gives back
what was paid. Against the in-test host (tests/portable/fakehost.py), under both interpreters.
"""

from agent.protocol import messages as m
from agent.protocol.tlv import decode_tlv, encode_tlv
from tests.portable.fakehost import PAN, START_CREDIT, Terminal, card

# The scripted club host shares the process with the engine and every module is compiled from
# source in the heap, as for test_engine.py (see its note): the same heap.
MICROPYTHON_HEAP = 417792


def mtis(t):
    return [e[0] for e in t.host.log]


def reasons(t):
    return [e[3] for e in t.host.log if e[0][:3] == "042"]


def held(t):
    return [s for s in t.host.states() if s == "held"]


# -- 1. only a final answer closes a request that may move money -------------------------------


def test_a_63_to_a_copy_of_the_0100_is_not_a_decline():
    """The network delivers the 0100 twice and loses the first 0110; this host answers the
    copy 63 (replayed KSN). The terminal asks again (0101, new KSN), gets the original
    approval and completes the sale: one charge, one confirmation, nothing held."""
    t = Terminal()
    t.engine.recover()
    t.link.script = ["copy"]
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert mtis(t) == ["0100", "0101", "0220"]
    assert t.host.states() == ["confirmed"]
    assert len(t.bank.charges()) == 1
    assert t.engine.club.stats["not_final"] == 1


def test_no_final_answer_at_all_ends_in_a_reversal_not_a_decline():
    """Both the 0100 and its repeat get only 63s: the approval the club may hold is reversed
    (NF), shown as not completed; never recorded as a decline."""
    for flow in ("bank", "club_credit", "top_up"):
        t = Terminal()
        t.engine.recover()
        t.link.script = ["copy", "copy"]
        if flow == "bank":
            res = t.engine.purchase_bank(1200000, card())
        elif flow == "club_credit":
            res = t.engine.purchase_club_credit(100200, card())
        else:
            res = t.engine.top_up(365000, card())
        assert (res["outcome"], res["reason"], res["response_code"]) == ("reversed", "NF", "63")
        assert reasons(t) == ["NF"], flow
        assert held(t) == [] and t.host.states() == ["reversed"], flow
        assert t.bank.charges() == [] and t.engine.pending() == 0
        assert t.host.credit.get(PAN, START_CREDIT) == START_CREDIT
        assert t.display.shown[-1] == ("reversed", {"reason": "NF"})


def answering(mti, code):
    """A terminal whose club answers every `mti` with field 39 = `code`."""
    t = Terminal()
    t.engine.recover()

    def edit(response):
        if response["t"] == mti:
            response["39"] = code

    t.host.edit = edit
    return t


def test_other_answers_that_are_not_final():
    """30, 94, 96 and an unknown code to a 0100 that may move money: repeat, then reverse."""
    for code in ("30", "63", "94", "96", "99"):
        t = answering("0110", code)
        res = t.engine.purchase_club_credit(100000, card())
        assert (res["outcome"], res["reason"], res["response_code"]) == ("reversed", "NF", code)
        assert mtis(t) == ["0100", "0101", "0420"], code
        assert held(t) == [], code


def test_final_declines_close_without_a_reversal():
    for code in m.FINAL_0110:
        if code in m.APPROVALS or code == "64":  # 10: test_split.py
            continue
        t = answering("0110", code)
        res = t.engine.purchase_cash(100000, card())
        assert (res["outcome"], res["response_code"]) == ("declined", code), code
        assert mtis(t) == ["0100"], code


def test_a_balance_inquiry_takes_any_answer():
    t = Terminal()
    t.engine.recover()
    t.link.script = ["copy"]
    res = t.engine.balance(card())
    assert (res["outcome"], res["response_code"]) == ("declined", "63")
    assert mtis(t) == ["0100"]  # moves no money: nothing to repeat or reverse


def test_a_non_final_answer_journaled_by_an_older_version_is_reversed_at_power_up():
    t = Terminal()
    t.engine.recover()
    ledger = t.engine.ledger
    # the journal of a terminal that took the 63 as the answer, cut before its "end" record
    txn = {"k": "txn", "s": "000042", "f7": "1114223320", "pc": "006000", "amt": 5}
    txn["flow"] = "club_credit"
    ledger.record(txn)
    ledger.record({"k": "rsp", "s": "000042", "rc": "63", "rrn": None})
    t2 = t.restart()
    report = t2.engine.recover()
    assert report["actions"] == [("reversed", "000042")]
    assert reasons(t2) == ["PF"]


# -- 2. no exception inside a flow leaves money held -------------------------------------------


def test_a_superscript_digit_in_a_points_tag_is_no_number():
    """A MAC-valid 0110 whose tag 01 is "²" ("²".isdigit() is True, int("²") fails)."""

    def superscript(response):
        if response["t"] == "0110" and "48" in response:
            tags = decode_tlv(response["48"])
            tags[m.TAG_POINTS_EARNED] = "²".encode()
            response["48"] = encode_tlv(tags)

    t = Terminal()
    t.engine.recover()
    t.host.edit = superscript
    res = t.engine.purchase_club_credit(90000, card())
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert held(t) == []


class BrokenKeypad:
    """A keypad driver that fails while the customer decides."""

    def __init__(self, error):
        self.error = error

    def ask(self, field, kind="digits"):
        return None

    def confirm(self, screen, **params):
        raise self.error


def test_an_error_after_phase_one_reverses_at_once():
    t = Terminal()
    t.engine.recover()
    t.engine.keypad = BrokenKeypad(ValueError("invalid literal for int()"))
    res = t.engine.purchase_club_credit(90000, card())
    assert (res["outcome"], res["reason"]) == ("reversed", "ER"), res
    assert res["error"] == "ValueError: invalid literal for int()"
    assert reasons(t) == ["ER"] and held(t) == [] and t.engine.pending() == 0
    assert t.engine.ledger.open == []
    assert t.display.shown[-1] == ("reversed", {"reason": "ER"})
    # the next sale goes on as usual
    t.engine.keypad = t.keypad
    assert t.engine.purchase_cash(1000, card())["outcome"] == "approved"


def test_an_error_after_phase_one_is_queued_when_the_club_is_away():
    t = Terminal()
    t.engine.recover()
    t.engine.keypad = BrokenKeypad(RuntimeError("keypad gone"))
    t.link.script = ["ok", "down"]  # the 0100 goes; the club is gone for the 0420
    res = t.engine.purchase_club_credit(90000, card())
    assert (res["outcome"], res["reason"]) == ("reversed", "ER")
    assert t.engine.pending() == 1 and t.engine.ledger.open == []
    t.engine.saf.drain(force=True)
    assert reasons(t) == ["ER"] and held(t) == []


class FailingBank:
    """A bank leg that charges, then fails with an error no flow expects."""

    def __init__(self, bank):
        self.bank = bank

    def pay(self, amount, card, txn_id):
        self.bank.pay(amount, card, txn_id)
        raise KeyError("reference")

    def status(self, txn_id):
        return self.bank.status(txn_id)


def test_an_error_after_the_bank_charged_confirms_the_charge():
    t = Terminal()
    t.engine.recover()
    t.engine.bank = FailingBank(t.bank)
    res = t.engine.purchase_bank(1200000, card())
    assert res["outcome"] == "approved" and res["reason"] is None, res
    assert res["message"] == "Terminal error after the bank charged; confirmed"
    assert res["payable"] == t.bank.charged_total() == 1080000
    assert t.host.states() == ["confirmed"] and len(t.bank.charges()) == 1
    assert t.host.txns[next(iter(t.host.txns))]["bank_ref"] == t.bank.charges()[0]["reference"]


def test_an_error_before_any_0100_is_raised_as_it_is():
    t = Terminal()
    t.engine.recover()
    try:
        t.engine.refund(1000, "000000000001", "99", card())
    except ValueError:
        pass
    else:
        raise AssertionError("a bad refund account is the caller's error")
    assert t.host.log == []


# -- 3. a refused confirmation is not an approval ----------------------------------------------


class SlowKeypad:
    """The customer takes `seconds` to accept."""

    def __init__(self, clock, seconds):
        self.clock = clock
        self.seconds = seconds

    def ask(self, field, kind="digits"):
        return None

    def confirm(self, screen, **params):
        self.clock.advance(self.seconds * 1000)
        return True


def test_phase_two_past_the_terminals_deadline_is_reversed():
    t = Terminal(confirm_deadline_s=600)
    t.engine.recover()
    t.engine.keypad = SlowKeypad(t.clock, 601)
    res = t.engine.purchase_club_credit(90000, card())
    assert (res["outcome"], res["reason"]) == ("reversed", "DL"), res
    assert reasons(t) == ["DL"] and held(t) == [] and t.printer.printed == []
    t.engine.keypad = SlowKeypad(t.clock, 599)
    assert t.engine.purchase_club_credit(90000, card())["outcome"] == "approved"


def test_a_confirmation_refused_at_the_till_is_not_approved():
    for flow in ("club_credit", "bank"):
        t = answering("0230", "12")
        if flow == "bank":
            res = t.engine.purchase_bank(1200000, card())
        else:
            res = t.engine.purchase_club_credit(90000, card())
        assert res["outcome"] == "declined" and not res["confirmed"], res
        assert res["response_code"] == "12"
        assert "refused the confirmation" in res["message"]
        assert t.printer.printed == []  # no receipt says APPROVED
        assert t.display.shown[-1][0] == "declined"
        exceptions = t.engine.ledger.exceptions
        assert len(exceptions) == 1 and exceptions[0]["amt"] == res["amount"]


def test_a_confirmation_refused_later_is_kept_for_the_day_report():
    t = Terminal()
    t.engine.recover()
    t.link.script = ["ok", "lost"]  # the 0110 comes, the 0220 is lost: queued
    res = t.engine.purchase_club_credit(90000, card())
    assert res["outcome"] == "approved" and not res["confirmed"]
    t.host.edit = lambda r: r.update({"39": "12"}) if r["t"] == "0230" else None
    t.engine.saf.drain(force=True)
    assert t.engine.pending() == 0
    t.host.edit = None
    res = t.engine.close_day()
    assert res["conflicts"] == 1
    assert res["exceptions"][0]["amt"] == 90000
    assert res["exceptions"][0]["stan"] == "000001"
    report = "\n".join(t.printer.printed[-1])
    assert "Confirmations refused (12)" in report and "90,000" in report
    assert t.engine.ledger.exceptions == []  # a new window after the close


def test_exceptions_survive_compaction_and_restart():
    t = answering("0230", "12")
    t.engine.purchase_club_credit(90000, card())
    t.engine.ledger.compact()
    t2 = t.restart()
    t2.engine.recover()
    assert [e["amt"] for e in t2.engine.ledger.exceptions] == [90000]


# -- 6. a void gives back what was paid --------------------------------------------------------


def test_a_void_shows_and_prints_what_is_given_back():
    t = Terminal()
    t.engine.recover()
    t.engine.purchase_bank(1200000, card())  # 10% discount: paid 1,080,000
    res = t.engine.void_last()
    assert res["outcome"] == "approved" and res["payable"] == 1080000, res
    assert res["amount"] == 1200000
    screen, params = t.display.shown[-1]
    assert screen == "voided" and params["payable"] == 1080000
    receipt = "\n".join(t.printer.printed[-1])
    assert "Given back" in receipt and "1,080,000" in receipt
    assert "Payable" not in receipt


def test_a_clean_stop_leaves_nothing_to_send_again():
    """Engine.close() makes the deferred journal records durable: after a clean stop the next
    power-up has nothing queued, sends nothing."""
    t = Terminal()
    t.engine.recover()
    assert t.engine.purchase_cash(100000, card())["outcome"] == "approved"
    t.engine.close()
    t2 = t.restart()
    sent = len(t.host.log)
    report = t2.engine.recover()
    assert report["pending"] == 0 and report["actions"] == []
    assert len(t.host.log) == sent
