"""The "present any card number" dialog (key n): the tester types a card number, the dialog
checks it as a terminal's manual entry does (agent/card_io/manual.py: 12-19 digits, Luhn,
Persian digits allowed) and hands it back; the app adds it to the card list, to insert, tap or
swipe like any other card. The number is typed masked and the hint shows only its length and
last 4 digits.
"""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from agent.card_io.errors import CardError
from agent.card_io.manual import manual_card


def check(text):
    """(card number or None, one line for the tester)."""
    if not text.strip():
        return None, "type 12 to 19 digits; Enter adds the card, Esc closes"
    try:
        card = manual_card(text)
    except CardError as e:
        return None, f"not a card number: {e}"
    return card.pan, f"{len(card.pan)} digits ending {card.last4}: Enter adds it"


class CardNumberScreen(ModalScreen):
    """Dismissed with the checked card number, or None (Esc)."""

    DEFAULT_CSS = """
    CardNumberScreen { align: center middle; }
    #card-number { width: 50; height: auto; border: round $accent; padding: 0 1;
                   background: $surface; }
    #card-number-hint { color: $text-muted; }
    """
    BINDINGS = (("escape", "close", "Close"),)

    def compose(self) -> ComposeResult:
        with Vertical(id="card-number"):
            yield Static("Any card number: it joins the card list")
            yield Input(placeholder="card number", password=True, id="card-number-input")
            yield Static(check("")[1], id="card-number-hint")

    def on_mount(self):
        self.query_one("#card-number").border_title = "Card number"
        self.query_one(Input).focus()

    def on_input_changed(self, event):
        self.query_one("#card-number-hint", Static).update(check(event.value)[1])

    def on_input_submitted(self, event):
        pan, _hint = check(event.value)
        if pan is not None:
            self.dismiss(pan)

    def action_close(self):
        self.dismiss(None)
