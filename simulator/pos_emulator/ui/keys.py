"""The interactive emulator's keys, one table: the app's Textual BINDINGS (so the footer, the
Keys panel and the command palette list them), the palette's commands and the table in
docs/testing.md ("The interactive emulator") all come from it.

A row is (keys, action, label, what it does, shown in the footer). The footer holds the flows
and the card keys (one line of 120 columns); the status line points to ? (this list in the Keys
panel) and Ctrl+P (the command palette). `keys` is Textual's key
names, comma-separated; `action` an action of EmulatorApp (simulator/pos_emulator/ui/app.py).
"""

from textual.binding import Binding

# flow key -> (flow, label, needs an amount)
FLOWS = {
    "f1": ("bank", "Bank purchase", True),
    "f2": ("club_credit", "Club credit", True),
    "f3": ("store_credit", "Store credit", True),
    "f4": ("cash", "Cash", True),
    "f5": ("balance", "Balance", False),
    "f6": ("top_up", "Top-up", True),
    "f7": ("refund", "Refund", True),
    "f8": ("void", "Void last", False),
    "f9": ("close", "Close day", False),
    "f10": ("points", "Points", True),  # paid with the card's points (docs/protocol.md 2.2)
}
# card key -> what the customer does with the chosen card
CARD_KEYS = {"i": "insert", "t": "tap", "s": "swipe", "p": "pull out"}
# the footer's short names of the flows (it has one line for all the keys)
SHORT = {"f1": "Bank", "f2": "Club", "f3": "Store", "f5": "Balance", "f8": "Void", "f9": "Close"}
# flows the footer leaves out (its line is full): on their button, in the Keys panel and palette
NOT_IN_FOOTER = ("f10",)
DIGITS = ",".join("0123456789")

# fmt: off
KEYS = (
    *((key, f"flow('{key}')", SHORT.get(key, label),
       label + (": type the amount first, or after the key and OK" if amount else ""),
       key not in NOT_IN_FOOTER)
      for key, (_flow, label, amount) in FLOWS.items()),
    ("i", "card('i')", "Insert", "insert the chosen card in the chip reader", True),
    ("t", "card('t')", "Tap", "tap the chosen card (it leaves the field when the flow ends)",
     True),
    ("s", "card('s')", "Swipe", "swipe the chosen card's stripe (number and expiry, entry 021)",
     True),
    ("p", "card('p')", "Pull out", "pull the card out of the reader (mid-sale: a reversal)", True),
    ("up", "choose(-1)", "Card up", "choose the card above in the card list", False),
    ("down", "choose(1)", "Card down", "choose the card below in the card list", False),
    (DIGITS, "digit", "Digits", "the amount; while the terminal asks for a card, a card number "
     "to key in (entry 012)", False),
    ("enter", "ok", "OK", "OK: start the flow, accept, or key in the typed card number", False),
    ("escape", "cancel", "Cancel", "Cancel: clear the amount, stop a wait for a card, refuse",
     False),
    ("backspace", "backspace", "Delete", "delete the last digit typed", False),
    ("n", "new_card", "Card number", "present any card number: it joins the card list", False),
    ("k", "coupon", "Coupon", "key in a coupon code for the next purchase: letters and digits, "
     "then OK (Esc drops it)", False),
    ("x", "split", "Split", "split the next F2/F3 purchase: rest by bank card, X again cash, "
     "again none", False),
    ("m", "panel('magic')", "Magic", "the magic card numbers and amounts (club outcomes)",
     False),
    ("c", "panel('cards')", "Cards", "the card list", False),
    ("r", "panel('printer')", "Printer", "the printed receipts", False),
    ("question_mark", "keys", "Keys", "show or hide the list of keys", False),
    ("ctrl+s", "screenshot", "Screenshot", "save an SVG screenshot (its path is logged)",
     False),
    ("ctrl+q", "quit", "Quit", "quit the emulator", False),
)
# fmt: on


def bindings():
    """The rows as Textual Bindings (F-keys shown as F1 ...)."""
    out = []
    for keys, action, label, what, shown in KEYS:
        display = key_names(keys) if keys == DIGITS or keys[0] == "f" else None
        out.append(Binding(keys, action, label, show=shown, key_display=display, tooltip=what))
    return out


def key_names(keys):
    """How people write a row's keys: "F1", "0-9", "Up", "Ctrl+S", "?"."""
    if keys == DIGITS:
        return "0-9"
    return ", ".join(_key_name(key) for key in keys.split(","))


def _key_name(key):
    if key == "question_mark":
        return "?"
    if key == "escape":
        return "Esc"
    if key[0] == "f" and key[1:].isdigit():
        return key.upper()
    return key if len(key) == 1 else key.title()


def commands():
    """(title, help, action) for the command palette: every row but the typing keys."""
    return [
        (f"{key_names(keys)} {label}", what, action)
        for keys, action, label, what, _shown in KEYS
        if action not in ("digit", "ok", "cancel", "backspace", "quit")
    ]
