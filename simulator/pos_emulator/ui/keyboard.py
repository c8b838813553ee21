"""What each key does to the emulated terminal, by what the terminal is doing: a mixin of
EmulatorApp (simulator/pos_emulator/ui/app.py), whose key bindings (keys.py) and buttons all
end in press(key).

    idle          digits and Backspace make the amount; F1..F9 start a flow (with the amount
                  typed, or after it and OK); Esc clears
    asking a card i / t / s / p present the chosen card; digits, then OK, key a card number in
                  (checked as manual entry: agent/card_io/manual.py); Esc stops the wait
    confirm       OK (Enter) accepts, Cancel (Esc) refuses; the card keys still work (a card
                  pulled out mid-sale)
    ask           an enrollment answer: letters and digits, Backspace, OK, Esc
    pin           the cardholder's PIN: digits (4..12, shown as stars), Backspace, OK, Esc
"""

from agent.card_io.errors import CardError
from agent.card_io.manual import manual_card
from simulator.pos_emulator.ui.keys import CARD_KEYS, FLOWS

MAX_AMOUNT_DIGITS = 12
MAX_CARD_DIGITS = 19
MAX_PIN_DIGITS = 12


class TerminalKeys:
    """press(key) and the card slot's keys; the app supplies the state (entry, pending,
    busy, waiting, screen_id, names, selected), the ports and the refresh methods."""

    def press(self, key, character=None):
        """One key of the terminal; True when it meant something."""
        if self.waiting == "confirm":
            if key in ("enter", "escape"):
                self.keypad.answer(key == "enter")
                return True
            return self._card_key(key)
        if self.waiting == "ask":
            if key == "enter":
                self.keypad.answer(self.entry)
            elif key == "escape":
                self.keypad.answer(None)
            elif key == "backspace":
                self.entry = self.entry[:-1]
            elif character and character.isalnum() and len(key) == 1:
                self.entry += character.upper() if character.isalpha() else character
            else:
                return False
            self._refresh_display()
            return True
        if self.waiting == "pin":
            return self._pin_key(key)
        if self.coupon_typing:  # K: the cashier types a coupon code (coupon_keys.py)
            return self.coupon_press(key, character)
        if self.keying_in():
            return self._key_in(key)
        if self.busy:
            return self._card_key(key)
        if key in FLOWS:
            return self.choose_flow(key)
        if key == "k":
            return self.open_coupon()
        if key == "x":  # the rest of the next credit purchase: bank card, cash, none
            return self.choose_split()
        if key.isdigit() and len(key) == 1:
            if len(self.entry) < MAX_AMOUNT_DIGITS and (self.entry or key != "0"):
                self.entry += key
            self._show_amount()
            return True
        if key == "backspace":
            self.entry = self.entry[:-1]
            self._show_amount()
            return True
        if key == "enter" and self.pending and self.entry:
            key, self.pending = self.pending, None
            return self.start_flow(key, int(self.entry))
        if key == "escape":
            self.entry, self.pending = "", None
            self.display_port.show("ready")
            self._refresh_display()
            return True
        return self._card_key(key)

    def _pin_key(self, key):
        """While the terminal asks for the PIN: digits, Backspace, OK, Esc; nothing else, and
        what was typed is cleared once handed over (never logged or shown: stars only)."""
        if key.isdigit() and len(key) == 1:
            if len(self.entry) < MAX_PIN_DIGITS:
                self.entry += key
        elif key == "backspace":
            self.entry = self.entry[:-1]
        elif key in ("enter", "escape"):
            pin, self.entry = (self.entry if key == "enter" else None), ""
            self.keypad.answer(pin)
        else:
            return False
        self._refresh_display()
        return True

    def _key_in(self, key):
        """While the terminal asks for a card: digits, OK (key the number in), Esc, cards."""
        if key.isdigit() and len(key) == 1:
            if len(self.entry) < MAX_CARD_DIGITS:
                self.entry += key
        elif key == "backspace":
            self.entry = self.entry[:-1]
        elif key == "enter" and self.entry:
            try:
                card = manual_card(self.entry)
            except CardError as e:
                self._event(f"key in: {e}")  # says what is wrong, never the number
                self.notify(f"Key in: {e}", severity="warning", timeout=5)
                return True
            self.entry = ""
            self.slot.key_in(card)
        elif key == "escape":
            self.entry = ""
            self.slot.cancel()  # stops the wait for a card
        else:
            return self._card_key(key)
        self._refresh_display()
        return True

    def _show_amount(self):
        self.display_port.show("amount", amount=int(self.entry or 0))
        self._refresh_display()

    def _card_key(self, key):
        if key in CARD_KEYS:
            self.card_action(CARD_KEYS[key])
            return True
        if key in ("up", "down"):
            step = 1 if key == "down" else -1
            self.selected = (self.selected + step) % len(self.names)
            self.action_panel("cards")
            self._refresh_cards()
            return True
        return False

    def card_action(self, action):
        name = self.names[self.selected]
        if action == "insert":
            self.slot.insert(name)
        elif action == "tap":
            self.slot.insert(name, tap=True)
        elif action == "swipe":
            self.slot.swipe(name)
        else:
            self.slot.pull_out()
        self._refresh_cards()

    def choose_card(self, name):
        """Select a card by name (as Up / Down would)."""
        self.selected = self.names.index(name)
        self._refresh_cards()

    def choose_flow(self, key):
        if not FLOWS[key][2]:  # needs no amount
            return self.start_flow(key, None)
        if self.entry:
            return self.start_flow(key, int(self.entry))
        self.pending = key
        self._show_amount()
        return True
