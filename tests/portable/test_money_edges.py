"""Money safety at the edges (audit): an error that escapes a flow after its confirmation was
queued (the printer, the screen) must not turn a charged, confirmed sale into "failed"; the
cashier would sell again and the customer pay twice (docs/terminal.md "Errors inside a
flow"). Against the in-test host (tests/portable/fakehost.py), under both interpreters.
"""

from tests.portable.fakehost import Terminal, card

# the scripted club host shares the process with the engine (as test_money_safety.py)
MICROPYTHON_HEAP = 417792


class BadPrinter:
    """A printer driver that fails with an error no flow expects (not OSError)."""

    def __init__(self, error):
        self.error = error

    def ready(self):
        return True

    def print_lines(self, lines):
        raise self.error


def test_an_error_while_printing_a_confirmed_sale_keeps_it_approved():
    t = Terminal()
    t.engine.recover()
    t.engine.printer = BadPrinter(MemoryError("memory allocation failed"))
    res = t.engine.purchase_bank(1200000, card())
    assert t.host.states() == ["confirmed"] and len(t.bank.charges()) == 1
    assert res["outcome"] == "approved" and res["confirmed"], res
    assert res["printed"] is False
    assert res["error"] == "MemoryError: memory allocation failed"
    assert t.engine.ledger.open == [] and t.engine.pending() == 0


def test_a_pin_change_without_a_final_answer_is_not_shown_as_refused():
    """The club changed the PIN, but the terminal got 63 (the answer to a copy the network
    made): the card's PIN is unknown to the terminal, which says so (docs/protocol.md 4.5),
    never "declined" (the cardholder would go on with the old PIN and count wrong tries)."""
    from agent.steps import MESSAGES

    t = Terminal()
    t.engine.recover()
    t.keypad.pins = ["5678", "5678"]
    t.link.script = ["copy"]
    res = t.engine.pin_change(card())
    assert t.host.log[-1][0] == "0100"
    assert (res["outcome"], res["response_code"]) == ("failed", "63"), res
    assert res["message"] == MESSAGES["pin_unknown"]
    assert t.engine.ledger.open == []
